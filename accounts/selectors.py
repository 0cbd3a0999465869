"""Read paths for accounts: identification by phone number, search, and the pop's data."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Prefetch, Q, QuerySet

from accounts.models import Account, Address, Contact, ContactPoint, Interaction
from accounts.phone import ParsedNumber, phone_parse

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


def account_ids_search(*, query: str, limit: int) -> list[int]:
    """Ids of the accounts the search text finds, by name, at most `limit` of them.

    It matches name, customer number, city, a contact's last name, phone or email.
    """
    query = query.strip()[:200]
    if not query:
        return []
    condition = (
        Q(name__icontains=query)
        | Q(customer_number__iexact=query)
        | Q(addresses__city__icontains=query)
        | Q(contacts__last_name__icontains=query)
        | Q(contact_points__normalized__iexact=query.lower())
    )
    phone = phone_parse(query)
    if phone.is_valid:
        condition |= Q(contact_points__normalized=phone.e164)
    return list(
        Account.objects.filter(condition)
        .order_by("name", "id")
        .values_list("id", flat=True)
        .distinct()[:limit]
    )


def account_search(*, query: str, limit: int = 20) -> list[Account]:
    """The accounts the search text finds (see account_ids_search), by name, with addresses."""
    ids = account_ids_search(query=query, limit=limit)
    if not ids:
        return []
    return list(
        Account.objects.filter(id__in=ids)
        .select_related("customer_group")
        .prefetch_related(_main_addresses())
        .order_by("name", "id")
    )


def _main_addresses() -> Prefetch:  # type: ignore[type-arg]
    return Prefetch("addresses", queryset=Address.objects.order_by("kind", "id"))


def account_get_for_desk(*, account_id: int) -> Account | None:
    """An account with everything the desk's account view shows, in a fixed number of queries."""
    return (
        Account.objects.filter(pk=account_id)
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
        )
        .first()
    )


def interaction_list_for_account(*, account_id: int) -> QuerySet[Interaction]:
    """The account's interaction history, newest first (slice it to page)."""
    return (
        Interaction.objects.filter(account_id=account_id)
        .select_related("agent", "contact")
        .order_by("-started_at", "-id")
    )
