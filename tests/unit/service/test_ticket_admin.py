"""Managers maintain categories, calendars, SLA policies and correct tickets in the admin."""

from __future__ import annotations

import pytest

from accounts import services
from accounts.models import BusinessCalendar, SlaPolicy, Ticket, TicketCategory
from tests.factories import AccountFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def manager_client(client, manager_user):
    client.force_login(manager_user)
    return client


def inline(prefix, rows):
    data = {
        f"{prefix}-TOTAL_FORMS": str(len(rows)),
        f"{prefix}-INITIAL_FORMS": "0",
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "1000",
    }
    for n, row in enumerate(rows):
        data.update({f"{prefix}-{n}-{key}": value for key, value in row.items()})
    return data


def calendar_post(hours, subdivision="BE"):
    return {
        "name": "Service",
        "time_zone": "Europe/Berlin",
        "holiday_country": "DE",
        "holiday_subdivision": subdivision,
        **inline("hours", hours),
        **inline("closures", []),
    }


def test_managers_open_every_customer_service_admin_page(manager_client, agent):
    ticket = services.ticket_create(
        account=AccountFactory(), subject="Router", created_by=agent.user
    )
    for url in [
        "/admin/accounts/ticket/",
        f"/admin/accounts/ticket/{ticket.pk}/change/",
        "/admin/accounts/ticketcategory/add/",
        "/admin/accounts/businesscalendar/add/",
        "/admin/accounts/slapolicy/add/",
        "/admin/accounts/outage/add/",
    ]:
        assert manager_client.get(url).status_code == 200, url


def test_a_calendar_with_split_shifts_is_saved(manager_client):
    hours = [
        {"weekday": "0", "starts_at": "08:00", "ends_at": "12:00"},
        {"weekday": "0", "starts_at": "13:00", "ends_at": "17:00"},
    ]
    response = manager_client.post("/admin/accounts/businesscalendar/add/", calendar_post(hours))
    assert response.status_code == 302, response.content.decode()[:2000]
    assert BusinessCalendar.objects.get().hours.count() == 2


def test_a_calendar_without_working_hours_is_refused_with_a_clear_message(manager_client):
    response = manager_client.post("/admin/accounts/businesscalendar/add/", calendar_post([]))
    assert "A calendar needs at least one working shift" in response.content.decode()
    assert not BusinessCalendar.objects.exists()


def test_overlapping_shifts_and_unknown_regions_are_refused(manager_client):
    hours = [
        {"weekday": "0", "starts_at": "08:00", "ends_at": "12:00"},
        {"weekday": "0", "starts_at": "11:00", "ends_at": "14:00"},
    ]
    html = manager_client.post(
        "/admin/accounts/businesscalendar/add/", calendar_post(hours)
    ).content.decode()
    assert "overlaps another shift" in html
    hours = [{"weekday": "0", "starts_at": "08:00", "ends_at": "12:00"}]
    html = manager_client.post(
        "/admin/accounts/businesscalendar/add/", calendar_post(hours, "XX")
    ).content.decode()
    assert "not a known holiday region" in html
    assert not BusinessCalendar.objects.exists()


def test_an_sla_policy_on_an_empty_calendar_is_refused(manager_client):
    calendar = BusinessCalendar.objects.create(name="Leer")
    response = manager_client.post(
        "/admin/accounts/slapolicy/add/",
        {
            "name": "Standard",
            "calendar": calendar.pk,
            "ticket_type": "",
            "priority": "",
            "first_response_minutes": "60",
            "resolution_minutes": "30",
            "warning_minutes": "10",
            "is_active": "on",
        },
    )
    html = response.content.decode()
    assert "This calendar has no working hours" in html
    assert "cannot come before the first-response target" in html
    assert not SlaPolicy.objects.exists()


def test_a_category_cannot_move_below_itself(manager_client):
    root = TicketCategory.objects.create(name="Internet")
    child = TicketCategory.objects.create(name="Störung", parent=root)
    response = manager_client.post(
        f"/admin/accounts/ticketcategory/{root.pk}/change/",
        {"name": "Internet", "parent": child.pk, "is_active": "on"},
    )
    assert "cannot be placed below itself" in response.content.decode()


def test_admin_changes_go_through_the_workflow_and_the_audit_trail(
    manager_client, manager_user, agent
):
    ticket = services.ticket_create(
        account=AccountFactory(), subject="Router", created_by=agent.user
    )
    data = {
        "subject": "Router defekt",
        "type": "incident",
        "priority": "urgent",
        "status": "in_progress",
        "account": ticket.account_id,
        "description": "",
        **inline("messages", []),
        **inline("attachments", []),
        **inline("changes", []),
    }
    response = manager_client.post(f"/admin/accounts/ticket/{ticket.pk}/change/", data)
    assert response.status_code == 302, response.content.decode()[:3000]
    ticket.refresh_from_db()
    assert (ticket.subject, ticket.priority, ticket.status) == (
        "Router defekt",
        "urgent",
        "in_progress",
    )
    fields = set(ticket.changes.filter(actor=manager_user).values_list("field", flat=True))
    assert fields == {"subject", "priority", "status"}
    data["status"] = "new"
    html = manager_client.post(f"/admin/accounts/ticket/{ticket.pk}/change/", data).content.decode()
    assert "cannot become" in html
    assert Ticket.objects.get().status == "in_progress"


def test_tickets_cannot_be_deleted_in_the_admin(manager_client, agent):
    ticket = services.ticket_create(
        account=AccountFactory(), subject="Router", created_by=agent.user
    )
    assert manager_client.get(f"/admin/accounts/ticket/{ticket.pk}/delete/").status_code == 403
