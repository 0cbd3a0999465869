from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import Interaction
from telephony import services
from telephony.cti.base import CallEvent, CtiError
from telephony.models import Agent, Call, CallEventRecord
from tests.factories import AccountFactory, PhoneFactory

pytestmark = pytest.mark.django_db


def offer(call_id="c1", ani="+49 30 1234567", dnis="7000", agent=""):
    return services.call_event_handle(
        event=CallEvent(kind="offered", call_id=call_id, ani=ani, dnis=dnis, agent=agent)
    )


def event(kind, call_id="c1", **kwargs):
    return services.call_event_handle(event=CallEvent(kind=kind, call_id=call_id, **kwargs))


def test_a_call_rings_the_longest_idle_ready_agent(
    agent, other_agent, capture_events, django_capture_on_commit_callbacks
):
    Agent.objects.filter(pk=agent.pk).update(state_since=timezone.now() - timedelta(minutes=5))
    with django_capture_on_commit_callbacks(execute=True):
        call = offer()
    assert call.agent == agent
    assert call.status == Call.Status.RINGING
    agent.refresh_from_db()
    assert agent.state == Agent.State.RINGING
    assert agent.current_interaction == call.interaction
    # One covering event per pop: the desk renders the offer once, not state + offer.
    assert [(e.kind, e.id, e.groups) for e in capture_events] == [
        ("call.offered", call.pk, [f"agent.{agent.pk}"])
    ]


def test_the_caller_is_identified_and_the_interaction_opened(agent):
    phone = PhoneFactory(value="030 1234567")
    call = offer(ani="4930 1234567")
    interaction = call.interaction
    assert interaction.account == phone.account
    assert interaction.channel == Interaction.Channel.PHONE
    assert interaction.direction == Interaction.Direction.INBOUND
    assert interaction.agent == agent.user
    assert interaction.address == "+49301234567"
    assert call.ani_e164 == "+49301234567"


def test_a_vip_caller_rings_the_assigned_agent_first(agent, other_agent):
    Agent.objects.filter(pk=agent.pk).update(state_since=timezone.now() - timedelta(hours=1))
    vip = AccountFactory(is_vip=True, assigned_agent=other_agent.user)
    PhoneFactory(account=vip, value="030 7654321")
    assert offer(ani="030 7654321").agent == other_agent


def test_a_vip_whose_agent_is_busy_waits_for_them_then_goes_to_the_next_free_agent(
    agent, other_agent
):
    other_agent.state = Agent.State.NOT_READY
    other_agent.save()
    vip = AccountFactory(is_vip=True, assigned_agent=other_agent.user)
    PhoneFactory(account=vip, value="030 7654321")
    call = offer(ani="030 7654321")
    assert call.status == Call.Status.QUEUED
    services.acd_tick(now=timezone.now() + timedelta(seconds=10))
    call.refresh_from_db()
    assert call.status == Call.Status.QUEUED
    services.acd_tick(now=timezone.now() + timedelta(seconds=31))
    call.refresh_from_db()
    assert call.agent == agent and call.status == Call.Status.RINGING


def test_a_waiting_vip_goes_to_the_personal_agent_as_soon_as_they_are_ready(agent, other_agent):
    other_agent.state = Agent.State.NOT_READY
    other_agent.save()
    agent.state = Agent.State.NOT_READY
    agent.save()
    vip = AccountFactory(is_vip=True, assigned_agent=other_agent.user)
    PhoneFactory(account=vip, value="030 7654321")
    call = offer(ani="030 7654321")
    services.agent_set_state(agent=agent, state=Agent.State.READY)
    call.refresh_from_db()
    assert call.status == Call.Status.QUEUED, "reserved for the personal agent"
    services.agent_set_state(agent=other_agent, state=Agent.State.READY)
    call.refresh_from_db()
    assert call.agent == other_agent


def test_without_a_ready_agent_the_call_waits_and_goes_to_the_first_agent_who_becomes_ready(agent):
    agent.state = Agent.State.NOT_READY
    agent.save()
    call = offer()
    assert call.status == Call.Status.QUEUED and call.agent is None
    services.agent_set_state(agent=agent, state=Agent.State.READY)
    call.refresh_from_db()
    assert call.status == Call.Status.RINGING and call.agent == agent


def test_a_call_to_an_extension_rings_that_agent(agent, other_agent):
    assert offer(dnis="2002").agent == other_agent


def test_the_full_call_life_answered_held_retrieved_ended(agent, capture_events):
    call = offer()
    event("answered", agent="2001")
    event("held")
    event("retrieved")
    event("ended", reason="bye")
    call.refresh_from_db()
    agent.refresh_from_db()
    assert call.status == Call.Status.ENDED
    assert call.answered_at is not None and call.ended_at >= call.answered_at
    assert call.interaction.ended_at is not None
    assert call.interaction.outcome == Interaction.Outcome.COMPLETED
    assert agent.state == Agent.State.WRAP_UP
    kinds = [e.kind for e in capture_events]
    assert kinds.count("call.offered") == 1 and "call.ended" in kinds


def test_a_caller_who_hangs_up_while_ringing_is_kept_as_abandoned_and_the_agent_is_ready_again(
    agent,
):
    call = offer()
    event("ended", reason="caller hung up")
    call.refresh_from_db()
    agent.refresh_from_db()
    assert call.interaction.outcome == Interaction.Outcome.ABANDONED
    assert agent.state == Agent.State.READY


def test_every_state_change_of_the_agent_is_recorded(agent):
    offer()
    event("answered")
    event("ended")
    states = list(agent.state_changes.order_by("at", "id").values_list("previous_state", "state"))
    assert states == [("ready", "ringing"), ("ringing", "talking"), ("talking", "wrap_up")]


def test_a_duplicate_offered_event_changes_nothing(agent):
    first = offer(ani="030 1234567")
    again = offer(ani="040 999999")
    assert again.pk == first.pk
    assert Call.objects.count() == 1
    assert Interaction.objects.count() == 1
    first.refresh_from_db()
    assert first.ani == "030 1234567"
    assert CallEventRecord.objects.filter(result="ignored", kind="offered").count() == 1


def test_events_for_an_ended_call_are_ignored_and_recorded(agent):
    call = offer()
    event("answered")
    event("ended")
    ended_at = Call.objects.get(pk=call.pk).ended_at
    event("answered")
    event("held")
    event("ended")
    call.refresh_from_db()
    assert call.status == Call.Status.ENDED and call.ended_at == ended_at
    assert CallEventRecord.objects.filter(result="ignored").count() == 3


def test_events_for_unknown_calls_are_ignored(agent):
    assert event("answered", call_id="nope") is None
    assert CallEventRecord.objects.get().detail == "answered event for an unknown call"


def test_a_call_for_an_unknown_extension_is_refused_and_kept_as_missed(agent):
    call = offer(agent="9999")
    assert call.status == Call.Status.ENDED
    assert call.end_reason == "unknown extension"
    assert call.interaction.outcome == Interaction.Outcome.MISSED
    assert "9999" in CallEventRecord.objects.get().detail
    agent.refresh_from_db()
    assert agent.state == Agent.State.READY


def test_a_withheld_number_still_makes_a_call_and_history(agent):
    call = offer(ani="anonymous")
    assert call.interaction.account is None
    assert call.interaction.address == ""
    assert call.agent == agent


def test_an_unparseable_number_is_kept_as_it_came(agent):
    call = offer(ani="+++garbage")
    assert call.ani == "+++garbage" and call.ani_e164 == ""
    assert call.interaction.address == "+++garbage"


@pytest.mark.parametrize(
    "payload, message",
    [
        ("not a dict", "JSON object"),
        ({"kind": "exploded", "call_id": "x"}, "unknown event kind"),
        ({"kind": "offered"}, "call_id"),
        ({"kind": "offered", "call_id": "x", "ani": ["list"]}, "ani"),
        ({"kind": "offered", "call_id": "x", "at": "yesterday"}, "ISO 8601"),
    ],
)
def test_bad_event_payloads_are_refused_with_a_reason(payload, message):
    with pytest.raises(CtiError, match=message):
        CallEvent.from_dict(payload)


def test_an_agent_cannot_log_out_during_a_call(agent):
    from icenter.errors import DomainError

    offer()
    event("answered")
    agent.refresh_from_db()
    with pytest.raises(DomainError):
        services.agent_set_state(agent=agent, state=Agent.State.LOGGED_OUT)


def test_one_agent_never_gets_two_live_calls(agent):
    offer(call_id="c1")
    second = offer(call_id="c2")
    assert second.status == Call.Status.QUEUED
    assert Call.objects.filter(agent=agent).count() == 1


def test_desk_controls_drive_the_simulated_pbx(agent):
    call = offer()
    services.call_accept(agent=agent, call_pk=call.pk)
    services.call_hold(agent=agent, call_pk=call.pk)
    services.call_retrieve(agent=agent, call_pk=call.pk)
    services.call_hangup(agent=agent, call_pk=call.pk)
    call.refresh_from_db()
    assert call.status == Call.Status.ENDED and call.answered_at is not None


def test_an_agent_cannot_control_someone_elses_call(agent, other_agent):
    from icenter.errors import DomainError

    call = offer(dnis="2001")
    with pytest.raises(DomainError):
        services.call_accept(agent=other_agent, call_pk=call.pk)
