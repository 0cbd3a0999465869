"""The HTTP ingress where a PBX (or simulate_call) reports call events."""

import json

import pytest
from django.core.management import CommandError, call_command

from telephony.models import Call, CallEventRecord

pytestmark = pytest.mark.django_db
TOKEN = "test-cti-token-0123456789"


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


def test_an_offered_event_creates_the_call_and_rings_an_agent(client, agent):
    response = post(
        client,
        "/cti/events/",
        {"kind": "offered", "call_id": "pbx-1", "ani": "030 1234567", "dnis": "7000"},
    )
    assert response.status_code == 200
    assert response.json()["agent"] == "2001"
    assert response.json()["status"] == "ringing"


def test_a_wrong_token_is_refused_and_nothing_is_stored(client, agent):
    response = post(client, "/cti/events/", {"kind": "offered", "call_id": "x"}, token="wrong")
    assert response.status_code == 401
    assert response.json()["message"] == "missing or wrong bearer token"
    assert not Call.objects.exists()


def test_a_request_from_outside_the_allowed_networks_is_refused(client, agent):
    response = post(client, "/cti/events/", {"kind": "offered", "call_id": "x"}, remote="192.0.2.7")
    assert response.status_code == 403
    assert not Call.objects.exists()


@pytest.mark.parametrize(
    "body", ["{broken", "[1, 2]", json.dumps({"kind": "boom", "call_id": "x"}), "x" * 20000]
)
def test_bad_json_is_refused_with_a_reason(client, body):
    response = post(client, "/cti/events/", body)
    assert response.status_code == 400
    assert response.json()["message"]
    assert not CallEventRecord.objects.exists()


def test_get_is_not_allowed(client):
    assert client.get("/cti/events/").status_code == 405


def test_the_simulator_endpoint_places_a_call_and_lets_the_customer_hang_up(client, agent):
    response = post(client, "/cti/simulator/calls/", {"ani": "+49 30 1234567", "dnis": "7000"})
    call_id = response.json()["call_id"]
    assert response.json()["agent"] == "2001"
    response = post(client, "/cti/simulator/calls/", {"hangup": call_id})
    assert response.json()["status"] == "ended"


def test_the_simulator_endpoint_needs_a_dialled_number(client):
    response = post(client, "/cti/simulator/calls/", {"ani": "+49 30 1234567"})
    assert response.status_code == 400
    assert "dnis" in response.json()["message"]


@pytest.mark.django_db(transaction=True)
def test_simulate_call_command_rings_an_agent_on_the_running_server(live_server, agent, capsys):
    call_command(
        "simulate_call", "--from", "+49 30 1234567", "--to", "7000", "--url", live_server.url
    )
    assert "rings at agent 2001" in capsys.readouterr().out
    assert Call.objects.get().agent == agent


def test_simulate_call_command_says_clearly_when_no_server_runs():
    with pytest.raises(CommandError, match="no icenter server answers"):
        call_command("simulate_call", "--url", "http://127.0.0.1:9")
