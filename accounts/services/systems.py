"""Write paths that involve connected systems: outage sync and the line test."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from accounts.connectors import ConnectorError, LineTestResult, OutageReport, get_connector
from accounts.models import Account, Interaction, Outage, OutageArea, Ticket
from accounts.services.tickets import ticket_create
from icenter.errors import DomainError

logger = logging.getLogger(__name__)


def account_postcode(account: Account) -> str:
    """The postcode a line runs to: the installation address, else the main address."""
    addresses = sorted(
        account.addresses.all(), key=lambda a: (a.kind != "installation", a.kind != "main", a.pk)
    )
    return addresses[0].postcode if addresses else ""


@transaction.atomic
def outage_upsert(*, report: OutageReport, source: str) -> Outage:
    """Store or update one outage the outage system reported, with its postcode areas."""
    outage, created = Outage.objects.select_for_update().get_or_create(
        reference=report.reference[:50],
        defaults={
            "title": report.title[:200] or report.reference[:200],
            "description": report.description,
            "source": source[:50],
            "started_at": report.started_at or timezone.now(),
            "expected_fix_at": report.expected_fix_at,
        },
    )
    if not created:
        changed = []
        for field, value in (
            ("title", report.title[:200] or outage.title),
            ("description", report.description or outage.description),
            ("expected_fix_at", report.expected_fix_at or outage.expected_fix_at),
            ("resolved_at", None),
        ):
            if getattr(outage, field) != value:
                setattr(outage, field, value)
                changed.append(field)
        if changed:
            outage.save(update_fields=changed)
    known = set(outage.areas.values_list("postcode", flat=True))
    OutageArea.objects.bulk_create(
        [OutageArea(outage=outage, postcode=code) for code in set(report.postcodes) - known]
    )
    return outage


def outage_sync(*, source: str = "connector") -> int:
    """Pull every known outage from the outage system; ones it no longer reports are resolved.

    Idempotent: running it twice stores nothing new. A failing system changes nothing.
    """
    try:
        reports = get_connector().outages()
    except ConnectorError as error:
        logger.warning("outage sync skipped: %s", error)
        return 0
    with transaction.atomic():
        seen = {outage_upsert(report=report, source=source).pk for report in reports}
        Outage.objects.filter(source=source, resolved_at__isnull=True).exclude(pk__in=seen).update(
            resolved_at=timezone.now()
        )
    return len(seen)


@dataclass(frozen=True)
class LineTestOutcome:
    result: LineTestResult
    ticket: Ticket | None = None
    outage: Outage | None = None


def line_test_run(
    *, account: Account, by: User, interaction: Interaction | None = None
) -> LineTestOutcome:
    """Test the customer's line; a failed test opens an incident with its expected resolution
    time, linked to the area's outage when the fault is a known one."""
    postcode = account_postcode(account)
    try:
        result = get_connector().line_test(
            customer_number=account.customer_number, postcode=postcode
        )
    except ConnectorError as error:
        logger.warning("line test for %s failed: %s", account.customer_number, error)
        raise DomainError(
            _("The line test system is not reachable right now; try again in a moment.")
        ) from error
    if result.ok:
        return LineTestOutcome(result=result)
    with transaction.atomic():
        outage = (
            outage_upsert(report=result.outage, source="line_test")
            if result.outage is not None
            else None
        )
        expected = result.expected_resolution_at or (outage.expected_fix_at if outage else None)
        lines = [_("Line test failed: %(detail)s") % {"detail": result.detail}]
        if expected is not None:
            lines.append(
                _("Expected resolution: %(when)s")
                % {
                    "when": formats.date_format(
                        timezone.localtime(expected), "SHORT_DATETIME_FORMAT"
                    )
                }
            )
        lines += [f"{key}: {value}" for key, value in result.measurements.items()]
        ticket = ticket_create(
            account=account,
            subject=(_("Line fault: %(detail)s") % {"detail": result.detail})[:200],
            description="\n".join(lines),
            created_by=by,
            interaction=interaction
            if interaction and interaction.account_id == account.pk
            else None,
            type=Ticket.Type.INCIDENT,
            priority=Ticket.Priority.HIGH,
            outage=outage,
        )
    return LineTestOutcome(result=result, ticket=ticket, outage=outage)
