"""The ACD under real concurrency on PostgreSQL: threads, each with its own connection.

The issue asks for "never two agents for one work item and never two calls to one agent,
also under concurrent workers on PostgreSQL". Every test starts its threads at a barrier,
lets them hammer the services at the same time, and then checks from the database that
the work was handed out once: no agent holds two live voice items or two live calls, every
item is offered to exactly one agent or still waits, and agent states match their items.
SQLite serialises every writer, so there is nothing to race there: the tests need PostgreSQL
(the tests/pg_cluster.py plugin starts one when the binaries exist; CI always has them).
"""

from __future__ import annotations

import threading
from collections import Counter, deque
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection, transaction
from django.db.models import Count, Q
from django.utils import timezone

from icenter.errors import DomainError
from telephony import services
from telephony.cti.base import CallEvent
from telephony.models import Agent, AgentStateChange, Call, Queue, WorkItem
from tests.conftest import IN_CI
from tests.factories import AgentFactory

pytestmark = pytest.mark.django_db(transaction=True)

LIVE_CALL = [Call.Status.RINGING, Call.Status.TALKING, Call.Status.HELD]
ASSIGNED = [WorkItem.Status.OFFERED, WorkItem.Status.ACCEPTED]


@pytest.fixture(autouse=True)
def postgresql() -> None:
    if connection.vendor != "postgresql":
        message = (
            f"the ACD concurrency tests need PostgreSQL (row locks, SKIP LOCKED); "
            f"this run uses {connection.vendor}"
        )
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)


# -- helpers ---------------------------------------------------------------------------------


def run_concurrently(tasks: list[Callable[[], Any]], *, threads: int) -> list[BaseException]:
    """Run the tasks on `threads` threads that start together; the errors they raised.

    Each thread opens its own database connection before the start and closes it at the end.
    """
    pending = deque(tasks)
    take = threading.Lock()
    errors: list[BaseException] = []
    start = threading.Barrier(threads)

    def work() -> None:
        try:
            connection.ensure_connection()
            start.wait(timeout=30)
            while True:
                with take:
                    if not pending:
                        return
                    task = pending.popleft()
                try:
                    task()
                except Exception as exc:
                    errors.append(exc)
        finally:
            connection.close()

    workers = [threading.Thread(target=work) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    assert not any(worker.is_alive() for worker in workers), "a worker hangs (deadlock?)"
    return errors


def offer_call(call_id: str, dnis: str = "7000") -> Callable[[], Any]:
    def offer() -> None:
        services.call_event_handle(
            event=CallEvent(kind="offered", call_id=call_id, ani="+49 30 1234567", dnis=dnis)
        )

    return offer


def become_ready(agent: Agent) -> Callable[[], Any]:
    return lambda: services.agent_set_state(agent=agent, state=Agent.State.READY)


def hang_up(call_id: str) -> Callable[[], Any]:
    return lambda: services.call_event_handle(
        event=CallEvent(kind="ended", call_id=call_id, reason="caller hung up")
    )


def agents(count: int, state: str = Agent.State.NOT_READY) -> list[Agent]:
    team = [AgentFactory(state=state) for _ in range(count)]
    # Distinct idle times: routing order is well defined, not decided by equal timestamps.
    start = timezone.now() - timedelta(hours=1)
    for index, agent in enumerate(team):
        Agent.objects.filter(pk=agent.pk).update(state_since=start + timedelta(seconds=index))
    return team


def assert_work_handed_out_once() -> None:
    """Check every invariant of the universal queue from the database."""
    double_voice = (
        WorkItem.objects.filter(status__in=ASSIGNED, channel__in=WorkItem.VOICE)
        .values("agent")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
    )
    assert not list(double_voice), "an agent holds two live voice items"
    double_calls = (
        Call.objects.filter(status__in=LIVE_CALL, agent__isnull=False)
        .values("agent")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
    )
    assert not list(double_calls), "an agent has two live calls"
    for item in WorkItem.objects.select_related("call", "interaction"):
        if item.status == WorkItem.Status.QUEUED:
            assert item.agent_id is None and item.offered_at is None, item
            if item.call is not None:
                assert item.call.status == Call.Status.QUEUED and item.call.agent_id is None
        elif item.status == WorkItem.Status.OFFERED:
            assert item.agent_id is not None and item.offered_at is not None, item
            if item.call is not None:
                # The call rings at the very agent the item is offered to, and nowhere else.
                assert item.call.status == Call.Status.RINGING, item
                assert item.call.agent_id == item.agent_id, item
                assert item.interaction.agent_id == Agent.objects.get(pk=item.agent_id).user_id
    for agent in Agent.objects.all():
        voice = list(
            WorkItem.objects.filter(agent=agent, status__in=ASSIGNED, channel__in=WorkItem.VOICE)
        )
        live_calls = Call.objects.filter(agent=agent, status__in=LIVE_CALL).count()
        if agent.state == Agent.State.RINGING:
            assert len(voice) == 1 and live_calls == 1, agent
            assert agent.current_interaction_id == voice[0].interaction_id, agent
        elif agent.state in {Agent.State.READY, Agent.State.NOT_READY, Agent.State.LOGGED_OUT}:
            assert voice == [] and live_calls == 0, f"{agent} is {agent.state} with a live call"


def assert_each_offer_rang_once() -> None:
    """Every offer moved one agent to ringing exactly once: no offer was overwritten by another."""
    offers = WorkItem.objects.filter(status=WorkItem.Status.OFFERED).count()
    rang = AgentStateChange.objects.filter(state=Agent.State.RINGING).count()
    assert rang == offers
    per_agent = Counter(
        AgentStateChange.objects.filter(state=Agent.State.RINGING).values_list("agent", flat=True)
    )
    assert all(n == 1 for n in per_agent.values()), per_agent


def assert_no_agent_idles_while_work_waits() -> None:
    waiting = WorkItem.objects.filter(
        status=WorkItem.Status.QUEUED, channel__in=WorkItem.VOICE
    ).exists()
    idle = Agent.objects.filter(state=Agent.State.READY).exists()
    assert not (waiting and idle), "an agent is ready while a call waits"


@pytest.fixture
def hotline() -> Queue:
    return Queue.objects.create(name="Hotline", number="7000")


# -- the races --------------------------------------------------------------------------------


def test_calls_and_agents_becoming_ready_at_once_pair_up_one_to_one(hotline: Queue) -> None:
    team = agents(12)
    calls = [offer_call(f"race-{n}") for n in range(30)]
    readies = [become_ready(agent) for agent in team]
    # Interleave: calls arrive while agents press "ready".
    tasks: list[Callable[[], Any]] = []
    while calls or readies:
        tasks.extend(calls[:3])
        del calls[:3]
        tasks.extend(readies[:1])
        del readies[:1]

    errors = run_concurrently(tasks, threads=8)

    assert errors == []
    assert Call.objects.count() == 30
    assert WorkItem.objects.count() == 30
    assert WorkItem.objects.filter(status=WorkItem.Status.OFFERED).count() <= 12
    assert_work_handed_out_once()
    assert_each_offer_rang_once()
    # A call and an agent that met only in uncommitted transactions wait for the ACD tick.
    services.acd_tick()
    assert WorkItem.objects.filter(status=WorkItem.Status.OFFERED).count() == 12
    assert WorkItem.objects.filter(status=WorkItem.Status.QUEUED).count() == 18
    assert Agent.objects.filter(state=Agent.State.RINGING).count() == 12
    assert_work_handed_out_once()
    assert_each_offer_rang_once()


def test_agents_racing_for_few_waiting_calls_take_one_each_oldest_first(hotline: Queue) -> None:
    team = agents(20)
    for n in range(5):
        offer_call(f"waiting-{n}")()
    oldest = timezone.now() - timedelta(minutes=10)
    for n in range(5):
        WorkItem.objects.filter(call__call_id=f"waiting-{n}").update(
            enqueued_at=oldest + timedelta(seconds=n)
        )
    offer_call("latest")()

    errors = run_concurrently([become_ready(agent) for agent in team], threads=10)

    assert errors == []
    offered = WorkItem.objects.filter(status=WorkItem.Status.OFFERED)
    assert offered.count() == 6
    assert len({item.agent_id for item in offered}) == 6
    assert Agent.objects.filter(state=Agent.State.RINGING).count() == 6
    assert Agent.objects.filter(state=Agent.State.READY).count() == 14
    assert_work_handed_out_once()
    assert_each_offer_rang_once()


def test_an_agent_pressing_ready_twice_at_once_gets_one_call(hotline: Queue) -> None:
    (agent,) = agents(1)
    for n in range(3):
        offer_call(f"waiting-{n}")()

    errors = run_concurrently([become_ready(agent) for _ in range(4)], threads=4)

    # The first press rings the agent; the later ones are refused with a readable reason.
    assert all(isinstance(error, DomainError) for error in errors), errors
    assert WorkItem.objects.filter(status=WorkItem.Status.OFFERED).count() == 1
    agent.refresh_from_db()
    assert agent.state == Agent.State.RINGING
    assert_work_handed_out_once()
    assert_each_offer_rang_once()


def test_concurrent_routing_questions_for_one_call_create_it_once(hotline: Queue) -> None:
    agents(3, state=Agent.State.READY)
    decisions: list[services.RouteDecision] = []

    def ask() -> None:
        decisions.append(
            services.call_route(call_id="same-call", ani="+49 30 1234567", dnis="7000")
        )

    errors = run_concurrently([ask for _ in range(8)], threads=8)

    assert errors == []
    assert Call.objects.filter(call_id="same-call").count() == 1
    assert WorkItem.objects.filter(call__call_id="same-call").count() == 1
    assert {(d.action, d.extension, d.call.pk) for d in decisions} == {
        ("ring", Call.objects.get().agent.extension, Call.objects.get().pk)
    }
    assert len(decisions) == 8
    assert Agent.objects.filter(state=Agent.State.RINGING).count() == 1
    assert_work_handed_out_once()
    assert_each_offer_rang_once()


def test_concurrent_routing_questions_for_one_waiting_call_all_hear_the_queue(
    hotline: Queue,
) -> None:
    decisions: list[services.RouteDecision] = []

    def ask() -> None:
        decisions.append(
            services.call_route(call_id="same-call", ani="+49 30 1234567", dnis="7000")
        )

    errors = run_concurrently([ask for _ in range(8)], threads=8)

    assert errors == []
    assert Call.objects.count() == 1 and WorkItem.objects.count() == 1
    assert {(d.action, d.position) for d in decisions} == {("wait", 1)}


def test_concurrent_acd_workers_hand_each_waiting_call_to_one_ready_agent(
    hotline: Queue,
) -> None:
    team = agents(20)
    for n in range(40):
        offer_call(f"waiting-{n}")()
    # Ready without being dispatched, as after a crash: the workers' tick must pair them up.
    Agent.objects.filter(pk__in=[agent.pk for agent in team]).update(state=Agent.State.READY)

    errors = run_concurrently([services.acd_tick for _ in range(4)], threads=4)

    assert errors == []
    assert WorkItem.objects.filter(status=WorkItem.Status.OFFERED).count() == 20
    assert Agent.objects.filter(state=Agent.State.RINGING).count() == 20
    assert_work_handed_out_once()
    assert_each_offer_rang_once()


def test_callers_hanging_up_while_agents_become_ready_neither_deadlock_nor_double_book(
    hotline: Queue,
) -> None:
    team = agents(15)
    for n in range(30):
        offer_call(f"waiting-{n}")()
    tasks: list[Callable[[], Any]] = []
    for n in range(15):
        tasks.append(hang_up(f"waiting-{n}"))
        tasks.append(become_ready(team[n]))

    errors = run_concurrently(tasks, threads=8)

    assert errors == []
    assert Call.objects.filter(status=Call.Status.ENDED).count() >= 15
    assert_work_handed_out_once()
    services.acd_tick()
    assert_work_handed_out_once()
    assert_no_agent_idles_while_work_waits()


def test_concurrent_emails_never_exceed_an_agents_email_capacity(hotline: Queue) -> None:
    agents(4, state=Agent.State.READY)
    Agent.objects.update(capacity_email=2)

    def email(n: int) -> Callable[[], Any]:
        return lambda: services.work_item_create(
            channel=WorkItem.Channel.EMAIL, queue=hotline, subject=f"Mail {n}"
        )

    errors = run_concurrently([email(n) for n in range(24)], threads=8)

    assert errors == []
    per_agent = Counter(
        WorkItem.objects.filter(status__in=ASSIGNED).values_list("agent", flat=True)
    )
    assert per_agent and max(per_agent.values()) <= 2, per_agent
    services.acd_tick()
    per_agent = Counter(
        WorkItem.objects.filter(status__in=ASSIGNED).values_list("agent", flat=True)
    )
    assert sum(per_agent.values()) == 8 and set(per_agent.values()) == {2}
    assert WorkItem.objects.filter(~Q(status__in=ASSIGNED)).count() == 16


def hold_row_lock(lock: Callable[[], Any]) -> tuple[threading.Thread, threading.Event]:
    """Lock a row in a transaction of another connection, as a PBX event or a click would.

    The lock is held until the returned event is set (or 10 s passed: a pick that waited
    for it would then finish late, and the test fails on what it got).
    """
    held, release = threading.Event(), threading.Event()

    def hold() -> None:
        try:
            with transaction.atomic():
                lock()
                held.set()
                release.wait(10)
        finally:
            connection.close()

    thread = threading.Thread(target=hold)
    thread.start()
    assert held.wait(10)
    return thread, release


def test_a_call_a_pbx_event_is_busy_with_is_passed_over_not_waited_for(hotline: Queue) -> None:
    (agent,) = agents(1)
    for n in range(2):
        offer_call(f"waiting-{n}")()
    oldest = timezone.now() - timedelta(minutes=10)
    WorkItem.objects.filter(call__call_id="waiting-0").update(enqueued_at=oldest)
    thread, release = hold_row_lock(
        lambda: Call.objects.select_for_update().get(call_id="waiting-0")
    )
    try:
        services.agent_set_state(agent=agent, state=Agent.State.READY)
    finally:
        release.set()
        thread.join(30)
    assert Call.objects.get(call_id="waiting-1").agent == agent
    assert Call.objects.get(call_id="waiting-0").status == Call.Status.QUEUED
    assert_work_handed_out_once()


def test_a_call_skips_the_longest_idle_agent_while_another_worker_holds_them(
    hotline: Queue,
) -> None:
    first, second = agents(2, state=Agent.State.READY)
    thread, release = hold_row_lock(lambda: Agent.objects.select_for_update().get(pk=first.pk))
    try:
        offer_call("new")()
    finally:
        release.set()
        thread.join(30)
    assert Call.objects.get(call_id="new").agent == second
    assert_work_handed_out_once()
