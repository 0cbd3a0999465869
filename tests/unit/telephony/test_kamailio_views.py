"""The endpoints Kamailio calls: the routing hop and the call events."""

import json
import logging

import pytest

from telephony.models import Agent, Call

pytestmark = pytest.mark.django_db
TOKEN = "test-kamailio-token-0123456789"
ROUTE = "/cti/kamailio/route/"
EVENTS = "/cti/kamailio/events/"


@pytest.fixture(autouse=True)
def cti_token(settings):
    settings.ICENTER_CTI_TOKEN = TOKEN
    settings.ICENTER_CTI_ALLOWED_NETWORKS = ["127.0.0.0/8"]


def post(client, path, body, token=TOKEN, remote="127.0.0.1"):
    data = body if isinstance(body, (str, bytes)) else json.dumps(body)
    return client.post(
        path,
        data,
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
        REMOTE_ADDR=remote,
    )


def test_the_route_request_names_the_extension_to_ring(client, agent):
    response = post(client, ROUTE, {"call_id": "k1", "ani": "030 1234567", "dnis": "7000"})
    assert response.status_code == 200
    assert response.json()["action"] == "ring"
    assert response.json()["extension"] == "2001"
    assert Call.objects.get(call_id="k1").status == Call.Status.RINGING


def test_asking_again_for_the_same_call_gives_the_same_answer(client, agent):
    post(client, ROUTE, {"call_id": "k1", "ani": "030 1234567", "dnis": "7000"})
    again = post(client, ROUTE, {"call_id": "k1", "ani": "030 1234567", "dnis": "7000"})
    assert again.json()["extension"] == "2001"
    assert Call.objects.filter(call_id="k1").count() == 1


def test_with_nobody_ready_the_call_waits_with_its_position(client, agent):
    Agent.objects.filter(pk=agent.pk).update(state=Agent.State.NOT_READY)
    response = post(client, ROUTE, {"call_id": "k1", "ani": "030 1234567", "dnis": "7000"})
    assert response.json()["action"] == "wait"
    assert response.json()["position"] >= 1


def test_a_route_request_with_a_wrong_token_is_refused(client, agent, caplog):
    with caplog.at_level(logging.WARNING, logger="telephony.views"):
        response = post(client, ROUTE, {"call_id": "k1", "dnis": "7000"}, token="wrong")
    assert response.status_code == 401
    assert "bad token" in caplog.text
    assert not Call.objects.exists()


def test_a_route_request_from_outside_the_allowed_networks_is_refused(client, agent):
    response = post(client, ROUTE, {"call_id": "k1", "dnis": "7000"}, remote="192.0.2.7")
    assert response.status_code == 403
    assert not Call.objects.exists()


def test_a_route_request_that_is_not_json_gets_a_clear_400(client, agent, caplog):
    with caplog.at_level(logging.WARNING, logger="telephony.views"):
        response = post(client, ROUTE, "{call_id: k1")
    assert response.status_code == 400
    assert "not valid JSON" in response.json()["message"]
    assert "bad Kamailio route request" in caplog.text
    assert not Call.objects.exists()


def test_a_route_request_without_a_call_id_gets_a_clear_400(client, agent):
    response = post(client, ROUTE, {"dnis": "7000"})
    assert response.status_code == 400
    assert "call_id" in response.json()["message"]


def test_events_are_applied_to_the_call(client, agent):
    post(client, ROUTE, {"call_id": "k1", "ani": "030 1234567", "dnis": "7000"})
    response = post(client, EVENTS, {"kind": "answered", "call_id": "k1", "agent": "2001"})
    assert response.status_code == 200
    assert response.json()["status"] == "talking"


def test_a_bad_event_gets_a_clear_400(client, agent):
    response = post(client, EVENTS, {"kind": "exploded", "call_id": "k1"})
    assert response.status_code == 400
    assert "unknown event kind" in response.json()["message"]


def test_a_pbx_start_ends_the_calls_that_were_waiting_or_ringing_there(client, agent):
    post(client, ROUTE, {"call_id": "k1", "ani": "030 1234567", "dnis": "7000"})
    response = post(client, EVENTS, {"kind": "pbx_started"})
    assert response.json() == {"ended": 1}
    call = Call.objects.get(call_id="k1")
    assert call.status == Call.Status.ENDED
    assert call.end_reason == "PBX restarted"
    agent.refresh_from_db()
    assert agent.state == Agent.State.READY
