"""REST API for scripts, versions, runs and answers."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from scripting.demo import SURVEY
from scripting.models import ScriptRun
from tests.factories import InteractionFactory

pytestmark = pytest.mark.django_db


def api(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_staff_read_scripts_and_versions_with_their_steps(agent, demo_versions):
    client = api(agent.user)
    scripts = client.get("/api/v1/scripts/").json()["results"]
    assert {s["code"] for s in scripts} == {"kundenzufriedenheit", "zusatzangebot"}
    version = client.get(f"/api/v1/script-versions/{demo_versions['survey'].pk}/").json()
    assert version["status"] == "published"
    assert version["definition"]["steps"][0]["key"] == "consent"


def test_an_agent_runs_a_script_through_the_api(agent, demo_versions):
    client = api(agent.user)
    interaction = InteractionFactory(agent=agent.user, outcome="")
    response = client.post(
        "/api/v1/script-runs/",
        {"version": demo_versions["survey"].pk, "interaction": interaction.pk},
        format="json",
    )
    assert response.status_code == 201, response.json()
    run = response.json()
    assert run["current_step"] == "consent"
    url = f"/api/v1/script-runs/{run['id']}/"
    run = client.post(url + "answer/", {"step": "consent", "answer": "yes"}, format="json").json()
    run = client.post(
        url + "answer/", {"step": "overall", "answer": "zufrieden"}, format="json"
    ).json()
    refused = client.post(url + "answer/", {"step": "recommend", "answer": "sehr"}, format="json")
    assert refused.status_code == 400
    assert refused.json()["message"] == "“sehr” is not a number."
    run = client.post(url + "back/", format="json").json()
    assert run["current_step"] == "overall"
    answers = client.get(f"/api/v1/script-answers/?run={run['id']}").json()["results"]
    assert [(a["step"], a["value"]) for a in answers] == [
        ("consent", "yes"),
        ("overall", "zufrieden"),
    ]


def test_agents_see_only_their_own_runs_supervisors_see_all(
    agent, other_agent, supervisor_user, demo_versions
):
    api(agent.user).post(
        "/api/v1/script-runs/", {"version": demo_versions["survey"].pk}, format="json"
    )
    run = ScriptRun.objects.get()
    assert api(other_agent.user).get("/api/v1/script-runs/").json()["count"] == 0
    assert (
        api(other_agent.user)
        .post(
            f"/api/v1/script-runs/{run.pk}/answer/",
            {"step": "consent", "answer": "yes"},
            format="json",
        )
        .status_code
        == 404
    )
    assert api(supervisor_user).get("/api/v1/script-runs/").json()["count"] == 1


def test_only_managers_import_and_publish(agent, manager_user):
    assert api(agent.user).post("/api/v1/scripts/import/", SURVEY, format="json").status_code == 403
    created = api(manager_user).post("/api/v1/scripts/import/", SURVEY, format="json")
    assert created.status_code == 201, created.json()
    version = created.json()
    assert (
        api(agent.user).post(f"/api/v1/script-versions/{version['id']}/publish/").status_code == 403
    )
    published = api(manager_user).post(f"/api/v1/script-versions/{version['id']}/publish/")
    assert published.json()["status"] == "published"


def test_a_bad_import_answers_with_line_and_field(manager_user):
    response = api(manager_user).post(
        "/api/v1/scripts/import/",
        {**SURVEY, "steps": [{"key": "a", "kind": "nope"}]},
        format="json",
    )
    assert response.status_code == 400
    body = response.json()
    assert body["extra"]["problems"][0]["field"] == "steps[0].kind"


def test_outsiders_get_nothing(outsider_user, demo_versions):
    assert api(outsider_user).get("/api/v1/scripts/").status_code == 403
