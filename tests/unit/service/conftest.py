"""Fixtures of the customer-service tests: an office calendar with an SLA policy."""

from __future__ import annotations

import datetime as dt

import pytest

from accounts.models import BusinessCalendar, BusinessHours, SlaPolicy


@pytest.fixture
def office_sla(db):
    """Mon–Fri 8–12 and 13–17 in Berlin; first response in 2 h, resolution in 2 days."""
    calendar = BusinessCalendar.objects.create(name="Service Berlin", holiday_subdivision="BE")
    for day in range(5):
        BusinessHours.objects.create(
            calendar=calendar, weekday=day, starts_at=dt.time(8), ends_at=dt.time(12)
        )
        BusinessHours.objects.create(
            calendar=calendar, weekday=day, starts_at=dt.time(13), ends_at=dt.time(17)
        )
    return SlaPolicy.objects.create(
        name="Standard",
        calendar=calendar,
        first_response_minutes=120,
        resolution_minutes=960,
        warning_minutes=30,
    )
