"""The predicted contact reason: ranked, explained, and measurable on the history."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from accounts import services
from accounts.models import Interaction, Outage, OutageArea, Ticket
from accounts.prediction import contact_reasons_evaluate, contact_reasons_predict
from telephony.models import Agent
from tests.factories import AccountFactory, AddressFactory, InteractionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def account():
    account = AccountFactory(name="Müller GmbH")
    AddressFactory(account=account, postcode="10117")
    return account


def codes(account, **kwargs):
    return [reason.code for reason in contact_reasons_predict(account=account, **kwargs)]


def test_a_quiet_account_has_no_reason(account):
    assert contact_reasons_predict(account=account) == []


def test_an_outage_in_the_area_ranks_first_and_says_when_it_is_fixed(account, agent):
    services.ticket_create(account=account, subject="Rechnung", created_by=agent.user)
    outage = Outage.objects.create(
        reference="ST-1",
        title="Glasfaserschaden",
        expected_fix_at=timezone.now() + dt.timedelta(hours=2),
    )
    OutageArea.objects.create(outage=outage, postcode="10117")
    reasons = contact_reasons_predict(account=account)
    assert [r.code for r in reasons] == ["outage", "open_ticket"]
    assert reasons[0].explanation.startswith("Glasfaserschaden since ")
    assert "expected fix" in reasons[0].explanation
    assert "Ticket T" in reasons[1].explanation and "was updated today" in reasons[1].explanation


def test_an_overdue_ticket_outranks_a_recently_updated_one(account, agent):
    fresh = services.ticket_create(account=account, subject="Router", created_by=agent.user)
    late = services.ticket_create(account=account, subject="Beschwerde", created_by=agent.user)
    Ticket.objects.filter(pk=late.pk).update(
        resolution_due_at=timezone.now() - dt.timedelta(hours=1)
    )
    reasons = contact_reasons_predict(account=account)
    assert [(r.code, r.ticket_id) for r in reasons] == [
        ("overdue_ticket", late.pk),
        ("open_ticket", fresh.pk),
    ]


def test_recent_outbound_contact_and_repeated_calls_are_reasons(account, agent):
    now = timezone.now()
    InteractionFactory(
        account=account,
        direction="outbound",
        channel="sms",
        subject="Termin",
        started_at=now - dt.timedelta(days=1),
    )
    InteractionFactory(account=account, started_at=now - dt.timedelta(hours=5))
    InteractionFactory(account=account, started_at=now - dt.timedelta(hours=2))
    reasons = contact_reasons_predict(account=account)
    assert [r.code for r in reasons] == ["we_contacted", "repeat_contact"]
    assert reasons[0].explanation == "SMS from us yesterday: Termin"
    assert reasons[1].explanation == "2 contacts in the last 3 days."


def test_a_recently_solved_ticket_is_a_reason(account, agent):
    ticket = services.ticket_create(account=account, subject="Router", created_by=agent.user)
    services.ticket_set_status(ticket=ticket, status="resolved", by=agent.user)
    assert codes(account) == ["recently_resolved"]


def test_the_prediction_sees_only_what_was_known_at_the_time(account, agent):
    ticket = services.ticket_create(account=account, subject="Router", created_by=agent.user)
    before = ticket.created_at - dt.timedelta(minutes=1)
    assert codes(account, now=before) == []
    outage = Outage.objects.create(
        reference="ST-1", title="x", started_at=timezone.now() - dt.timedelta(days=3)
    )
    OutageArea.objects.create(outage=outage, postcode="10117")
    Outage.objects.filter(pk=outage.pk).update(resolved_at=timezone.now() - dt.timedelta(days=2))
    assert "outage" in codes(account, now=timezone.now() - dt.timedelta(days=2, hours=12))
    assert "outage" not in codes(account)


def test_the_desk_shows_the_reasons_at_the_pop(client, agent, account):
    services.ticket_create(account=account, subject="Router blinkt", created_by=agent.user)
    interaction = InteractionFactory(account=account, agent=agent.user, outcome="")
    Agent.objects.filter(pk=agent.pk).update(current_interaction=interaction)
    client.force_login(agent.user)
    html = client.get("/desk/").content.decode()
    assert "Probably calling about" in html
    assert "Router blinkt" in html


def test_the_predictor_is_measured_on_the_interaction_history(agent):
    """Replays the predictor before four past calls whose reason the history tells."""
    start = timezone.now() - dt.timedelta(days=30)

    def call(account, *, at, subject="", notes=""):
        return Interaction.objects.create(
            account=account,
            channel="phone",
            direction="inbound",
            started_at=at,
            subject=subject,
            notes=notes,
        )

    # 1. A customer calls during an outage in their area and gets a ticket linked to it.
    mitte = AccountFactory()
    AddressFactory(account=mitte, postcode="10117")
    outage = Outage.objects.create(reference="ST-9", title="Kabel", started_at=start)
    OutageArea.objects.create(outage=outage, postcode="10117")
    first = call(mitte, at=start + dt.timedelta(hours=1))
    services.ticket_create(
        account=mitte, subject="Kein Netz", created_by=agent.user, interaction=first, outage=outage
    )
    # 2. A customer calls back about their open ticket, mentioning its number.
    koeln = AccountFactory()
    AddressFactory(account=koeln, postcode="50667")
    open_ticket = services.ticket_create(account=koeln, subject="Router", created_by=agent.user)
    Ticket.objects.filter(pk=open_ticket.pk).update(created_at=start)
    open_ticket.changes.update(at=start)
    call(koeln, at=start + dt.timedelta(days=2), notes=f"Fragt nach {open_ticket.number}")
    # 3. A customer with nothing going on reports a new problem.
    bonn = AccountFactory()
    AddressFactory(account=bonn, postcode="53111")
    third = call(bonn, at=start + dt.timedelta(days=3))
    services.ticket_create(account=bonn, subject="Neu", created_by=agent.user, interaction=third)
    # 4. A call nobody can label is not a case.
    call(bonn, at=start + dt.timedelta(days=4), subject="Allgemeine Frage")

    result = contact_reasons_evaluate(
        interactions=Interaction.objects.select_related("account").order_by("started_at")
    )
    assert (result.cases, result.top1, result.top3) == (3, 3, 3)
    assert result.top1_rate == 1.0
