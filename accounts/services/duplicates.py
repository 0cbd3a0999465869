"""Merging duplicate accounts (audited, undoable) and presence of agents on accounts/tickets."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.access import account_require_write
from accounts.models import Account, AccountMerge, Address, ContactPoint, Presence
from accounts.services.core import _require_staff
from icenter.desk import push
from icenter.errors import DomainError
from telephony.models import Agent

logger = logging.getLogger(__name__)

# Relations that are not data of the customer but bookkeeping of merges themselves.
NOT_MOVED = {"merges_out", "merges_in", "merged_accounts"}
POINT_FIELDS = ("kind", "value", "normalized", "label", "is_switchboard")
ADDRESS_FIELDS = ("kind", "street", "postcode", "city", "country")


def _relations() -> list[Any]:
    """Every one-to-many relation that points at an account, in any app (tickets, history,
    appointments, work items, script runs, …): the merge moves them all."""
    return [
        rel
        for rel in Account._meta.related_objects
        if rel.one_to_many and rel.get_accessor_name() not in NOT_MOVED
    ]


def _key(rel: Any) -> str:
    model = rel.related_model
    return f"{model._meta.app_label}.{model._meta.model_name}.{rel.field.name}"


def _reindex(account_ids: list[int]) -> None:
    """Tell the account search about moved names, numbers and addresses."""
    try:
        from knowledge.indexing import account_index_refresh
    except ImportError:
        return
    account_index_refresh(account_ids=account_ids)


def _lock_both(first: Account, second: Account) -> tuple[Account, Account]:
    # Always lock in id order, so that two merges of the same pair cannot deadlock.
    rows = {
        a.pk: a
        for a in Account.objects.select_for_update()
        .filter(pk__in=[first.pk, second.pk])
        .order_by("pk")
    }
    return rows[first.pk], rows[second.pk]


def _check_version(account: Account, expected: int | None) -> None:
    if expected is not None and account.version != expected:
        raise DomainError(
            _("%(name)s was changed meanwhile. Reload it, then try again.")
            % {"name": account.name},
            field="version",
        )


@transaction.atomic
def account_merge(
    *,
    source: Account,
    target: Account,
    by: User,
    source_version: int | None = None,
    target_version: int | None = None,
) -> AccountMerge:
    """Merge a duplicate into the account that stays: its contacts, phone numbers, emails,
    addresses, tickets, history and everything else move; exact duplicate phone numbers,
    emails and addresses are dropped. The duplicate stays, marked as merged, and the
    merge record keeps what is needed to undo it.

    Locks both account rows (in id order).
    """
    _require_staff(by, field="by")
    account_require_write(by, source)
    account_require_write(by, target)
    if source.pk == target.pk:
        raise DomainError(_("An account cannot be merged into itself."), field="target")
    source, target = _lock_both(source, target)
    _check_version(source, source_version)
    _check_version(target, target_version)
    if source.merged_into_id is not None:
        raise DomainError(
            _("%(name)s has already been merged.") % {"name": source.name}, field="source"
        )
    if target.merged_into_id is not None:
        raise DomainError(
            _("%(name)s has been merged into another account; merge into that one.")
            % {"name": target.name},
            field="target",
        )
    removed: dict[str, list[dict[str, Any]]] = {"contact_points": [], "addresses": []}
    kept_points = set(
        ContactPoint.objects.filter(account=target, contact__isnull=True).values_list(
            "kind", "normalized"
        )
    )
    for point in ContactPoint.objects.filter(account=source, contact__isnull=True):
        if (point.kind, point.normalized) in kept_points:
            removed["contact_points"].append({f: getattr(point, f) for f in POINT_FIELDS})
            point.delete()
    kept_addresses = set(
        Address.objects.filter(account=target).values_list("kind", "street", "postcode", "city")
    )
    for address in Address.objects.filter(account=source):
        if (address.kind, address.street, address.postcode, address.city) in kept_addresses:
            removed["addresses"].append({f: getattr(address, f) for f in ADDRESS_FIELDS})
            address.delete()
    moved: dict[str, list[int]] = {}
    for rel in _relations():
        manager = rel.related_model._base_manager
        rows = manager.filter(**{rel.field.name: source.pk})
        ids = list(rows.values_list("pk", flat=True))
        if not ids:
            continue
        try:
            with transaction.atomic():
                manager.filter(pk__in=ids).update(**{rel.field.name: target.pk})
        except IntegrityError:
            raise DomainError(
                _("The accounts cannot be merged: their %(what)s conflict.")
                % {"what": rel.related_model._meta.verbose_name_plural}
            ) from None
        moved[_key(rel)] = ids
    source.merged_into = target
    source.version += 1
    source.save(update_fields=["merged_into", "version", "updated_at"])
    target.version += 1
    target.save(update_fields=["version", "updated_at"])
    merge = AccountMerge.objects.create(
        source=source, target=target, merged_by=by, moved=moved, removed=removed
    )
    transaction.on_commit(lambda: _reindex([source.pk, target.pk]))
    logger.info("account %s merged into %s by %s", source.pk, target.pk, by.pk)
    return merge


@transaction.atomic
def account_merge_undo(*, merge: AccountMerge, by: User) -> AccountMerge:
    """Undo a merge: the moved records go back to the duplicate (unless they have moved on
    since), dropped phone numbers, emails and addresses come back, and it is an account
    of its own again."""
    _require_staff(by, field="by")
    merge = AccountMerge.objects.select_for_update().get(pk=merge.pk)
    account_require_write(by, merge.source)
    account_require_write(by, merge.target)
    if merge.undone_at is not None:
        raise DomainError(_("This merge has already been undone."))
    source, target = _lock_both(merge.source, merge.target)
    relations = {_key(rel): rel for rel in _relations()}
    for key, ids in merge.moved.items():
        rel = relations.get(key)
        if rel is None:
            logger.warning("merge %s: relation %s no longer exists; its rows stay", merge.pk, key)
            continue
        rel.related_model._base_manager.filter(pk__in=ids, **{rel.field.name: target.pk}).update(
            **{rel.field.name: source.pk}
        )
    for data in merge.removed.get("contact_points", []):
        ContactPoint.objects.create(account=source, **data)
    for data in merge.removed.get("addresses", []):
        Address.objects.create(account=source, **data)
    source.merged_into = None
    source.version += 1
    source.save(update_fields=["merged_into", "version", "updated_at"])
    target.version += 1
    target.save(update_fields=["version", "updated_at"])
    merge.undone_at = timezone.now()
    merge.undone_by = by
    merge.save(update_fields=["undone_at", "undone_by"])
    transaction.on_commit(lambda: _reindex([source.pk, target.pk]))
    return merge


PRESENCE_TTL = dt.timedelta(seconds=30)
PRESENCE_EVENTS: dict[str, push.DeskEventKind] = {
    Presence.Kind.ACCOUNT: "presence.account",
    Presence.Kind.TICKET: "presence.ticket",
}


def _presence_kind_check(kind: str) -> None:
    if kind not in Presence.Kind.values:
        raise DomainError(_("Unknown kind “%(kind)s”.") % {"kind": kind}, field="kind")


def _presence_notify(*, user: User, kind: str, object_id: int) -> None:
    """Tell the desks of the colleagues who have the object open that its presence changed.

    Only the object travels (`presence.<kind>` + id); each desk renders what its own user may
    see. Users without an agent profile have no desk and get nothing.
    """
    present = Presence.objects.filter(
        kind=kind, object_id=object_id, seen_at__gte=timezone.now() - PRESENCE_TTL
    ).exclude(user=user)
    agent_ids = list(
        Agent.objects.filter(user_id__in=present.values("user_id"))
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    if agent_ids:
        push.publish(
            kind=PRESENCE_EVENTS[kind],
            id=object_id,
            groups=[push.agent_group(agent_id) for agent_id in agent_ids],
        )


def _presence_row_locked(*, user: User, kind: str, object_id: int) -> Presence | None:
    return (
        Presence.objects.select_for_update()
        .filter(user=user, kind=kind, object_id=object_id)
        .first()
    )


def presence_touch(*, user: User, kind: str, object_id: int, editing: bool = False) -> bool:
    """Note that the user has this account or ticket open right now (a heartbeat).

    Returns whether colleagues see a difference — the user arrived (or came back after their
    presence expired), or started or stopped editing — and then pushes it to their desks at
    once; a plain heartbeat changes nothing they see. Locks the user's presence row, so two
    tabs of the same user do not both report an arrival.
    """
    _presence_kind_check(kind)
    now = timezone.now()
    with transaction.atomic():
        row = _presence_row_locked(user=user, kind=kind, object_id=object_id)
        if row is None:
            try:
                with transaction.atomic():
                    Presence.objects.create(
                        user=user, kind=kind, object_id=object_id, seen_at=now, is_editing=editing
                    )
                changed = True
            except IntegrityError:
                # Another tab of the same user arrived in the same instant and reported it.
                Presence.objects.filter(user=user, kind=kind, object_id=object_id).update(
                    seen_at=now, is_editing=editing
                )
                changed = False
        else:
            changed = row.seen_at < now - PRESENCE_TTL or row.is_editing != editing
            row.seen_at = now
            row.is_editing = editing
            row.save(update_fields=["seen_at", "is_editing"])
        if changed:
            _presence_notify(user=user, kind=kind, object_id=object_id)
    return changed


def presence_leave(*, user: User, kind: str, object_id: int) -> bool:
    """The user closed the account or ticket: colleagues stop seeing them there at once.

    Returns whether colleagues saw the user there until now (a presence that had already
    expired is removed without telling anyone).
    """
    _presence_kind_check(kind)
    with transaction.atomic():
        row = _presence_row_locked(user=user, kind=kind, object_id=object_id)
        if row is None:
            return False
        was_seen = row.seen_at >= timezone.now() - PRESENCE_TTL
        row.delete()
        if was_seen:
            _presence_notify(user=user, kind=kind, object_id=object_id)
    return was_seen


def presence_prune(*, now: dt.datetime | None = None) -> int:
    """Forget presences nobody refreshed for a while (idempotent housekeeping)."""
    limit = (now or timezone.now()) - PRESENCE_TTL * 10
    deleted, _detail = Presence.objects.filter(seen_at__lt=limit).delete()
    return deleted
