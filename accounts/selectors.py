"""Read paths for accounts: identification by phone number, search, and the pop's data."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from django.contrib.auth import get_user_model
from django.db.models import Count, F, Prefetch, Q, QuerySet, prefetch_related_objects
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.access import access_for, accounts_visible, scoped
from accounts.models import (
    Account,
    Address,
    Appointment,
    Contact,
    ContactPoint,
    Interaction,
    Outage,
    OutageArea,
    Ticket,
    TicketAttachment,
    TicketChange,
    TicketMessage,
)
from accounts.phone import ParsedNumber, phone_parse

logger = logging.getLogger(__name__)

# Direct-dial numbers are the switchboard number plus a few digits.
MIN_SWITCHBOARD_DIGITS = 6


@dataclass(frozen=True)
class Identification:
    """Who a calling number belongs to: zero, one or several accounts."""

    number: ParsedNumber
    accounts: list[Account] = field(default_factory=list)
    via_switchboard: bool = False

    @property
    def account(self) -> Account | None:
        return self.accounts[0] if len(self.accounts) == 1 else None


def account_list_by_phone(*, raw: str | None) -> Identification:
    """Identify the accounts behind a calling number (exact number first, then switchboard)."""
    number = phone_parse(raw)
    if not number.is_valid:
        return Identification(number=number)
    e164 = number.e164
    prefixes = [e164[:length] for length in range(MIN_SWITCHBOARD_DIGITS + 1, len(e164))]
    points = list(
        ContactPoint.objects.filter(kind=ContactPoint.Kind.PHONE)
        .filter(Q(normalized=e164) | Q(normalized__in=prefixes, is_switchboard=True))
        .select_related("account")
        .order_by("account__name", "account_id")
    )
    exact = [p.account for p in points if p.normalized == e164]
    if exact:
        return Identification(number=number, accounts=_unique(exact))
    longest = max((len(p.normalized) for p in points), default=0)
    by_switchboard = [p.account for p in points if len(p.normalized) == longest]
    return Identification(number=number, accounts=_unique(by_switchboard), via_switchboard=True)


def _unique(accounts: list[Account]) -> list[Account]:
    seen: dict[int, Account] = {}
    for account in accounts:
        seen.setdefault(account.pk, account)
    return list(seen.values())


def account_ids_search(*, query: str, limit: int, user: Any) -> list[int]:
    """Ids of the accounts the search text finds that the user may see, best match first, at
    most `limit` of them.

    Names, contacts' names, cities and streets match phonetically and with typos
    ("Mayer" finds "Meier", "Mueller" finds "Müller"); customer number, phone and
    email match exactly. The engine is the knowledge app's search (knowledge.selectors).
    """
    from knowledge.selectors import account_order_by_score, account_scores_by_name

    scores = account_scores_by_name(query=query, limit=max(limit * 3, 30))
    if not scores:
        return []
    accounts = scoped(
        user, Account.objects.filter(id__in=[doc_id for doc_id, _score in scores]), via=""
    ).only("name")
    return [a.pk for a in account_order_by_score(list(accounts), scores)][:limit]


def account_search(*, query: str, user: Any, limit: int = 20) -> list[Account]:
    """The accounts the search text finds that the user may see (see account_ids_search), best
    first, with addresses."""
    from knowledge.selectors import account_order_by_score, account_scores_by_name

    scores = account_scores_by_name(query=query, limit=max(limit * 3, 30))
    if not scores:
        return []
    accounts = scoped(
        user, Account.objects.filter(id__in=[doc_id for doc_id, _score in scores]), via=""
    ).select_related("customer_group")
    best = account_order_by_score(list(accounts), scores)[:limit]
    prefetch_related_objects(best, _main_addresses())
    return best


def _main_addresses() -> Prefetch:  # type: ignore[type-arg]
    return Prefetch("addresses", queryset=Address.objects.order_by("kind", "id"))


def account_get(*, account_id: int, user: Any) -> Account | None:
    """The account alone (one query), for screens that show little more than its name; None
    when it does not exist or the user may not see it (access per customer group)."""
    return (
        scoped(user, Account.objects.filter(pk=account_id), via="")
        .select_related("customer_group")
        .first()
    )


def account_get_for_desk(*, account_id: int, user: Any) -> Account | None:
    """An account with everything the desk's account view shows, in a fixed number of queries;
    None when it does not exist or the user may not see it (access per customer group)."""
    return (
        scoped(user, Account.objects.filter(pk=account_id), via="")
        .select_related("customer_group", "assigned_agent")
        .prefetch_related(
            _main_addresses(),
            Prefetch(
                "contacts",
                queryset=Contact.objects.prefetch_related("contact_points"),
            ),
            Prefetch(
                "contact_points",
                queryset=ContactPoint.objects.filter(contact__isnull=True),
                to_attr="own_contact_points",
            ),
            Prefetch(
                "appointments",
                queryset=Appointment.objects.filter(
                    status=Appointment.Status.BOOKED, ends_at__gte=timezone.now()
                )
                .select_related("technician")
                .order_by("starts_at")[:5],
                to_attr="upcoming_appointments",
            ),
        )
        .first()
    )


@dataclass(frozen=True)
class HistoryFilter:
    """What the agent searches the interaction history for: text, channel, direction."""

    query: str = ""
    channel: str = ""
    direction: str = ""

    @classmethod
    def from_query(cls, params: Any) -> HistoryFilter:
        """Read the filter from request parameters; unknown values are ignored."""
        channel = params.get("channel", "")
        direction = params.get("direction", "")
        return cls(
            query=" ".join(str(params.get("hq", "")).split())[:200],
            channel=channel if channel in Interaction.Channel.values else "",
            direction=direction if direction in Interaction.Direction.values else "",
        )

    @property
    def is_active(self) -> bool:
        return bool(self.query or self.channel or self.direction)

    @property
    def querystring(self) -> str:
        """The filter as URL parameters for the pager links ("" when none)."""
        params = {"hq": self.query, "channel": self.channel, "direction": self.direction}
        return urlencode({key: value for key, value in params.items() if value})


def interaction_list_for_account(
    *, account_id: int, user: Any, history_filter: HistoryFilter | None = None
) -> QuerySet[Interaction]:
    """The account's interaction history across channels, newest first, optionally searched
    (slice it to page; every page costs the same queries); empty for an account the user may
    not see."""
    interactions = scoped(user, Interaction.objects.filter(account_id=account_id))
    if history_filter is not None:
        if history_filter.channel:
            interactions = interactions.filter(channel=history_filter.channel)
        if history_filter.direction:
            interactions = interactions.filter(direction=history_filter.direction)
        for word in history_filter.query.split()[:5]:
            interactions = interactions.filter(
                Q(subject__icontains=word) | Q(notes__icontains=word) | Q(address__icontains=word)
            )
    return interactions.select_related("agent", "contact").order_by("-started_at", "-id")


# -- tickets -----------------------------------------------------------------------------------

OPEN_TICKETS_ON_DESK = 10


def _ticket_base() -> QuerySet[Ticket]:
    return Ticket.objects.select_related(
        "account", "category", "category__parent", "assigned_agent", "assigned_group", "outage"
    )


def ticket_list_open_for_account(
    *, account_id: int, user: Any, limit: int = OPEN_TICKETS_ON_DESK
) -> list[Ticket]:
    """The account's open tickets, most urgent due date first (one query); none for an account
    the user may not see."""
    return list(
        scoped(user, _ticket_base())
        .filter(account_id=account_id, status__in=Ticket.OPEN_STATUSES)
        .order_by(F("resolution_due_at").asc(nulls_last=True), "-created_at", "-id")[:limit]
    )


def ticket_list(
    *,
    user: Any,
    status: str = "",
    open_only: bool = False,
    assigned_to: int | None = None,
    group_of_agent: int | None = None,
    account_id: int | None = None,
    query: str = "",
) -> QuerySet[Ticket]:
    """The tickets the user may see, for the desk's list and the API, newest first; slice it
    to page."""
    tickets = scoped(user, _ticket_base()).order_by("-created_at", "-id")
    if status:
        tickets = tickets.filter(status=status)
    elif open_only:
        tickets = tickets.filter(status__in=Ticket.OPEN_STATUSES)
    if assigned_to is not None:
        tickets = tickets.filter(assigned_agent_id=assigned_to)
    if group_of_agent is not None:
        tickets = tickets.filter(assigned_group__members=group_of_agent)
    if account_id is not None:
        tickets = tickets.filter(account_id=account_id)
    query = query.strip()[:200]
    if query:
        tickets = tickets.filter(
            Q(number__iexact=query)
            | Q(subject__icontains=query)
            | Q(account__name__icontains=query)
        )
    return tickets


def ticket_get(*, ticket_id: int, user: Any) -> Ticket | None:
    """One ticket with its messages, files and audit trail, in a fixed number of queries;
    None when it does not exist or the user may not see it."""
    return (
        scoped(user, _ticket_base())
        .select_related(
            "contact",
            "interaction",
            "created_by",
            "sla_policy",
            "required_skill",
            "category__required_skill",
        )
        .prefetch_related(
            Prefetch("messages", queryset=TicketMessage.objects.select_related("author")),
            Prefetch(
                "attachments", queryset=TicketAttachment.objects.select_related("uploaded_by")
            ),
            Prefetch("changes", queryset=TicketChange.objects.select_related("actor")),
            Prefetch(
                "appointments",
                queryset=Appointment.objects.select_related("technician").order_by("starts_at"),
            ),
        )
        .filter(pk=ticket_id)
        .first()
    )


@dataclass(frozen=True)
class SlaSummary:
    warning: int = 0
    breached: int = 0


def ticket_sla_summary_for_agent(*, user_id: int, now: datetime | None = None) -> SlaSummary:
    """How many of the agent's open tickets are close to or past an SLA due date (one query)."""
    now = now or timezone.now()
    pending_first = Q(first_responded_at__isnull=True)
    breached = (pending_first & Q(first_response_due_at__lte=now)) | Q(resolution_due_at__lte=now)
    warning = (pending_first & Q(first_response_warn_at__lte=now)) | Q(resolution_warn_at__lte=now)
    counts = Ticket.objects.filter(
        assigned_agent_id=user_id, status__in=Ticket.OPEN_STATUSES
    ).aggregate(
        breached=Count("pk", filter=breached),
        warning=Count("pk", filter=warning & ~breached),
    )
    return SlaSummary(warning=counts["warning"] or 0, breached=counts["breached"] or 0)


# -- callbacks ---------------------------------------------------------------------------------


def callback_list_for_account(*, account_id: int, limit: int = 10) -> list[Any]:
    """The account's callbacks that are still to be made, soonest first (one query)."""
    from telephony.models import WorkItem

    return list(
        WorkItem.objects.filter(
            account_id=account_id,
            channel=WorkItem.Channel.CALLBACK,
            status__in=[WorkItem.Status.QUEUED, WorkItem.Status.OFFERED],
        )
        .select_related("preferred_agent__user", "agent_group")
        .order_by("not_before", "id")[:limit]
    )


# -- connected systems and outages ---------------------------------------------------------------


def outage_list_for_account(*, account: Account) -> list[Outage]:
    """Active outages in the postcodes of the account's addresses (one query; the addresses
    are prefetched by account_get_for_desk)."""
    postcodes = {address.postcode for address in account.addresses.all() if address.postcode}
    if not postcodes:
        return []
    return list(
        Outage.objects.filter(resolved_at__isnull=True, areas__postcode__in=postcodes)
        .prefetch_related(Prefetch("areas", queryset=OutageArea.objects.order_by("postcode")))
        .distinct()
        .order_by("expected_fix_at", "id")
    )


@dataclass
class SystemAnswer:
    """What one connected system said, or why it could not be asked."""

    items: list[Any] = field(default_factory=list)
    error: str = ""


@dataclass
class ConnectedData:
    contracts: SystemAnswer
    orders: SystemAnswer


def connected_data_for_account(*, account: Account) -> ConnectedData:
    """Contracts and orders from the connected systems; a system that fails or answers garbage
    gives an error text instead, and the rest still shows."""
    from accounts.connectors import ConnectorError, get_connector

    def ask(question: Any) -> SystemAnswer:
        try:
            return SystemAnswer(items=list(question(customer_number=account.customer_number)))
        except ConnectorError as error:
            logger.warning("connected system failed for %s: %s", account.customer_number, error)
            return SystemAnswer(error=_("System not reachable."))

    try:
        connector = get_connector()
    except ConnectorError as error:
        logger.error("connected systems are not configured: %s", error)
        failed = SystemAnswer(error=_("System not reachable."))
        return ConnectedData(contracts=failed, orders=failed)
    return ConnectedData(contracts=ask(connector.contracts), orders=ask(connector.orders))


# -- duplicates and presence ---------------------------------------------------------------------


@dataclass
class DuplicateCandidate:
    account: Account
    score: int
    reasons: list[str] = field(default_factory=list)


def duplicate_candidates_for_account(
    *, account: Account, user: Any, limit: int = 8
) -> list[DuplicateCandidate]:
    """Accounts that may be the same customer: a similar name (phonetic search), or the same
    phone number or email address. Best first; merged accounts and accounts the user may not
    see are left out."""
    access = access_for(user)
    candidates: dict[int, DuplicateCandidate] = {}

    def add(other: Account, score: int, reason: str) -> None:
        if other.pk == account.pk or other.merged_into_id is not None:
            return
        if not access.can_read(other.customer_group_id):
            return
        entry = candidates.setdefault(other.pk, DuplicateCandidate(account=other, score=0))
        entry.score += score
        if reason not in entry.reasons:
            entry.reasons.append(reason)

    mine = list(
        ContactPoint.objects.filter(account=account).values_list(
            "kind", "normalized", "is_switchboard"
        )
    )
    if mine:
        shared = (
            ContactPoint.objects.filter(normalized__in=[n for _k, n, _s in mine])
            .exclude(account=account)
            .select_related("account")
        )
        switchboards = {n for _k, n, s in mine if s}
        for point in shared:
            if point.kind == ContactPoint.Kind.EMAIL:
                add(point.account, 3, _("same email %(value)s") % {"value": point.value})
            elif point.is_switchboard or point.normalized in switchboards:
                add(point.account, 1, _("same switchboard %(value)s") % {"value": point.value})
            else:
                add(point.account, 2, _("same phone %(value)s") % {"value": point.value})
    for other in account_search(query=account.name, user=user, limit=limit + 1):
        same = other.name.casefold() == account.name.casefold()
        add(other, 2 if same else 1, _("same name") if same else _("similar name"))
    ranked = sorted(candidates.values(), key=lambda c: (-c.score, c.account.name, c.account.pk))
    return ranked[:limit]


def presence_object_visible(*, user: Any, kind: str, object_id: int) -> bool:
    """Whether the user may see the account or ticket whose presence is asked for (one query;
    False for an unknown kind)."""
    if kind == "account":
        return accounts_visible(user).filter(pk=object_id).exists()
    if kind == "ticket":
        return scoped(user, Ticket.objects.all()).filter(pk=object_id).exists()
    return False


def presence_for_viewer(*, user_id: int, kind: str, object_id: int) -> list[Any] | None:
    """The colleagues a desk shows on an account or ticket, for a push to that desk's user.

    None when the user (looked up afresh: a desk stays open for hours while access changes)
    is gone, inactive or may not see the object — then the desk is sent nothing about it.
    """
    user = get_user_model().objects.filter(pk=user_id, is_active=True).first()
    if user is None:
        return None
    if not presence_object_visible(user=user, kind=kind, object_id=object_id):
        return None
    return presence_others(user_id=user_id, kind=kind, object_id=object_id)


def presence_others(*, user_id: int, kind: str, object_id: int) -> list[Any]:
    """The other users who have this account or ticket open right now (one query)."""
    from accounts.models import Presence
    from accounts.services.duplicates import PRESENCE_TTL

    return list(
        Presence.objects.filter(
            kind=kind, object_id=object_id, seen_at__gte=timezone.now() - PRESENCE_TTL
        )
        .exclude(user_id=user_id)
        .select_related("user")
        .order_by("seen_at")
    )
