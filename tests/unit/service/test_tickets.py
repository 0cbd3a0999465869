"""Ticket services: create, workflow, audit trail, assignment, messages, files and SLA."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from accounts import services, sla
from accounts.models import (
    BusinessCalendar,
    Interaction,
    SlaPolicy,
    Ticket,
    TicketAttachment,
    TicketCategory,
    TicketChange,
)
from accounts.tasks import ticket_sla_check
from icenter.errors import DomainError
from tests.factories import AccountFactory, ContactFactory, InteractionFactory, UserFactory

pytestmark = pytest.mark.django_db
BERLIN = ZoneInfo("Europe/Berlin")


@pytest.fixture
def account():
    return AccountFactory(name="Müller GmbH")


def open_ticket(account, user, **kwargs):
    return services.ticket_create(
        account=account, subject="Router blinkt rot", created_by=user, **kwargs
    )


def test_a_new_ticket_gets_a_number_sla_due_dates_and_a_first_trail_row(account, agent, office_sla):
    ticket = open_ticket(account, agent.user, description="Seit gestern kein Internet")
    assert ticket.number == f"T{ticket.pk:07d}"
    assert ticket.status == Ticket.Status.NEW
    assert ticket.sla_policy == office_sla
    assert ticket.first_response_due_at is not None
    assert ticket.resolution_due_at > ticket.first_response_due_at
    assert ticket.first_response_warn_at == ticket.first_response_due_at - dt.timedelta(minutes=30)
    row = ticket.changes.get()
    assert (row.action, row.actor, row.new_value) == ("created", agent.user, ticket.number)


def test_a_ticket_without_a_matching_policy_has_no_due_dates(account, agent):
    ticket = open_ticket(account, agent.user)
    assert ticket.sla_policy is None
    assert ticket.resolution_due_at is None
    assert ticket.sla_state() == ""


def test_a_calendar_without_working_hours_costs_no_ticket_and_the_trail_says_why(account, agent):
    SlaPolicy.objects.create(
        name="Kaputt",
        calendar=BusinessCalendar.objects.create(name="Leer"),
        first_response_minutes=60,
        resolution_minutes=120,
    )
    ticket = open_ticket(account, agent.user)
    assert ticket.pk is not None
    assert ticket.resolution_due_at is None
    missing = ticket.changes.get(action=TicketChange.Action.SLA_MISSING)
    assert "has no working hours" in missing.new_value


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"subject": "  "}, "subject"),
        ({"subject": "x" * 201}, "subject"),
        ({"type": "wish"}, "type"),
        ({"priority": "asap"}, "priority"),
    ],
)
def test_bad_input_is_refused_and_nothing_is_stored(account, agent, kwargs, field):
    data = {"account": account, "subject": "Router", "created_by": agent.user, **kwargs}
    with pytest.raises(DomainError) as error:
        services.ticket_create(**data)
    assert error.value.extra["field"] == field
    assert not Ticket.objects.exists()


def test_an_inactive_category_and_a_foreign_contact_are_refused(account, agent):
    old = TicketCategory.objects.create(name="Fax", is_active=False)
    with pytest.raises(DomainError, match="no longer in use"):
        open_ticket(account, agent.user, category=old)
    with pytest.raises(DomainError, match="another account"):
        open_ticket(account, agent.user, contact=ContactFactory())


def test_users_without_a_staff_role_cannot_open_tickets(account, outsider_user):
    with pytest.raises(DomainError):
        open_ticket(account, outsider_user)


def test_one_action_turns_the_notepad_into_a_ticket_linked_to_the_contact(
    account, agent, office_sla
):
    interaction = InteractionFactory(account=account, agent=agent.user, outcome="")
    ticket = services.ticket_create_from_interaction(
        interaction=interaction,
        created_by=agent.user,
        notes="Router blinkt rot\nKunde hat schon neu gestartet.",
    )
    assert ticket.subject == "Router blinkt rot"
    assert ticket.description == "Router blinkt rot\nKunde hat schon neu gestartet."
    assert ticket.interaction == interaction
    assert ticket.account == account
    interaction.refresh_from_db()
    assert interaction.notes.startswith("Router blinkt rot")
    # The customer talked to an agent on the phone: that was the first response.
    assert ticket.first_responded_at is not None


def test_a_ticket_from_an_email_still_waits_for_its_first_response(account, agent, office_sla):
    interaction = InteractionFactory(
        account=account, agent=agent.user, channel=Interaction.Channel.EMAIL, notes="Bitte Rückruf"
    )
    ticket = services.ticket_create_from_interaction(interaction=interaction, created_by=agent.user)
    assert ticket.first_responded_at is None


def test_a_ticket_needs_the_caller_identified_first(agent):
    interaction = InteractionFactory(account=None, agent=agent.user)
    with pytest.raises(DomainError, match="Identify the caller"):
        services.ticket_create_from_interaction(
            interaction=interaction, created_by=agent.user, notes="x"
        )
    assert not Ticket.objects.exists()


def test_the_workflow_runs_from_new_to_closed(account, agent):
    ticket = open_ticket(account, agent.user)
    for status in ("in_progress", "waiting", "in_progress", "resolved", "closed"):
        ticket = services.ticket_set_status(ticket=ticket, status=status, by=agent.user)
    assert ticket.status == "closed"
    assert ticket.resolved_at is not None
    assert ticket.closed_at is not None
    assert [c.new_value for c in ticket.changes.filter(field="status")] == [
        "in_progress",
        "waiting",
        "in_progress",
        "resolved",
        "closed",
    ]


def test_a_move_outside_the_workflow_is_refused_and_changes_nothing(account, agent):
    ticket = open_ticket(account, agent.user)
    ticket = services.ticket_set_status(ticket=ticket, status="closed", by=agent.user)
    with pytest.raises(DomainError, match="“Closed” cannot become “Waiting for customer”") as error:
        services.ticket_set_status(ticket=ticket, status="waiting", by=agent.user)
    assert error.value.extra["allowed"] == ["in_progress"]
    ticket.refresh_from_db()
    assert ticket.status == "closed"
    assert ticket.changes.filter(field="status").count() == 1


def test_reopening_a_resolved_ticket_is_recorded_as_a_reopen(account, agent):
    ticket = open_ticket(account, agent.user)
    ticket = services.ticket_set_status(ticket=ticket, status="resolved", by=agent.user)
    ticket = services.ticket_set_status(ticket=ticket, status="in_progress", by=agent.user)
    assert ticket.reopen_count == 1
    assert ticket.resolved_at is None
    last = ticket.changes.order_by("-id").first()
    assert (last.action, last.old_value, last.new_value) == ("reopened", "resolved", "in_progress")


def test_every_changed_field_gets_its_own_trail_row_with_who_and_when(account, agent):
    ticket = open_ticket(account, agent.user)
    category = TicketCategory.objects.create(name="Internet")
    ticket = services.ticket_update(
        ticket=ticket,
        by=agent.user,
        priority="high",
        category=category,
        subject="Router blinkt rot",
    )
    rows = {c.field: c for c in ticket.changes.filter(action="changed")}
    assert set(rows) == {"priority", "category"}  # the subject did not change
    assert (rows["priority"].old_value, rows["priority"].new_value) == ("normal", "high")
    assert rows["priority"].old_display == "Normal"
    assert rows["category"].new_value == "Internet"
    assert rows["priority"].actor == agent.user
    assert ticket.version == 2


def test_a_save_based_on_an_old_version_is_refused_instead_of_overwriting(
    account, agent, other_agent
):
    ticket = open_ticket(account, agent.user)
    seen = ticket.version
    services.ticket_update(
        ticket=ticket, by=other_agent.user, expected_version=seen, priority="urgent"
    )
    with pytest.raises(DomainError, match="changed by Jörg Weiß") as error:
        services.ticket_update(ticket=ticket, by=agent.user, expected_version=seen, priority="low")
    assert error.value.extra["field"] == "version"
    ticket.refresh_from_db()
    assert ticket.priority == "urgent"


def test_assigning_tells_the_new_agents_desk(account, agent, other_agent, capture_events):
    ticket = open_ticket(account, agent.user)
    ticket = services.ticket_assign(ticket=ticket, agent=other_agent.user, by=agent.user)
    assert ticket.assigned_agent == other_agent.user
    row = ticket.changes.get(action="assigned")
    assert row.new_value == "Jörg Weiß"
    assert [(e.kind, e.groups) for e in capture_events] == [
        ("ticket.updated", [f"agent.{other_agent.pk}"])
    ]


def test_a_ticket_cannot_be_given_to_someone_without_a_staff_role(account, agent, outsider_user):
    ticket = open_ticket(account, agent.user)
    with pytest.raises(DomainError, match="not an active user"):
        services.ticket_assign(ticket=ticket, agent=outsider_user, by=agent.user)


def test_internal_notes_do_not_count_as_first_response_but_customer_messages_do(
    account, agent, office_sla
):
    ticket = open_ticket(account, agent.user)
    services.ticket_message_add(
        ticket=ticket, author=agent.user, body="Kollege fragen", is_internal=True
    )
    ticket.refresh_from_db()
    assert ticket.first_responded_at is None
    services.ticket_message_add(
        ticket=ticket, author=agent.user, body="Wir kümmern uns.", is_internal=False
    )
    ticket.refresh_from_db()
    assert ticket.first_responded_at is not None
    assert list(ticket.messages.values_list("is_internal", flat=True)) == [True, False]


def test_an_empty_message_is_refused(account, agent):
    ticket = open_ticket(account, agent.user)
    with pytest.raises(DomainError, match="Write a text first"):
        services.ticket_message_add(ticket=ticket, author=agent.user, body="   ")


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def test_a_pdf_is_attached_with_a_safe_stored_name(account, agent, media):
    ticket = open_ticket(account, agent.user)
    upload = SimpleUploadedFile("../../Rechnung.pdf", b"%PDF-1.4 demo", content_type="text/html")
    attachment = services.ticket_attachment_add(ticket=ticket, upload=upload, by=agent.user)
    assert attachment.name == "Rechnung.pdf"
    assert attachment.content_type == "application/pdf"  # not what the browser claimed
    assert attachment.file.name.endswith(".bin")
    assert ".." not in attachment.file.name
    assert ticket.changes.filter(action="attachment", new_value="Rechnung.pdf").exists()


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("seite.html", b"<html>hi</html>", "cannot be attached"),
        ("notiz.txt", b"  <script>alert(1)</script>", "web page or program code"),
        ("bild.png", b"<svg onload=alert(1)>", "web page or program code"),
        ("tool.pdf", b"MZ\x90\x00", "web page or program code"),
        ("foto.jpg", b"%PDF-1.4", "does not match its name"),
        ("leer.txt", b"", "empty"),
    ],
)
def test_dangerous_or_mislabelled_files_are_refused(account, agent, media, name, content, message):
    ticket = open_ticket(account, agent.user)
    with pytest.raises(DomainError, match=message):
        services.ticket_attachment_add(
            ticket=ticket, upload=SimpleUploadedFile(name, content), by=agent.user
        )
    assert not TicketAttachment.objects.exists()
    assert not list(media.rglob("*.bin"))


def test_files_over_the_size_limit_are_refused(account, agent, media, settings):
    settings.ICENTER_ATTACHMENT_MAX_BYTES = 1024 * 1024
    ticket = open_ticket(account, agent.user)
    upload = SimpleUploadedFile("gross.txt", b"a" * (1024 * 1024 + 1))
    with pytest.raises(DomainError, match="too large: at most 1 MB"):
        services.ticket_attachment_add(ticket=ticket, upload=upload, by=agent.user)
    assert not TicketAttachment.objects.exists()


def test_the_sla_check_warns_then_escalates_each_target_once(
    account, agent, office_sla, capture_events
):
    ticket = open_ticket(account, agent.user, assigned_agent=agent.user)
    warn = ticket.first_response_warn_at + dt.timedelta(minutes=1)
    assert services.ticket_sla_check(now=warn) == services.SlaCheckResult(warned=1, escalated=0)
    assert services.ticket_sla_check(now=warn) == services.SlaCheckResult(warned=0, escalated=0)
    ticket.refresh_from_db()
    assert ticket.sla_state(warn) == "warning"
    due = ticket.first_response_due_at + dt.timedelta(minutes=1)
    assert services.ticket_sla_check(now=due) == services.SlaCheckResult(warned=0, escalated=1)
    assert services.ticket_sla_check(now=due) == services.SlaCheckResult(warned=0, escalated=0)
    ticket.refresh_from_db()
    assert ticket.is_escalated
    assert ticket.sla_state(due) == "breached"
    actions = list(ticket.changes.filter(actor=None).values_list("action", "field"))
    assert actions == [("sla_warning", "first_response"), ("sla_breach", "first_response")]
    assert {e.kind for e in capture_events} == {"ticket.updated"}
    assert all(e.groups == [f"agent.{agent.pk}"] for e in capture_events)


def test_answered_and_resolved_tickets_raise_no_sla_alarm(account, agent, office_sla):
    ticket = open_ticket(account, agent.user)
    ticket = services.ticket_set_status(ticket=ticket, status="resolved", by=agent.user)
    later = timezone.now() + dt.timedelta(days=30)
    assert services.ticket_sla_check(now=later) == services.SlaCheckResult(warned=0, escalated=0)


def test_the_celery_task_runs_the_check_and_reports_counts(account, agent, office_sla):
    open_ticket(account, agent.user)
    assert ticket_sla_check.delay().get() == {"warned": 0, "escalated": 0}


def test_the_beat_schedule_runs_the_sla_check_every_minute(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["ticket-sla-check"]
    assert entry["task"] == ticket_sla_check.name
    assert entry["schedule"] == 60.0


def test_an_agents_desk_warns_about_tickets_close_to_their_due_date(account, agent, office_sla):
    from icenter.desk.selectors import desk_state_for_agent

    ticket = open_ticket(account, agent.user, assigned_agent=agent.user)
    Ticket.objects.filter(pk=ticket.pk).update(
        first_response_warn_at=timezone.now() - dt.timedelta(minutes=1)
    )
    state = desk_state_for_agent(agent_id=agent.pk)
    assert [a.text for a in state.alerts] == ["1 of your tickets is close to its SLA due date."]
    Ticket.objects.filter(pk=ticket.pk).update(first_response_due_at=timezone.now())
    state = desk_state_for_agent(agent_id=agent.pk)
    assert [a.text for a in state.alerts] == ["1 of your tickets is past its SLA due date."]


def test_a_system_can_open_a_ticket_without_a_user(account):
    ticket = services.ticket_create(
        account=account, subject="Leitungstest fehlgeschlagen", created_by=None
    )
    assert ticket.changes.get().actor is None
    assert UserFactory  # personas module stays importable for other tests


def test_a_ticket_goes_to_an_agent_group_and_keeps_its_agent(account, agent, other_agent):
    from telephony.models import AgentGroup

    team = AgentGroup.objects.create(name="2nd Level")
    ticket = open_ticket(account, agent.user, assigned_agent=agent.user)
    ticket = services.ticket_assign(ticket=ticket, group=team, by=agent.user)
    assert (ticket.assigned_group, ticket.assigned_agent) == (team, agent.user)
    ticket = services.ticket_assign(ticket=ticket, agent=None, by=agent.user)
    assert (ticket.assigned_group, ticket.assigned_agent) == (team, None)
    rows = list(ticket.changes.filter(action="assigned").values_list("field", "new_value"))
    assert rows == [("assigned_group", "2nd Level"), ("assigned_agent", "")]


def test_a_customer_message_can_be_sent_by_email_and_lands_in_the_history(account, agent):
    from django.core import mail

    from accounts.models import ContactPoint

    ContactPoint.objects.create(
        account=account, kind="email", value="info@mueller.de", normalized="info@mueller.de"
    )
    ticket = open_ticket(account, agent.user)
    services.ticket_message_add(
        ticket=ticket,
        author=agent.user,
        body="Der Techniker kommt morgen.",
        is_internal=False,
        send_via="email",
    )
    assert mail.outbox[0].to == ["info@mueller.de"]
    assert mail.outbox[0].subject == f"[{ticket.number}] Router blinkt rot"
    assert account.interactions.get().notes == "Der Techniker kommt morgen."


def test_a_message_that_cannot_be_sent_is_not_stored(account, agent):
    ticket = open_ticket(account, agent.user)
    with pytest.raises(DomainError, match="no phone number"):
        services.ticket_message_add(
            ticket=ticket, author=agent.user, body="Hallo", is_internal=False, send_via="sms"
        )
    with pytest.raises(DomainError, match="never sent"):
        services.ticket_message_add(
            ticket=ticket, author=agent.user, body="Hallo", is_internal=True, send_via="email"
        )
    assert not ticket.messages.exists()


def test_the_sla_clock_stands_still_while_the_ticket_waits_for_the_customer(
    account, agent, office_sla, monkeypatch
):
    berlin = ZoneInfo("Europe/Berlin")
    ticket = open_ticket(account, agent.user)
    first_due, resolution_due = ticket.first_response_due_at, ticket.resolution_due_at
    paused = dt.datetime(2026, 12, 1, 9, 0, tzinfo=berlin)  # a Tuesday
    monkeypatch.setattr(timezone, "now", lambda: paused)
    ticket = services.ticket_set_status(ticket=ticket, status="waiting", by=agent.user)
    assert ticket.sla_state() == "paused"
    # Waiting for the customer never warns nor escalates, however long it takes.
    far = resolution_due + dt.timedelta(days=30)
    assert services.ticket_sla_check(now=far) == services.SlaCheckResult(warned=0, escalated=0)
    resumed = dt.datetime(2026, 12, 3, 9, 0, tzinfo=berlin)  # Thursday
    monkeypatch.setattr(timezone, "now", lambda: resumed)
    ticket = services.ticket_set_status(ticket=ticket, status="in_progress", by=agent.user)
    # Tuesday 9–12 and 13–17, Wednesday 8–12 and 13–17, Thursday 8–9: 960 business minutes.
    schedule = sla.schedule_for_calendar(office_sla.calendar)
    assert ticket.sla_paused_at is None
    assert ticket.resolution_due_at == sla.business_time_add(
        schedule=schedule, start=resolution_due, minutes=960
    )
    assert ticket.first_response_due_at == sla.business_time_add(
        schedule=schedule, start=first_due, minutes=960
    )
    actions = list(ticket.changes.values_list("action", "new_value"))
    assert ("sla_paused", "") in actions
    assert ("sla_resumed", "960 business minutes") in actions


def test_resolving_a_waiting_ticket_ends_the_pause_without_moving_due_dates(
    account, agent, office_sla
):
    ticket = open_ticket(account, agent.user)
    due = ticket.resolution_due_at
    ticket = services.ticket_set_status(ticket=ticket, status="waiting", by=agent.user)
    ticket = services.ticket_set_status(ticket=ticket, status="resolved", by=agent.user)
    assert ticket.sla_paused_at is None
    assert ticket.resolution_due_at == due
    assert ticket.sla_state() == ""
