"""One phone line per agent: no state by hand while a call rings or runs, and a PBX request
never fails because an agent's state said "ready" while their line was busy."""

import json
import logging
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone, translation

from icenter.errors import DomainError
from telephony import routing, services
from telephony.models import Agent, Call, CallEventRecord, WorkItem

pytestmark = pytest.mark.django_db
TOKEN = "test-kamailio-token-0123456789"
ROUTE = "/cti/kamailio/route/"
EVENTS = "/cti/kamailio/events/"
SIMULATOR = "/cti/simulator/calls/"


@pytest.fixture(autouse=True)
def cti_token(settings):
    settings.ICENTER_CTI_TOKEN = TOKEN
    settings.ICENTER_CTI_ALLOWED_NETWORKS = ["127.0.0.0/8"]


def post(client, path, body):
    return client.post(
        path,
        json.dumps(body),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {TOKEN}",
        REMOTE_ADDR="127.0.0.1",
    )


def ring_at_anna(client, call_id="k1"):
    """A queue call that Kamailio rings at Anna's phone (2001)."""
    response = post(client, ROUTE, {"call_id": call_id, "ani": "030 1234567", "dnis": "7000"})
    assert response.json()["extension"] == "2001"
    return Call.objects.get(call_id=call_id)


def state_written_while_ringing(agent, state=Agent.State.READY):
    """What a "ready" by hand during a ringing call wrote before it was refused."""
    Agent.objects.filter(pk=agent.pk).update(state=state, state_reason="")
    agent.refresh_from_db()


def test_becoming_ready_by_hand_while_the_phone_rings_is_refused(agent):
    client_call = services.call_route(call_id="k1", ani="030 1234567", dnis="7000")
    assert client_call.extension == "2001"
    with pytest.raises(DomainError, match="you become ready after it"):
        services.agent_set_state(agent=agent, state=Agent.State.READY)
    agent.refresh_from_db()
    assert agent.state == Agent.State.RINGING


def test_not_ready_by_hand_while_the_phone_rings_is_refused_so_ready_cannot_follow(agent):
    services.call_route(call_id="k1", ani="030 1234567", dnis="7000")
    with pytest.raises(DomainError, match="change your state when it has ended"):
        services.agent_set_state(agent=agent, state=Agent.State.NOT_READY, reason="break")
    agent.refresh_from_db()
    assert agent.state == Agent.State.RINGING
    assert not agent.state_changes.filter(state=Agent.State.NOT_READY).exists()


def test_a_state_that_says_ready_does_not_hide_a_ringing_call_from_the_check(agent):
    call = services.call_route(call_id="k1", ani="030 1234567", dnis="7000").call
    state_written_while_ringing(agent, Agent.State.NOT_READY)
    with pytest.raises(DomainError, match="you become ready after it"):
        services.agent_set_state(agent=agent, state=Agent.State.READY)
    with pytest.raises(DomainError, match="before logging out"):
        services.agent_set_state(agent=agent, state=Agent.State.LOGGED_OUT)
    assert WorkItem.objects.get(call=call).status == WorkItem.Status.OFFERED


def test_a_supervisor_cannot_force_an_agent_whose_call_rings_even_if_the_state_says_otherwise(
    agent, supervisor_user
):
    services.call_route(call_id="k1", ani="030 1234567", dnis="7000")
    state_written_while_ringing(agent, Agent.State.NOT_READY)
    with pytest.raises(DomainError, match="has a call right now"):
        services.agent_force_state(agent=agent, state=Agent.State.LOGGED_OUT, by=supervisor_user)
    agent.refresh_from_db()
    assert agent.state == Agent.State.NOT_READY


def test_the_refusal_reads_in_german_too(agent):
    services.call_route(call_id="k1", ani="030 1234567", dnis="7000")
    with translation.override("de"), pytest.raises(DomainError) as refused:
        services.agent_set_state(agent=agent, state=Agent.State.NOT_READY, reason="break")
    assert refused.value.message != (
        "A call is ringing or running: you can change your state when it has ended."
    )
    assert "Anruf" in refused.value.message


def test_the_toolbar_shows_the_refusal_and_keeps_the_call(client, desk_client, agent):
    call = ring_at_anna(client)
    response = desk_client.post(
        reverse("desk:agent_state"), {"state": "not_ready", "reason": "break"}
    )
    assert "change your state when it has ended" in response.content.decode()
    response = desk_client.post(reverse("desk:agent_state"), {"state": "ready"})
    assert "you become ready after it" in response.content.decode()
    agent.refresh_from_db()
    assert agent.state == Agent.State.RINGING
    assert Call.objects.get(pk=call.pk).status == Call.Status.RINGING


def test_the_api_refuses_ready_while_the_agents_call_rings(client, agent):
    from rest_framework.test import APIClient

    ring_at_anna(client)
    api = APIClient()
    api.force_authenticate(agent.user)
    response = api.post(f"/api/v1/agents/{agent.pk}/state/", {"state": "ready"}, format="json")
    assert response.status_code == 400
    assert response.json()["message"] == "A call is ringing or running: you become ready after it."


def test_a_direct_call_to_an_agent_whose_state_says_ready_during_a_call_waits_instead_of_failing(
    client, agent
):
    first = ring_at_anna(client)
    state_written_while_ringing(agent)
    response = post(client, ROUTE, {"call_id": "k2", "ani": "030 7654321", "dnis": "2001"})
    assert response.status_code == 200
    assert response.json()["action"] == "wait"
    second = Call.objects.get(call_id="k2")
    assert second.status == Call.Status.QUEUED
    item = WorkItem.objects.get(call=second)
    assert (item.status, item.preferred_agent) == (WorkItem.Status.QUEUED, agent)
    assert WorkItem.objects.get(call=first).status == WorkItem.Status.OFFERED
    assert CallEventRecord.objects.get(call_id="k2").result == CallEventRecord.Result.APPLIED


def test_the_simulated_pbx_puts_such_a_direct_call_in_the_queue_too(client, agent):
    first = post(client, SIMULATOR, {"ani": "+49 30 1234567", "dnis": "7000"}).json()
    assert first["agent"] == "2001"
    state_written_while_ringing(agent)
    response = post(client, SIMULATOR, {"ani": "+49 30 7654321", "dnis": "7000", "agent": "2001"})
    assert response.status_code == 200
    assert (response.json()["status"], response.json()["agent"]) == ("queued", None)


def test_the_waiting_direct_call_reaches_the_agent_after_their_call(client, agent):
    ring_at_anna(client)
    state_written_while_ringing(agent)
    post(client, ROUTE, {"call_id": "k2", "ani": "030 7654321", "dnis": "2001"})
    post(client, EVENTS, {"kind": "answered", "call_id": "k1", "agent": "2001"})
    post(client, EVENTS, {"kind": "ended", "call_id": "k1", "reason": "caller hung up"})
    agent.refresh_from_db()
    assert agent.state == Agent.State.WRAP_UP
    assert services.agent_wrap_up_expire(now=timezone.now() + timedelta(minutes=5)) == 1
    second = Call.objects.get(call_id="k2")
    assert (second.status, second.agent) == (Call.Status.RINGING, agent)
    again = post(client, ROUTE, {"call_id": "k2", "ani": "030 7654321", "dnis": "2001"})
    assert (again.json()["action"], again.json()["extension"]) == ("ring", "2001")


def test_the_acd_tick_passes_over_a_ready_agent_whose_line_is_busy(client, agent, other_agent):
    ring_at_anna(client)
    state_written_while_ringing(agent)
    Agent.objects.filter(pk=other_agent.pk).update(state=Agent.State.NOT_READY)
    post(client, ROUTE, {"call_id": "k2", "ani": "030 7654321", "dnis": "7000"})
    assert services.acd_tick()["dispatched"] == 0
    assert Call.objects.get(call_id="k2").status == Call.Status.QUEUED


def test_if_routing_still_picks_a_busy_line_the_offered_call_is_recorded_and_waits(
    client, agent, monkeypatch, caplog
):
    """The last guard: the database refuses a second voice item on one line; no 500."""
    ring_at_anna(client)
    state_written_while_ringing(agent)
    busy = Agent.objects.get(pk=agent.pk)
    monkeypatch.setattr(routing, "_voice_agent_pick", lambda *, item, reserved: busy)
    with caplog.at_level(logging.ERROR, logger="telephony.services.calls"):
        response = post(client, ROUTE, {"call_id": "k2", "ani": "030 7654321", "dnis": "7000"})
    assert response.status_code == 200
    assert response.json()["action"] == "wait"
    assert "line is busy" in caplog.text
    second = Call.objects.get(call_id="k2")
    assert second.status == Call.Status.QUEUED
    assert WorkItem.objects.get(call=second).status == WorkItem.Status.QUEUED
    assert second.interaction is not None
    record = CallEventRecord.objects.get(call_id="k2")
    assert record.result == CallEventRecord.Result.APPLIED
    assert "waits in the queue" in record.detail
