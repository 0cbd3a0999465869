"""Demo campaign for `manage.py seed_demo`: a cross-selling call list the hotline team works."""

from __future__ import annotations

import json
from typing import Any

from accounts.models import Account
from campaigns.models import CallList, Campaign
from campaigns.services import call_list_entries_add
from scripting.demo import OFFER_LIST_CODE
from scripting.interchange import FORMAT, FORMAT_VERSION, script_import
from scripting.models import Script, ScriptVersion
from scripting.services import script_version_publish
from telephony.models import AgentGroup

DEMO_CUSTOMERS = 15
SCRIPT_CODE = "herbstangebot"

# An outbound offer call: greeting with the campaign, the top offers for this customer, and
# an ending per answer that qualifies the lead, schedules a callback or records no interest.
OUTBOUND_OFFER: dict[str, Any] = {
    "format": FORMAT,
    "format_version": FORMAT_VERSION,
    "script": {
        "code": SCRIPT_CODE,
        "name": "Herbstangebot (Anruf)",
        "description": "Bestandskunden anrufen und die passenden Zusatzprodukte anbieten.",
    },
    "steps": [
        {
            "key": "intro",
            "kind": "question",
            "title": "Begrüßung",
            "text": "Guten Tag, {account.name}! Hier ist {agent.first_name} von icenter. Ich "
            "rufe an wegen unserer Aktion „{campaign.name}“. Haben Sie zwei Minuten Zeit?",
            "answer_type": "yes_no",
            "answers": [
                {"value": "yes", "label": "Ja", "next": "offer"},
                {"value": "no", "label": "Nein, gerade nicht", "next": "end_no_time"},
            ],
        },
        {
            "key": "offer",
            "kind": "info",
            "title": "Angebote",
            "text": "Zu Ihrem Vertrag passen diese Angebote besonders gut:",
            "offers": {"list": OFFER_LIST_CODE, "count": 3},
            "next": "interest",
        },
        {
            "key": "interest",
            "kind": "question",
            "title": "Interesse",
            "text": "Interessiert Sie eines der Angebote?",
            "answer_type": "single",
            "answers": [
                {"value": "ja", "label": "Ja, Angebot schicken", "next": "end_offer"},
                {"value": "spaeter", "label": "Vielleicht später", "next": "end_later"},
                {"value": "nein", "label": "Nein, danke", "next": "end_no"},
            ],
        },
        {
            "key": "end_offer",
            "kind": "end",
            "title": "Angebot",
            "text": "Sehr gern, das Angebot kommt heute noch per E-Mail. Vielen Dank!",
            "outcome": "qualified",
            "actions": [
                {"type": "mark_lead_qualified"},
                {"type": "offer_products", "offer_list": OFFER_LIST_CODE, "top_n": 3},
                {"type": "set_disposition", "value": "sale_interest"},
            ],
        },
        {
            "key": "end_later",
            "kind": "end",
            "title": "Später",
            "text": "Gern melden wir uns in ein paar Tagen noch einmal.",
            "outcome": "later",
            "actions": [{"type": "schedule_callback", "value": "72"}],
        },
        {
            "key": "end_no",
            "kind": "end",
            "title": "Kein Interesse",
            "text": "Alles klar, danke für Ihre Zeit und einen schönen Tag!",
            "outcome": "not_interested",
            "actions": [{"type": "set_disposition", "value": "no_interest"}],
        },
        {
            "key": "end_no_time",
            "kind": "end",
            "title": "Keine Zeit",
            "text": "Kein Problem, wir rufen Sie morgen noch einmal an.",
            "outcome": "no_time",
            "actions": [{"type": "schedule_callback", "value": "24"}],
        },
    ],
}


def _outbound_script(created_by: Any) -> Script | None:
    published = ScriptVersion.objects.filter(
        script__code=SCRIPT_CODE, status=ScriptVersion.Status.PUBLISHED
    ).first()
    if published is not None:
        return published.script
    if Script.objects.filter(code=SCRIPT_CODE).exists():
        return Script.objects.get(code=SCRIPT_CODE)  # a manager's own drafts: leave them
    draft, _problems = script_import(text=json.dumps(OUTBOUND_OFFER), created_by=created_by)
    return script_version_publish(version=draft).script


def campaigns_demo_seed(*, by: Any) -> dict[str, int]:
    """Create the demo campaign and fill its call list once; running it again changes nothing."""
    campaign, _ = Campaign.objects.get_or_create(
        code="herbstangebot-2026",
        defaults={
            "name": "Herbstangebot 2026",
            "description": "Bestandskunden ein passendes Zusatzprodukt anbieten.",
            "script": _outbound_script(by),
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
