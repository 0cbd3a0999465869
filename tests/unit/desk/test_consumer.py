"""The desk WebSocket on the in-memory layer and on channels-redis against a real Redis."""

import asyncio
import json

import pytest
from asgiref.sync import sync_to_async
from channels.layers import channel_layers
from channels.testing import WebsocketCommunicator
from django.test import Client

from icenter.asgi import application
from telephony import services
from telephony.cti.base import CallEvent
from telephony.models import NotReadyReason

pytestmark = [pytest.mark.django_db(transaction=True)]


@pytest.fixture(params=["memory", "redis"])
def layer(request, settings):
    if request.param == "memory":
        settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    else:
        url = request.getfixturevalue("redis_url")
        settings.CHANNEL_LAYERS = {
            "default": {
                "BACKEND": "channels_redis.core.RedisChannelLayer",
                "CONFIG": {"hosts": [url]},
            }
        }
    channel_layers.backends = {}
    yield request.param
    channel_layers.backends = {}


def session_cookie(user):
    client = Client()
    client.force_login(user)
    return client.cookies["sessionid"].value


async def connect(user=None, origin=b"http://127.0.0.1"):
    headers = [(b"origin", origin)]
    if user is not None:
        key = await sync_to_async(session_cookie)(user)
        headers.append((b"cookie", f"sessionid={key}".encode()))
    communicator = WebsocketCommunicator(application, "/ws/desk/", headers=headers)
    connected, code = await communicator.connect()
    return communicator, connected, code


def offer(call_id, dnis="7000", ani="+49 30 1234567"):
    services.call_event_handle(event=CallEvent(kind="offered", call_id=call_id, ani=ani, dnis=dnis))


async def test_an_anonymous_socket_is_refused(layer):
    _communicator, connected, code = await connect(None)
    assert not connected
    assert code == 4401


async def test_a_user_without_the_agent_role_is_refused(layer, outsider_user):
    _communicator, connected, code = await connect(outsider_user)
    assert not connected
    assert code == 4403


async def test_a_foreign_origin_is_refused(layer, agent):
    _communicator, connected, _code = await connect(agent.user, origin=b"http://evil.example")
    assert not connected


async def test_the_pop_reaches_only_the_agent_the_call_is_for(layer, agent, other_agent):
    mine, connected, _ = await connect(agent.user)
    assert connected
    theirs, connected, _ = await connect(other_agent.user)
    assert connected
    assert "comm-info" in await mine.receive_from()  # the sync on connect
    await theirs.receive_from()

    await sync_to_async(offer)("call-for-anna", dnis="2001")

    pop = await mine.receive_from(timeout=5)
    assert 'data-call-id="call-for-anna"' in pop
    assert 'hx-swap-oob="true"' in pop
    assert await theirs.receive_nothing(timeout=0.5)
    await mine.disconnect()
    await theirs.disconnect()


async def test_a_call_that_popped_while_disconnected_is_shown_after_reconnect(layer, agent):
    await sync_to_async(offer)("while-away", dnis="2001")
    communicator, connected, _ = await connect(agent.user)
    assert connected
    sync = await communicator.receive_from(timeout=5)
    assert 'data-call-id="while-away"' in sync
    assert 'data-call-status="ringing"' in sync
    await communicator.disconnect()


async def test_malformed_messages_are_dropped_and_the_socket_stays_usable(
    layer, agent, other_agent
):
    communicator, _, _ = await connect(agent.user)
    other, _, _ = await connect(other_agent.user)
    await communicator.receive_from()
    await other.receive_from()
    for garbage in ["{not json", "[]", json.dumps({"type": "hack", "x": 1}), "\x00" * 100]:
        await communicator.send_to(text_data=garbage)
    await communicator.send_to(bytes_data=b"\xff\xfe")
    await communicator.send_to(text_data=json.dumps({"type": "ping", "id": 7}))
    assert json.loads(await communicator.receive_from()) == {"type": "pong", "id": 7}
    await other.send_to(text_data=json.dumps({"type": "ping", "id": 8}))
    assert json.loads(await other.receive_from()) == {"type": "pong", "id": 8}
    await communicator.disconnect()
    await other.disconnect()


async def test_state_changes_are_pushed_to_every_open_desk_of_the_agent(layer, agent):
    first, _, _ = await connect(agent.user)
    second, _, _ = await connect(agent.user)
    await first.receive_from()
    await second.receive_from()
    await sync_to_async(NotReadyReason.objects.get_or_create)(code="break", label="Pause")
    await sync_to_async(services.agent_set_state)(agent=agent, state="not_ready", reason="break")
    for communicator in (first, second):
        message = await communicator.receive_from(timeout=5)
        assert 'data-agent-state="not_ready"' in message
    await asyncio.gather(first.disconnect(), second.disconnect())
