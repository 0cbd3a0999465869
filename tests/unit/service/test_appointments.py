"""Technician appointments: free slots, conflict-free booking (also concurrently), moves,
cancellations and confirmations."""

from __future__ import annotations

import datetime as dt
import threading
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.db import IntegrityError, connection, connections, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts import scheduling, services
from accounts.models import (
    Appointment,
    BusinessCalendar,
    BusinessHours,
    ServiceRegion,
    ServiceSkill,
    Technician,
    TicketCategory,
)
from icenter.errors import DomainError
from tests.factories import AccountFactory, AddressFactory, ContactFactory

BERLIN = ZoneInfo("Europe/Berlin")


def at(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=BERLIN)


# Tuesday 24 Nov 2026, 07:00 in Berlin: the "now" of most tests.
NOW = at(2026, 11, 24, 7, 0)


@pytest.fixture
def world(db):
    """Two fibre technicians in Berlin (one works mornings only), a router one in Munich."""
    calendar = BusinessCalendar.objects.create(name="Technik", holiday_subdivision="BE")
    mornings = BusinessCalendar.objects.create(name="Vormittags", holiday_subdivision="BE")
    for day in range(5):
        BusinessHours.objects.create(
            calendar=calendar, weekday=day, starts_at=dt.time(8), ends_at=dt.time(12)
        )
        BusinessHours.objects.create(
            calendar=calendar, weekday=day, starts_at=dt.time(13), ends_at=dt.time(17)
        )
        BusinessHours.objects.create(
            calendar=mornings, weekday=day, starts_at=dt.time(8), ends_at=dt.time(10)
        )
    fibre = ServiceSkill.objects.create(code="glasfaser", name="Glasfaser")
    router = ServiceSkill.objects.create(code="router", name="Router")
    berlin = ServiceRegion.objects.create(name="Berlin", postcode_prefixes="10, 12, 13")
    munich = ServiceRegion.objects.create(name="München", postcode_prefixes="80, 81")
    anton = Technician.objects.create(name="Anton", calendar=calendar)
    anton.skills.add(fibre)
    anton.regions.add(berlin)
    berta = Technician.objects.create(name="Berta", calendar=mornings)
    berta.skills.add(fibre, router)
    berta.regions.add(berlin)
    carl = Technician.objects.create(name="Carl", calendar=calendar)
    carl.skills.add(router)
    carl.regions.add(munich)
    account = AccountFactory(name="Müller GmbH")
    AddressFactory(account=account, postcode="10117")
    category = TicketCategory.objects.create(name="Glasfaser", required_skill=fibre)
    return {
        "anton": anton,
        "berta": berta,
        "carl": carl,
        "fibre": fibre,
        "router": router,
        "account": account,
        "category": category,
    }


def test_free_slots_follow_skill_region_shifts_and_holidays(world):
    slots = scheduling.free_slots(skill=world["fibre"], postcode="10117", now=NOW, limit=6)
    assert [
        (s.technician.name, s.starts_at.astimezone(BERLIN).strftime("%a %H:%M")) for s in slots
    ] == [
        ("Anton", "Tue 08:00"),
        ("Berta", "Tue 08:00"),
        ("Anton", "Tue 10:00"),
        ("Anton", "Tue 13:00"),  # the lunch break of the split shift is no slot
        ("Anton", "Tue 15:00"),
        ("Anton", "Wed 08:00"),
    ]
    assert (
        scheduling.free_slots(skill=world["router"], postcode="80802", now=NOW, limit=1)[
            0
        ].technician
        == world["carl"]
    )
    assert scheduling.free_slots(skill=world["router"], postcode="50667", now=NOW) == []


def test_holidays_have_no_slots(world):
    christmas_eve = at(2026, 12, 24, 18, 0)
    slots = scheduling.free_slots(
        skill=world["fibre"], postcode="10117", now=christmas_eve, limit=1
    )
    assert slots[0].starts_at.astimezone(BERLIN) == at(2026, 12, 28, 8, 0)


def test_the_slot_list_costs_the_same_queries_with_many_bookings(
    world, django_assert_max_num_queries
):
    with CaptureQueriesContext(connection) as few:
        scheduling.free_slots(skill=world["fibre"], postcode="10117", now=NOW)
    for slot in scheduling.free_slots(skill=world["fibre"], postcode="10117", now=NOW, limit=10):
        Appointment.objects.create(
            account=world["account"],
            technician=slot.technician,
            starts_at=slot.starts_at,
            ends_at=slot.ends_at,
        )
    with django_assert_max_num_queries(len(few.captured_queries)):
        scheduling.free_slots(skill=world["fibre"], postcode="10117", now=NOW)


@pytest.fixture
def ticket(world, agent):
    return services.ticket_create(
        account=world["account"],
        subject="Glasfaser tot",
        created_by=agent.user,
        category=world["category"],
    )


def next_slot(world, technician="anton"):
    return next(
        s
        for s in scheduling.free_slots(skill=world["fibre"], postcode="10117")
        if s.technician == world[technician]
    )


def test_booking_a_slot_records_it_on_the_ticket_and_removes_it_from_the_proposals(
    world, ticket, agent
):
    slot = next_slot(world)
    result = services.appointment_book(
        account=world["account"],
        ticket=ticket,
        technician=slot.technician,
        starts_at=slot.starts_at,
        by=agent.user,
    )
    appointment = result.appointment
    assert (appointment.skill, appointment.ends_at, appointment.status) == (
        world["fibre"],
        slot.ends_at,
        "booked",
    )
    assert "10117" in appointment.address
    assert ticket.changes.filter(action="appointment", field="booked").exists()
    assert slot not in scheduling.free_slots(skill=world["fibre"], postcode="10117")


def test_booking_a_taken_slot_is_refused(world, ticket, agent):
    slot = next_slot(world)
    kwargs = {
        "account": world["account"],
        "ticket": ticket,
        "technician": slot.technician,
        "starts_at": slot.starts_at,
        "by": agent.user,
    }
    services.appointment_book(**kwargs)
    with pytest.raises(DomainError, match="just taken"):
        services.appointment_book(**kwargs)
    assert Appointment.objects.count() == 1


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("off_grid", "has no slot starting then"),
        ("past", "in the past"),
        ("wrong_skill", "does not have the skill"),
        ("wrong_region", "does not work in the area"),
    ],
)
def test_slots_that_were_never_offered_are_refused(world, ticket, agent, change, message):
    slot = next_slot(world)
    technician, starts_at = slot.technician, slot.starts_at
    if change == "off_grid":
        starts_at += dt.timedelta(minutes=30)
    elif change == "past":
        starts_at = timezone.now() - dt.timedelta(days=1)
    elif change == "wrong_skill":
        technician = world["carl"]
        world["carl"].regions.add(*ServiceRegion.objects.filter(name="Berlin"))
    else:
        world["carl"].skills.add(world["fibre"])
        technician = world["carl"]
    with pytest.raises(DomainError, match=message):
        services.appointment_book(
            account=world["account"],
            ticket=ticket,
            technician=technician,
            starts_at=starts_at,
            by=agent.user,
        )
    assert not Appointment.objects.exists()


def test_the_database_refuses_a_second_booking_in_a_slot_whatever_the_code_does(world):
    slot = scheduling.free_slots(skill=world["fibre"], postcode="10117", now=NOW, limit=1)[0]
    data = {
        "account": world["account"],
        "technician": slot.technician,
        "starts_at": slot.starts_at,
        "ends_at": slot.ends_at,
    }
    Appointment.objects.create(**data)
    with pytest.raises(IntegrityError), transaction.atomic():
        Appointment.objects.create(**data)
    Appointment.objects.create(**data, status="cancelled")  # cancelled ones do not count


@pytest.mark.django_db(transaction=True)
def test_concurrent_bookings_of_one_slot_let_exactly_one_win(world, agent):
    if connection.vendor != "postgresql":
        pytest.skip("row locks and concurrent transactions need PostgreSQL")
    slot = next_slot(world)
    barrier = threading.Barrier(6)
    outcomes: list[str] = []
    lock = threading.Lock()

    def book() -> None:
        try:
            barrier.wait(timeout=10)
            services.appointment_book(
                account=world["account"],
                technician=slot.technician,
                starts_at=slot.starts_at,
                by=agent.user,
            )
            result = "booked"
        except DomainError as error:
            result = error.message
        finally:
            connections.close_all()
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=book) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(outcomes) == ["This slot was just taken; choose another one."] * 5 + ["booked"]
    assert Appointment.objects.filter(status="booked").count() == 1


def test_moving_an_appointment_frees_the_old_slot(world, ticket, agent):
    first, second = scheduling.free_slots(skill=world["fibre"], postcode="10117", limit=2)
    booked = services.appointment_book(
        account=world["account"],
        ticket=ticket,
        technician=first.technician,
        starts_at=first.starts_at,
        by=agent.user,
    ).appointment
    moved = services.appointment_reschedule(
        appointment=booked,
        starts_at=second.starts_at,
        technician=second.technician,
        by=agent.user,
        expected_version=1,
    ).appointment
    assert (moved.starts_at, moved.technician, moved.version) == (
        second.starts_at,
        second.technician,
        2,
    )
    assert first in scheduling.free_slots(skill=world["fibre"], postcode="10117")
    with pytest.raises(DomainError, match="changed meanwhile"):
        services.appointment_reschedule(
            appointment=booked,
            starts_at=first.starts_at,
            technician=first.technician,
            by=agent.user,
            expected_version=1,
        )
    assert ticket.changes.filter(action="appointment", field="moved").exists()


def test_cancelling_frees_the_slot_and_cannot_be_done_twice(world, ticket, agent):
    slot = next_slot(world)
    booked = services.appointment_book(
        account=world["account"],
        ticket=ticket,
        technician=slot.technician,
        starts_at=slot.starts_at,
        by=agent.user,
    ).appointment
    services.appointment_cancel(appointment=booked, by=agent.user)
    assert slot in scheduling.free_slots(skill=world["fibre"], postcode="10117")
    with pytest.raises(DomainError, match="is Cancelled and cannot change"):
        services.appointment_cancel(appointment=booked, by=agent.user)


def test_the_customer_gets_a_confirmation_by_email_or_sms(world, ticket, agent, settings, tmp_path):
    from accounts.models import ContactPoint

    ContactPoint.objects.create(
        account=world["account"],
        kind="email",
        value="kunde@example.de",
        normalized="kunde@example.de",
    )
    slot = next_slot(world)
    result = services.appointment_book(
        account=world["account"],
        ticket=ticket,
        technician=slot.technician,
        starts_at=slot.starts_at,
        by=agent.user,
        confirm_via="email",
    )
    assert result.confirmation_error == ""
    assert mail.outbox[0].to == ["kunde@example.de"]
    assert "with our technician Anton is booked" in mail.outbox[0].body
    assert result.appointment.confirmed_via == "email"
    assert world["account"].interactions.filter(channel="email", direction="outbound").count() == 1
    # No phone number: the booking stays, the agent learns why no SMS went out.
    cancelled = services.appointment_cancel(
        appointment=result.appointment, by=agent.user, confirm_via="sms"
    )
    assert cancelled.confirmation_error == "No phone number to confirm to."
    assert cancelled.appointment.status == "cancelled"


# -- the desk ------------------------------------------------------------------------------------


def test_the_agent_books_moves_and_cancels_from_the_ticket(client, world, ticket, agent):
    client.force_login(agent.user)
    page = client.get(
        reverse("accounts:ticket_detail", args=[ticket.pk]), HTTP_HX_REQUEST="true"
    ).content.decode()
    assert "Propose free slots" in page and "Glasfaser" in page
    slots = client.get(reverse("accounts:appointment_slots", args=[ticket.pk])).content.decode()
    assert "Book this slot" in slots and "Anton" in slots
    first, second = scheduling.free_slots(skill=world["fibre"], postcode="10117", limit=2)
    value = f"{first.technician.pk}|{first.starts_at.isoformat()}"
    html = client.post(
        reverse("accounts:appointment_book", args=[ticket.pk]), {"slot": value, "confirm_via": ""}
    ).content.decode()
    assert "Appointment booked with" in html
    appointment = Appointment.objects.get()
    value = f"{second.technician.pk}|{second.starts_at.isoformat()}"
    html = client.post(
        reverse("accounts:appointment_change", args=[appointment.pk, "reschedule"]),
        {"slot": value, "version": 1},
    ).content.decode()
    assert "Appointment moved." in html
    html = client.post(
        reverse("accounts:appointment_change", args=[appointment.pk, "cancel"]), {"version": 2}
    ).content.decode()
    assert "Appointment cancelled." in html
    html = client.post(
        reverse("accounts:appointment_book", args=[ticket.pk]), {"slot": "x|gestern"}
    ).content.decode()
    assert "Choose one of the proposed slots." in html


def test_a_contact_of_the_account_is_not_needed_for_booking(world, agent):
    ContactFactory(account=world["account"])
    slot = next_slot(world, "berta")
    result = services.appointment_book(
        account=world["account"],
        technician=slot.technician,
        starts_at=slot.starts_at,
        by=agent.user,
    )
    assert result.appointment.ticket is None


def test_todays_appointment_is_a_predicted_reason_and_shows_in_the_account_view(
    client, world, ticket, agent
):
    from accounts.prediction import contact_reasons_predict

    slot = next_slot(world)
    services.appointment_book(
        account=world["account"],
        ticket=ticket,
        technician=slot.technician,
        starts_at=slot.starts_at,
        by=agent.user,
    )
    # Asked after the booking (the prediction reads only what existed then) and before the
    # visit, on its day — whatever the time of day the test runs at.
    later_that_day = max(slot.starts_at - dt.timedelta(minutes=30), timezone.now())
    reasons = contact_reasons_predict(account=world["account"], now=later_that_day)
    assert "appointment_today" in [r.code for r in reasons]
    assert any("Technician Anton comes today at" in r.explanation for r in reasons)
    client.force_login(agent.user)
    html = client.get(f"/desk/?account={world['account'].pk}").content.decode()
    assert 'id="upcoming-appointments"' in html and "Anton" in html


# -- the API ---------------------------------------------------------------------------


@pytest.fixture
def api(agent):
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(agent.user)
    return client


def test_the_api_proposes_books_moves_and_cancels(api, world, ticket):
    slots = api.get(f"/api/v1/appointments/free-slots/?ticket={ticket.pk}").json()
    assert slots[0]["technician_name"] in ("Anton", "Berta")
    first, second = slots[0], slots[1]
    booked = api.post(
        "/api/v1/appointments/",
        {"ticket": ticket.pk, "technician": first["technician"], "starts_at": first["starts_at"]},
        format="json",
    )
    assert booked.status_code == 201, booked.content
    body = booked.json()
    assert (body["appointment"]["account"], body["confirmation_error"]) == (world["account"].pk, "")
    again = api.post(
        "/api/v1/appointments/",
        {"ticket": ticket.pk, "technician": first["technician"], "starts_at": first["starts_at"]},
        format="json",
    )
    assert again.status_code == 400
    assert "just taken" in again.json()["message"]
    pk = body["appointment"]["id"]
    moved = api.post(
        f"/api/v1/appointments/{pk}/reschedule/",
        {"technician": second["technician"], "starts_at": second["starts_at"], "version": 1},
        format="json",
    ).json()
    assert (moved["appointment"]["version"], moved["appointment"]["technician"]) == (
        2,
        second["technician"],
    )
    cancelled = api.post(f"/api/v1/appointments/{pk}/cancel/", {}, format="json").json()
    assert cancelled["appointment"]["status"] == "cancelled"
    assert api.get(f"/api/v1/appointments/?ticket={ticket.pk}").json()["count"] == 1


def test_free_slots_by_skill_and_postcode_and_clear_errors(api, world):
    assert (
        api.get("/api/v1/appointments/free-slots/?skill=router&postcode=80802").json()[0][
            "technician_name"
        ]
        == "Carl"
    )
    assert (
        api.get("/api/v1/appointments/free-slots/?skill=zauberei&postcode=80802").status_code == 400
    )
    assert (
        api.get("/api/v1/appointments/free-slots/").json()["message"]
        == "Give a ticket, or a postcode."
    )
