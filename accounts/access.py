"""Access per customer group (mandant): which accounts and tickets a user may see and change.

The rule, in one place:
- managers and superusers see and change everything;
- everyone else (agents, supervisors) sees accounts without a customer group and the accounts
  of the customer groups they were given (`CustomerGroupAccess`), and changes them unless that
  access is read-only;
- a ticket, an interaction, a contact or an appointment goes with its account (an interaction
  without an account, e.g. an unknown caller, is visible to everyone who may see interactions).

Selectors filter with `Access.account_q`, views and the API ask `account_require_read` /
`account_require_write` (and the ticket variants) before they act.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeVar

from django.db.models import Model, Q, QuerySet
from django.utils.translation import gettext as _

from accounts.models import Account, CustomerGroup, CustomerGroupAccess, Ticket
from icenter import roles
from icenter.errors import NotFound, PermissionDenied

M = TypeVar("M", bound=Model)

_CACHE = "_icenter_access"


@dataclass(frozen=True)
class Access:
    """What one user may see (`readable`) and change (`writable`), by customer group id."""

    everything: bool
    readable: frozenset[int] = frozenset()
    writable: frozenset[int] = frozenset()

    def account_q(self, prefix: str = "") -> Q:
        """A filter for rows whose account (reached by `prefix`, e.g. "account__") is visible.

        With a prefix, rows without an account match too (the join finds no group).
        """
        if self.everything:
            return Q()
        group = f"{prefix}customer_group"
        return Q(**{f"{group}__isnull": True}) | Q(**{f"{group}__in": sorted(self.readable)})

    def can_read(self, customer_group_id: int | None) -> bool:
        return self.everything or customer_group_id is None or customer_group_id in self.readable

    def can_write(self, customer_group_id: int | None) -> bool:
        return self.everything or customer_group_id is None or customer_group_id in self.writable

    @property
    def read_only_groups(self) -> frozenset[int]:
        return self.readable - self.writable


def access_for(user: Any) -> Access:
    """The user's access; computed once per user object (one query), then remembered on it."""
    cached = getattr(user, _CACHE, None)
    if cached is not None:
        return cached
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        access = Access(everything=False)
    elif user.is_superuser or roles.user_has_role(user, roles.MANAGER):
        access = Access(everything=True)
    else:
        rows = list(
            CustomerGroupAccess.objects.filter(user_id=user.pk).values_list(
                "customer_group_id", "read_only"
            )
        )
        access = Access(
            everything=False,
            readable=frozenset(group for group, _ro in rows),
            writable=frozenset(group for group, read_only in rows if not read_only),
        )
    if user is not None:
        setattr(user, _CACHE, access)
    return access


def access_forget(user: Any) -> None:
    """Drop the remembered access (after the user's assignments changed)."""
    if hasattr(user, _CACHE):
        delattr(user, _CACHE)


def accounts_visible(user: Any, queryset: QuerySet[Account] | None = None) -> QuerySet[Account]:
    """The accounts the user may see."""
    base = Account.objects.all() if queryset is None else queryset
    return base.filter(access_for(user).account_q())


def scoped(user: Any, queryset: QuerySet[M], *, via: str = "account__") -> QuerySet[M]:
    """Rows of any model that hangs off an account (tickets, interactions, contacts, …)."""
    access = access_for(user)
    if access.everything:
        return queryset
    return queryset.filter(access.account_q(via))


def _group_name(group_id: int | None) -> str:
    if group_id is None:
        return ""
    group = CustomerGroup.objects.filter(pk=group_id).only("name").first()
    return group.name if group is not None else ""


def account_require_read(user: Any, account: Account | None) -> None:
    """Refuse (as "not found": its existence is not the user's business) an invisible account."""
    if account is not None and not access_for(user).can_read(account.customer_group_id):
        raise NotFound(_("That account does not exist or is not yours to see."))


def account_require_write(user: Any, account: Account | None) -> None:
    """Refuse a change to an account the user may not see or may only read."""
    if account is None:
        return
    account_require_read(user, account)
    if not access_for(user).can_write(account.customer_group_id):
        raise PermissionDenied(
            _(
                "Accounts of the customer group “%(group)s” are read-only for you: "
                "you can look at %(name)s but not change it."
            )
            % {"group": _group_name(account.customer_group_id), "name": account.name},
            field="account",
        )


def _ticket_group(ticket: Ticket) -> int | None:
    if ticket.account_id is None:
        return None
    account = ticket.account  # usually select_related by the caller
    return account.customer_group_id


def ticket_require_read(user: Any, ticket: Ticket) -> None:
    if not access_for(user).can_read(_ticket_group(ticket)):
        raise NotFound(_("That ticket does not exist or is not yours to see."))


def ticket_require_write(user: Any, ticket: Ticket) -> None:
    """Refuse a change to a ticket whose account the user may not change."""
    ticket_require_read(user, ticket)
    group = _ticket_group(ticket)
    if not access_for(user).can_write(group):
        raise PermissionDenied(
            _(
                "Tickets of the customer group “%(group)s” are read-only for you: "
                "you can look at ticket %(number)s but not change it."
            )
            % {"group": _group_name(group), "number": ticket.number},
            field="ticket",
        )


def account_can_write(user: Any, account: Account | None) -> bool:
    """For templates: show edit controls only when a change would be accepted."""
    return account is None or access_for(user).can_write(account.customer_group_id)


def customer_group_require_write(user: Any, group: CustomerGroup | None) -> None:
    """Refuse putting an account into a customer group the user may not change."""
    if group is not None and not access_for(user).can_write(group.pk):
        raise PermissionDenied(
            _("You cannot put accounts into the customer group “%(group)s”.")
            % {"group": group.name},
            field="customer_group",
        )
