"""Demo campaign for `manage.py seed_demo`: a cross-selling call list the hotline team works."""

from __future__ import annotations

from accounts.models import Account
from campaigns.models import CallList, Campaign
from campaigns.services import call_list_entries_add
from scripting.demo import CROSS_SELL_CODE
from scripting.models import Script
from telephony.models import AgentGroup

DEMO_CUSTOMERS = 15


def campaigns_demo_seed(*, by: object) -> dict[str, int]:
    """Create the demo campaign and fill its call list once; running it again changes nothing."""
    campaign, _ = Campaign.objects.get_or_create(
        code="herbstangebot-2026",
        defaults={
            "name": "Herbstangebot 2026",
            "description": "Bestandskunden ein passendes Zusatzprodukt anbieten.",
            "script": Script.objects.filter(code=CROSS_SELL_CODE).first(),
        },
    )
    call_list, created = CallList.objects.get_or_create(
        campaign=campaign,
        name="Privatkunden",
        defaults={"max_attempts": 3, "retry_minutes": 120},
    )
    if created:
        call_list.agent_groups.add(*AgentGroup.objects.filter(name="Team Hotline"))
    if call_list.entries.exists():
        return {"entries": 0}
    accounts = list(
        Account.objects.filter(
            kind=Account.Kind.PERSON,
            merged_into__isnull=True,
            customer_group__code="privat",
            contact_points__kind="phone",
        )
        .distinct()
        .prefetch_related("contact_points")
        .order_by("customer_number")[:DEMO_CUSTOMERS]
    )
    result = call_list_entries_add(call_list=call_list, accounts=accounts, by=by)
    return {"entries": result.added}
