"""The routing picks: who qualifies, in which order, and how many statements a decision costs."""

from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone

from telephony import services
from telephony.cti.base import CallEvent
from telephony.models import Agent, AgentSkill, AgentStateChange, Call, QueueSkill, WorkItem
from telephony.services.work_items import route_item
from tests.factories import AgentFactory, AgentGroupFactory, QueueFactory, SkillFactory

pytestmark = pytest.mark.django_db


def offer(call_id, dnis):
    return services.call_event_handle(
        event=CallEvent(kind="offered", call_id=call_id, ani="+49 30 1234567", dnis=dnis)
    )


def statements(*, postgresql, elsewhere):
    """PostgreSQL writes a decision's rows in one statement; other databases row by row."""
    return postgresql if connection.vendor == "postgresql" else elsewhere


def not_ready(*agents):
    Agent.objects.filter(pk__in=[a.pk for a in agents]).update(state=Agent.State.NOT_READY)
    for a in agents:
        a.refresh_from_db()


def waiting_calls(count, queues, prefix="wait"):
    """`count` waiting calls spread over the queues, oldest first."""
    calls = [offer(f"{prefix}-{n}", queues[n % len(queues)].number) for n in range(count)]
    start = timezone.now() - timedelta(hours=1)
    for n, call in enumerate(calls):
        WorkItem.objects.filter(call=call).update(enqueued_at=start + timedelta(seconds=n))
    return calls


@pytest.fixture
def skilled_queues():
    english = SkillFactory(code="english")
    plain = QueueFactory(number="7001")
    skilled = QueueFactory(number="7002")
    QueueSkill.objects.create(queue=skilled, skill=english, min_level=3)
    return plain, skilled, english


def test_becoming_ready_is_one_decision_of_few_statements_however_many_calls_wait(
    agent, other_agent, skilled_queues, django_assert_max_num_queries
):
    not_ready(agent, other_agent)
    plain, skilled, english = skilled_queues
    AgentSkill.objects.create(agent=agent, skill=english, level=4)
    waiting_calls(40, [plain, skilled])
    # Savepoint, lock the agent, pick the item and lock its call, write item + call +
    # interaction + agent + both history rows at once, release.
    limit = statements(postgresql=5, elsewhere=9)
    with django_assert_max_num_queries(limit):
        services.agent_set_state(agent=agent, state=Agent.State.READY)
    assert agent.state == Agent.State.RINGING
    waiting_calls(1, [plain], prefix="later")  # more waiting, not more statements
    with django_assert_max_num_queries(limit):
        services.agent_set_state(agent=other_agent, state=Agent.State.READY)
    assert other_agent.state == Agent.State.RINGING
    assert list(
        AgentStateChange.objects.filter(agent=agent)
        .order_by("at")
        .values_list("previous_state", "state")
    ) == [(Agent.State.NOT_READY, Agent.State.READY), (Agent.State.READY, Agent.State.RINGING)]


def test_routing_a_waiting_call_costs_few_statements_however_many_agents_are_ready(
    skilled_queues, django_assert_max_num_queries
):
    _plain, skilled, english = skilled_queues
    not_ready(*Agent.objects.all())
    (call,) = waiting_calls(1, [skilled])
    team = [AgentFactory() for _ in range(30)]
    for n, member in enumerate(team):
        AgentSkill.objects.create(agent=member, skill=english, level=2 + n % 3)
    item = WorkItem.objects.get(call=call)
    # Pick the agent, read the call, write item + call + interaction + agent + history.
    limit = statements(postgresql=3, elsewhere=7)
    with transaction.atomic(), django_assert_max_num_queries(limit):
        agent = route_item(item, deliver=False)
    assert agent is not None and AgentSkill.objects.get(agent=agent).level >= 3
    assert Call.objects.get(pk=call.pk).agent == agent


def test_a_ready_agent_gets_only_calls_of_queues_they_are_qualified_for(agent, skilled_queues):
    plain, skilled, english = skilled_queues
    not_ready(agent)
    AgentSkill.objects.create(agent=agent, skill=english, level=2)  # below the queue's 3
    older, newer = waiting_calls(2, [skilled, plain])
    services.agent_set_state(agent=agent, state=Agent.State.READY)
    assert Call.objects.get(pk=newer.pk).agent == agent
    assert Call.objects.get(pk=older.pk).status == Call.Status.QUEUED


def test_a_ready_agent_gets_calls_of_group_queues_only_as_a_member(agent, other_agent):
    team = AgentGroupFactory()
    team.members.add(other_agent)
    served = QueueFactory(number="7003")
    served.agent_groups.add(team)
    not_ready(agent, other_agent)
    (call,) = waiting_calls(1, [served])
    services.agent_set_state(agent=agent, state=Agent.State.READY)
    assert agent.state == Agent.State.READY
    services.agent_set_state(agent=other_agent, state=Agent.State.READY)
    assert Call.objects.get(pk=call.pk).agent == other_agent


def test_a_callback_for_a_group_rings_only_its_members(agent, other_agent):
    team = AgentGroupFactory()
    team.members.add(other_agent)
    Agent.objects.filter(pk=agent.pk).update(state_since=timezone.now() - timedelta(hours=1))
    item = services.callback_schedule(
        number="030 1234567", reason="Rückruf", not_before=timezone.now(), agent_group=team
    )
    item.refresh_from_db()
    assert (item.status, item.agent) == (WorkItem.Status.OFFERED, other_agent)


def test_a_group_callback_waits_for_a_member_who_becomes_ready(agent, other_agent):
    team = AgentGroupFactory()
    team.members.add(other_agent)
    not_ready(agent, other_agent)
    item = services.callback_schedule(
        number="030 1234567", reason="Rückruf", not_before=timezone.now(), agent_group=team
    )
    services.agent_set_state(agent=agent, state=Agent.State.READY)
    assert agent.state == Agent.State.READY
    services.agent_set_state(agent=other_agent, state=Agent.State.READY)
    item.refresh_from_db()
    assert (item.status, item.agent) == (WorkItem.Status.OFFERED, other_agent)


def test_a_callback_for_later_does_not_ring_its_agent_who_becomes_ready_early(agent):
    not_ready(agent)
    later = timezone.now() + timedelta(hours=2)
    item = services.callback_schedule(
        number="030 1234567", reason="Rückruf", not_before=later, agent=agent
    )
    services.agent_set_state(agent=agent, state=Agent.State.READY)
    assert agent.state == Agent.State.READY
    item.refresh_from_db()
    assert item.status == WorkItem.Status.QUEUED


def test_a_call_reserved_for_the_agent_comes_before_older_and_more_urgent_ones(agent, other_agent):
    not_ready(agent, other_agent)
    urgent = QueueFactory(number="7004", priority=9)
    older, mine = waiting_calls(2, [urgent, urgent])
    WorkItem.objects.filter(call=mine).update(
        priority=1, preferred_agent=agent, preferred_until=timezone.now() + timedelta(minutes=1)
    )
    services.agent_set_state(agent=agent, state=Agent.State.READY)
    assert Call.objects.get(pk=mine.pk).agent == agent
    assert Call.objects.get(pk=older.pk).status == Call.Status.QUEUED


def test_a_call_reserved_for_a_colleague_is_left_to_them_until_the_reservation_ends(
    agent, other_agent
):
    queue = QueueFactory(number="7005")
    not_ready(agent, other_agent)
    (call,) = waiting_calls(1, [queue])
    item = WorkItem.objects.get(call=call)
    item.preferred_agent, item.preferred_until = other_agent, timezone.now() + timedelta(minutes=1)
    item.save()
    services.agent_set_state(agent=agent, state=Agent.State.READY)
    assert agent.state == Agent.State.READY
    WorkItem.objects.filter(pk=item.pk).update(preferred_until=timezone.now())
    not_ready(agent)
    services.agent_set_state(agent=agent, state=Agent.State.READY)
    assert Call.objects.get(pk=call.pk).agent == agent
