"""Free appointment slots: technicians with the skill, covering the customer's postcode,
in the fixed slots of their shifts, minus holidays, closed days and booked appointments."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Prefetch
from django.utils import timezone

from accounts import sla
from accounts.models import (
    Account,
    Appointment,
    BusinessHours,
    ServiceSkill,
    Technician,
)


def slot_minutes() -> int:
    return int(getattr(settings, "ICENTER_APPOINTMENT_SLOT_MINUTES", 120))


@dataclass(frozen=True)
class Slot:
    technician: Technician
    starts_at: dt.datetime
    ends_at: dt.datetime


def slots_of_day(schedule: sla.Schedule, day: dt.date) -> list[tuple[dt.datetime, dt.datetime]]:
    """The fixed slots of one day: each shift cut into slot-long pieces from its start."""
    if schedule.is_closed(day):
        return []
    length = dt.timedelta(minutes=slot_minutes())
    slots = []
    for shift_start, shift_end in schedule.shifts.get(day.weekday(), []):
        start = dt.datetime.combine(day, shift_start, tzinfo=schedule.tz)
        end = dt.datetime.combine(day, shift_end, tzinfo=schedule.tz)
        while start + length <= end:
            slots.append((start, start + length))
            start += length
    return slots


def account_postcode(account: Account) -> str:
    addresses = sorted(
        account.addresses.all(), key=lambda a: (a.kind != "installation", a.kind != "main", a.pk)
    )
    return addresses[0].postcode if addresses else ""


def _technicians(skill: ServiceSkill | None) -> list[Technician]:
    technicians = Technician.objects.filter(is_active=True).prefetch_related(
        "regions",
        "skills",
        Prefetch(
            "calendar__hours", queryset=BusinessHours.objects.order_by("weekday", "starts_at")
        ),
        "calendar__closures",
    )
    if skill is not None:
        technicians = technicians.filter(skills=skill)
    return list(technicians.select_related("calendar").order_by("name", "id"))


def technician_covers(technician: Technician, postcode: str) -> bool:
    regions = list(technician.regions.all())
    return bool(postcode) and any(region.covers(postcode) for region in regions)


def free_slots(
    *,
    skill: ServiceSkill | None,
    postcode: str,
    now: dt.datetime | None = None,
    days: int | None = None,
    limit: int = 24,
) -> list[Slot]:
    """The next free slots for the skill in the postcode's region, soonest first.

    A fixed number of queries: technicians with their regions, skills and calendars, and
    the booked appointments of the period.
    """
    now = now or timezone.now()
    days = days or int(getattr(settings, "ICENTER_APPOINTMENT_DAYS_AHEAD", 21))
    technicians = [t for t in _technicians(skill) if technician_covers(t, postcode)]
    if not technicians:
        return []
    until = now + dt.timedelta(days=days + 1)
    booked = set(
        Appointment.objects.filter(
            technician__in=technicians,
            status=Appointment.Status.BOOKED,
            starts_at__gte=now - dt.timedelta(days=1),
            starts_at__lt=until,
        ).values_list("technician_id", "starts_at")
    )
    slots: list[Slot] = []
    for technician in technicians:
        schedule = sla.schedule_for_calendar(technician.calendar)
        first_day = now.astimezone(schedule.tz).date()
        for offset in range(days + 1):
            for start, end in slots_of_day(schedule, first_day + dt.timedelta(days=offset)):
                if start <= now:
                    continue
                if (technician.pk, start.astimezone(dt.UTC)) in booked:
                    continue
                slots.append(Slot(technician, start.astimezone(dt.UTC), end.astimezone(dt.UTC)))
    slots.sort(key=lambda slot: (slot.starts_at, slot.technician.name, slot.technician.pk))
    return slots[:limit]


def slot_end_for(technician: Technician, starts_at: dt.datetime) -> dt.datetime | None:
    """The end of the technician's slot that starts exactly then, or None if there is none."""
    schedule = sla.schedule_for_calendar(technician.calendar)
    day = starts_at.astimezone(schedule.tz).date()
    for start, end in slots_of_day(schedule, day):
        if start == starts_at:
            return end.astimezone(dt.UTC)
    return None
