"""The telephony REST API: queues, agents and their states, calls, work items, callbacks."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from telephony.models import (
    Agent,
    AgentGroup,
    AgentSkill,
    AgentStateChange,
    Call,
    NotReadyReason,
    OpeningHours,
    Queue,
    QueueSkill,
    Skill,
    WorkItem,
)
from tests.factories import AccountFactory, InteractionFactory

pytestmark = pytest.mark.django_db

PERSONAS = ["agent", "supervisor_user", "manager_user"]


def api_as(user):
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def user_of(request, persona):
    value = request.getfixturevalue(persona)
    return value.user if persona == "agent" else value


@pytest.fixture
def hotline(db):
    queue = Queue.objects.create(name="Hotline", number="7000", priority=7)
    german = Skill.objects.create(code="de", name="Deutsch")
    QueueSkill.objects.create(queue=queue, skill=german, min_level=2)
    OpeningHours.objects.create(queue=queue, weekday=0, opens="08:00", closes="18:00")
    return queue


def make_call(call_id, *, agent=None, status=Call.Status.ENDED, offered_at=None, queue=None):
    offered_at = offered_at or timezone.now()
    call = Call.objects.create(
        call_id=call_id,
        direction=Call.Direction.INBOUND,
        ani="030 1234567",
        ani_e164="+49301234567",
        dnis="7000",
        queue=queue.name if queue else "Hotline",
        status=status,
        agent=agent,
        interaction=InteractionFactory(),
        offered_at=offered_at,
    )
    WorkItem.objects.create(
        channel=WorkItem.Channel.CALL,
        queue=queue,
        call=call,
        status=WorkItem.Status.DONE if status == Call.Status.ENDED else WorkItem.Status.QUEUED,
        enqueued_at=offered_at,
    )
    return call


# -- access -----------------------------------------------------------------------------------


ENDPOINTS = [
    "/api/v1/queues/",
    "/api/v1/queues/figures/",
    "/api/v1/agents/",
    "/api/v1/agent-state-changes/",
    "/api/v1/calls/",
    "/api/v1/work-items/",
]


@pytest.mark.parametrize("persona", PERSONAS)
def test_every_staff_role_reads_the_telephony_endpoints(request, persona, hotline):
    client = api_as(user_of(request, persona))
    for url in ENDPOINTS:
        assert client.get(url).status_code == 200, url


def test_outsiders_and_anonymous_callers_read_nothing(outsider_user, hotline):
    for user in (outsider_user, None):
        for url in [*ENDPOINTS, f"/api/v1/queues/{hotline.pk}/"]:
            response = api_as(user).get(url)
            assert response.status_code in (401, 403), url
            assert set(response.json()) == {"message", "extra"}


def test_outsiders_cannot_change_states_or_schedule_callbacks(outsider_user, agent):
    client = api_as(outsider_user)
    assert (
        client.post(f"/api/v1/agents/{agent.pk}/state/", {"state": "logged_out"}).status_code == 403
    )
    assert client.post("/api/v1/callbacks/", {}).status_code == 403
    agent.refresh_from_db()
    assert agent.state == Agent.State.READY


# -- queues -----------------------------------------------------------------------------------


def test_a_queue_shows_its_skills_and_opening_hours(agent, hotline):
    data = api_as(agent.user).get(f"/api/v1/queues/{hotline.pk}/").json()
    assert data["name"] == "Hotline"
    assert data["required_skills"] == [
        {
            "skill": hotline.required_skills.get().skill_id,
            "code": "de",
            "name": "Deutsch",
            "min_level": 2,
        }
    ]
    assert data["opening_hours"] == [{"weekday": 0, "opens": "08:00:00", "closes": "18:00:00"}]


def test_queues_are_read_only(manager_user, hotline):
    client = api_as(manager_user)
    assert client.post("/api/v1/queues/", {"name": "Neu"}).status_code == 405
    assert client.delete(f"/api/v1/queues/{hotline.pk}/").status_code == 405
    assert Queue.objects.filter(pk=hotline.pk).exists()


def test_queue_list_runs_a_constant_number_of_queries(
    supervisor_user, django_assert_max_num_queries
):
    skill = Skill.objects.create(code="en", name="English")
    for n in range(15):
        queue = Queue.objects.create(name=f"Q{n}", number=f"80{n:02d}")
        QueueSkill.objects.create(queue=queue, skill=skill)
        OpeningHours.objects.create(queue=queue, weekday=n % 7, opens="08:00", closes="12:00")
    client = api_as(supervisor_user)
    with django_assert_max_num_queries(10):
        assert len(client.get("/api/v1/queues/").json()["results"]) == 15


def test_queue_figures_report_waiting_calls(supervisor_user, hotline):
    make_call(
        "w1",
        status=Call.Status.QUEUED,
        queue=hotline,
        offered_at=timezone.now() - timedelta(minutes=2),
    )
    figures = api_as(supervisor_user).get("/api/v1/queues/figures/").json()
    assert figures[0]["name"] == "Hotline"
    assert figures[0]["waiting"] == 1
    assert figures[0]["offered"] == 1  # waited past the 20 s threshold
    assert figures[0]["service_level"] == 0.0
    assert figures[0]["service_level_target"] == 80
    assert set(figures[0]["agents_by_state"]) == set(Agent.State.values)


# -- agents -----------------------------------------------------------------------------------


def test_agents_list_states_skills_groups_and_reason_labels(supervisor_user, agent, other_agent):
    NotReadyReason.objects.update_or_create(code="break", defaults={"label": "Pause"})
    Agent.objects.filter(pk=other_agent.pk).update(
        state=Agent.State.NOT_READY, state_reason="break"
    )
    skill = Skill.objects.create(code="fr", name="Français")
    AgentSkill.objects.create(agent=agent, skill=skill, level=4)
    team = AgentGroup.objects.create(name="Team Nord")
    team.members.add(agent)
    rows = {
        row["extension"]: row
        for row in api_as(supervisor_user).get("/api/v1/agents/").json()["results"]
    }
    assert rows["2001"]["name"] == "Anna Schäfer"
    assert rows["2001"]["skills"] == [{"skill": skill.pk, "code": "fr", "level": 4}]
    assert rows["2001"]["groups"] == [team.pk]
    assert rows["2002"]["state"] == "not_ready"
    assert rows["2002"]["reason_label"] == "Pause"


def test_agents_filter_by_state_and_group(supervisor_user, agent, other_agent):
    Agent.objects.filter(pk=other_agent.pk).update(state=Agent.State.LOGGED_OUT)
    team = AgentGroup.objects.create(name="Team Süd")
    team.members.add(other_agent)
    client = api_as(supervisor_user)
    ready = client.get("/api/v1/agents/", {"state": "ready"}).json()["results"]
    assert [row["id"] for row in ready] == [agent.pk]
    both = client.get("/api/v1/agents/", {"state": ["ready", "logged_out"]}).json()["results"]
    assert len(both) == 2
    grouped = client.get("/api/v1/agents/", {"group": team.pk}).json()["results"]
    assert [row["id"] for row in grouped] == [other_agent.pk]
    response = client.get("/api/v1/agents/", {"state": "dancing"})
    assert response.status_code == 400
    assert set(response.json()) == {"message", "extra"}


def test_agent_list_runs_a_constant_number_of_queries(
    supervisor_user, django_assert_max_num_queries
):
    from tests.factories import AgentFactory

    skill = Skill.objects.create(code="it", name="Italiano")
    team = AgentGroup.objects.create(name="Alle")
    for _ in range(20):
        extra = AgentFactory()
        AgentSkill.objects.create(agent=extra, skill=skill)
        team.members.add(extra)
    client = api_as(supervisor_user)
    with django_assert_max_num_queries(10):
        assert client.get("/api/v1/agents/").json()["count"] == 20


def test_a_supervisor_forces_an_agent_not_ready(supervisor_user, agent):
    response = api_as(supervisor_user).post(
        f"/api/v1/agents/{agent.pk}/state/", {"state": "not_ready"}, format="json"
    )
    assert response.status_code == 200, response.json()
    assert response.json()["state"] == "not_ready"
    assert response.json()["state_reason"] == "supervisor"
    assert response.json()["reason_label"] == "Set by a supervisor"
    assert AgentStateChange.objects.filter(agent=agent, state="not_ready").exists()


def test_a_manager_logs_an_agent_out(manager_user, agent):
    response = api_as(manager_user).post(
        f"/api/v1/agents/{agent.pk}/state/", {"state": "logged_out"}, format="json"
    )
    assert response.status_code == 200
    agent.refresh_from_db()
    assert agent.state == Agent.State.LOGGED_OUT


def test_an_agent_on_a_call_is_not_logged_out(supervisor_user, agent):
    Agent.objects.filter(pk=agent.pk).update(state=Agent.State.TALKING)
    response = api_as(supervisor_user).post(
        f"/api/v1/agents/{agent.pk}/state/", {"state": "logged_out"}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["message"].endswith("has a call right now; try again when it has ended.")
    agent.refresh_from_db()
    assert agent.state == Agent.State.TALKING


def test_a_supervisor_cannot_make_an_agent_ready(supervisor_user, agent):
    Agent.objects.filter(pk=agent.pk).update(state=Agent.State.NOT_READY)
    response = api_as(supervisor_user).post(
        f"/api/v1/agents/{agent.pk}/state/", {"state": "ready"}, format="json"
    )
    assert response.status_code == 400
    agent.refresh_from_db()
    assert agent.state == Agent.State.NOT_READY


def test_an_agent_sets_their_own_state_with_a_reason(agent):
    NotReadyReason.objects.update_or_create(code="break", defaults={"label": "Pause"})
    client = api_as(agent.user)
    response = client.post(
        f"/api/v1/agents/{agent.pk}/state/",
        {"state": "not_ready", "reason": "break"},
        format="json",
    )
    assert response.status_code == 200
    assert response.json()["reason_label"] == "Pause"
    response = client.post(f"/api/v1/agents/{agent.pk}/state/", {"state": "ready"}, format="json")
    assert response.json()["state"] == "ready"


def test_an_agent_needs_a_reason_to_be_not_ready(agent):
    response = api_as(agent.user).post(
        f"/api/v1/agents/{agent.pk}/state/", {"state": "not_ready"}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["message"] == "Choose a reason for being not ready."


def test_an_agent_cannot_change_a_colleagues_state(agent, other_agent):
    response = api_as(agent.user).post(
        f"/api/v1/agents/{other_agent.pk}/state/", {"state": "logged_out"}, format="json"
    )
    assert response.status_code == 403
    assert set(response.json()) == {"message", "extra"}
    other_agent.refresh_from_db()
    assert other_agent.state == Agent.State.READY


@pytest.mark.parametrize(
    "payload",
    [
        {},
        {"state": "talking"},
        {"state": "ringing"},
        {"state": ["ready"]},
        {"state": "not_ready", "reason": "x" * 101},
    ],
)
def test_bad_state_payloads_are_refused_and_change_nothing(supervisor_user, agent, payload):
    response = api_as(supervisor_user).post(
        f"/api/v1/agents/{agent.pk}/state/", payload, format="json"
    )
    assert response.status_code == 400
    assert response.json()["message"].startswith("Invalid input.")
    assert "fields" in response.json()["extra"]
    agent.refresh_from_db()
    assert agent.state == Agent.State.READY
    assert not AgentStateChange.objects.exists()


def test_an_unknown_agent_is_not_found(supervisor_user):
    response = api_as(supervisor_user).post(
        "/api/v1/agents/999999/state/", {"state": "logged_out"}, format="json"
    )
    assert response.status_code == 404
    assert set(response.json()) == {"message", "extra"}


# -- state history ----------------------------------------------------------------------------


def test_supervisors_read_every_state_change_and_agents_only_their_own(
    supervisor_user, agent, other_agent
):
    now = timezone.now()
    AgentStateChange.objects.create(agent=agent, previous_state="ready", state="not_ready", at=now)
    AgentStateChange.objects.create(
        agent=other_agent, previous_state="ready", state="talking", at=now - timedelta(hours=2)
    )
    assert api_as(supervisor_user).get("/api/v1/agent-state-changes/").json()["count"] == 2
    own = api_as(agent.user).get("/api/v1/agent-state-changes/").json()["results"]
    assert [row["agent"] for row in own] == [agent.pk]
    theirs = AgentStateChange.objects.get(agent=other_agent)
    assert api_as(agent.user).get(f"/api/v1/agent-state-changes/{theirs.pk}/").status_code == 404


def test_state_changes_filter_by_agent_state_and_time(supervisor_user, agent, other_agent):
    now = timezone.now()
    AgentStateChange.objects.create(agent=agent, previous_state="ready", state="not_ready", at=now)
    AgentStateChange.objects.create(
        agent=agent, previous_state="not_ready", state="ready", at=now - timedelta(days=1)
    )
    AgentStateChange.objects.create(
        agent=other_agent, previous_state="ready", state="not_ready", at=now
    )
    client = api_as(supervisor_user)
    params = {"agent": agent.pk, "at_after": (now - timedelta(hours=1)).isoformat()}
    rows = client.get("/api/v1/agent-state-changes/", params).json()["results"]
    assert [(row["agent"], row["state"]) for row in rows] == [(agent.pk, "not_ready")]
    assert client.get("/api/v1/agent-state-changes/", {"state": "ready"}).json()["count"] == 1
    assert client.get("/api/v1/agent-state-changes/", {"at_after": "yesterday"}).status_code == 400


# -- calls and work items -----------------------------------------------------------------------


def test_calls_filter_by_status_agent_and_time(supervisor_user, agent, hotline):
    old = make_call("old", agent=agent, offered_at=timezone.now() - timedelta(days=2))
    make_call("waiting", status=Call.Status.QUEUED, queue=hotline)
    client = api_as(supervisor_user)
    assert [
        c["call_id"] for c in client.get("/api/v1/calls/", {"status": "queued"}).json()["results"]
    ] == ["waiting"]
    assert [
        c["call_id"] for c in client.get("/api/v1/calls/", {"agent": agent.pk}).json()["results"]
    ] == ["old"]
    recent = client.get(
        "/api/v1/calls/", {"offered_after": (timezone.now() - timedelta(days=1)).isoformat()}
    ).json()["results"]
    assert [c["call_id"] for c in recent] == ["waiting"]
    data = client.get(f"/api/v1/calls/{old.pk}/").json()
    assert data["ani_e164"] == "+49301234567"
    assert data["direction"] == "inbound"


def test_calls_are_read_only(manager_user):
    call = make_call("keep")
    client = api_as(manager_user)
    assert client.delete(f"/api/v1/calls/{call.pk}/").status_code == 405
    assert client.patch(f"/api/v1/calls/{call.pk}/", {"status": "queued"}).status_code == 405
    call.refresh_from_db()
    assert call.status == Call.Status.ENDED


def test_work_items_filter_by_channel_status_and_queue(supervisor_user, hotline):
    make_call("q1", status=Call.Status.QUEUED, queue=hotline)
    make_call("done")
    WorkItem.objects.create(channel=WorkItem.Channel.EMAIL, queue=hotline, subject="Rechnung")
    client = api_as(supervisor_user)
    waiting_calls = client.get(
        "/api/v1/work-items/", {"channel": "call", "status": "queued"}
    ).json()["results"]
    assert len(waiting_calls) == 1
    in_queue = client.get("/api/v1/work-items/", {"queue": hotline.pk}).json()["results"]
    assert {row["channel"] for row in in_queue} == {"call", "email"}
    assert client.get("/api/v1/work-items/", {"channel": "fax"}).status_code == 400


# -- callbacks ----------------------------------------------------------------------------------


def test_an_integrator_schedules_a_callback(agent, hotline):
    account = AccountFactory()
    when = timezone.now() + timedelta(hours=2)
    response = api_as(agent.user).post(
        "/api/v1/callbacks/",
        {
            "number": "030 7654321",
            "reason": "Rückfrage zur Rechnung",
            "not_before": when.isoformat(),
            "account": account.pk,
            "queue": hotline.pk,
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    data = response.json()
    assert data["channel"] == "callback"
    assert data["status"] == "queued"
    assert data["number"] == "+49307654321"
    assert data["subject"] == "Rückfrage zur Rechnung"
    item = WorkItem.objects.get(pk=data["id"])
    assert item.created_by == agent.user
    assert item.account == account


@pytest.mark.parametrize(
    ("payload", "needle"),
    [
        ({"reason": "x", "not_before": "2030-01-01T10:00:00Z"}, "number"),
        ({"number": "030 7654321", "reason": "x", "not_before": "soon"}, "not_before"),
        (
            {"number": "not a number", "reason": "x", "not_before": "2030-01-01T10:00:00Z"},
            "valid phone number",
        ),
        (
            {"number": "030 7654321", "reason": "x", "not_before": "2001-01-01T10:00:00Z"},
            "in the past",
        ),
        (
            {
                "number": "030 7654321",
                "reason": "x",
                "not_before": "2030-01-01T10:00:00Z",
                "not_after": "2029-01-01T10:00:00Z",
            },
            "ends before it starts",
        ),
        (
            {
                "number": "030 7654321",
                "reason": "x",
                "not_before": "2030-01-01T10:00:00Z",
                "queue": 999999,
            },
            "queue",
        ),
    ],
)
def test_bad_callbacks_are_refused_with_a_clear_message(supervisor_user, payload, needle):
    response = api_as(supervisor_user).post("/api/v1/callbacks/", payload, format="json")
    assert response.status_code == 400
    body = response.json()
    assert set(body) == {"message", "extra"}
    assert needle in body["message"]
    assert not WorkItem.objects.exists()


def test_callbacks_cannot_be_listed_here(supervisor_user):
    assert api_as(supervisor_user).get("/api/v1/callbacks/").status_code == 405


def test_state_durations_add_up_the_time_in_each_state_over_a_period(
    supervisor_user, agent, other_agent, django_assert_max_num_queries
):
    from telephony.models import AgentStateChange

    start = timezone.now() - timedelta(hours=2)
    AgentStateChange.objects.all().delete()
    for minutes, previous, state in [
        (-30, "logged_out", "ready"),  # before the period: ready when it starts
        (10, "ready", "ringing"),
        (11, "ringing", "talking"),
        (20, "talking", "wrap_up"),
        (21, "wrap_up", "not_ready"),
    ]:
        AgentStateChange.objects.create(
            agent=agent, previous_state=previous, state=state, at=start + timedelta(minutes=minutes)
        )
    end = start + timedelta(minutes=60)
    client = api_as(supervisor_user)
    with django_assert_max_num_queries(8):
        response = client.get(
            "/api/v1/agent-state-changes/durations/",
            {"start": start.isoformat(), "end": end.isoformat()},
        )
    assert response.status_code == 200
    rows = {row["extension"]: row["seconds"] for row in response.json()}
    assert rows["2001"] == {
        "ready": 600.0,
        "ringing": 60.0,
        "talking": 540.0,
        "wrap_up": 60.0,
        "not_ready": 2340.0,
    }
    assert rows["2002"] == {"logged_out": 3600.0}


def test_agents_see_only_their_own_durations_and_bad_periods_are_refused(agent, other_agent):
    client = api_as(agent.user)
    response = client.get("/api/v1/agent-state-changes/durations/")
    assert [row["extension"] for row in response.json()] == ["2001"]
    now = timezone.now()
    response = client.get(
        "/api/v1/agent-state-changes/durations/",
        {"start": now.isoformat(), "end": (now - timedelta(hours=1)).isoformat()},
    )
    assert response.status_code == 400
    assert response.json()["message"] == "The period ends before it starts."
    response = client.get("/api/v1/agent-state-changes/durations/", {"start": "yesterday"})
    assert response.status_code == 400
