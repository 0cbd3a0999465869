"""The tickets REST API: same auth, error shape and schema as the rest of /api/v1/."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from accounts import services
from accounts.models import Ticket, TicketCategory
from tests.factories import AccountFactory

pytestmark = pytest.mark.django_db
API = "/api/v1"


def client_for(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def api(agent):
    return client_for(agent.user)


@pytest.fixture
def ticket(agent):
    return services.ticket_create(account=AccountFactory(), subject="Router", created_by=agent.user)


def error(response, code):
    assert response.status_code == code, response.content
    body = response.json()
    assert set(body) == {"message", "extra"}
    return body


def test_an_integrator_opens_a_ticket_with_sla_due_dates(api, agent, office_sla):
    account = AccountFactory()
    category = TicketCategory.objects.create(name="Internet")
    response = api.post(
        f"{API}/tickets/",
        {
            "account": account.pk,
            "subject": "Kein Internet",
            "priority": "high",
            "category": category.pk,
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["number"].startswith("T")
    assert (body["status"], body["priority"], body["category"]) == ("new", "high", category.pk)
    assert body["resolution_due_at"] is not None
    assert body["sla_state"] == "ok"
    assert body["allowed_statuses"] == ["in_progress", "waiting", "resolved", "closed"]
    assert body["created_by"] == agent.user.pk


def test_bad_input_gets_the_one_error_shape(api):
    body = error(api.post(f"{API}/tickets/", {"subject": ""}, format="json"), 400)
    assert "account" in body["extra"]["fields"]


def test_status_transitions_are_actions_and_invalid_ones_are_refused(api, ticket):
    url = f"{API}/tickets/{ticket.pk}/status/"
    assert api.post(url, {"status": "resolved"}, format="json").json()["status"] == "resolved"
    assert api.post(url, {"status": "closed"}, format="json").status_code == 200
    body = error(api.post(url, {"status": "waiting"}, format="json"), 400)
    assert "cannot become" in body["message"]
    assert body["extra"]["allowed"] == ["in_progress"]
    reopened = api.post(url, {"status": "in_progress"}, format="json").json()
    assert reopened["reopen_count"] == 1


def test_a_stale_version_is_refused(api, ticket):
    url = f"{API}/tickets/{ticket.pk}/"
    assert api.patch(url, {"priority": "high", "version": 1}, format="json").json()["version"] == 2
    body = error(api.patch(url, {"priority": "low", "version": 1}, format="json"), 400)
    assert body["extra"]["field"] == "version"
    assert Ticket.objects.get().priority == "high"


def test_status_cannot_be_patched_around_the_workflow(api, ticket):
    body = error(api.patch(f"{API}/tickets/{ticket.pk}/", {"status": "closed"}, format="json"), 400)
    assert "status" in body["extra"]["fields"]
    assert Ticket.objects.get().status == "new"


def test_assign_messages_and_history(api, ticket, other_agent):
    assert (
        api.post(
            f"{API}/tickets/{ticket.pk}/assign/", {"agent": other_agent.user.pk}, format="json"
        ).json()["assigned_agent"]
        == other_agent.user.pk
    )
    created = api.post(
        f"{API}/tickets/{ticket.pk}/messages/",
        {"body": "Bitte prüfen", "is_internal": True},
        format="json",
    )
    assert created.status_code == 201
    assert [m["body"] for m in api.get(f"{API}/tickets/{ticket.pk}/messages/").json()] == [
        "Bitte prüfen"
    ]
    actions = [c["action"] for c in api.get(f"{API}/tickets/{ticket.pk}/history/").json()]
    assert actions == ["created", "assigned", "message"]


def test_attachments_are_checked_and_downloaded_as_files(api, ticket, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    url = f"{API}/tickets/{ticket.pk}/attachments/"
    good = api.post(url, {"file": SimpleUploadedFile("a.pdf", b"%PDF-1.7 x")}, format="multipart")
    assert good.status_code == 201, good.content
    body = error(
        api.post(url, {"file": SimpleUploadedFile("a.svg", b"<svg/>")}, format="multipart"), 400
    )
    assert "cannot be attached" in body["message"]
    assert [a["name"] for a in api.get(url).json()] == ["a.pdf"]
    download = api.get(f"{url}{good.json()['id']}/download/")
    assert download.status_code == 200
    assert download["Content-Disposition"].startswith("attachment")


def test_the_list_filters_open_tickets_with_a_constant_number_of_queries(api, agent):
    account = AccountFactory()
    for n in range(3):
        services.ticket_create(account=account, subject=f"T{n}", created_by=agent.user)
    done = services.ticket_create(account=account, subject="fertig", created_by=agent.user)
    services.ticket_set_status(ticket=done, status="closed", by=agent.user)
    with CaptureQueriesContext(connection) as few:
        body = api.get(f"{API}/tickets/?is_open=true").json()
    assert body["count"] == 3
    for n in range(10):
        services.ticket_create(account=account, subject=f"mehr {n}", created_by=agent.user)
    with CaptureQueriesContext(connection) as many:
        assert api.get(f"{API}/tickets/?is_open=true").json()["count"] == 13
    assert len(many.captured_queries) == len(few.captured_queries)


def test_the_category_tree_is_readable(api):
    root = TicketCategory.objects.create(name="Internet")
    TicketCategory.objects.create(name="Störung", parent=root)
    paths = [c["path"] for c in api.get(f"{API}/ticket-categories/").json()["results"]]
    assert paths == ["Internet", "Internet › Störung"]


def test_users_without_a_staff_role_get_nothing(outsider_user, ticket):
    api = client_for(outsider_user)
    error(api.get(f"{API}/tickets/"), 403)
    error(api.post(f"{API}/tickets/{ticket.pk}/status/", {"status": "closed"}, format="json"), 403)


def test_assigning_only_a_group_keeps_the_agent(api, ticket, agent):
    from telephony.models import AgentGroup

    team = AgentGroup.objects.create(name="Technik")
    url = f"{API}/tickets/{ticket.pk}/assign/"
    api.post(url, {"agent": agent.user.pk}, format="json")
    body = api.post(url, {"group": team.pk}, format="json").json()
    assert (body["assigned_agent"], body["assigned_group"]) == (agent.user.pk, team.pk)
    assert api.get(f"{API}/tickets/?assigned_group={team.pk}").json()["count"] == 1
