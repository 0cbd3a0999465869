"""The knowledge REST API and the authoring services (sanitising, versions, status)."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from icenter.errors import DomainError, PermissionDenied
from knowledge import services
from knowledge.models import Solution

pytestmark = pytest.mark.django_db
API = "/api/v1/knowledge"


@pytest.fixture
def agent_api(agent):
    client = APIClient()
    client.force_authenticate(agent.user)
    return client


def test_the_search_endpoint_ranks_and_highlights(agent_api, knowledge_base):
    body = agent_api.get(f"{API}/solutions/search/", {"q": "Ruter <b>"}).json()
    assert body["results"][0]["title"] == "Router blinkt rot"
    assert "<mark>Router</mark>" in body["results"][0]["title_highlighted"]
    assert body["words"] == ["ruter"]


def test_the_email_search_endpoint_takes_a_whole_email(agent_api, knowledge_base):
    body = agent_api.post(
        f"{API}/solutions/search-email/", {"body": "Hallo,\nRechnung doppelt!\nGruß"}
    ).json()
    assert body["results"][0]["title"] == "Rechnung doppelt abgebucht"


def test_an_empty_search_is_a_clear_400(agent_api):
    body = agent_api.get(f"{API}/solutions/search/", {"q": ""}).json()
    assert "Give a search text in q." in body["message"]


def test_agents_list_released_solutions_managers_all(agent_api, manager_user, knowledge_base):
    titles = {s["title"] for s in agent_api.get(f"{API}/solutions/").json()["results"]}
    assert "Router Entwurf" not in titles
    manager = APIClient()
    manager.force_authenticate(manager_user)
    titles = {s["title"] for s in manager.get(f"{API}/solutions/").json()["results"]}
    assert "Router Entwurf" in titles


def test_problems_categories_and_feedback(agent_api, knowledge_base):
    assert agent_api.get(f"{API}/problems/").json()["results"][0]["title"]
    assert {c["name"] for c in agent_api.get(f"{API}/categories/").json()["results"]} >= {
        "Internet"
    }
    solution = knowledge_base["router"]
    response = agent_api.post(f"{API}/solutions/{solution.pk}/feedback/", {"helped": True})
    assert response.status_code == 201
    solution.refresh_from_db()
    assert solution.helped_count == 1


def test_outsiders_get_nothing(outsider_user, knowledge_base):
    client = APIClient()
    client.force_authenticate(outsider_user)
    assert client.get(f"{API}/solutions/search/", {"q": "Router"}).status_code == 403


def test_rich_text_is_sanitised_when_a_solution_is_written(manager_user):
    solution = services.solution_create(
        title="  Router  neu starten ",
        body='<p onclick="x()">Hi <script>alert(1)</script><a href="javascript:x">l</a>'
        "<strong>fett</strong></p>",
        author=manager_user,
    )
    assert solution.title == "Router neu starten"
    assert "script" not in solution.body and "onclick" not in solution.body
    assert "javascript" not in solution.body
    assert "<strong>fett</strong>" in solution.body
    assert solution.versions.get().number == 1


def test_an_empty_text_is_refused(manager_user):
    with pytest.raises(DomainError, match="needs a text"):
        services.solution_create(title="T", body="<script>x</script>", author=manager_user)


def test_each_change_is_a_new_version_with_its_author(manager_user):
    solution = services.solution_create(title="A", body="<p>eins</p>", author=manager_user)
    solution = services.solution_update(
        solution=solution, author=manager_user, body="<p>zwei</p>", note="Text"
    )
    assert solution.version == 2
    assert list(solution.versions.values_list("number", "body", "author")) == [
        (2, "<p>zwei</p>", manager_user.pk),
        (1, "<p>eins</p>", manager_user.pk),
    ]


def test_the_status_workflow_refuses_other_moves_and_non_managers(manager_user, agent):
    solution = services.solution_create(title="A", body="<p>x</p>", author=manager_user)
    with pytest.raises(PermissionDenied):
        services.solution_set_status(solution=solution, status="released", user=agent.user)
    solution = services.solution_set_status(solution=solution, status="archived", user=manager_user)
    with pytest.raises(DomainError, match="cannot go from"):
        services.solution_set_status(solution=solution, status="released", user=manager_user)
    solution = services.solution_set_status(solution=solution, status="draft", user=manager_user)
    solution = services.solution_set_status(solution=solution, status="released", user=manager_user)
    assert solution.status == Solution.Status.RELEASED
    assert solution.versions.count() == 4


def test_managers_author_and_release_in_the_admin(client, manager_user, knowledge_base):
    client.force_login(manager_user)
    assert client.get("/admin/knowledge/solution/add/").status_code == 200
    draft = knowledge_base["draft"]
    response = client.post(
        "/admin/knowledge/solution/",
        {"action": "release", "_selected_action": [draft.pk]},
    )
    assert response.status_code == 302
    draft.refresh_from_db()
    assert draft.status == "released"
