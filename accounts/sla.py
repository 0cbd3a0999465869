"""Business time: adding working minutes on a calendar of shifts, closed days and holidays."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays
from django.utils.translation import gettext as _

from accounts.models import BusinessCalendar, SlaPolicy
from icenter.errors import DomainError

# How far ahead a due date is searched before the calendar counts as unusable.
MAX_SEARCH_DAYS = 3 * 366


@lru_cache(maxsize=64)
def _holidays(country: str, subdivision: str) -> holidays.HolidayBase:
    return holidays.country_holidays(country, subdiv=subdivision or None)


def holiday_calendar_check(*, country: str, subdivision: str) -> None:
    """Refuse a holiday country or region the holidays package does not know."""
    if not country:
        return
    try:
        _holidays(country.upper(), subdivision.upper())
    except NotImplementedError:
        if subdivision:
            raise DomainError(
                _("“%(region)s” is not a known holiday region of %(country)s.")
                % {"region": subdivision, "country": country},
                field="holiday_subdivision",
            ) from None
        raise DomainError(
            _("“%(country)s” is not a known holiday country.") % {"country": country},
            field="holiday_country",
        ) from None


def time_zone_check(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise DomainError(
            _("“%(zone)s” is not a known time zone.") % {"zone": name}, field="time_zone"
        ) from None


@dataclass(frozen=True)
class Schedule:
    """A business calendar loaded into memory: shifts per weekday and closed days."""

    name: str
    tz: ZoneInfo
    shifts: dict[int, list[tuple[dt.time, dt.time]]]
    closed_days: frozenset[dt.date] = frozenset()
    country: str = ""
    subdivision: str = ""

    def is_closed(self, day: dt.date) -> bool:
        if day in self.closed_days:
            return True
        if self.country:
            return day in _holidays(self.country, self.subdivision)
        return False


def _merged(shifts: list[tuple[dt.time, dt.time]]) -> list[tuple[dt.time, dt.time]]:
    """Shifts sorted, overlapping ones joined, so that no minute counts twice."""
    merged: list[tuple[dt.time, dt.time]] = []
    for start, end in sorted(shifts):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def schedule_for_calendar(calendar: BusinessCalendar) -> Schedule:
    """Load a calendar's shifts and closed days (two queries, none when prefetched)."""
    shifts: dict[int, list[tuple[dt.time, dt.time]]] = {}
    for hours in calendar.hours.all():
        shifts.setdefault(hours.weekday, []).append((hours.starts_at, hours.ends_at))
    return Schedule(
        name=calendar.name,
        tz=time_zone_check(calendar.time_zone),
        shifts={day: _merged(items) for day, items in shifts.items()},
        closed_days=frozenset(closure.date for closure in calendar.closures.all()),
        country=calendar.holiday_country.upper(),
        subdivision=calendar.holiday_subdivision.upper(),
    )


def business_time_add(*, schedule: Schedule, start: dt.datetime, minutes: int) -> dt.datetime:
    """The moment `minutes` working minutes after `start`, counting only open shifts."""
    if not any(schedule.shifts.values()):
        raise DomainError(
            _("The business calendar “%(name)s” has no working hours.") % {"name": schedule.name},
            field="calendar",
        )
    remaining = dt.timedelta(minutes=minutes)
    local = start.astimezone(schedule.tz)
    day = local.date()
    for _offset in range(MAX_SEARCH_DAYS):
        if not schedule.is_closed(day):
            for shift_start, shift_end in schedule.shifts.get(day.weekday(), []):
                window_start = dt.datetime.combine(day, shift_start, tzinfo=schedule.tz)
                window_end = dt.datetime.combine(day, shift_end, tzinfo=schedule.tz)
                begin = max(window_start, local)
                if begin >= window_end:
                    continue
                available = window_end - begin
                if remaining <= available:
                    return (begin + remaining).astimezone(dt.UTC)
                remaining -= available
        day += dt.timedelta(days=1)
    raise DomainError(
        _("The business calendar “%(name)s” has no working day in the next three years.")
        % {"name": schedule.name},
        field="calendar",
    )


def business_minutes_between(*, schedule: Schedule, start: dt.datetime, end: dt.datetime) -> int:
    """The working minutes of the calendar between two moments (0 when end is not later)."""
    if end <= start:
        return 0
    local_start, local_end = start.astimezone(schedule.tz), end.astimezone(schedule.tz)
    total = dt.timedelta()
    day = local_start.date()
    while day <= local_end.date():
        if not schedule.is_closed(day):
            for shift_start, shift_end in schedule.shifts.get(day.weekday(), []):
                begin = max(dt.datetime.combine(day, shift_start, tzinfo=schedule.tz), local_start)
                finish = min(dt.datetime.combine(day, shift_end, tzinfo=schedule.tz), local_end)
                if finish > begin:
                    total += finish - begin
        day += dt.timedelta(days=1)
    return int(total.total_seconds() // 60)


def sla_policy_for(*, ticket_type: str, priority: str) -> SlaPolicy | None:
    """The most specific active policy for a ticket type and priority (type and priority match
    first, then either one, then the catch-all)."""
    candidates = list(
        SlaPolicy.objects.filter(is_active=True)
        .filter(ticket_type__in=[ticket_type, ""], priority__in=[priority, ""])
        .select_related("calendar")
        .order_by("id")
    )

    def specificity(policy: SlaPolicy) -> int:
        return (2 if policy.ticket_type else 0) + (1 if policy.priority else 0)

    return max(candidates, key=specificity, default=None)


@dataclass(frozen=True)
class DueDates:
    first_response_due_at: dt.datetime
    first_response_warn_at: dt.datetime
    resolution_due_at: dt.datetime
    resolution_warn_at: dt.datetime


def sla_due_dates(*, policy: SlaPolicy, start: dt.datetime) -> DueDates:
    """First-response and resolution due dates for a ticket opened at `start`."""
    schedule = schedule_for_calendar(policy.calendar)
    warning = dt.timedelta(minutes=policy.warning_minutes)
    first = business_time_add(schedule=schedule, start=start, minutes=policy.first_response_minutes)
    resolution = business_time_add(
        schedule=schedule, start=start, minutes=policy.resolution_minutes
    )
    return DueDates(
        first_response_due_at=first,
        first_response_warn_at=max(first - warning, start),
        resolution_due_at=resolution,
        resolution_warn_at=max(resolution - warning, start),
    )
