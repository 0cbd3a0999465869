"""The supervisor wallboard: figures on crafted data, the page, forcing states, the live push."""

from __future__ import annotations

import itertools
import json
from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async
from channels.layers import channel_layers
from channels.testing import WebsocketCommunicator
from django.test import Client
from django.utils import timezone

from accounts.models import Interaction
from icenter.desk import push
from telephony import consumers, selectors
from telephony.models import (
    Agent,
    AgentGroup,
    AgentSkill,
    AgentStateChange,
    Call,
    NotReadyReason,
    Queue,
    QueueSkill,
    Skill,
    WorkItem,
)
from tests.factories import AgentFactory, InteractionFactory

_ids = itertools.count(1)


def make_call(
    queue,
    *,
    offered_at,
    answered_after=None,
    talk=None,
    agent=None,
    outcome=Interaction.Outcome.COMPLETED,
    status=None,
):
    """A call that went through `queue`, with its work item and interaction."""
    answered_at = offered_at + timedelta(seconds=answered_after) if answered_after else None
    ended_at = None
    if talk is not None:
        ended_at = (answered_at or offered_at) + timedelta(seconds=talk)
    if status is None:
        status = Call.Status.ENDED if ended_at else Call.Status.QUEUED
    interaction = InteractionFactory(started_at=offered_at, outcome=outcome)
    call = Call.objects.create(
        call_id=f"c{next(_ids)}",
        direction=Call.Direction.INBOUND,
        ani="+49301234567",
        dnis="7000",
        queue=queue.name,
        status=status,
        agent=agent,
        interaction=interaction,
        offered_at=offered_at,
        answered_at=answered_at,
        ended_at=ended_at,
    )
    item_status = {
        Call.Status.ENDED: WorkItem.Status.DONE if answered_at else WorkItem.Status.CANCELLED,
        Call.Status.QUEUED: WorkItem.Status.QUEUED,
    }.get(status, WorkItem.Status.ACCEPTED)
    WorkItem.objects.create(
        channel=WorkItem.Channel.CALL,
        queue=queue,
        call=call,
        interaction=interaction,
        status=item_status,
        agent=agent if item_status == WorkItem.Status.ACCEPTED else None,
        enqueued_at=offered_at,
    )
    return call


def wrap_up(agent, *, start, seconds, then=Agent.State.READY):
    AgentStateChange.objects.create(
        agent=agent, state=Agent.State.WRAP_UP, previous_state=Agent.State.TALKING, at=start
    )
    if seconds is not None:
        AgentStateChange.objects.create(
            agent=agent,
            state=then,
            previous_state=Agent.State.WRAP_UP,
            at=start + timedelta(seconds=seconds),
        )


@pytest.fixture
def now():
    return selectors.start_of_day(timezone.now()) + timedelta(hours=12)


@pytest.fixture
def hotline(db):
    return Queue.objects.create(
        name="Hotline", number="7000", service_level_seconds=20, service_level_percent=80
    )


@pytest.fixture
def crafted_day(db, now, hotline, agent, other_agent):
    """Eight calls of which five count as offered today; see each line."""
    third = AgentFactory(extension="2003", state=Agent.State.WRAP_UP)
    # answered after 10 s, 120 s talk, 30 s wrap-up → in time, handle time 150 s
    c1 = make_call(
        hotline, offered_at=now - timedelta(minutes=60), answered_after=10, talk=120, agent=agent
    )
    wrap_up(agent, start=c1.ended_at, seconds=30)
    # answered after 40 s, 60 s talk, 20 s wrap-up → late, handle time 80 s
    c2 = make_call(
        hotline,
        offered_at=now - timedelta(minutes=50),
        answered_after=40,
        talk=60,
        agent=other_agent,
    )
    wrap_up(other_agent, start=c2.ended_at, seconds=20)
    # the caller hung up after 15 s in the queue → abandoned
    make_call(
        hotline,
        offered_at=now - timedelta(minutes=40),
        talk=15,
        outcome=Interaction.Outcome.ABANDONED,
    )
    # waiting for 5 minutes: already missed the service level
    make_call(hotline, offered_at=now - timedelta(minutes=5), outcome=Interaction.Outcome.OPEN)
    # waiting for 10 s: not yet counted
    make_call(hotline, offered_at=now - timedelta(seconds=10), outcome=Interaction.Outcome.OPEN)
    # answered in time, its agent is still in wrap-up: no handle time yet
    c8 = make_call(
        hotline, offered_at=now - timedelta(minutes=20), answered_after=5, talk=100, agent=third
    )
    wrap_up(third, start=c8.ended_at, seconds=None)
    # yesterday's call and a call to the closed queue do not count
    make_call(hotline, offered_at=now - timedelta(days=1), answered_after=1, talk=10)
    make_call(
        hotline, offered_at=now - timedelta(minutes=30), talk=0, outcome=Interaction.Outcome.MISSED
    )
    # a callback due tomorrow is not waiting yet
    WorkItem.objects.create(
        channel=WorkItem.Channel.CALLBACK,
        queue=hotline,
        number="+49301234567",
        not_before=now + timedelta(days=1),
    )
    return hotline


def figures_of(board, queue):
    return next(f for f in board.queues if f.queue == queue)


# -- figures --------------------------------------------------------------------------------


def test_waiting_counts_items_in_the_queue_and_the_longest_wait_starts_at_the_oldest(
    crafted_day, now
):
    figures = figures_of(selectors.wallboard_get(now=now), crafted_day)
    assert figures.waiting == 2
    assert figures.waiting_since == now - timedelta(minutes=5)


def test_service_level_is_answered_in_time_over_offered_today(crafted_day, now):
    figures = figures_of(selectors.wallboard_get(now=now), crafted_day)
    assert figures.offered == 5
    assert figures.answered == 3
    assert figures.answered_in_time == 2
    assert figures.service_level == pytest.approx(40.0)
    assert figures.meets_target is False


def test_abandoned_counts_callers_who_hung_up_before_an_answer(crafted_day, now):
    assert figures_of(selectors.wallboard_get(now=now), crafted_day).abandoned == 1


def test_average_handle_time_is_talk_plus_wrap_up_of_finished_calls(crafted_day, now):
    figures = figures_of(selectors.wallboard_get(now=now), crafted_day)
    assert figures.handled == 2
    assert figures.average_handle_seconds == 115  # (150 + 80) / 2


def test_a_queue_without_calls_today_shows_no_service_level_and_no_handle_time(hotline, now):
    figures = figures_of(selectors.wallboard_get(now=now), hotline)
    assert (figures.offered, figures.waiting, figures.abandoned) == (0, 0, 0)
    assert figures.service_level is None
    assert figures.meets_target is None
    assert figures.average_handle_seconds is None
    assert figures.waiting_since is None


def test_agents_by_state_per_queue_counts_only_qualified_members(hotline, now):
    german = Skill.objects.create(code="de", name="Deutsch")
    billing = Queue.objects.create(name="Billing", number="7001")
    QueueSkill.objects.create(queue=billing, skill=german, min_level=3)
    team = AgentGroup.objects.create(name="Billing team")
    billing.agent_groups.add(team)
    skilled = AgentFactory(state=Agent.State.READY)
    AgentSkill.objects.create(agent=skilled, skill=german, level=4)
    team.members.add(skilled)
    weak = AgentFactory(state=Agent.State.TALKING)
    AgentSkill.objects.create(agent=weak, skill=german, level=2)
    team.members.add(weak)
    outside = AgentFactory(state=Agent.State.NOT_READY)
    AgentSkill.objects.create(agent=outside, skill=german, level=5)

    board = selectors.wallboard_get(now=now)

    assert figures_of(board, billing).agents_by_state[Agent.State.READY] == 1
    assert sum(figures_of(board, billing).agents_by_state.values()) == 1
    assert sum(figures_of(board, hotline).agents_by_state.values()) == 3
    assert board.agents_by_state[Agent.State.TALKING] == 1
    assert board.chart_data()["waiting"] == [0, 0]


def test_agent_rows_show_the_reason_label_and_put_logged_out_agents_last(agent, now):
    NotReadyReason.objects.update_or_create(code="break", defaults={"label": "Pause"})
    agent.state, agent.state_reason = Agent.State.NOT_READY, "break"
    agent.save()
    gone = AgentFactory(state=Agent.State.LOGGED_OUT)
    ready = AgentFactory(state=Agent.State.READY)

    rows = selectors.wallboard_get(now=now).agents

    assert [row.agent for row in rows] == [ready, agent, gone]
    assert rows[1].reason_label == "Pause"


def test_the_wallboard_runs_a_constant_number_of_queries(
    crafted_day, now, django_assert_max_num_queries
):
    for n in range(30):
        extra = AgentFactory(state=Agent.State.READY)
        make_call(
            crafted_day,
            offered_at=now - timedelta(minutes=n + 1),
            answered_after=3,
            talk=20,
            agent=extra,
        )
        team = AgentGroup.objects.create(name=f"Team {n}")
        team.members.add(extra)
        Queue.objects.create(name=f"Queue {n}").agent_groups.add(team)
    with django_assert_max_num_queries(9):
        board = selectors.wallboard_get(now=now)
        assert len(board.queues) == 31
        assert len(board.agents) == 33


# -- the page and the actions ---------------------------------------------------------------


def logged_in(client, user):
    client.force_login(user)
    return client


def test_supervisors_and_managers_see_the_wallboard(
    client, supervisor_user, manager_user, crafted_day, agent
):
    for user in (supervisor_user, manager_user):
        response = logged_in(client, user).get("/wallboard/")
        assert response.status_code == 200
        html = response.content.decode()
        assert 'ws-connect="/ws/wallboard/"' in html
        assert "Hotline" in html
        assert f'data-agent="{agent.pk}"' in html
        assert "vendor/chartjs/chart-4.6.1.umd.min.js" in html
        assert 'id="wb-chart-json"' in html


def test_agents_and_outsiders_get_no_wallboard(client, agent, outsider_user):
    for user in (agent.user, outsider_user):
        assert logged_in(client, user).get("/wallboard/").status_code == 403


def test_anonymous_visitors_are_sent_to_the_login(client):
    response = client.get("/wallboard/")
    assert response.status_code == 302
    assert "/login/" in response["Location"]


def test_the_wallboard_speaks_german(client, supervisor_user, hotline):
    client.cookies["django_language"] = "de"
    html = logged_in(client, supervisor_user).get("/wallboard/").content.decode()
    assert "Wartend" in html
    assert "Service-Level" in html
    assert "Längste Wartezeit" in html


def test_supervisors_land_on_the_wallboard_and_see_it_in_the_navigation(client, supervisor_user):
    response = logged_in(client, supervisor_user).get("/")
    assert response.status_code == 302
    assert response["Location"] == "/wallboard/"
    assert 'href="/wallboard/"' in client.get("/wallboard/").content.decode()


def test_agents_do_not_see_the_wallboard_link(client, agent):
    html = logged_in(client, agent.user).get("/desk/").content.decode()
    assert 'href="/wallboard/"' not in html


def test_a_supervisor_sets_a_ready_agent_not_ready(client, supervisor_user, agent):
    response = logged_in(client, supervisor_user).post(
        f"/wallboard/agents/{agent.pk}/state/", {"state": "not_ready"}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    agent.refresh_from_db()
    assert agent.state == Agent.State.NOT_READY
    assert agent.state_reason == "supervisor"
    html = response.content.decode()
    assert (
        'id="wb-agents" class="wb-agents" aria-labelledby="wb-agents-title" hx-swap-oob="true"'
        in html
    )
    assert "Set by a supervisor" in html
    change = AgentStateChange.objects.filter(agent=agent).first()
    assert (change.previous_state, change.state) == (Agent.State.READY, Agent.State.NOT_READY)


def test_a_supervisor_logs_an_agent_out_without_htmx(client, supervisor_user, agent):
    response = logged_in(client, supervisor_user).post(
        f"/wallboard/agents/{agent.pk}/state/", {"state": "logged_out"}
    )
    assert response.status_code == 302
    agent.refresh_from_db()
    assert agent.state == Agent.State.LOGGED_OUT


def test_an_agent_on_a_call_cannot_be_logged_out_or_set_not_ready(client, supervisor_user, agent):
    Agent.objects.filter(pk=agent.pk).update(state=Agent.State.TALKING)
    logged_in(client, supervisor_user)
    for state in ("logged_out", "not_ready"):
        response = client.post(
            f"/wallboard/agents/{agent.pk}/state/", {"state": state}, HTTP_HX_REQUEST="true"
        )
        assert 'class="msg msg-error"' in response.content.decode()
    agent.refresh_from_db()
    assert agent.state == Agent.State.TALKING
    assert not AgentStateChange.objects.filter(agent=agent).exists()


def test_other_states_cannot_be_forced(client, supervisor_user, agent):
    agent.state = Agent.State.NOT_READY
    agent.save()
    response = logged_in(client, supervisor_user).post(
        f"/wallboard/agents/{agent.pk}/state/", {"state": "ready"}
    )
    assert response.status_code == 400
    agent.refresh_from_db()
    assert agent.state == Agent.State.NOT_READY


def test_agents_cannot_force_colleagues(client, agent, other_agent):
    response = logged_in(client, agent.user).post(
        f"/wallboard/agents/{other_agent.pk}/state/", {"state": "logged_out"}
    )
    assert response.status_code == 403
    other_agent.refresh_from_db()
    assert other_agent.state == Agent.State.READY


def test_forcing_needs_a_post_with_a_csrf_token(supervisor_user, agent):
    client = Client(enforce_csrf_checks=True)
    client.force_login(supervisor_user)
    assert client.get(f"/wallboard/agents/{agent.pk}/state/").status_code == 405
    response = client.post(f"/wallboard/agents/{agent.pk}/state/", {"state": "logged_out"})
    assert response.status_code == 403
    agent.refresh_from_db()
    assert agent.state == Agent.State.READY


def test_an_unknown_agent_is_not_found(client, supervisor_user):
    response = logged_in(client, supervisor_user).post(
        "/wallboard/agents/999999/state/", {"state": "not_ready"}
    )
    assert response.status_code == 404


# -- the live push ---------------------------------------------------------------------------


def session_cookie(user):
    client = Client()
    client.force_login(user)
    return client.cookies["sessionid"].value


async def connect(user=None):
    from icenter.asgi import application

    headers = [(b"origin", b"http://127.0.0.1")]
    if user is not None:
        key = await sync_to_async(session_cookie)(user)
        headers.append((b"cookie", f"sessionid={key}".encode()))
    communicator = WebsocketCommunicator(application, "/ws/wallboard/", headers=headers)
    connected, code = await communicator.connect()
    return communicator, connected, code


@pytest.fixture(params=["memory", "redis"])
def memory_layer(request, settings):
    """The in-memory channel layer, and channels-redis against a real Redis."""
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


@pytest.mark.django_db(transaction=True)
async def test_an_anonymous_wallboard_socket_is_refused(memory_layer):
    _communicator, connected, code = await connect(None)
    assert not connected
    assert code == 4401


@pytest.mark.django_db(transaction=True)
async def test_agents_and_outsiders_cannot_open_the_wallboard_socket(
    memory_layer, agent, outsider_user
):
    for user in (agent.user, outsider_user):
        _communicator, connected, code = await connect(user)
        assert not connected
        assert code == 4403


@pytest.mark.django_db(transaction=True)
async def test_the_wallboard_syncs_on_connect_and_follows_agent_state_changes(
    memory_layer, supervisor_user, agent
):
    communicator, connected, _ = await connect(supervisor_user)
    assert connected
    sync = await communicator.receive_from(timeout=5)
    assert 'id="wb-queues"' in sync and 'hx-swap-oob="true"' in sync
    assert f'data-agent="{agent.pk}" data-agent-state="ready"' in sync

    await sync_to_async(_force_not_ready)(agent)

    update = await communicator.receive_from(timeout=5)
    assert f'data-agent="{agent.pk}" data-agent-state="not_ready"' in update
    await communicator.disconnect()


def _force_not_ready(agent):
    from telephony import services

    services.agent_force_state(agent=agent, state=Agent.State.NOT_READY, by="test")


@pytest.mark.django_db(transaction=True)
async def test_a_burst_of_events_is_rendered_once_per_throttle_period(
    memory_layer, supervisor_user, agent, monkeypatch
):
    monkeypatch.setattr(consumers, "THROTTLE_SECONDS", 0.3)
    communicator, _, _ = await connect(supervisor_user)
    await communicator.receive_from(timeout=5)
    layer = channel_layers["default"]
    for n in range(20):
        await layer.group_send(
            push.SUPERVISORS, {"type": "desk.event", "kind": "work_item.updated", "id": n}
        )
    renders = []
    while not await communicator.receive_nothing(timeout=1):
        renders.append(await communicator.receive_from())
    # The first render waits out the throttle after the sync; events during it add at
    # most one more.
    assert 1 <= len(renders) <= 2
    await communicator.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_the_wallboard_ignores_unrelated_events_and_garbage(memory_layer, supervisor_user):
    communicator, _, _ = await connect(supervisor_user)
    await communicator.receive_from(timeout=5)
    layer = channel_layers["default"]
    await layer.group_send(
        push.SUPERVISORS, {"type": "desk.event", "kind": "ticket.updated", "id": 1}
    )
    await communicator.send_to(text_data="{not json")
    await communicator.send_to(text_data=json.dumps({"type": "ping", "id": 3}))
    assert json.loads(await communicator.receive_from(timeout=5)) == {"type": "pong", "id": 3}
    assert await communicator.receive_nothing(timeout=0.5)
    await communicator.disconnect()


def _offer_to_hotline(call_id):
    from telephony import services
    from telephony.cti.base import CallEvent

    services.call_event_handle(
        event=CallEvent(kind="offered", call_id=call_id, ani="+49 30 1234567", dnis="7000")
    )


@pytest.mark.django_db(transaction=True)
async def test_a_call_waiting_in_a_queue_reaches_the_wallboard(
    memory_layer, supervisor_user, agent
):
    await sync_to_async(Queue.objects.create)(name="Hotline", number="7000")
    await sync_to_async(Agent.objects.filter(pk=agent.pk).update)(state=Agent.State.NOT_READY)
    communicator, _, _ = await connect(supervisor_user)
    sync = await communicator.receive_from(timeout=5)
    assert 'data-figure="waiting">0<' in sync

    await sync_to_async(_offer_to_hotline)("waiting-call")

    update = await communicator.receive_from(timeout=5)
    assert 'data-figure="waiting">1<' in update
    assert '"waiting": [1]' in update
    await communicator.disconnect()
