"""Why is this customer probably calling? One rule-based selector, with an explanation per
reason, that only looks at what was known at the moment asked — so it can be replayed on
the interaction history and its hit rate measured (contact_reasons_evaluate).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import OuterRef, Q, Subquery
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from accounts.models import Account, Appointment, Interaction, Outage, Ticket, TicketChange

RECENT_TICKET_DAYS = 7
RECENT_RESOLUTION_DAYS = 3
RECENT_OUTBOUND_DAYS = 3
REPEAT_CONTACT_DAYS = 3
TOP = 3


@dataclass(frozen=True)
class ContactReason:
    """A probable reason for the contact: a code to evaluate, a score, and why."""

    code: str
    label: str
    score: float
    explanation: str
    ticket_id: int | None = None
    outage_id: int | None = None


def _ago(moment: dt.datetime, now: dt.datetime) -> str:
    days = (now.date() - moment.date()).days
    if days <= 0:
        return _("today")
    if days == 1:
        return _("yesterday")
    return ngettext("%(n)d day ago", "%(n)d days ago", days) % {"n": days}


def _when(moment: dt.datetime) -> str:
    return formats.date_format(timezone.localtime(moment), "SHORT_DATETIME_FORMAT")


def contact_reasons_predict(
    *,
    account: Account,
    now: dt.datetime | None = None,
    limit: int = TOP,
    outages: list[Outage] | None = None,
) -> list[ContactReason]:
    """The most likely reasons the account's customer is contacting us, best first.

    Uses only data from before `now` (default: the present), in four queries: the
    account's tickets, outages in its postcodes (none when the caller passes the current
    `outages`), today's appointments, and its recent interactions.
    """
    now = now or timezone.now()
    reasons: list[ContactReason] = []
    postcodes = {address.postcode for address in account.addresses.all() if address.postcode}
    if outages is None and postcodes:
        outages = list(
            Outage.objects.filter(areas__postcode__in=postcodes, started_at__lte=now)
            .filter(Q(resolved_at__isnull=True) | Q(resolved_at__gt=now))
            .distinct()
            .order_by("-started_at")[:2]
        )
    if outages:
        for outage in outages[:2]:
            fix = _when(outage.expected_fix_at) if outage.expected_fix_at else _("unknown")
            reasons.append(
                ContactReason(
                    code="outage",
                    label=_("Outage in the area"),
                    score=0.9,
                    explanation=_("%(title)s since %(since)s; expected fix %(fix)s.")
                    % {"title": outage.title, "since": _when(outage.started_at), "fix": fix},
                    outage_id=outage.pk,
                )
            )
    last_change_at = (
        TicketChange.objects.filter(ticket=OuterRef("pk"), at__lte=now)
        .order_by("-at", "-id")
        .values("at")[:1]
    )
    tickets = (
        Ticket.objects.filter(account=account, created_at__lte=now)
        .annotate(last_change_at=Subquery(last_change_at))
        .order_by("-updated_at")
    )
    for ticket in tickets[:20]:
        done_at = ticket.closed_at or ticket.resolved_at
        was_open = done_at is None or done_at > now
        last_change = ticket.last_change_at or ticket.created_at
        if was_open:
            overdue = ticket.resolution_due_at is not None and ticket.resolution_due_at <= now
            if overdue or ticket.is_escalated:
                reasons.append(
                    ContactReason(
                        code="overdue_ticket",
                        label=_("Ticket past its due date"),
                        score=0.8,
                        explanation=_("Ticket %(number)s “%(subject)s” is past its due date.")
                        % {"number": ticket.number, "subject": ticket.subject},
                        ticket_id=ticket.pk,
                    )
                )
            elif now - last_change <= dt.timedelta(days=RECENT_TICKET_DAYS):
                age = (now - last_change).total_seconds() / 86400
                reasons.append(
                    ContactReason(
                        code="open_ticket",
                        label=_("Open ticket"),
                        score=0.75 - 0.05 * min(age, RECENT_TICKET_DAYS),
                        explanation=_("Ticket %(number)s “%(subject)s” was updated %(ago)s.")
                        % {
                            "number": ticket.number,
                            "subject": ticket.subject,
                            "ago": _ago(last_change, now),
                        },
                        ticket_id=ticket.pk,
                    )
                )
        elif done_at is not None and now - done_at <= dt.timedelta(days=RECENT_RESOLUTION_DAYS):
            reasons.append(
                ContactReason(
                    code="recently_resolved",
                    label=_("Recently solved ticket"),
                    score=0.5,
                    explanation=_("Ticket %(number)s “%(subject)s” was solved %(ago)s.")
                    % {
                        "number": ticket.number,
                        "subject": ticket.subject,
                        "ago": _ago(done_at, now),
                    },
                    ticket_id=ticket.pk,
                )
            )
    local_now = timezone.localtime(now)
    day_start = local_now.replace(hour=0, minute=0, second=0, microsecond=0)
    today = Appointment.objects.filter(
        account=account,
        starts_at__gte=day_start,
        starts_at__lt=day_start + dt.timedelta(days=1),
        created_at__lte=now,
    ).filter(Q(cancelled_at__isnull=True) | Q(cancelled_at__gt=now))
    for appointment in today.select_related("technician").order_by("starts_at")[:1]:
        start = timezone.localtime(appointment.starts_at)
        reasons.append(
            ContactReason(
                code="appointment_today",
                label=_("Appointment today"),
                score=0.7,
                explanation=_("Technician %(name)s comes today at %(time)s.")
                % {"name": appointment.technician.name, "time": f"{start:%H:%M}"},
                ticket_id=appointment.ticket_id,
            )
        )
    since = now - dt.timedelta(days=max(RECENT_OUTBOUND_DAYS, REPEAT_CONTACT_DAYS))
    recent = list(
        Interaction.objects.filter(account=account, started_at__gte=since, started_at__lt=now)
        .order_by("-started_at")
        .only("channel", "direction", "started_at", "subject")[:50]
    )
    outbound = [i for i in recent if i.direction == Interaction.Direction.OUTBOUND]
    if outbound:
        last = outbound[0]
        reasons.append(
            ContactReason(
                code="we_contacted",
                label=_("We contacted them"),
                score=0.55,
                explanation=_("%(channel)s from us %(ago)s: %(subject)s")
                % {
                    "channel": last.get_channel_display(),
                    "ago": _ago(last.started_at, now),
                    "subject": last.subject or "–",
                },
            )
        )
    inbound = [i for i in recent if i.direction == Interaction.Direction.INBOUND]
    if len(inbound) >= 2:
        reasons.append(
            ContactReason(
                code="repeat_contact",
                label=_("Repeated contact"),
                score=0.4,
                explanation=ngettext(
                    "%(n)d contact in the last %(days)d days.",
                    "%(n)d contacts in the last %(days)d days.",
                    len(inbound),
                )
                % {"n": len(inbound), "days": REPEAT_CONTACT_DAYS},
            )
        )
    reasons.sort(key=lambda reason: reason.score, reverse=True)
    unique: list[ContactReason] = []
    seen: set[tuple[str, int | None, int | None]] = set()
    for reason in reasons:
        key = (reason.code, reason.ticket_id, reason.outage_id)
        if key not in seen:
            seen.add(key)
            unique.append(reason)
    return unique[:limit]


@dataclass(frozen=True)
class Evaluation:
    cases: int
    top1: int
    top3: int

    @property
    def top1_rate(self) -> float:
        return self.top1 / self.cases if self.cases else 0.0

    @property
    def top3_rate(self) -> float:
        return self.top3 / self.cases if self.cases else 0.0


def contact_reason_actual(interaction: Interaction) -> str:
    """What a past inbound contact turned out to be about, read from the history: the ticket
    it opened (outage, or a new issue) or an existing ticket it mentions; "" if unknown."""
    opened = list(interaction.tickets.all())
    if opened:
        return "outage" if opened[0].outage_id else "new_issue"
    if interaction.account_id is None:
        return ""
    text = f"{interaction.subject} {interaction.notes}"
    earlier = Ticket.objects.filter(account_id=interaction.account_id).filter(
        created_at__lt=interaction.started_at
    )
    for ticket in earlier:
        if ticket.number in text:
            overdue = ticket.resolution_due_at is not None and (
                ticket.resolution_due_at <= interaction.started_at
            )
            return "overdue_ticket" if overdue else "open_ticket"
    return ""


def contact_reasons_evaluate(*, interactions: Iterable[Interaction]) -> Evaluation:
    """Replay the predictor at the start of each past inbound contact and count how often the
    actual reason was first, or among the top three. Contacts without a known reason are
    skipped. A "new_issue" counts as predicted when no strong reason (score ≥ 0.5) was shown.
    """
    cases = top1 = top3 = 0
    for interaction in interactions:
        if interaction.account is None or interaction.direction != Interaction.Direction.INBOUND:
            continue
        actual = contact_reason_actual(interaction)
        if not actual:
            continue
        cases += 1
        predicted = contact_reasons_predict(
            account=interaction.account, now=interaction.started_at, limit=TOP
        )
        codes = [reason.code for reason in predicted]
        if actual == "new_issue":
            hit = not predicted or predicted[0].score < 0.5
            top1 += hit
            top3 += hit
            continue
        top1 += bool(codes) and codes[0] == actual
        top3 += actual in codes
    return Evaluation(cases=cases, top1=top1, top3=top3)
