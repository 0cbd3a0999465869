"""Write paths for accounts, contacts, contact points and interactions."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, TypedDict, Unpack

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import BigIntegerField, F, Max, Model, ProtectedError, RestrictedError
from django.db.models.functions import Cast, Length
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Account, Address, Contact, ContactPoint, CustomerGroup, Interaction
from accounts.phone import phone_parse
from icenter import roles
from icenter.errors import DomainError, PermissionDenied

FIRST_CUSTOMER_NUMBER = 100000
NOTES_MAX_LENGTH = 20000


class AccountChanges(TypedDict, total=False):
    """The fields of an account that can change after it was created."""

    name: str
    is_vip: bool
    customer_group: CustomerGroup | None
    assigned_agent: User | None
    notes: str


class ContactChanges(TypedDict, total=False):
    """The fields of a contact that can change; it cannot move to another account."""

    first_name: str
    last_name: str
    position: str
    is_primary: bool


def _refuse_other_fields(changes: Mapping[str, Any], *, allowed: frozenset[str]) -> None:
    """Refuse a field the service does not change, rather than store it unchecked."""
    other = sorted(set(changes) - allowed)
    if other:
        raise DomainError(_("“%(field)s” cannot be changed.") % {"field": other[0]}, field=other[0])


def _require_staff(user: User | None, *, field: str) -> None:
    """Refuse a user who cannot handle customers: inactive, or without a staff role."""
    if user is not None and not roles.user_has_role(user, *roles.ALL):
        raise DomainError(
            _("%(user)s is not an active user with the agent, supervisor or manager role.")
            % {"user": user.get_username()},
            field=field,
        )


def _require_notes_length(notes: str) -> None:
    if len(notes) > NOTES_MAX_LENGTH:
        raise DomainError(
            _("Notes can be at most %(max)d characters long.") % {"max": NOTES_MAX_LENGTH},
            field="notes",
        )


def contact_point_normalize(*, kind: str, value: str) -> str:
    """The stored form of a phone number (E.164) or email address (lower case), or a DomainError."""
    value = (value or "").strip()
    if kind == ContactPoint.Kind.PHONE:
        parsed = phone_parse(value)
        if not parsed.is_valid:
            raise DomainError(
                _("“%(value)s” is not a valid phone number.") % {"value": value}, field="value"
            )
        return parsed.e164
    if kind == ContactPoint.Kind.EMAIL:
        try:
            validate_email(value)
        except ValidationError:
            raise DomainError(
                _("“%(value)s” is not a valid email address.") % {"value": value}, field="value"
            ) from None
        return value.lower()
    raise DomainError(_("Unknown contact point kind “%(kind)s”.") % {"kind": kind}, field="kind")


def _next_customer_number() -> str:
    numeric = (
        Account.objects.annotate(length=Length("customer_number"))
        .filter(customer_number__regex=r"^[0-9]+$", length__lte=12)
        .aggregate(top=Max(Cast("customer_number", output_field=BigIntegerField())))
    )["top"]
    return str(max(int(numeric or 0) + 1, FIRST_CUSTOMER_NUMBER))


def account_create(
    *,
    name: str,
    kind: str = Account.Kind.PERSON,
    first_name: str = "",
    last_name: str = "",
    customer_number: str = "",
    is_vip: bool = False,
    customer_group: CustomerGroup | None = None,
    phone: str = "",
    email: str = "",
    street: str = "",
    postcode: str = "",
    city: str = "",
) -> Account:
    """Create an account with its first phone number, email and address; numbers it if needed."""
    name = name.strip() or f"{first_name} {last_name}".strip()
    if not name:
        raise DomainError(_("An account needs a name."), field="name")
    if kind not in Account.Kind.values:
        raise DomainError(_("Unknown account kind “%(kind)s”.") % {"kind": kind}, field="kind")
    points = []
    if phone.strip():
        points.append((ContactPoint.Kind.PHONE, phone.strip()))
    if email.strip():
        points.append((ContactPoint.Kind.EMAIL, email.strip()))
    normalized = [(k, v, contact_point_normalize(kind=k, value=v)) for k, v in points]
    if any([street, postcode, city]) and not all([street.strip(), postcode.strip(), city.strip()]):
        raise DomainError(_("An address needs street, postcode and city."), field="street")
    for attempt in range(5):
        number = customer_number.strip() or _next_customer_number()
        try:
            with transaction.atomic():
                account = Account.objects.create(
                    kind=kind,
                    name=name,
                    first_name=first_name.strip(),
                    last_name=last_name.strip(),
                    customer_number=number,
                    is_vip=is_vip,
                    customer_group=customer_group,
                )
                for point_kind, value, norm in normalized:
                    ContactPoint.objects.create(
                        account=account, kind=point_kind, value=value, normalized=norm
                    )
                if street.strip():
                    Address.objects.create(
                        account=account,
                        street=street.strip(),
                        postcode=postcode.strip(),
                        city=city.strip(),
                    )
                return account
        except IntegrityError:
            if customer_number.strip():
                raise DomainError(
                    _("Customer number %(number)s is already taken.") % {"number": number},
                    field="customer_number",
                ) from None
            if attempt == 4:
                raise
    raise AssertionError("unreachable")


@transaction.atomic
def account_update(
    *, account: Account, expected_version: int | None = None, **changes: Unpack[AccountChanges]
) -> Account:
    """Change an account's name, VIP flag, customer group, assigned agent or notes.

    With `expected_version`, a change based on an older version of the account is refused
    instead of overwriting what someone else saved meanwhile (the row is locked to check).
    """
    _refuse_other_fields(changes, allowed=AccountChanges.__optional_keys__)
    if expected_version is not None:
        current = (
            Account.objects.select_for_update()
            .filter(pk=account.pk)
            .values_list("version", flat=True)
            .first()
        )
        if current != expected_version:
            raise DomainError(
                _(
                    "%(name)s was changed by someone else while you were editing it. "
                    "Reload it to see the changes, then save again."
                )
                % {"name": account.name},
                field="version",
                version=current,
            )
    if "name" in changes:
        changes["name"] = changes["name"].strip()
        if not changes["name"]:
            raise DomainError(_("An account needs a name."), field="name")
    if "assigned_agent" in changes:
        _require_staff(changes["assigned_agent"], field="assigned_agent")
    if not changes:
        return account
    for field, value in changes.items():
        setattr(account, field, value)
    account.version = F("version") + 1
    account.save(update_fields=[*changes, "version", "updated_at"])
    account.refresh_from_db(fields=["version"])
    return account


def _delete_or_refuse(instance: Model, *, message: str, **extra: Any) -> None:
    """Delete with everything that goes with it, or refuse while something still needs it."""
    try:
        with transaction.atomic():
            instance.delete()
    except (ProtectedError, RestrictedError):
        raise DomainError(message, **extra) from None


def account_delete(*, account: Account) -> None:
    """Delete an account with its contacts, contact points and addresses; keep its history."""
    _delete_or_refuse(
        account,
        message=_("This account is still used elsewhere and cannot be deleted."),
        account=account.pk,
    )


def _contact_primary_clear(*, account_id: int, keep: Contact | None = None) -> None:
    """Take the primary flag from the account's contacts, except from `keep`.

    Locks the account row first: two requests that each make a contact primary then run
    one after the other and the second clears the first, so an account never has two.
    """
    list(Account.objects.select_for_update().filter(pk=account_id).values_list("pk", flat=True))
    others = Contact.objects.filter(account_id=account_id, is_primary=True)
    if keep is not None:
        others = others.exclude(pk=keep.pk)
    others.update(is_primary=False)


@transaction.atomic
def contact_create(
    *,
    account: Account,
    first_name: str,
    last_name: str,
    position: str = "",
    is_primary: bool = False,
) -> Contact:
    """Add a person to an account; a new primary contact replaces the previous one.

    Locks the account row when the contact is primary (see _contact_primary_clear).
    """
    last_name = last_name.strip()
    if not last_name:
        raise DomainError(_("A contact needs a last name."), field="last_name")
    if is_primary:
        _contact_primary_clear(account_id=account.pk)
    return Contact.objects.create(
        account=account,
        first_name=first_name.strip(),
        last_name=last_name,
        position=position.strip(),
        is_primary=is_primary,
    )


@transaction.atomic
def contact_update(*, contact: Contact, **changes: Unpack[ContactChanges]) -> Contact:
    """Change a contact's name, position or primary flag; one primary contact per account.

    Locks the account row when the contact becomes primary (see _contact_primary_clear).
    """
    _refuse_other_fields(changes, allowed=ContactChanges.__optional_keys__)
    if "first_name" in changes:
        changes["first_name"] = changes["first_name"].strip()
    if "position" in changes:
        changes["position"] = changes["position"].strip()
    if "last_name" in changes:
        changes["last_name"] = changes["last_name"].strip()
        if not changes["last_name"]:
            raise DomainError(_("A contact needs a last name."), field="last_name")
    if not changes:
        return contact
    if changes.get("is_primary"):
        _contact_primary_clear(account_id=contact.account_id, keep=contact)
    for field, value in changes.items():
        setattr(contact, field, value)
    contact.save(update_fields=list(changes))
    return contact


def contact_delete(*, contact: Contact) -> None:
    """Delete a contact with its own contact points; its interactions keep the account."""
    _delete_or_refuse(
        contact,
        message=_("This contact is still used elsewhere and cannot be deleted."),
        contact=contact.pk,
    )


def contact_point_add(
    *,
    account: Account,
    kind: str,
    value: str,
    contact: Contact | None = None,
    label: str = "",
    is_switchboard: bool = False,
) -> ContactPoint:
    """Add a phone number or email address to an account; the same one twice is refused."""
    normalized = contact_point_normalize(kind=kind, value=value)
    if contact is not None and contact.account_id != account.pk:
        raise DomainError(_("The contact belongs to another account."), field="contact")
    if ContactPoint.objects.filter(
        account=account, contact=contact, kind=kind, normalized=normalized
    ).exists():
        raise DomainError(
            _("%(value)s is already stored for this account.") % {"value": value}, field="value"
        )
    return ContactPoint.objects.create(
        account=account,
        contact=contact,
        kind=kind,
        value=value.strip(),
        normalized=normalized,
        label=label.strip(),
        is_switchboard=is_switchboard and kind == ContactPoint.Kind.PHONE,
    )


def contact_point_delete(*, contact_point: ContactPoint) -> None:
    """Delete a phone number or email address."""
    _delete_or_refuse(
        contact_point,
        message=_(
            "This phone number or email address is still used elsewhere and cannot be deleted."
        ),
        contact_point=contact_point.pk,
    )


def interaction_start(
    *,
    channel: str,
    direction: str,
    started_at: datetime | None = None,
    account: Account | None = None,
    contact: Contact | None = None,
    agent: Any = None,
    address: str = "",
    subject: str = "",
) -> Interaction:
    """Open the history record of a new contact."""
    return Interaction.objects.create(
        channel=channel,
        direction=direction,
        started_at=started_at or timezone.now(),
        account=account,
        contact=contact,
        agent=agent,
        address=address[:254],
        subject=subject[:200],
    )


def interaction_end(*, interaction: Interaction, outcome: str, ended_at: datetime | None) -> None:
    """Close the history record; a record that is already closed keeps its first end."""
    if interaction.ended_at is not None:
        return
    interaction.ended_at = max(ended_at or timezone.now(), interaction.started_at)
    interaction.outcome = outcome
    interaction.save(update_fields=["ended_at", "outcome"])


@transaction.atomic
def interaction_log(
    *,
    channel: str,
    direction: str,
    started_at: datetime,
    account: Account | None = None,
    contact: Contact | None = None,
    agent: User | None = None,
    address: str = "",
    subject: str = "",
    notes: str = "",
    ended_at: datetime | None = None,
    outcome: str = "",
) -> Interaction:
    """Record a contact handled outside icenter (an email, a letter, a note) with its notes.

    An end or an outcome records it as finished: the outcome is then completed unless
    given, the end now unless given. A contact without an account sets the account.
    Who may write the notes is the caller's check; the API allows the interaction's
    agent, or anyone when no agent handled it (a web-form email with its text).
    """
    if channel not in Interaction.Channel.values:
        raise DomainError(
            _("Unknown channel “%(channel)s”.") % {"channel": channel}, field="channel"
        )
    if direction not in Interaction.Direction.values:
        raise DomainError(
            _("Unknown direction “%(direction)s”.") % {"direction": direction}, field="direction"
        )
    if outcome not in Interaction.Outcome.values:
        raise DomainError(
            _("Unknown outcome “%(outcome)s”.") % {"outcome": outcome}, field="outcome"
        )
    if contact is not None:
        if account is None:
            account = contact.account
        elif contact.account_id != account.pk:
            raise DomainError(_("The contact belongs to another account."), field="contact")
    _require_staff(agent, field="agent")
    if ended_at is not None and ended_at < started_at:
        raise DomainError(_("An interaction cannot end before it started."), field="ended_at")
    _require_notes_length(notes)
    now = timezone.now()
    if outcome and ended_at is None:
        ended_at = max(now, started_at)
    if ended_at is not None and not outcome:
        outcome = Interaction.Outcome.COMPLETED
    return Interaction.objects.create(
        channel=channel,
        direction=direction,
        started_at=started_at,
        ended_at=ended_at,
        outcome=outcome,
        account=account,
        contact=contact,
        agent=agent,
        address=address[:254],
        subject=subject[:200],
        notes=notes,
        notes_updated_at=now if notes else None,
    )


def interaction_set_account(
    *, interaction: Interaction, account: Account, contact: Contact | None = None, user: Any
) -> Interaction:
    """Link the contact to the account the agent identified (pick from a list, or created)."""
    if interaction.agent_id is not None and interaction.agent_id != user.pk:
        raise PermissionDenied(_("This contact is handled by another agent."))
    if contact is not None and contact.account_id != account.pk:
        raise DomainError(_("The contact belongs to another account."), field="contact")
    interaction.account = account
    interaction.contact = contact
    interaction.save(update_fields=["account", "contact"])
    return interaction


def interaction_save_notes(*, interaction: Interaction, notes: str, user: Any) -> Interaction:
    """Store the notes with the interaction (the notepad's autosave, or the API).

    The notes of an interaction an agent handled are that agent's: nobody else writes
    them. An interaction no agent handled (a recorded web-form email, a missed call)
    has no such owner, so any user with a staff role may write its notes.
    """
    if interaction.agent_id is None:
        if not roles.user_has_role(user, *roles.ALL):
            raise PermissionDenied(_("Only staff can write the notes of this contact."))
    elif interaction.agent_id != user.pk:
        raise PermissionDenied(_("Only the agent of this contact can change its notes."))
    _require_notes_length(notes)
    interaction.notes = notes
    interaction.notes_updated_at = timezone.now()
    interaction.save(update_fields=["notes", "notes_updated_at"])
    return interaction
