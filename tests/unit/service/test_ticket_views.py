"""The desk's ticket views: one-action create from the contact, list, detail, workflow, files."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts import services
from accounts.models import Ticket
from telephony.models import Agent
from tests.factories import AccountFactory, InteractionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def live_contact(agent):
    """The agent talks to Müller GmbH right now; the notepad holds a first note."""
    account = AccountFactory(name="Müller GmbH")
    interaction = InteractionFactory(account=account, agent=agent.user, outcome="", notes="alt")
    Agent.objects.filter(pk=agent.pk).update(current_interaction=interaction)
    return interaction


def test_the_account_view_offers_to_create_a_ticket_from_the_contact(desk_client, live_contact):
    html = desk_client.get("/desk/").content.decode()
    assert "Create ticket from this contact" in html
    assert 'hx-include="#notepad-text"' in html


def test_one_post_creates_the_ticket_from_the_notepad_and_shows_it(desk_client, live_contact):
    response = desk_client.post(
        reverse("accounts:ticket_create"),
        {
            "interaction": live_contact.pk,
            "notes": "Router blinkt rot\nNeustart half nicht",
            "priority": "high",
            "type": "incident",
        },
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    ticket = Ticket.objects.get()
    assert ticket.description == "Router blinkt rot\nNeustart half nicht"
    assert (ticket.interaction, ticket.account, ticket.priority) == (
        live_contact,
        live_contact.account,
        "high",
    )
    html = response.content.decode()
    assert f"Ticket {ticket.number} created." in html
    assert 'id="workspace"' in html and 'hx-swap-oob="true"' in html
    assert "Neustart half nicht" in html


def test_a_ticket_for_someone_elses_contact_is_refused_with_a_message(desk_client, other_agent):
    foreign = InteractionFactory(agent=other_agent.user)
    response = desk_client.post(
        reverse("accounts:ticket_create"), {"interaction": foreign.pk, "notes": "x"}
    )
    assert "This contact is not yours." in response.content.decode()
    assert not Ticket.objects.exists()


def test_a_refused_create_answers_only_with_the_message(desk_client, agent):
    interaction = InteractionFactory(account=None, agent=agent.user)
    response = desk_client.post(
        reverse("accounts:ticket_create"), {"interaction": interaction.pk, "notes": "x"}
    )
    html = response.content.decode()
    assert "Identify the caller" in html
    assert 'id="workspace"' not in html


def test_a_ticket_can_be_opened_for_an_account_without_a_live_contact(desk_client):
    account = AccountFactory()
    desk_client.post(
        reverse("accounts:ticket_create"),
        {
            "account": account.pk,
            "subject": "Rechnung falsch",
            "description": "März",
            "type": "complaint",
        },
    )
    ticket = Ticket.objects.get()
    assert (ticket.subject, ticket.type, ticket.interaction) == (
        "Rechnung falsch",
        "complaint",
        None,
    )


def test_the_ticket_page_works_without_htmx_and_as_a_partial(desk_client, agent):
    ticket = services.ticket_create(
        account=AccountFactory(), subject="Router", created_by=agent.user
    )
    url = reverse("accounts:ticket_detail", args=[ticket.pk])
    full = desk_client.get(url)
    assert full.status_code == 200
    assert b'ws-connect="/ws/desk/"' in full.content
    partial = desk_client.get(url, HTTP_HX_REQUEST="true")
    assert b"ws-connect" not in partial.content
    assert ticket.number.encode() in partial.content
    assert desk_client.get(reverse("accounts:ticket_detail", args=[999999])).status_code == 404


def test_the_ticket_page_runs_a_constant_number_of_queries(
    desk_client, agent, django_assert_max_num_queries
):
    ticket = services.ticket_create(
        account=AccountFactory(), subject="Router", created_by=agent.user
    )
    url = reverse("accounts:ticket_detail", args=[ticket.pk])
    with CaptureQueriesContext(connection) as few:
        desk_client.get(url, HTTP_HX_REQUEST="true")
    for n in range(6):
        services.ticket_message_add(ticket=ticket, author=agent.user, body=f"Notiz {n}")
        ticket = services.ticket_update(ticket=ticket, by=agent.user, subject=f"Router {n}")
    with django_assert_max_num_queries(len(few.captured_queries)):
        desk_client.get(url, HTTP_HX_REQUEST="true")


def test_status_buttons_move_the_ticket_and_a_stale_page_is_refused(
    desk_client, agent, other_agent
):
    ticket = services.ticket_create(
        account=AccountFactory(), subject="Router", created_by=agent.user
    )
    url = reverse("accounts:ticket_status", args=[ticket.pk])
    response = desk_client.post(url, {"status": "in_progress", "version": ticket.version})
    assert "is now “In progress”" in response.content.decode()
    # The page still shows the old version: the next click is refused, nothing overwritten.
    response = desk_client.post(url, {"status": "resolved", "version": ticket.version})
    assert "while you were editing it" in response.content.decode()
    ticket.refresh_from_db()
    assert ticket.status == "in_progress"


def test_an_invalid_status_is_explained(desk_client, agent):
    ticket = services.ticket_create(
        account=AccountFactory(), subject="Router", created_by=agent.user
    )
    ticket = services.ticket_set_status(ticket=ticket, status="closed", by=agent.user)
    response = desk_client.post(
        reverse("accounts:ticket_status", args=[ticket.pk]), {"status": "waiting"}
    )
    assert "cannot become" in response.content.decode()


def test_taking_a_ticket_and_writing_messages(desk_client, agent):
    ticket = services.ticket_create(
        account=AccountFactory(), subject="Router", created_by=agent.user
    )
    desk_client.post(reverse("accounts:ticket_assign", args=[ticket.pk]), {"agent": "me"})
    desk_client.post(
        reverse("accounts:ticket_message", args=[ticket.pk]), {"body": "<b>intern</b>"}
    )
    response = desk_client.post(
        reverse("accounts:ticket_message", args=[ticket.pk]),
        {"body": "Für Kunden", "visibility": "customer"},
    )
    ticket.refresh_from_db()
    assert ticket.assigned_agent == agent.user
    assert list(ticket.messages.values_list("is_internal", flat=True)) == [True, False]
    html = response.content.decode()
    assert "&lt;b&gt;intern&lt;/b&gt;" in html  # escaped, never rendered as HTML
    assert "Visible to the customer" in html


def test_files_are_uploaded_and_always_downloaded_as_attachments(
    desk_client, agent, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    ticket = services.ticket_create(
        account=AccountFactory(), subject="Router", created_by=agent.user
    )
    upload = SimpleUploadedFile("log.txt", b"line 1\nline 2\n", content_type="text/html")
    response = desk_client.post(
        reverse("accounts:ticket_upload", args=[ticket.pk]), {"file": upload}
    )
    assert "File log.txt attached." in response.content.decode()
    attachment = ticket.attachments.get()
    download = desk_client.get(reverse("accounts:ticket_download", args=[attachment.pk]))
    assert download["Content-Disposition"].startswith("attachment;")
    assert download["Content-Type"] == "text/plain"
    assert download["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in download["Content-Security-Policy"]
    assert b"".join(download.streaming_content) == b"line 1\nline 2\n"


def test_a_refused_upload_says_why(desk_client, agent, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    ticket = services.ticket_create(
        account=AccountFactory(), subject="Router", created_by=agent.user
    )
    upload = SimpleUploadedFile("x.html", b"<html></html>")
    response = desk_client.post(
        reverse("accounts:ticket_upload", args=[ticket.pk]), {"file": upload}
    )
    assert "cannot be attached" in response.content.decode()


def test_the_ticket_list_shows_my_open_tickets_by_default(desk_client, agent, other_agent):
    account = AccountFactory()
    mine = services.ticket_create(
        account=account, subject="Meins", created_by=agent.user, assigned_agent=agent.user
    )
    services.ticket_create(
        account=account, subject="Fremd", created_by=agent.user, assigned_agent=other_agent.user
    )
    html = desk_client.get(reverse("accounts:ticket_list"), HTTP_HX_REQUEST="true").content.decode()
    assert mine.number in html and "Fremd" not in html
    html = desk_client.get(reverse("accounts:ticket_list") + "?scope=open&q=Fremd").content.decode()
    assert "Fremd" in html and "Meins" not in html


def test_the_account_view_lists_its_open_tickets(desk_client, live_contact, agent):
    services.ticket_create(
        account=live_contact.account, subject="Router blinkt", created_by=agent.user
    )
    html = desk_client.get("/desk/").content.decode()
    assert "Router blinkt" in html


def test_people_without_the_agent_role_get_no_ticket_views(client, outsider_user, agent):
    ticket = services.ticket_create(
        account=AccountFactory(), subject="Router", created_by=agent.user
    )
    client.force_login(outsider_user)
    assert client.get(reverse("accounts:ticket_detail", args=[ticket.pk])).status_code == 403
    assert (
        client.post(
            reverse("accounts:ticket_status", args=[ticket.pk]), {"status": "closed"}
        ).status_code
        == 403
    )
    ticket.refresh_from_db()
    assert ticket.status == "new"


def test_the_team_list_shows_the_open_tickets_of_my_groups(desk_client, agent, other_agent):
    from telephony.models import AgentGroup

    mine, theirs = (
        AgentGroup.objects.create(name="Technik"),
        AgentGroup.objects.create(name="Buchhaltung"),
    )
    mine.members.add(agent)
    theirs.members.add(other_agent)
    account = AccountFactory()
    services.ticket_create(
        account=account, subject="Technikfall", created_by=agent.user, assigned_group=mine
    )
    services.ticket_create(
        account=account, subject="Buchungsfall", created_by=agent.user, assigned_group=theirs
    )
    html = desk_client.get(reverse("accounts:ticket_list") + "?scope=team").content.decode()
    assert "Technikfall" in html and "Buchungsfall" not in html


def test_the_assign_form_sets_agent_and_group(desk_client, agent):
    from telephony.models import AgentGroup

    team = AgentGroup.objects.create(name="Technik")
    ticket = services.ticket_create(
        account=AccountFactory(), subject="Router", created_by=agent.user
    )
    desk_client.post(
        reverse("accounts:ticket_assign", args=[ticket.pk]),
        {"agent": agent.user.pk, "group": team.pk},
    )
    ticket.refresh_from_db()
    assert (ticket.assigned_agent, ticket.assigned_group) == (agent.user, team)
