"""Working a call list: take the next customer, call, close with a result; fill lists.

Taking is safe with many agents at once: the entry is claimed with a conditional update
(and, on PostgreSQL, read with SKIP LOCKED so agents never queue behind each other), so no
two agents ever get the same customer.
"""

from __future__ import annotations

import csv
import io
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts import services as account_services
from accounts.access import account_require_read, accounts_visible, scoped
from accounts.models import Account, ContactPoint
from accounts.phone import phone_parse
from campaigns.models import CallList, CallListEntry
from icenter.errors import DomainError, PermissionDenied
from scripting import selectors as script_selectors
from scripting import services as script_services
from scripting.models import ScriptRun, ScriptVersion
from telephony import services as telephony_services
from telephony.models import Agent, Call

logger = logging.getLogger(__name__)

# Entries looked at per attempt to claim one without row locks (SQLite), where agents may race.
CLAIM_BATCH = 5
IMPORT_MAX_ROWS = 50_000


def _require_member(agent: Agent, call_list: CallList) -> None:
    if not call_list.agent_groups.filter(members=agent).exists():
        raise PermissionDenied(_("This call list is not assigned to your agent groups."))


def _script_version(call_list: CallList) -> ScriptVersion | None:
    campaign = call_list.campaign
    if campaign.script_id is None:
        return None
    version = script_selectors.script_version_published_get(script=campaign.script)
    if version is None:
        raise DomainError(
            _("The script of campaign “%(campaign)s” has no published version yet.")
            % {"campaign": campaign.name}
        )
    return version


def _entry_in_work(agent: Agent) -> CallListEntry | None:
    return (
        CallListEntry.objects.select_related("call_list__campaign")
        .filter(agent=agent, status=CallListEntry.Status.IN_WORK)
        .first()
    )


def _due(call_list: CallList, agent: Agent, now: datetime) -> Any:
    entries = CallListEntry.objects.filter(
        call_list=call_list, status=CallListEntry.Status.OPEN
    ).filter(Q(not_before__isnull=True) | Q(not_before__lte=now))
    entries = scoped(agent.user, entries)
    return entries.order_by("priority", "id")


def _claim(call_list: CallList, agent: Agent, now: datetime) -> CallListEntry | None:
    """Claim the first due entry nobody else is claiming; None when the list is used up."""
    skip_locked = connection.features.has_select_for_update_skip_locked
    while True:
        due = _due(call_list, agent, now)
        batch = CLAIM_BATCH
        if skip_locked:
            # Lock one row only: every row locked here is skipped by the other agents.
            due, batch = due.select_for_update(skip_locked=True, of=("self",)), 1
        ids = list(due.values_list("pk", flat=True)[:batch])
        if not ids:
            return None
        for pk in ids:
            claimed = CallListEntry.objects.filter(pk=pk, status=CallListEntry.Status.OPEN).update(
                status=CallListEntry.Status.IN_WORK, agent=agent, taken_at=now
            )
            if claimed:
                return CallListEntry.objects.select_related(
                    "call_list__campaign", "account", "contact"
                ).get(pk=pk)
        if skip_locked:
            return None


@transaction.atomic
def call_list_entry_take(*, agent: Agent, call_list: CallList) -> CallListEntry:
    """The next customer of the list for this agent, with the campaign's script opened.

    An agent who still works a customer gets that one back (a reload, a second tab).
    """
    current = _entry_in_work(agent)
    if current is not None:
        if current.call_list_id != call_list.pk:
            raise DomainError(
                _("Close the customer of “%(list)s” first.") % {"list": current.call_list.name}
            )
        return current
    call_list = CallList.objects.select_related("campaign__script").get(pk=call_list.pk)
    if not call_list.is_active or not call_list.campaign.is_active:
        raise DomainError(_("This call list is not active."))
    _require_member(agent, call_list)
    version = _script_version(call_list)
    try:
        with transaction.atomic():
            entry = _claim(call_list, agent, timezone.now())
    except IntegrityError:
        # The same agent took a customer in another tab at the same moment.
        current = _entry_in_work(agent)
        if current is None:
            raise
        return current
    if entry is None:
        raise DomainError(_("Nobody is left to call on this list right now."))
    if version is not None:
        entry.script_run = script_services.script_run_start(
            script_version=version,
            agent_user=agent.user,
            interaction=None,
            account=entry.account,
            contact=entry.contact,
            campaign={"code": call_list.campaign.code, "name": call_list.campaign.name},
            source=ScriptRun.Source.CALL_LIST,
        )
        entry.save(update_fields=["script_run"])
    logger.info("call list %s: entry %s taken by agent %s", call_list.pk, entry.pk, agent.pk)
    return entry


def _require_own(entry: CallListEntry, agent: Agent) -> CallListEntry:
    locked = (
        CallListEntry.objects.select_for_update(of=("self",))
        .select_related("call_list", "script_run")
        .get(pk=entry.pk)
    )
    if locked.agent_id != agent.pk or locked.status != CallListEntry.Status.IN_WORK:
        raise DomainError(_("This customer is no longer yours to work on."))
    return locked


def call_list_entry_dial(*, agent: Agent, entry: CallListEntry) -> Call:
    """Call the customer: the agent's phone rings, then the customer's.

    The call's interaction is the customer's (even when the number is shared) and the
    campaign's script run belongs to it from now on.
    """
    with transaction.atomic():
        entry = _require_own(entry, agent)
    call = telephony_services.call_originate(agent=agent, number=entry.phone)
    interaction = call.interaction
    with transaction.atomic():
        entry = _require_own(entry, agent)
        if interaction is not None:
            if interaction.account_id != entry.account_id:
                account_services.interaction_set_account(
                    interaction=interaction,
                    account=entry.account,
                    contact=entry.contact,
                    user=agent.user,
                )
            entry.interaction = interaction
            entry.save(update_fields=["interaction"])
            run = entry.script_run
            if run is not None and run.is_active and run.interaction_id is None:
                script_services.script_run_attach_interaction(
                    run=run, interaction=interaction, user=agent.user
                )
    return call


@transaction.atomic
def call_list_entry_close(*, agent: Agent, entry: CallListEntry, result: str) -> CallListEntry:
    """Close the customer with the result of the call.

    Not reached: the customer comes back after the list's pause, until the attempts are used
    up. A script still open is closed unfinished (its answers stay).
    """
    if result not in CallListEntry.Result.values:
        raise DomainError(_("Choose how the call ended."), field="result")
    entry = _require_own(entry, agent)
    now = timezone.now()
    entry.attempts += 1
    entry.result = result
    if result == CallListEntry.Result.NO_ANSWER and entry.attempts < entry.call_list.max_attempts:
        entry.status = CallListEntry.Status.OPEN
        entry.not_before = now + timedelta(minutes=entry.call_list.retry_minutes)
    elif result in (CallListEntry.Result.NO_ANSWER, CallListEntry.Result.WRONG_NUMBER):
        entry.status = CallListEntry.Status.FAILED
        entry.closed_at = now
    else:
        entry.status = CallListEntry.Status.DONE
        entry.closed_at = now
    _close_run(entry, agent)
    entry.save()
    return entry


@transaction.atomic
def call_list_entry_release(*, agent: Agent, entry: CallListEntry) -> CallListEntry:
    """Put the customer back untried (the agent must stop): the next agent takes them."""
    entry = _require_own(entry, agent)
    _close_run(entry, agent)
    entry.status = CallListEntry.Status.OPEN
    entry.agent = None
    entry.taken_at = None
    entry.save()
    return entry


def _close_run(entry: CallListEntry, agent: Agent) -> None:
    run = entry.script_run
    if run is not None and run.is_active:
        script_services.script_run_abandon(run=run, user=agent.user)


@transaction.atomic
def call_list_entries_release_stale(*, older_than: timedelta, now: datetime | None = None) -> int:
    """Give back customers held longer than `older_than` by agents who are logged out."""
    now = now or timezone.now()
    stale = CallListEntry.objects.filter(
        status=CallListEntry.Status.IN_WORK,
        taken_at__lt=now - older_than,
        agent__state=Agent.State.LOGGED_OUT,
    )
    count = stale.update(status=CallListEntry.Status.OPEN, agent=None, taken_at=None)
    if count:
        logger.info("call lists: %s entries of logged-out agents put back", count)
    return count


# -- filling a list ------------------------------------------------------------------------------


@dataclass
class ImportProblem:
    line: int
    message: str
    # "Line" for a file's lines (counting the header), "Entry" for an API request's entries.
    unit: str = "line"

    def __str__(self) -> str:
        values = {"line": self.line, "message": self.message}
        if self.unit == "entry":
            return _("Entry %(line)s: %(message)s") % values
        return _("Line %(line)s: %(message)s") % values


@dataclass
class ImportResult:
    added: int = 0
    skipped: int = 0


class ImportRefused(DomainError):
    """The file has errors; nothing was added."""

    def __init__(self, problems: list[ImportProblem]) -> None:
        super().__init__(
            _("Nothing was imported: %(count)s lines have errors.") % {"count": len(problems)},
            problems=[str(p) for p in problems],
        )
        self.problems = problems


def _phone_of(account: Account) -> str:
    """The account's own phone number (not a contact person's), else any of its numbers."""
    points = [
        p
        for p in account.contact_points.all()
        if p.kind == ContactPoint.Kind.PHONE and p.normalized
    ]
    own = [p for p in points if p.contact_id is None]
    return (own or points)[0].normalized if points else ""


@dataclass
class _Row:
    account: Account
    phone: str
    priority: int
    note: str


def _read_row(row: dict[str, str], accounts: dict[str, Account]) -> _Row | str:
    """The entry a row asks for, or what is wrong with it."""
    number = row.get("customer_number", "")
    if not number:
        return _("the customer number is empty.")
    account = accounts.get(number)
    if account is None:
        return _("no account has the number “%(n)s”.") % {"n": number}
    phone = row.get("phone", "")
    if phone:
        parsed = phone_parse(phone)
        if not parsed.e164:
            return _("“%(p)s” is not a phone number.") % {"p": phone}
        phone = parsed.e164
    else:
        phone = _phone_of(account)
        if not phone:
            return _("account %(n)s has no phone number; give one in “phone”.") % {"n": number}
    priority_text = row.get("priority", "") or "5"
    if not priority_text.isdigit() or not 1 <= int(priority_text) <= 9:
        return _("the priority must be a number from 1 to 9.")
    note = row.get("note", "")
    if len(note) > 300:
        return _("the note is longer than 300 characters.")
    return _Row(account, phone, int(priority_text), note)


def _too_many() -> DomainError:
    return DomainError(_("A file may hold at most %(max)s customers.") % {"max": IMPORT_MAX_ROWS})


def _dialect(text: str) -> type[csv.Dialect] | csv.Dialect:
    try:
        return csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        return csv.excel


def _csv_rows(text: str) -> list[tuple[int, dict[str, str]]]:
    if not text.strip():
        raise DomainError(_("The file is empty."))
    reader = csv.DictReader(io.StringIO(text), dialect=_dialect(text))
    columns = {(name or "").strip().lower() for name in reader.fieldnames or []}
    if "customer_number" not in columns:
        raise DomainError(_("The first line must name the columns; “customer_number” is required."))
    rows = []
    for line, raw in enumerate(reader, start=2):
        if line - 1 > IMPORT_MAX_ROWS:
            raise _too_many()
        rows.append(
            (line, {(k or "").strip().lower(): (v or "").strip() for k, v in raw.items() if k})
        )
    return rows


def call_list_entries_import(*, call_list: CallList, text: str, by: Any) -> ImportResult:
    """Add customers from CSV (columns customer_number, and optional phone, priority, note).

    All or nothing: a file with any bad line adds nobody, and every bad line is named.
    Customers already open on the list are skipped, not doubled.
    """
    return call_list_entries_add_rows(call_list=call_list, rows=_csv_rows(text), by=by)


@transaction.atomic
def call_list_entries_add_rows(
    *,
    call_list: CallList,
    rows: list[tuple[int, dict[str, str]]],
    by: Any,
    unit: str = "line",
) -> ImportResult:
    """Add customers given as (line, {customer_number, phone?, priority?, note?}) rows.

    All or nothing, like the CSV import; accounts the user may not see count as unknown.
    """
    if len(rows) > IMPORT_MAX_ROWS:
        raise _too_many()
    numbers = {row.get("customer_number", "") for _line, row in rows}
    visible = accounts_visible(
        by, Account.objects.filter(customer_number__in=numbers, merged_into__isnull=True)
    )
    accounts = {a.customer_number: a for a in visible.prefetch_related("contact_points")}
    problems: list[ImportProblem] = []
    read: list[_Row] = []
    for line, row in rows:
        outcome = _read_row(row, accounts)
        if isinstance(outcome, str):
            problems.append(ImportProblem(line, outcome, unit))
        else:
            read.append(outcome)
    if problems:
        raise ImportRefused(problems)
    return _add(call_list, read)


def _add(call_list: CallList, rows: list[_Row]) -> ImportResult:
    already = set(
        CallListEntry.objects.filter(
            call_list=call_list,
            status__in=(CallListEntry.Status.OPEN, CallListEntry.Status.IN_WORK),
        ).values_list("account_id", flat=True)
    )
    result = ImportResult()
    new: list[CallListEntry] = []
    for row in rows:
        if row.account.pk in already:
            result.skipped += 1
            continue
        already.add(row.account.pk)
        new.append(
            CallListEntry(
                call_list=call_list,
                account=row.account,
                phone=row.phone,
                priority=row.priority,
                note=row.note,
            )
        )
    CallListEntry.objects.bulk_create(new, batch_size=1000)
    result.added = len(new)
    logger.info(
        "call list %s: %s customers added, %s skipped", call_list.pk, result.added, result.skipped
    )
    return result


@transaction.atomic
def call_list_entries_add(
    *, call_list: CallList, accounts: list[Account], by: Any, priority: int = 5
) -> ImportResult:
    """Add accounts with their own phone number; accounts without one are skipped."""
    rows = []
    skipped = 0
    for account in accounts:
        account_require_read(by, account)
        phone = _phone_of(account)
        if not phone:
            skipped += 1
            continue
        rows.append(_Row(account, phone, priority, ""))
    result = _add(call_list, rows)
    result.skipped += skipped
    return result
