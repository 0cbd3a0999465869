"""Write paths for accounts, contacts, contact points and interactions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import BigIntegerField, Max
from django.db.models.functions import Cast, Length
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Account, Address, Contact, ContactPoint, CustomerGroup, Interaction
from accounts.phone import phone_parse
from icenter.errors import DomainError, PermissionDenied

FIRST_CUSTOMER_NUMBER = 100000


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


NOTES_MAX_LENGTH = 20000


def interaction_save_notes(*, interaction: Interaction, notes: str, user: Any) -> Interaction:
    """Store the notepad text with the interaction (autosave); only its agent may write."""
    if interaction.agent_id != user.pk:
        raise PermissionDenied(_("Only the agent of this contact can change its notes."))
    if len(notes) > NOTES_MAX_LENGTH:
        raise DomainError(
            _("Notes can be at most %(max)d characters long.") % {"max": NOTES_MAX_LENGTH},
            field="notes",
        )
    interaction.notes = notes
    interaction.notes_updated_at = timezone.now()
    interaction.save(update_fields=["notes", "notes_updated_at"])
    return interaction
