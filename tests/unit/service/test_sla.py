"""Business time: SLA due dates on a calendar with split shifts and German holidays."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from accounts import sla
from accounts.models import BusinessCalendar, BusinessHours, CalendarClosure, SlaPolicy
from icenter.errors import DomainError

BERLIN = ZoneInfo("Europe/Berlin")
pytestmark = pytest.mark.django_db


def at(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=BERLIN)


def office_calendar(subdivision: str = "BE") -> BusinessCalendar:
    """Monday to Friday 8–12 and 13–17: a split shift with a lunch break."""
    calendar, created = BusinessCalendar.objects.get_or_create(
        name=f"Büro {subdivision}", holiday_subdivision=subdivision
    )
    if not created:
        return calendar
    for day in range(5):
        BusinessHours.objects.create(
            calendar=calendar, weekday=day, starts_at=dt.time(8), ends_at=dt.time(12)
        )
        BusinessHours.objects.create(
            calendar=calendar, weekday=day, starts_at=dt.time(13), ends_at=dt.time(17)
        )
    return calendar


def add(calendar: BusinessCalendar, start: dt.datetime, minutes: int) -> dt.datetime:
    schedule = sla.schedule_for_calendar(calendar)
    return sla.business_time_add(schedule=schedule, start=start, minutes=minutes).astimezone(BERLIN)


def test_minutes_within_one_shift_simply_add_up():
    assert add(office_calendar(), at(2026, 11, 24, 9, 0), 45) == at(2026, 11, 24, 9, 45)


def test_the_lunch_break_of_a_split_shift_does_not_count():
    assert add(office_calendar(), at(2026, 11, 24, 11, 30), 60) == at(2026, 11, 24, 13, 30)


def test_time_outside_the_shifts_starts_counting_at_the_next_shift():
    assert add(office_calendar(), at(2026, 11, 24, 6, 0), 30) == at(2026, 11, 24, 8, 30)
    assert add(office_calendar(), at(2026, 11, 24, 12, 15), 30) == at(2026, 11, 24, 13, 30)


def test_the_weekend_is_skipped():
    # Friday 16:30 + 60 minutes: 30 on Friday, 30 on Monday morning.
    assert add(office_calendar(), at(2026, 11, 27, 16, 30), 60) == at(2026, 11, 30, 8, 30)


def test_german_public_holidays_are_skipped():
    # Thursday 24 Dec 2026, then Christmas (Fri 25, Sat 26) and the weekend.
    assert add(office_calendar(), at(2026, 12, 24, 16, 30), 60) == at(2026, 12, 28, 8, 30)


def test_regional_holidays_apply_only_to_their_state():
    # 8 March (International Women's Day) is a holiday in Berlin, not in Bavaria.
    friday = at(2027, 3, 5, 16, 30)
    assert add(office_calendar("BE"), friday, 60) == at(2027, 3, 9, 8, 30)
    assert add(office_calendar("BY"), friday, 60) == at(2027, 3, 8, 8, 30)


def test_closed_days_of_the_calendar_are_skipped():
    calendar = office_calendar()
    CalendarClosure.objects.create(
        calendar=calendar, date=dt.date(2026, 11, 30), name="Betriebsausflug"
    )
    assert add(calendar, at(2026, 11, 27, 16, 30), 60) == at(2026, 12, 1, 8, 30)


def test_the_clock_change_keeps_shifts_on_local_wall_time():
    # The night of 28/29 March 2026 switches to summer time; Monday still opens at 08:00.
    due = add(office_calendar(), at(2026, 3, 27, 16, 30), 60)
    assert due == at(2026, 3, 30, 8, 30)
    assert due.utcoffset() == dt.timedelta(hours=2)


def test_overlapping_shifts_count_each_minute_once():
    calendar = BusinessCalendar.objects.create(name="Doppelt", holiday_country="")
    BusinessHours.objects.create(
        calendar=calendar, weekday=1, starts_at=dt.time(8), ends_at=dt.time(12)
    )
    BusinessHours.objects.create(
        calendar=calendar, weekday=1, starts_at=dt.time(10), ends_at=dt.time(14)
    )
    assert add(calendar, at(2026, 11, 24, 8, 0), 360) == at(2026, 11, 24, 14, 0)


def test_a_calendar_without_working_hours_is_refused_with_a_clear_message():
    calendar = BusinessCalendar.objects.create(name="Leer")
    with pytest.raises(DomainError, match="has no working hours"):
        add(calendar, at(2026, 11, 24, 9, 0), 30)


def test_unknown_holiday_regions_and_time_zones_are_refused():
    with pytest.raises(DomainError, match="not a known holiday region"):
        sla.holiday_calendar_check(country="DE", subdivision="XX")
    with pytest.raises(DomainError, match="not a known holiday country"):
        sla.holiday_calendar_check(country="QQ", subdivision="")
    with pytest.raises(DomainError, match="not a known time zone"):
        sla.time_zone_check("Mars/Olympus")


def test_the_most_specific_active_policy_wins():
    calendar = office_calendar()
    SlaPolicy.objects.create(
        name="Alle", calendar=calendar, first_response_minutes=240, resolution_minutes=2400
    )
    SlaPolicy.objects.create(
        name="Dringend",
        calendar=calendar,
        priority="urgent",
        first_response_minutes=30,
        resolution_minutes=240,
    )
    SlaPolicy.objects.create(
        name="Beschwerde dringend",
        calendar=calendar,
        ticket_type="complaint",
        priority="urgent",
        first_response_minutes=15,
        resolution_minutes=120,
    )
    SlaPolicy.objects.create(
        name="Alt",
        calendar=calendar,
        ticket_type="complaint",
        priority="urgent",
        first_response_minutes=1,
        resolution_minutes=2,
        is_active=False,
    )
    assert (
        sla.sla_policy_for(ticket_type="complaint", priority="urgent").name == "Beschwerde dringend"
    )
    assert sla.sla_policy_for(ticket_type="incident", priority="urgent").name == "Dringend"
    assert sla.sla_policy_for(ticket_type="incident", priority="low").name == "Alle"


def test_due_dates_carry_a_warning_time_before_each_target():
    calendar = office_calendar()
    policy = SlaPolicy.objects.create(
        name="Standard",
        calendar=calendar,
        first_response_minutes=120,
        resolution_minutes=480,
        warning_minutes=30,
    )
    due = sla.sla_due_dates(policy=policy, start=at(2026, 11, 24, 9, 0))
    assert due.first_response_due_at == at(2026, 11, 24, 11, 0)
    assert due.first_response_warn_at == at(2026, 11, 24, 10, 30)
    assert due.resolution_due_at == at(2026, 11, 25, 9, 0)
    assert due.resolution_warn_at == at(2026, 11, 25, 8, 30)


def test_business_minutes_between_two_moments_count_only_open_shifts():
    schedule = sla.schedule_for_calendar(office_calendar())
    between = sla.business_minutes_between
    assert between(schedule=schedule, start=at(2026, 11, 24, 9), end=at(2026, 11, 24, 9, 45)) == 45
    # Lunch break and night do not count; Friday 16:00 to Monday 9:00 is 60 + 60 minutes.
    assert between(schedule=schedule, start=at(2026, 11, 24, 11), end=at(2026, 11, 24, 14)) == 120
    assert between(schedule=schedule, start=at(2026, 11, 27, 16), end=at(2026, 11, 30, 9)) == 120
    assert between(schedule=schedule, start=at(2026, 11, 24, 14), end=at(2026, 11, 24, 9)) == 0
