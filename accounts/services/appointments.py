"""Write paths for technician appointments: book, reschedule, cancel, confirm to the customer.

Bookings are conflict-free under concurrency twice over: the technician's row is locked while
a booking is checked and written (so bookings for one technician run one after the other on
PostgreSQL), and a partial unique constraint refuses a second booked appointment in a slot.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from accounts import scheduling
from accounts.access import account_require_write
from accounts.models import (
    Account,
    Appointment,
    ContactPoint,
    ServiceSkill,
    Technician,
    Ticket,
    TicketChange,
)
from accounts.services.core import _require_staff
from accounts.services.outreach import message_send_email, message_send_sms
from accounts.services.tickets import _record
from icenter.errors import DomainError

logger = logging.getLogger(__name__)

CONFIRM_CHANNELS = ("", "email", "sms")


@dataclass(frozen=True)
class BookingResult:
    appointment: Appointment
    confirmation_error: str = ""


def _when(appointment: Appointment) -> str:
    start = timezone.localtime(appointment.starts_at)
    end = timezone.localtime(appointment.ends_at)
    return f"{formats.date_format(start, 'SHORT_DATE_FORMAT')} {start:%H:%M}–{end:%H:%M}"


def _address(account: Account) -> str:
    addresses = sorted(
        account.addresses.all(), key=lambda a: (a.kind != "installation", a.kind != "main", a.pk)
    )
    return str(addresses[0]) if addresses else ""


def _check_slot(
    *, account: Account, technician: Technician, starts_at: dt.datetime, skill: ServiceSkill | None
) -> dt.datetime:
    """The slot's end, after checking the technician, the skill, the region and the time."""
    if not technician.is_active:
        raise DomainError(_("%(name)s takes no appointments.") % {"name": technician.name})
    if skill is not None and not technician.skills.filter(pk=skill.pk).exists():
        raise DomainError(
            _("%(name)s does not have the skill “%(skill)s”.")
            % {"name": technician.name, "skill": skill.name},
            field="technician",
        )
    postcode = scheduling.account_postcode(account)
    if not postcode:
        raise DomainError(_("The customer has no address for a visit."), field="account")
    if not scheduling.technician_covers(technician, postcode):
        raise DomainError(
            _("%(name)s does not work in the area of postcode %(postcode)s.")
            % {"name": technician.name, "postcode": postcode},
            field="technician",
        )
    if starts_at <= timezone.now():
        raise DomainError(_("This slot is in the past."), field="starts_at")
    ends_at = scheduling.slot_end_for(technician, starts_at)
    if ends_at is None:
        raise DomainError(
            _("%(name)s has no slot starting then.") % {"name": technician.name},
            field="starts_at",
        )
    return ends_at


def _lock_technician(technician: Technician) -> Technician:
    return Technician.objects.select_for_update().select_related("calendar").get(pk=technician.pk)


def _refuse_taken(technician: Technician, starts_at: dt.datetime, *, exclude: int | None) -> None:
    taken = Appointment.objects.filter(
        technician=technician, starts_at=starts_at, status=Appointment.Status.BOOKED
    )
    if exclude is not None:
        taken = taken.exclude(pk=exclude)
    if taken.exists():
        raise DomainError(_("This slot was just taken; choose another one."), field="starts_at")


def _save_or_taken(appointment: Appointment, **kwargs: object) -> None:
    try:
        with transaction.atomic():
            appointment.save(**kwargs)  # type: ignore[arg-type]
    except IntegrityError:
        # Another booking won the slot between our check and our write.
        raise DomainError(
            _("This slot was just taken; choose another one."), field="starts_at"
        ) from None


def appointment_book(
    *,
    account: Account,
    technician: Technician,
    starts_at: dt.datetime,
    by: User,
    ticket: Ticket | None = None,
    skill: ServiceSkill | None = None,
    notes: str = "",
    confirm_via: str = "",
) -> BookingResult:
    """Book a technician's free slot for the customer (and ticket); confirm by email or SMS.

    Locks the technician's row while checking and writing (see the module docstring). The
    confirmation is sent after the booking is stored; a failed confirmation keeps the
    booking and says why.
    """
    _require_staff(by, field="by")
    account_require_write(by, account)
    if confirm_via not in CONFIRM_CHANNELS:
        raise DomainError(_("Confirm by email, SMS or not at all."), field="confirm_via")
    if ticket is not None and ticket.account_id != account.pk:
        raise DomainError(_("The ticket belongs to another account."), field="ticket")
    skill = skill or (ticket.skill_needed if ticket is not None else None)
    with transaction.atomic():
        technician = _lock_technician(technician)
        ends_at = _check_slot(
            account=account, technician=technician, starts_at=starts_at, skill=skill
        )
        _refuse_taken(technician, starts_at, exclude=None)
        appointment = Appointment(
            account=account,
            ticket=ticket,
            technician=technician,
            skill=skill,
            starts_at=starts_at,
            ends_at=ends_at,
            address=_address(account),
            notes=notes.strip(),
            created_by=by,
        )
        _save_or_taken(appointment)
        if ticket is not None:
            _record(
                ticket,
                actor=by,
                action=TicketChange.Action.APPOINTMENT,
                field="booked",
                new=f"{_when(appointment)} {technician.name}",
            )
    return BookingResult(appointment, _confirm(appointment, via=confirm_via, by=by, kind="booked"))


def _lock_appointment(appointment: Appointment, expected_version: int | None) -> Appointment:
    locked = (
        Appointment.objects.select_for_update(of=("self",))
        .select_related("account", "technician", "ticket", "skill")
        .get(pk=appointment.pk)
    )
    if expected_version is not None and locked.version != expected_version:
        raise DomainError(
            _("The appointment was changed meanwhile. Reload it, then try again."),
            field="version",
        )
    if locked.status != Appointment.Status.BOOKED:
        raise DomainError(
            _("This appointment is %(status)s and cannot change.")
            % {"status": locked.get_status_display()},
            field="status",
        )
    return locked


def appointment_reschedule(
    *,
    appointment: Appointment,
    starts_at: dt.datetime,
    by: User,
    technician: Technician | None = None,
    expected_version: int | None = None,
    confirm_via: str = "",
) -> BookingResult:
    """Move a booked appointment to another free slot (of the same or another technician)."""
    _require_staff(by, field="by")
    account_require_write(by, appointment.account)
    with transaction.atomic():
        locked = _lock_appointment(appointment, expected_version)
        target = _lock_technician(technician or locked.technician)
        ends_at = _check_slot(
            account=locked.account, technician=target, starts_at=starts_at, skill=locked.skill
        )
        _refuse_taken(target, starts_at, exclude=locked.pk)
        before = _when(locked)
        locked.technician, locked.starts_at, locked.ends_at = target, starts_at, ends_at
        locked.version += 1
        _save_or_taken(locked, update_fields=["technician", "starts_at", "ends_at", "version"])
        if locked.ticket is not None:
            _record(
                locked.ticket,
                actor=by,
                action=TicketChange.Action.APPOINTMENT,
                field="moved",
                old=before,
                new=f"{_when(locked)} {target.name}",
            )
    return BookingResult(locked, _confirm(locked, via=confirm_via, by=by, kind="moved"))


def appointment_cancel(
    *,
    appointment: Appointment,
    by: User,
    expected_version: int | None = None,
    confirm_via: str = "",
) -> BookingResult:
    """Cancel a booked appointment; its slot is free again at once."""
    _require_staff(by, field="by")
    account_require_write(by, appointment.account)
    with transaction.atomic():
        locked = _lock_appointment(appointment, expected_version)
        locked.status = Appointment.Status.CANCELLED
        locked.cancelled_at = timezone.now()
        locked.version += 1
        locked.save(update_fields=["status", "cancelled_at", "version"])
        if locked.ticket is not None:
            _record(
                locked.ticket,
                actor=by,
                action=TicketChange.Action.APPOINTMENT,
                field="cancelled",
                old=_when(locked),
            )
    return BookingResult(locked, _confirm(locked, via=confirm_via, by=by, kind="cancelled"))


def _recipient(account: Account, kind: str) -> str:
    points = [p for p in account.contact_points.all() if p.kind == kind]
    return points[0].value if points else ""


def _confirm(appointment: Appointment, *, via: str, by: User, kind: str) -> str:
    """Send the customer the booking, the new time or the cancellation; "" or why not."""
    if not via:
        return ""
    when, technician = _when(appointment), appointment.technician.name
    texts = {
        "booked": _("Your appointment on %(when)s with our technician %(technician)s is booked."),
        "moved": _("Your appointment has moved to %(when)s with our technician %(technician)s."),
        "cancelled": _("Your appointment on %(when)s is cancelled."),
    }
    text = texts[kind] % {"when": when, "technician": technician}
    account = appointment.account
    kind_of_point = ContactPoint.Kind.EMAIL if via == "email" else ContactPoint.Kind.PHONE
    to = _recipient(account, kind_of_point)
    if not to:
        return (
            _("No email address to confirm to.")
            if via == "email"
            else _("No phone number to confirm to.")
        )
    try:
        if via == "email":
            message_send_email(
                to=to, subject=_("Your appointment"), text=text, agent=by, account=account
            )
        else:
            message_send_sms(to=to, text=text, agent=by, account=account)
    except DomainError as error:
        logger.warning("appointment %s: confirmation failed: %s", appointment.pk, error.message)
        return error.message
    Appointment.objects.filter(pk=appointment.pk).update(confirmed_via=via)
    appointment.confirmed_via = via
    return ""
