"""Agents propose solution drafts from resolved tickets; managers review and release them."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import Ticket, TicketCategory, TicketChange, TicketMessage
from icenter.errors import DomainError, NotFound, PermissionDenied
from knowledge import services
from knowledge.models import Category, Problem, Solution
from tests.factories import AccountFactory, CustomerGroupFactory, TicketFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def resolved(db):
    return TicketFactory(
        number="T0000101",
        subject="WLAN bricht abends ab",
        description="Kundin meldet Abbrüche ab 20 Uhr.",
        status=Ticket.Status.RESOLVED,
    )


def _propose(user, ticket, **fields):
    fields.setdefault("title", "WLAN-Kanal wechseln")
    fields.setdefault("body", "Im Router den Kanal 1, 6 oder 11 wählen.\n\nDann neu starten.")
    return services.solution_propose_from_ticket(ticket_id=ticket.pk, user=user, **fields)


# -- service rules ------------------------------------------------------------------------------


def test_a_proposal_is_a_draft_with_its_ticket_problem_and_author(agent, resolved):
    solution = _propose(agent.user, resolved, body="Kanal <b>6</b> wählen.<script>x</script>")
    assert solution.status == Solution.Status.DRAFT
    assert solution.source_ticket == resolved
    assert solution.created_by == agent.user
    assert (
        solution.body == "<p>Kanal &lt;b&gt;6&lt;/b&gt; wählen.&lt;script&gt;x&lt;/script&gt;</p>"
    )
    assert "T0000101" in solution.internal_note and "Anna Schäfer" in solution.internal_note
    (problem,) = solution.problems.all()
    assert problem.title == "WLAN bricht abends ab"
    assert problem.description == ""
    assert solution.versions.get().author == agent.user


def test_the_proposal_is_written_to_the_ticket_trail(agent, resolved):
    solution = _propose(agent.user, resolved)
    entry = TicketChange.objects.get(ticket=resolved, action="solution_proposed")
    assert entry.actor == agent.user
    assert entry.new_value == f"Draft for review: WLAN-Kanal wechseln (#{solution.pk})"


def test_an_existing_problem_and_a_matching_category_are_used(agent, resolved):
    known = Problem.objects.create(title="wlan bricht abends ab")
    internet = Category.objects.create(name="Internet")
    resolved.category = TicketCategory.objects.create(
        name="WLAN", parent=TicketCategory.objects.create(name="Internet")
    )
    resolved.save()
    solution = _propose(agent.user, resolved)
    assert list(solution.problems.all()) == [known]
    assert solution.category == internet


def test_only_resolved_or_closed_tickets_can_be_proposed(agent):
    open_ticket = TicketFactory(number="T0000102", status=Ticket.Status.IN_PROGRESS)
    with pytest.raises(DomainError, match=r"Only a resolved or closed ticket.*T0000102.*progress"):
        _propose(agent.user, open_ticket)
    closed = TicketFactory(status=Ticket.Status.CLOSED)
    assert _propose(agent.user, closed).source_ticket == closed
    assert Solution.objects.count() == 1


def test_a_second_proposal_waits_until_the_first_is_reviewed(
    agent, other_agent, manager_user, resolved
):
    first = _propose(agent.user, resolved)
    with pytest.raises(
        DomainError, match="already waiting for review: “WLAN-Kanal wechseln”"
    ) as refused:
        _propose(other_agent.user, resolved, title="Anderer Vorschlag")
    assert refused.value.extra["solution"] == first.pk
    services.solution_set_status(solution=first, status=Solution.Status.RELEASED, user=manager_user)
    second = _propose(other_agent.user, resolved, title="Anderer Vorschlag")
    assert second.status == Solution.Status.DRAFT
    with pytest.raises(DomainError, match="Another solution proposed from the same ticket"):
        services.solution_set_status(
            solution=first, status=Solution.Status.DRAFT, user=manager_user
        )


def test_proposals_need_a_title_and_a_text(agent, resolved):
    with pytest.raises(DomainError, match="needs a title"):
        _propose(agent.user, resolved, title="  ")
    with pytest.raises(DomainError, match="needs a text"):
        _propose(agent.user, resolved, body=" ")
    assert not Solution.objects.exists()
    assert not Problem.objects.exists()


def test_outsiders_and_hidden_tickets_are_refused(agent, outsider_user, resolved):
    with pytest.raises(PermissionDenied):
        _propose(outsider_user, resolved)
    hidden = TicketFactory(
        account=AccountFactory(customer_group=CustomerGroupFactory()),
        status=Ticket.Status.RESOLVED,
    )
    with pytest.raises(NotFound):
        _propose(agent.user, hidden)


# -- the ticket page --------------------------------------------------------------------------


def test_the_form_is_prefilled_from_the_ticket_and_its_last_customer_message(
    desk_client, agent, resolved
):
    now = timezone.now()
    TicketMessage.objects.create(
        ticket=resolved, body="Kanal 6 eingestellt, läuft.", is_internal=False, created_at=now
    )
    TicketMessage.objects.create(
        ticket=resolved, body="intern: Kundin nett", created_at=now + timedelta(minutes=1)
    )
    card = desk_client.get(reverse("knowledge:ticket_solutions", args=[resolved.pk])).content
    assert reverse("knowledge:ticket_propose", args=[resolved.pk]) in card.decode()
    html = desk_client.get(reverse("knowledge:ticket_propose", args=[resolved.pk])).content.decode()
    assert 'name="problem_title" value="WLAN bricht abends ab"' in html
    assert "Kundin meldet Abbrüche ab 20 Uhr.</textarea>" in html
    assert "Kanal 6 eingestellt, läuft.</textarea>" in html
    assert "intern: Kundin nett" not in html


def test_without_a_customer_message_the_last_note_is_offered(desk_client, resolved):
    TicketMessage.objects.create(ticket=resolved, body="Router getauscht.")
    html = desk_client.get(reverse("knowledge:ticket_propose", args=[resolved.pk])).content.decode()
    assert "Router getauscht.</textarea>" in html


def test_an_agent_proposes_and_then_sees_the_pending_proposal(desk_client, resolved):
    url = reverse("knowledge:ticket_propose", args=[resolved.pk])
    html = desk_client.post(
        url,
        {
            "problem_title": "WLAN bricht ab",
            "problem_description": "abends",
            "title": "WLAN-Kanal wechseln",
            "body": "Kanal 6.",
            "language": "de",
        },
    ).content.decode()
    assert "waits for a manager's review" in html
    solution = Solution.objects.get(source_ticket=resolved)
    assert solution.problems.get().description == "abends"
    assert reverse("knowledge:proposal", args=[solution.pk]) in html
    again = desk_client.get(url).content.decode()
    assert "waits for a manager's review: “WLAN-Kanal wechseln”" in again
    shown = desk_client.get(reverse("knowledge:proposal", args=[solution.pk])).content.decode()
    assert "<p>Kanal 6.</p>" in shown and "Not released yet" in shown


def test_a_refused_proposal_keeps_what_the_agent_wrote(desk_client, resolved):
    response = desk_client.post(
        reverse("knowledge:ticket_propose", args=[resolved.pk]),
        {"problem_title": "WLAN", "title": "", "body": "Mein langer Text", "language": "de"},
    )
    html = response.content.decode()
    assert "A solution needs a title." in html
    assert "Mein langer Text</textarea>" in html
    assert not Solution.objects.exists()


def test_an_open_ticket_cannot_be_proposed_on_the_page(desk_client):
    ticket = TicketFactory()
    card = desk_client.get(reverse("knowledge:ticket_solutions", args=[ticket.pk])).content
    assert reverse("knowledge:ticket_propose", args=[ticket.pk]) not in card.decode()
    html = desk_client.post(
        reverse("knowledge:ticket_propose", args=[ticket.pk]), {"title": "x", "body": "y"}
    ).content.decode()
    assert "Only a resolved or closed ticket can be proposed" in html
    assert not Solution.objects.exists()


def test_proposing_is_for_agents_who_see_the_ticket(client, outsider_user, agent, resolved):
    client.force_login(outsider_user)
    url = reverse("knowledge:ticket_propose", args=[resolved.pk])
    assert client.post(url, {"title": "x", "body": "y"}).status_code == 403
    solution = _propose(agent.user, resolved)
    assert client.get(reverse("knowledge:proposal", args=[solution.pk])).status_code == 403
    hidden = TicketFactory(
        account=AccountFactory(customer_group=CustomerGroupFactory()),
        status=Ticket.Status.RESOLVED,
    )
    hidden_draft = Solution.objects.create(title="x", body="<p>y</p>", source_ticket=hidden)
    client.force_login(agent.user)
    assert client.get(reverse("knowledge:proposal", args=[hidden_draft.pk])).status_code == 404
    assert client.post(reverse("knowledge:ticket_propose", args=[hidden.pk])).status_code == 404


# -- managers' review in the admin --------------------------------------------------------------


def test_managers_filter_proposals_see_the_ticket_and_release(
    client, manager_user, agent, resolved
):
    proposal = _propose(agent.user, resolved)
    Solution.objects.create(title="Vom Manager", body="<p>x</p>")
    client.force_login(manager_user)
    changelist = reverse("admin:knowledge_solution_changelist")
    html = client.get(changelist, {"proposed": "pending"}).content.decode()
    assert "proposed by agents" in html
    assert "WLAN-Kanal wechseln" in html
    assert "Vom Manager" not in html
    assert "T0000101" in html
    change = client.get(reverse("admin:knowledge_solution_change", args=[proposal.pk]))
    page = change.content.decode()
    assert reverse("admin:accounts_ticket_change", args=[resolved.pk]) in page
    assert 'name="source_ticket"' not in page
    client.post(
        changelist,
        {"action": "release", "_selected_action": [proposal.pk], "index": 0},
    )
    proposal.refresh_from_db()
    assert proposal.status == Solution.Status.RELEASED
    assert proposal.source_ticket == resolved
    assert (
        "WLAN-Kanal wechseln"
        not in client.get(changelist, {"proposed": "pending"}).content.decode()
    )
    assert "WLAN-Kanal wechseln" in client.get(changelist, {"proposed": "all"}).content.decode()


# -- REST -------------------------------------------------------------------------------------


def test_the_api_proposes_and_refuses_a_second_draft(agent, resolved):
    api = APIClient()
    api.force_authenticate(agent.user)
    payload = {"ticket": resolved.pk, "title": "WLAN-Kanal wechseln", "body": "Kanal 6."}
    created = api.post("/api/v1/knowledge/solutions/propose/", payload, format="json")
    assert created.status_code == 201
    assert created.json()["status"] == "draft"
    assert created.json()["source_ticket"] == resolved.pk
    again = api.post("/api/v1/knowledge/solutions/propose/", payload, format="json")
    assert again.status_code == 400
    assert again.json()["extra"]["solution"] == created.json()["id"]
    open_ticket = TicketFactory()
    refused = api.post(
        "/api/v1/knowledge/solutions/propose/", {**payload, "ticket": open_ticket.pk}, format="json"
    )
    assert "resolved or closed" in refused.json()["message"]
