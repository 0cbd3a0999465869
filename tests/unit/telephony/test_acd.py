"""The universal queue and ACD: skills, groups, customer groups, overflow, no-answer, capacity."""

from datetime import datetime, time, timedelta

import pytest
from django.utils import timezone

from accounts.models import Interaction
from icenter.errors import DomainError
from telephony import services
from telephony.cti.base import CallEvent
from telephony.models import (
    Agent,
    AgentSkill,
    Call,
    CallEventRecord,
    OpeningHours,
    QueueSkill,
    WorkItem,
)
from tests.factories import (
    AccountFactory,
    AgentGroupFactory,
    CustomerGroupFactory,
    PhoneFactory,
    QueueFactory,
    SkillFactory,
)

pytestmark = pytest.mark.django_db


def offer(call_id="c1", ani="+49 30 1234567", dnis="7000"):
    return services.call_event_handle(
        event=CallEvent(kind="offered", call_id=call_id, ani=ani, dnis=dnis)
    )


def event(kind, call_id="c1", **kwargs):
    return services.call_event_handle(event=CallEvent(kind=kind, call_id=call_id, **kwargs))


def idle_for(agent, minutes):
    Agent.objects.filter(pk=agent.pk).update(
        state_since=timezone.now() - timedelta(minutes=minutes)
    )


def refreshed(obj):
    obj.refresh_from_db()
    return obj


def test_a_queue_call_goes_to_the_longest_idle_agent_with_the_required_skill_level(
    agent, other_agent
):
    english = SkillFactory(code="english")
    queue = QueueFactory(number="7001")
    QueueSkill.objects.create(queue=queue, skill=english, min_level=3)
    idle_for(agent, 30)  # longest idle, but only level 2
    idle_for(other_agent, 5)
    AgentSkill.objects.create(agent=agent, skill=english, level=2)
    AgentSkill.objects.create(agent=other_agent, skill=english, level=4)
    call = offer(dnis="7001")
    assert call.agent == other_agent
    assert call.queue == queue.name
    item = WorkItem.objects.get(call=call)
    assert (item.queue, item.status, item.agent) == (queue, "offered", other_agent)


def test_without_a_qualified_agent_the_call_waits_even_if_others_are_ready(agent):
    queue = QueueFactory(number="7001")
    QueueSkill.objects.create(queue=queue, skill=SkillFactory(code="french"), min_level=1)
    call = offer(dnis="7001")
    assert call.status == Call.Status.QUEUED
    assert refreshed(agent).state == Agent.State.READY


def test_a_queue_served_by_a_group_only_rings_its_members(agent, other_agent):
    team = AgentGroupFactory()
    team.members.add(other_agent)
    queue = QueueFactory(number="7001")
    queue.agent_groups.add(team)
    idle_for(agent, 60)
    assert offer(dnis="7001").agent == other_agent


def test_callers_of_a_customer_group_reach_their_groups_queue(agent, other_agent):
    business = CustomerGroupFactory(name="Business")
    business_queue = QueueFactory(name="Business hotline", number="7002")
    business_queue.customer_groups.add(business)
    team = AgentGroupFactory()
    team.members.add(other_agent)
    business_queue.agent_groups.add(team)
    idle_for(agent, 60)
    account = AccountFactory(customer_group=business)
    PhoneFactory(account=account, value="030 5550000")
    call = offer(ani="030 5550000", dnis="7000")
    assert call.queue == "Business hotline"
    assert call.agent == other_agent


def test_a_closed_queue_ends_the_call_and_keeps_it_as_missed(agent):
    queue = QueueFactory(number="7001", closed_announcement="Wir sind ab 8 Uhr für Sie da.")
    now = timezone.localtime()
    other_day = (now.weekday() + 1) % 7
    OpeningHours.objects.create(queue=queue, weekday=other_day, opens=time(8), closes=time(18))
    decision = services.call_route(call_id="c1", ani="+49 30 1234567", dnis="7001")
    assert decision.action == "closed"
    assert decision.announcement == "Wir sind ab 8 Uhr für Sie da."
    call = Call.objects.get(call_id="c1")
    assert call.status == Call.Status.ENDED
    assert call.interaction.outcome == Interaction.Outcome.MISSED
    assert refreshed(agent).state == Agent.State.READY


def test_opening_hours_are_read_on_the_local_weekday_and_time():
    from telephony.routing import queue_is_open

    queue = QueueFactory()
    OpeningHours.objects.create(queue=queue, weekday=0, opens=time(8), closes=time(12))
    OpeningHours.objects.create(queue=queue, weekday=0, opens=time(13), closes=time(18))
    monday = timezone.make_aware(datetime(2026, 11, 23, 12, 30))
    assert not queue_is_open(queue=queue, at=monday)
    assert queue_is_open(queue=queue, at=monday.replace(hour=13))
    assert not queue_is_open(queue=queue, at=monday + timedelta(days=1, hours=1))


def test_ring_no_answer_moves_the_call_on_and_sets_the_first_agent_not_ready(
    agent, other_agent, capture_events
):
    idle_for(agent, 10)
    call = offer()
    assert call.agent == agent
    event("not_answered", agent="2001", reason="timeout")
    call = refreshed(call)
    assert call.agent == other_agent and call.status == Call.Status.RINGING
    agent = refreshed(agent)
    assert (agent.state, agent.state_reason) == (Agent.State.NOT_READY, "no_answer")
    item = WorkItem.objects.get(call=call)
    assert list(item.declined_by.all()) == [agent]


def test_the_ring_timer_withdraws_an_offer_nobody_answers(agent, other_agent):
    idle_for(agent, 10)
    call = offer()
    services.acd_tick(now=timezone.now() + timedelta(seconds=60))
    assert refreshed(call).agent == other_agent
    assert refreshed(agent).state == Agent.State.NOT_READY
    record = CallEventRecord.objects.filter(kind="not_answered", result="applied").get()
    assert "2001 did not answer (timeout)" in record.detail


def test_a_rejected_call_goes_to_the_next_agent(agent, other_agent, client):
    idle_for(agent, 10)
    call = offer()
    services.call_reject(agent=agent, call_pk=call.pk)
    assert refreshed(call).agent == other_agent
    assert refreshed(agent).state_reason == "rejected"


def test_an_offer_nobody_can_take_waits_and_the_agent_who_let_it_ring_gets_it_last(agent):
    call = offer()
    event("not_answered", agent="2001", reason="busy")
    assert refreshed(call).status == Call.Status.QUEUED
    services.agent_set_state(agent=agent, state=Agent.State.READY)
    assert refreshed(call).agent == agent


def test_waiting_calls_overflow_to_the_overflow_queue_after_their_time(agent, other_agent):
    team = AgentGroupFactory()
    team.members.add(other_agent)
    overflow = QueueFactory(name="Overflow", number="7009")
    queue = QueueFactory(
        name="First level", number="7001", overflow_queue=overflow, overflow_after_seconds=60
    )
    queue.agent_groups.add(team)
    other_agent.state = Agent.State.NOT_READY
    other_agent.save()
    call = offer(dnis="7001")
    assert call.status == Call.Status.QUEUED
    services.acd_tick(now=timezone.now() + timedelta(seconds=30))
    assert refreshed(call).status == Call.Status.QUEUED
    services.acd_tick(now=timezone.now() + timedelta(seconds=61))
    call = refreshed(call)
    assert call.queue == "Overflow"
    assert call.agent == agent


def test_higher_priority_queues_are_served_first(agent):
    agent.state = Agent.State.NOT_READY
    agent.save()
    low = QueueFactory(number="7001", priority=2)
    high = QueueFactory(number="7002", priority=8)
    first = offer(call_id="low", dnis=low.number)
    second = offer(call_id="high", dnis=high.number)
    services.agent_set_state(agent=agent, state=Agent.State.READY)
    assert refreshed(second).agent == agent
    assert refreshed(first).status == Call.Status.QUEUED


def test_after_a_call_the_agent_wraps_up_for_the_queues_time_then_is_ready(agent):
    queue = QueueFactory(number="7001", wrap_up_seconds=45)
    call = offer(dnis=queue.number)
    event("answered", agent="2001")
    event("ended", reason="caller hung up")
    agent = refreshed(agent)
    assert agent.state == Agent.State.WRAP_UP
    assert agent.wrap_up_until == refreshed(call).ended_at + timedelta(seconds=45)
    services.acd_tick(now=timezone.now() + timedelta(seconds=20))
    assert refreshed(agent).state == Agent.State.WRAP_UP
    services.acd_tick(now=timezone.now() + timedelta(seconds=50))
    assert refreshed(agent).state == Agent.State.READY
    item = WorkItem.objects.get(call=call)
    assert item.status == WorkItem.Status.DONE


def test_the_agent_codes_the_contact_during_wrap_up(agent):
    call = offer()
    event("answered", agent="2001")
    event("ended")
    item = WorkItem.objects.get(call=call)
    services.work_item_set_wrap_up_code(agent=agent, item_pk=item.pk, code="solved")
    assert refreshed(item).wrap_up_code.code == "solved"
    with pytest.raises(DomainError, match="Unknown wrap-up code"):
        services.work_item_set_wrap_up_code(agent=agent, item_pk=item.pk, code="nonsense")


def test_not_ready_needs_a_reason_code_and_only_supervisors_force_states(agent, supervisor_user):
    with pytest.raises(DomainError, match="Choose a reason"):
        services.agent_set_state(agent=agent, state=Agent.State.NOT_READY, reason="whatever")
    services.agent_set_state(agent=agent, state=Agent.State.NOT_READY, reason="break")
    assert refreshed(agent).state_reason == "break"
    services.agent_force_state(agent=agent, state=Agent.State.LOGGED_OUT, by=supervisor_user)
    assert refreshed(agent).state == Agent.State.LOGGED_OUT
    assert agent.state_changes.first().reason == "supervisor"


def test_emails_respect_each_agents_capacity_and_go_to_the_least_busy(agent, other_agent):
    Agent.objects.update(capacity_email=2)
    items = [
        services.work_item_create(channel=WorkItem.Channel.EMAIL, subject=f"Mail {n}")
        for n in range(5)
    ]
    states = [refreshed(item) for item in items]
    offered = [item for item in states if item.status == WorkItem.Status.OFFERED]
    assert len(offered) == 4
    assert sorted(item.agent.extension for item in offered) == ["2001", "2001", "2002", "2002"]
    assert states[-1].status == WorkItem.Status.QUEUED
    # Working on an email does not stop calls: the agent is still ready for the phone.
    assert offer().agent is not None


def test_a_callback_waits_until_due_then_rings_the_agent_who_calls_the_customer(agent):
    account = AccountFactory()
    due = timezone.now() + timedelta(minutes=30)
    item = services.callback_schedule(
        number="030 1234567",
        reason="Rechnung erklären",
        not_before=due,
        account=account,
        agent=agent,
    )
    assert refreshed(item).status == WorkItem.Status.QUEUED
    services.acd_tick(now=due + timedelta(seconds=1))
    item = refreshed(item)
    assert (item.status, item.agent) == (WorkItem.Status.OFFERED, agent)
    assert refreshed(agent).state == Agent.State.RINGING
    call = services.call_originate(agent=agent, number=item.number, work_item=item)
    item = refreshed(item)
    assert item.status == WorkItem.Status.ACCEPTED and item.call == call
    assert call.direction == Call.Direction.OUTBOUND
    assert call.interaction.channel == Interaction.Channel.CALLBACK
    assert call.interaction.account == account


def test_a_callback_needs_a_valid_number_and_a_sensible_window(agent):
    soon = timezone.now() + timedelta(hours=1)
    with pytest.raises(DomainError, match="valid phone number"):
        services.callback_schedule(number="12", reason="x", not_before=soon)
    with pytest.raises(DomainError, match="ends before it starts"):
        services.callback_schedule(
            number="030 1234567", reason="x", not_before=soon, not_after=soon
        )
    with pytest.raises(DomainError, match="in the past"):
        services.callback_schedule(
            number="030 1234567", reason="x", not_before=timezone.now() - timedelta(hours=1)
        )


def test_click_to_dial_rings_the_agent_and_the_simulated_customer_answers(
    agent, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        call = services.call_originate(agent=agent, number="+49 89 5555000")
    call = refreshed(call)
    assert call.status == Call.Status.TALKING
    assert call.direction == Call.Direction.OUTBOUND
    assert refreshed(agent).state == Agent.State.TALKING
    with pytest.raises(DomainError, match="not a phone number"):
        services.call_originate(agent=agent, number="abc")


def test_the_pbx_reports_an_agent_dialling_from_the_phone_and_it_is_adopted(agent):
    Agent.objects.filter(pk=agent.pk).update(state=Agent.State.NOT_READY)
    call = event("offered", call_id="pbx-1", ani="2001", dnis="+4989555000")
    assert call.direction == Call.Direction.OUTBOUND and call.agent == agent
    assert refreshed(agent).state == Agent.State.RINGING
    event("answered", call_id="pbx-1", agent="2001")
    assert refreshed(agent).state == Agent.State.TALKING


def test_blind_transfer_to_a_colleague_rings_them_and_wraps_up_the_first_agent(agent, other_agent):
    idle_for(agent, 10)
    call = offer()
    services.call_accept(agent=agent, call_pk=call.pk)
    services.call_transfer_blind(agent=agent, call_pk=call.pk, target_agent=other_agent)
    call = refreshed(call)
    assert (call.agent, call.status) == (other_agent, Call.Status.RINGING)
    assert refreshed(agent).state == Agent.State.WRAP_UP
    assert refreshed(other_agent).state == Agent.State.RINGING
    services.call_accept(agent=other_agent, call_pk=call.pk)
    assert refreshed(call).status == Call.Status.TALKING
    assert call.interaction.agent == other_agent.user


def test_transfer_to_a_queue_puts_the_call_back_in_line(agent, other_agent):
    idle_for(agent, 10)
    other_agent.state = Agent.State.NOT_READY
    other_agent.save()
    billing = QueueFactory(name="Billing", number="7005")
    call = offer()
    services.call_accept(agent=agent, call_pk=call.pk)
    services.call_transfer_blind(agent=agent, call_pk=call.pk, queue=billing)
    call = refreshed(call)
    assert (call.status, call.queue) == (Call.Status.QUEUED, "Billing")
    services.agent_set_state(agent=other_agent, state=Agent.State.READY)
    assert refreshed(call).agent == other_agent


def test_a_transfer_needs_a_ready_colleague(agent, other_agent):
    call = offer()
    services.call_accept(agent=agent, call_pk=call.pk)
    other_agent.state = Agent.State.NOT_READY
    other_agent.save()
    with pytest.raises(DomainError, match="is not ready"):
        services.call_transfer_blind(agent=agent, call_pk=call.pk, target_agent=other_agent)
    with pytest.raises(DomainError, match="yourself"):
        services.call_transfer_blind(agent=agent, call_pk=call.pk, target_agent=agent)


def test_a_consultation_then_completing_it_hands_the_customer_over(agent, other_agent):
    idle_for(agent, 10)
    call = offer()
    services.call_accept(agent=agent, call_pk=call.pk)
    consult = services.call_consult_start(agent=agent, call_pk=call.pk, target_agent=other_agent)
    assert refreshed(call).status == Call.Status.HELD
    assert (consult.agent, consult.status) == (other_agent, Call.Status.RINGING)
    services.call_accept(agent=other_agent, call_pk=consult.pk)
    assert refreshed(other_agent).state == Agent.State.TALKING
    services.call_consult_complete(agent=agent, call_pk=call.pk)
    call = refreshed(call)
    assert (call.agent, call.status) == (other_agent, Call.Status.TALKING)
    assert refreshed(consult).status == Call.Status.ENDED
    assert refreshed(agent).state == Agent.State.WRAP_UP
    assert refreshed(other_agent).state == Agent.State.TALKING


def test_ending_a_consultation_takes_the_customer_back(agent, other_agent):
    idle_for(agent, 10)
    call = offer()
    services.call_accept(agent=agent, call_pk=call.pk)
    consult = services.call_consult_start(agent=agent, call_pk=call.pk, target_agent=other_agent)
    services.call_accept(agent=other_agent, call_pk=consult.pk)
    with pytest.raises(DomainError, match="consultation first"):
        services.call_retrieve(agent=agent, call_pk=call.pk)
    services.call_consult_cancel(agent=agent, call_pk=call.pk)
    call = refreshed(call)
    assert (call.agent, call.status) == (agent, Call.Status.TALKING)
    assert refreshed(other_agent).state == Agent.State.WRAP_UP


def test_the_routing_hop_is_idempotent_and_tells_the_pbx_where_the_call_stands(agent, other_agent):
    idle_for(agent, 10)
    first = services.call_route(call_id="k1", ani="+49 30 1234567", dnis="7000")
    assert (first.action, first.extension) == ("ring", "2001")
    again = services.call_route(call_id="k1", ani="+49 30 1234567", dnis="7000")
    assert (again.action, again.extension) == ("ring", "2001")
    assert Call.objects.count() == 1 and WorkItem.objects.count() == 1
    event("not_answered", call_id="k1", agent="2001", reason="timeout")
    assert services.call_route(call_id="k1", ani="", dnis="7000").extension == "2002"
    event("not_answered", call_id="k1", agent="2002", reason="busy")
    waiting = services.call_route(call_id="k1", ani="", dnis="7000")
    assert (waiting.action, waiting.position) == ("wait", 1)


def test_the_caller_hanging_up_in_the_queue_is_kept_as_abandoned(agent):
    agent.state = Agent.State.NOT_READY
    agent.save()
    call = offer()
    event("ended", reason="caller hung up")
    call = refreshed(call)
    assert call.interaction.outcome == Interaction.Outcome.ABANDONED
    assert WorkItem.objects.get(call=call).status == WorkItem.Status.CANCELLED


@pytest.mark.django_db(transaction=True)
def test_click_to_dial_in_autocommit_mode_finds_its_call_when_the_customer_answers(agent):
    call = services.call_originate(agent=agent, number="+49 89 5555000")
    assert call.status == Call.Status.TALKING
    assert not call.call_id.startswith("pending-")


def test_a_refused_dial_out_leaves_an_ended_call_and_a_clear_message(agent, monkeypatch):
    from telephony.cti.base import CtiError
    from telephony.cti.simulator import SimulatorAdapter

    def refuse(self, *, extension, number):
        raise CtiError("trunk down")

    monkeypatch.setattr(SimulatorAdapter, "originate", refuse)
    with pytest.raises(DomainError, match="trunk down"):
        services.call_originate(agent=agent, number="+49 89 5555000")
    call = Call.objects.get()
    assert (call.status, call.end_reason) == (Call.Status.ENDED, "phone system refused")
    assert refreshed(agent).state == Agent.State.WRAP_UP


def test_a_supervisor_cannot_force_a_logged_out_or_calling_agent(agent, supervisor_user):
    offer()
    with pytest.raises(DomainError, match="has a call right now"):
        services.agent_force_state(agent=agent, state=Agent.State.NOT_READY, by=supervisor_user)
    Agent.objects.filter(pk=agent.pk).update(state=Agent.State.LOGGED_OUT)
    with pytest.raises(DomainError, match="logged out already"):
        services.agent_force_state(agent=agent, state=Agent.State.NOT_READY, by=supervisor_user)


def test_answering_a_call_of_a_queue_with_a_default_script_opens_that_script(agent):
    from scripting.demo import demo_scripts_seed
    from scripting.models import ScriptRun

    survey, _cross_sell = demo_scripts_seed()
    queue = QueueFactory(number="7001", default_script=survey.script)
    call = offer(dnis=queue.number)
    assert not ScriptRun.objects.exists()
    event("answered", agent="2001")
    run = ScriptRun.objects.get()
    assert (run.version, run.interaction, run.agent) == (survey, call.interaction, agent.user)
    assert run.source == "queue"
