"""Write paths for telephony: CallEvents from the PBX, agent states and call control."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts import selectors as account_selectors
from accounts import services as account_services
from accounts.models import Interaction
from icenter.desk import push
from icenter.errors import DomainError
from telephony import routing
from telephony.cti.base import CallEvent, CtiError, get_adapter
from telephony.models import Agent, AgentStateChange, Call, CallEventRecord

logger = logging.getLogger(__name__)


# -- agent states ---------------------------------------------------------------------------


def agent_set_state(
    *, agent: Agent, state: str, reason: str = "", at: datetime | None = None
) -> Agent:
    """Move the agent to a new state if the workflow allows it, and record the change.

    Locks the agent row. Becoming ready hands the agent the longest-waiting queued call.
    """
    with transaction.atomic():
        locked = Agent.objects.select_for_update().get(pk=agent.pk)
        _agent_transition(locked, state, reason=reason, at=at)
        if state == Agent.State.READY:
            _dispatch_queued_call_to(locked)
    agent.refresh_from_db()
    return agent


def _agent_transition(
    agent: Agent,
    state: str,
    *,
    reason: str = "",
    at: datetime | None = None,
    notify: bool = True,
) -> None:
    """Change the state and record it; `notify=False` when the caller pushes a covering event."""
    if state not in Agent.State.values:
        raise DomainError(_("Unknown agent state “%(state)s”.") % {"state": state})
    if state == agent.state:
        if reason != agent.state_reason:
            agent.state_reason = reason
            agent.save(update_fields=["state_reason"])
        return
    if state not in Agent.TRANSITIONS[agent.state]:
        raise DomainError(
            _("An agent cannot go from “%(old)s” to “%(new)s”.")
            % {"old": Agent.State(agent.state).label, "new": Agent.State(state).label}
        )
    when = at or timezone.now()
    AgentStateChange.objects.create(
        agent=agent, state=state, previous_state=agent.state, reason=reason, at=when
    )
    agent.state = state
    agent.state_since = when
    agent.state_reason = reason
    agent.save(update_fields=["state", "state_since", "state_reason"])
    try:
        get_adapter().set_agent_state(extension=agent.extension, state=state)
    except CtiError as exc:
        logger.warning("PBX did not take state %s for %s: %s", state, agent.extension, exc)
    if notify:
        push.publish(kind="agent.state", id=agent.pk, groups=[agent.group_name])


def agent_login(*, user: Any) -> Agent | None:
    """When an agent opens the desk logged out, they become 'not ready' (logged in)."""
    agent = Agent.objects.filter(user=user).first()
    if agent is not None and agent.state == Agent.State.LOGGED_OUT:
        agent_set_state(agent=agent, state=Agent.State.NOT_READY, reason="logged in")
    return agent


def agent_logout(*, user: Any) -> None:
    """Log the agent out of the ACD unless a call is still live."""
    agent = Agent.objects.filter(user=user).first()
    if agent is None or agent.state == Agent.State.LOGGED_OUT:
        return
    if agent.state in {Agent.State.RINGING, Agent.State.TALKING}:
        logger.info("agent %s logged out of the web with a live call", agent.extension)
        return
    agent_set_state(agent=agent, state=Agent.State.LOGGED_OUT)


# -- PBX events -----------------------------------------------------------------------------


def call_event_handle(*, event: CallEvent) -> Call | None:
    """Apply one PBX event to the call, its interaction and the agent; never raises for bad events.

    Duplicate, out-of-order and unknown events are recorded as ignored with the reason.
    """
    with transaction.atomic():
        handler = _HANDLERS[event.kind]
        call = Call.objects.select_for_update().filter(call_id=event.call_id).first()
        try:
            with transaction.atomic():
                result, detail = handler(event, call)
        except DomainError as exc:
            result, detail = None, exc.message
        record_result = (
            CallEventRecord.Result.APPLIED if result is not None else CallEventRecord.Result.IGNORED
        )
        if result is None:
            logger.warning("ignored %s event for call %s: %s", event.kind, event.call_id, detail)
        CallEventRecord.objects.create(
            call_id=event.call_id,
            kind=event.kind,
            payload=event.to_dict(),
            result=record_result,
            detail=detail[:300],
        )
        return result or call


def _handle_offered(event: CallEvent, call: Call | None) -> tuple[Call | None, str]:
    if call is not None:
        return None, "duplicate offered event: the call exists already"
    identification = account_selectors.account_list_by_phone(raw=event.ani)
    number = identification.number
    interaction = account_services.interaction_start(
        channel=Interaction.Channel.PHONE,
        direction=Interaction.Direction.INBOUND,
        started_at=event.at,
        account=identification.account,
        address=number.e164 or ("" if number.is_withheld else event.ani),
    )
    call = Call.objects.create(
        call_id=event.call_id,
        direction=Call.Direction.INBOUND,
        ani=event.ani,
        ani_e164=number.e164,
        dnis=event.dnis,
        queue=event.queue or event.dnis,
        status=Call.Status.QUEUED,
        interaction=interaction,
        offered_at=event.at,
    )
    if number.error:
        logger.info("call %s: calling number %r is %s", event.call_id, event.ani, number.error)
    target = _target_agent(event)
    if target is None and (event.agent or _is_extension(event.dnis)):
        extension = event.agent or event.dnis
        return call, f"extension {extension} is unknown or not ready; the call waits"
    if target is None:
        target = routing.agent_pick_for_call(account=identification.account)
    if target is None:
        return call, "no ready agent; the call waits in the queue"
    _offer(call, target)
    return call, f"offered to {target.extension}"


def _is_extension(dnis: str) -> bool:
    return dnis.isdigit() and len(dnis) <= 6 and Agent.objects.filter(extension=dnis).exists()


def _target_agent(event: CallEvent) -> Agent | None:
    """A call to an agent's own extension (or naming one) rings that agent if they can take it."""
    extension = event.agent or event.dnis
    if not extension:
        return None
    agent = Agent.objects.select_for_update().filter(extension=extension).first()
    if agent is None:
        if event.agent:
            logger.error("call %s names unknown agent extension %r", event.call_id, event.agent)
        return None
    if (
        Agent.State.RINGING not in Agent.TRANSITIONS[agent.state]
        or agent.state == Agent.State.LOGGED_OUT
    ):
        return None
    return agent


def _offer(call: Call, agent: Agent) -> None:
    _call_transition(call, Call.Status.RINGING)
    call.agent = agent
    call.save(update_fields=["agent"])
    interaction = call.interaction
    interaction.agent = agent.user
    interaction.save(update_fields=["agent"])
    _agent_transition(agent, Agent.State.RINGING, reason=call.queue, notify=False)
    agent.current_interaction = interaction
    agent.save(update_fields=["current_interaction"])
    push.publish(kind="call.offered", id=call.pk, groups=[agent.group_name])


def _dispatch_queued_call_to(agent: Agent) -> None:
    """Give a ready agent the call that has waited longest, if any."""
    queued = Call.objects.filter(status=Call.Status.QUEUED).order_by("offered_at", "id")
    if connection.features.has_select_for_update_skip_locked:
        queued = queued.select_for_update(skip_locked=True, of=("self",))
    call = queued.select_related("interaction").first()
    if call is not None:
        _offer(call, agent)


def _handle_ringing(event: CallEvent, call: Call | None) -> tuple[Call | None, str]:
    if call is None:
        return None, "ringing event for an unknown call"
    if call.status == Call.Status.RINGING:
        return call, "already ringing"
    if call.status != Call.Status.QUEUED:
        return None, f"ringing event for a call that is {call.status}"
    target = _target_agent(event)
    if target is None:
        return None, f"ringing at unknown or unavailable extension {event.agent!r}"
    _offer(call, target)
    return call, f"ringing at {target.extension}"


def _handle_answered(event: CallEvent, call: Call | None) -> tuple[Call | None, str]:
    if call is None:
        return None, "answered event for an unknown call"
    if call.status != Call.Status.RINGING or call.agent is None:
        return None, f"answered event for a call that is {call.status}"
    _call_transition(call, Call.Status.TALKING)
    call.answered_at = event.at
    call.save(update_fields=["answered_at"])
    agent = Agent.objects.select_for_update().get(pk=call.agent.pk)
    _agent_transition(agent, Agent.State.TALKING, at=event.at, notify=False)
    push.publish(kind="call.updated", id=call.pk, groups=[agent.group_name])
    return call, "answered"


def _handle_held(event: CallEvent, call: Call | None) -> tuple[Call | None, str]:
    return _hold_or_retrieve(call, Call.Status.HELD, "held")


def _handle_retrieved(event: CallEvent, call: Call | None) -> tuple[Call | None, str]:
    return _hold_or_retrieve(call, Call.Status.TALKING, "retrieved")


def _hold_or_retrieve(call: Call | None, status: str, word: str) -> tuple[Call | None, str]:
    if call is None:
        return None, f"{word} event for an unknown call"
    if call.status == status:
        return None, f"the call is already {status}"
    _call_transition(call, status)
    if call.agent is not None:
        push.publish(kind="call.updated", id=call.pk, groups=[call.agent.group_name])
    return call, word


def _handle_ended(event: CallEvent, call: Call | None) -> tuple[Call | None, str]:
    if call is None:
        return None, "ended event for an unknown call"
    if call.status == Call.Status.ENDED:
        return None, "the call has ended already"
    was = call.status
    _call_transition(call, Call.Status.ENDED)
    call.ended_at = max(event.at, call.offered_at)
    call.end_reason = event.reason[:200]
    call.save(update_fields=["ended_at", "end_reason"])
    answered = call.answered_at is not None
    account_services.interaction_end(
        interaction=call.interaction,
        outcome=Interaction.Outcome.COMPLETED if answered else Interaction.Outcome.ABANDONED,
        ended_at=call.ended_at,
    )
    if call.agent is not None:
        agent = Agent.objects.select_for_update().get(pk=call.agent.pk)
        if was in {Call.Status.TALKING, Call.Status.HELD}:
            _agent_transition(agent, Agent.State.WRAP_UP, at=call.ended_at, notify=False)
        elif was == Call.Status.RINGING and agent.state == Agent.State.RINGING:
            _agent_transition(agent, Agent.State.READY, reason="caller hung up", notify=False)
            _dispatch_queued_call_to(agent)
        push.publish(kind="call.ended", id=call.pk, groups=[agent.group_name])
    return call, "abandoned" if not answered else "ended"


_HANDLERS = {
    "offered": _handle_offered,
    "ringing": _handle_ringing,
    "answered": _handle_answered,
    "held": _handle_held,
    "retrieved": _handle_retrieved,
    "ended": _handle_ended,
}


def _call_transition(call: Call, status: str) -> None:
    if status not in Call.TRANSITIONS[call.status]:
        raise DomainError(
            _("A call cannot go from “%(old)s” to “%(new)s”.")
            % {"old": Call.Status(call.status).label, "new": Call.Status(status).label}
        )
    call.status = status
    call.save(update_fields=["status"])


# -- call control from the desk -------------------------------------------------------------


def _live_call_of(agent: Agent, call_pk: int) -> Call:
    call = Call.objects.filter(pk=call_pk, agent=agent).first()
    if call is None or not call.is_live:
        raise DomainError(_("This call is no longer active."))
    return call


def call_accept(*, agent: Agent, call_pk: int) -> Call:
    """The agent takes the ringing call."""
    call = _live_call_of(agent, call_pk)
    if call.status != Call.Status.RINGING:
        raise DomainError(_("Only a ringing call can be accepted."))
    _adapter_command(lambda a: a.answer(call_id=call.call_id, extension=agent.extension))
    call.refresh_from_db()
    return call


def call_hangup(*, agent: Agent, call_pk: int) -> Call:
    """The agent ends the call for everyone."""
    call = _live_call_of(agent, call_pk)
    if call.status not in {Call.Status.TALKING, Call.Status.HELD}:
        raise DomainError(_("Only a call in progress can be hung up."))
    _adapter_command(lambda a: a.hangup(call_id=call.call_id))
    call.refresh_from_db()
    return call


def call_hold(*, agent: Agent, call_pk: int) -> Call:
    """Put the customer on hold."""
    call = _live_call_of(agent, call_pk)
    if call.status != Call.Status.TALKING:
        raise DomainError(_("Only a call in progress can be put on hold."))
    _adapter_command(lambda a: a.hold(call_id=call.call_id))
    call.refresh_from_db()
    return call


def call_retrieve(*, agent: Agent, call_pk: int) -> Call:
    """Take the customer back from hold."""
    call = _live_call_of(agent, call_pk)
    if call.status != Call.Status.HELD:
        raise DomainError(_("Only a call on hold can be taken back."))
    _adapter_command(lambda a: a.retrieve(call_id=call.call_id))
    call.refresh_from_db()
    return call


def _adapter_command(command: Any) -> None:
    try:
        command(get_adapter())
    except CtiError as exc:
        logger.error("PBX refused a command: %s", exc.message)
        raise DomainError(
            _("The phone system refused: %(reason)s") % {"reason": exc.message}
        ) from exc
