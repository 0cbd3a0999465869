"""Calls: PBX events, the routing decision the PBX asks for, and call control from the desk."""

from __future__ import annotations

import functools
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Model
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts import selectors as account_selectors
from accounts import services as account_services
from accounts.models import Interaction
from accounts.phone import phone_parse
from icenter.desk import push
from icenter.errors import DomainError
from icenter.workflow import transition_check
from telephony import announcements, routing, webhooks
from telephony.cti.base import CallEvent, CtiAdapter, CtiError, get_adapter
from telephony.models import Agent, Call, CallEventRecord, Queue, WorkItem
from telephony.rows import rows_save
from telephony.services.agents import agent_state_save, agent_transition
from telephony.services.work_items import (
    DEFAULT_RING_SECONDS,
    DEFAULT_VIP_WAIT_SECONDS,
    RING_TIMEOUT_GRACE,
    dispatch_to_agent,
    item_requeue_after_no_answer,
    item_transition,
    offer_item,
    publish_queue_change,
    route_item,
    wrap_up_seconds_for,
)

logger = logging.getLogger(__name__)

LIVE_AGENT_CALL = (Call.Status.RINGING, Call.Status.TALKING, Call.Status.HELD)


def call_transition(call: Call, status: str, *, save: bool = True) -> None:
    transition_check(
        transitions=Call.TRANSITIONS,
        choices=Call.Status,
        old=call.status,
        new=status,
        message=_("A call cannot go from “%(old)s” to “%(new)s”."),
    )
    call.status = status
    if save:
        call.save(update_fields=["status"])


def _locked_agent(agent_id: int) -> Agent:
    return Agent.objects.select_for_update().get(pk=agent_id)


def _item_of(call: Call) -> WorkItem | None:
    return (
        WorkItem.objects.select_for_update(of=("self",))
        .filter(call=call)
        .select_related("queue")
        .first()
    )


# -- PBX events -----------------------------------------------------------------------------


def call_event_handle(*, event: CallEvent) -> Call | None:
    """Apply one PBX event to the call, its work item, interaction and agent; never raises.

    Duplicate, out-of-order and unknown events are recorded as ignored with the reason.
    """
    return _event_apply(event, call_is_new=False)


def _locked_call(call_id: str) -> Call | None:
    # The interaction comes along (ending a call closes it), unlocked.
    return (
        Call.objects.select_for_update(of=("self",))
        .select_related("interaction")
        .filter(call_id=call_id)
        .first()
    )


def _event_apply(event: CallEvent, *, call_is_new: bool) -> Call | None:
    """`call_is_new`: the caller just found no call with this id (a race ends in IntegrityError)."""
    handler = _HANDLERS[event.kind]
    # One transaction holds the handler's rows, the event's record and its webhook deliveries.
    # A refused event rolls back whatever the handler wrote and is recorded in a second one.
    try:
        with transaction.atomic():
            call = None if call_is_new else _locked_call(event.call_id)
            result, detail = handler(event, call)
            _event_record(event, result, detail)
            return result or call
    except DomainError as exc:
        refusal: str | None = exc.message
    except IntegrityError:
        if event.kind != "offered":
            raise
        refusal = None
    with transaction.atomic():
        call = _locked_call(event.call_id)
        if refusal is not None:
            result, detail = None, refusal
        elif call is not None:
            # Two "offered" events (or routing questions) for one new call id raced: the unique
            # call id let the other create the call, and this one waited for it to commit.
            result, detail = None, "duplicate offered event: the call exists already"
        else:
            # The agent routing chose holds a voice item or call already (the database refuses
            # a second one on their line): the call is recorded and waits in its queue.
            logger.error("call %s: the chosen agent's line is busy; the call waits", event.call_id)
            result, detail = _handle_offered(event, None, route=False)
        _event_record(event, result, detail)
        return result or call


def _event_record(event: CallEvent, result: Call | None, detail: str) -> None:
    applied = result is not None
    if not applied:
        logger.warning("ignored %s event for call %s: %s", event.kind, event.call_id, detail)
    else:
        logger.info("call %s %s: %s", event.call_id, event.kind, detail)
    record = CallEventRecord(
        call_id=event.call_id,
        kind=event.kind,
        payload=event.to_dict(),
        result=CallEventRecord.Result.APPLIED if applied else CallEventRecord.Result.IGNORED,
        detail=detail[:300],
    )
    if result is None:
        record.save()
        return
    push.publish(kind="call.updated", id=result.pk, groups=[push.SUPERVISORS])
    # Webhook deliveries are written in the event's own transaction (an outbox): an applied
    # event always has its deliveries, a rolled-back one never does. The record is written
    # with the subscriptions' lookup (one round trip on PostgreSQL).
    webhooks.webhook_enqueue_for_call_event(
        call=result, kind=event.kind, at=event.at, record=record
    )


def _looks_like_extension(number: str) -> bool:
    return bool(number) and number.isdigit() and len(number) <= 6


def _handle_offered(
    event: CallEvent, call: Call | None, *, route: bool = True
) -> tuple[Call | None, str]:
    """A new call: record it and its work item, and (unless `route` is off) offer it to an agent."""
    if call is not None:
        return None, "duplicate offered event: the call exists already"
    # The caller's, the dialled and the named extension's agents, in one query.
    numbers = {event.ani, event.dnis, event.agent} - {""}
    phones = {a.extension: a for a in Agent.objects.filter(extension__in=numbers)}
    caller_agent = phones.get(event.ani) if event.ani else None
    dnis_is_extension = _looks_like_extension(event.dnis) and event.dnis in phones
    if caller_agent is not None and not dnis_is_extension:
        return _adopt_outbound(event, caller_agent)
    identification = account_selectors.account_list_by_phone(raw=event.ani)
    number = identification.number
    account = identification.account
    interaction = account_services.interaction_start(
        channel=Interaction.Channel.PHONE,
        direction=Interaction.Direction.INBOUND,
        started_at=event.at,
        account=account,
        address=number.e164 or ("" if number.is_withheld else event.ani),
    )
    direct = event.agent or (event.dnis if dnis_is_extension else "")
    queue, is_open = (
        (None, True)
        if direct
        else routing.queue_for_call(dnis=event.dnis, account=account, at=event.at)
    )
    if number.error:
        logger.info("call %s: calling number %r is %s", event.call_id, event.ani, number.error)
    call = Call.objects.create(
        call_id=event.call_id,
        direction=Call.Direction.INBOUND,
        ani=event.ani,
        ani_e164=number.e164,
        dnis=event.dnis,
        queue=(queue.name if queue else "") or event.queue or event.dnis,
        status=Call.Status.QUEUED,
        interaction=interaction,
        offered_at=event.at,
    )
    if queue is not None and not is_open:
        _end_closed(call, queue)
        return call, f"queue {queue} is closed"
    preferred, preferred_until = None, None
    if direct:
        preferred = phones.get(direct)
        if preferred is None:
            logger.error("call %s names unknown extension %r", event.call_id, direct)
    elif account is not None and account.is_vip and account.assigned_agent_id is not None:
        preferred = Agent.objects.filter(user_id=account.assigned_agent_id).first()
        wait = queue.vip_wait_seconds if queue else DEFAULT_VIP_WAIT_SECONDS
        preferred_until = event.at + timedelta(seconds=wait)
    priority = queue.priority if queue else 5
    if account is not None and account.is_vip:
        priority = min(priority + 1, 10)
    item = WorkItem.objects.create(
        channel=WorkItem.Channel.CALL,
        queue=queue,
        priority=priority,
        call=call,
        interaction=interaction,
        account=account,
        preferred_agent=preferred,
        preferred_until=preferred_until,
        enqueued_at=event.at,
        subject=call.queue,
    )
    if direct and preferred is None:
        item_transition(item, WorkItem.Status.CANCELLED)
        call_transition(call, Call.Status.ENDED)
        call.ended_at, call.end_reason = event.at, "unknown extension"
        call.save(update_fields=["ended_at", "end_reason"])
        account_services.interaction_end(
            interaction=interaction, outcome=Interaction.Outcome.MISSED, ended_at=event.at
        )
        return call, f"extension {direct} is unknown; the call is refused"
    agent = route_item(item, deliver=False) if route else None
    publish_queue_change(item)
    if agent is None:
        return call, "no qualified agent is ready; the call waits in the queue"
    return call, f"offered to {agent.extension}"


def _end_closed(call: Call, queue: Queue) -> None:
    call_transition(call, Call.Status.ENDED)
    call.ended_at, call.end_reason = call.offered_at, "queue closed"
    call.save(update_fields=["ended_at", "end_reason"])
    account_services.interaction_end(
        interaction=call.interaction, outcome=Interaction.Outcome.MISSED, ended_at=call.offered_at
    )
    WorkItem.objects.create(
        channel=WorkItem.Channel.CALL,
        queue=queue,
        call=call,
        interaction=call.interaction,
        account=call.interaction.account,
        status=WorkItem.Status.CANCELLED,
        enqueued_at=call.offered_at,
        finished_at=call.offered_at,
    )


def _adopt_outbound(event: CallEvent, agent: Agent) -> tuple[Call | None, str]:
    """An agent's phone dials out: match it to the click-to-dial call we started, or log it."""
    wanted = phone_parse(event.dnis).e164
    since = event.at - timedelta(seconds=60)
    pending = (
        Call.objects.select_for_update()
        .filter(
            agent=agent,
            direction=Call.Direction.OUTBOUND,
            status=Call.Status.RINGING,
            offered_at__gte=since,
        )
        .order_by("-offered_at")
    )
    for call in pending:
        if not wanted or phone_parse(call.dnis).e164 == wanted:
            call.call_id = event.call_id
            call.save(update_fields=["call_id"])
            return call, f"outbound call of {agent.extension} adopted"
    if agent.state in {Agent.State.RINGING, Agent.State.TALKING}:
        return None, f"agent {agent.extension} dials out during another call"
    call = _outbound_call_create(agent, event.dnis, call_id=event.call_id, at=event.at)
    return call, f"outbound call dialled on the phone of {agent.extension}"


def _is_extension(dnis: str) -> bool:
    return _looks_like_extension(dnis) and Agent.objects.filter(extension=dnis).exists()


def _handle_ringing(event: CallEvent, call: Call | None) -> tuple[Call | None, str]:
    if call is None:
        return None, "ringing event for an unknown call"
    if call.status == Call.Status.RINGING:
        return call, "already ringing"
    if call.status != Call.Status.QUEUED:
        return None, f"ringing event for a call that is {call.status}"
    agent = Agent.objects.select_for_update().filter(extension=event.agent).first()
    # The PBX chose this phone itself (its own queue, or a fallback while icenter was
    # unreachable): record the fact, whatever state the agent was in.
    if agent is None or Agent.State.RINGING not in Agent.TRANSITIONS[agent.state]:
        return None, f"ringing at unknown or unavailable extension {event.agent!r}"
    item = _item_of(call)
    if item is None or item.status != WorkItem.Status.QUEUED:
        return None, "the call's work item is not waiting"
    offer_item(item, agent, deliver=False)
    return call, f"ringing at {agent.extension}"


def _handle_not_answered(event: CallEvent, call: Call | None) -> tuple[Call | None, str]:
    if call is None:
        return None, "not-answered event for an unknown call"
    if call.status != Call.Status.RINGING or call.agent_id is None:
        return None, f"not-answered event for a call that is {call.status}"
    agent = _locked_agent(call.agent_id)
    if event.agent and event.agent != agent.extension:
        return None, f"not-answered at {event.agent} but the call rings at {agent.extension}"
    item = _item_of(call)
    if item is None:
        return None, "the call has no work item"
    if call.direction == Call.Direction.OUTBOUND:
        return _end(call, event, reason=event.reason or "not answered")
    call_transition(call, Call.Status.QUEUED)
    call.agent = None
    call.save(update_fields=["agent"])
    item_requeue_after_no_answer(item, agent, reason=event.reason)
    following = route_item(item, deliver=False)
    publish_queue_change(item)
    where = f"now offered to {following.extension}" if following else "the call waits"
    return call, f"{agent.extension} did not answer ({event.reason or 'no answer'}); {where}"


def _handle_answered(event: CallEvent, call: Call | None) -> tuple[Call | None, str]:
    if call is None:
        return None, "answered event for an unknown call"
    if call.status != Call.Status.RINGING or call.agent_id is None:
        return None, f"answered event for a call that is {call.status}"
    call_transition(call, Call.Status.TALKING, save=False)
    call.answered_at = event.at
    rows: list[tuple[Model, list[str]]] = [(call, ["status", "answered_at"])]
    item = _item_of(call)
    if item is not None and item.status == WorkItem.Status.OFFERED:
        item_transition(item, WorkItem.Status.ACCEPTED, save=False)
        item.accepted_at = event.at
        rows.append((item, ["status", "accepted_at"]))
    agent = _locked_agent(call.agent_id)
    agent_transition(agent, Agent.State.TALKING, at=event.at, notify=False, save=False)
    agent_state_save(agent, rows=rows)  # call, item, agent and history at once
    _open_default_script(item, agent, call)
    push.publish(kind="call.updated", id=call.pk, groups=[agent.group_name])
    return call, "answered"


def _open_default_script(item: WorkItem | None, agent: Agent, call: Call) -> None:
    """A queue's default script starts for the agent who answers; it waits in the Script view."""
    queue = item.queue if item is not None else None
    if queue is None or queue.default_script_id is None:
        return
    from scripting import selectors as script_selectors
    from scripting import services as script_services

    version = script_selectors.script_version_published_get(script=queue.default_script)
    if version is None:
        logger.warning("queue %s: its default script has no published version", queue)
        return
    try:
        with transaction.atomic():
            script_services.script_run_start(
                script_version=version,
                agent_user=agent.user,
                interaction=call.interaction,
                source="queue",
            )
    except DomainError as exc:
        logger.warning("queue %s: default script not started: %s", queue, exc.message)


def _handle_held(event: CallEvent, call: Call | None) -> tuple[Call | None, str]:
    return _hold_or_retrieve(call, Call.Status.HELD, "held")


def _handle_retrieved(event: CallEvent, call: Call | None) -> tuple[Call | None, str]:
    return _hold_or_retrieve(call, Call.Status.TALKING, "retrieved")


def _hold_or_retrieve(call: Call | None, status: str, word: str) -> tuple[Call | None, str]:
    if call is None:
        return None, f"{word} event for an unknown call"
    if call.status == status:
        return None, f"the call is already {status}"
    call_transition(call, status)
    if call.agent is not None:
        push.publish(kind="call.updated", id=call.pk, groups=[call.agent.group_name])
    return call, word


def _handle_transferred(event: CallEvent, call: Call | None) -> tuple[Call | None, str]:
    if call is None:
        return None, "transferred event for an unknown call"
    if call.status not in {Call.Status.TALKING, Call.Status.HELD, Call.Status.RINGING}:
        return None, f"transferred event for a call that is {call.status}"
    item = _item_of(call)
    previous = _locked_agent(call.agent_id) if call.agent_id else None
    if previous is not None and previous.extension == event.agent:
        return None, f"the call is with {event.agent} already"
    # The consult call (if any) ends: its agent now talks to the customer directly.
    consulted = None
    for consult in (
        Call.objects.select_for_update().filter(consult_for=call).exclude(status=Call.Status.ENDED)
    ):
        consulted = consult.agent_id
        _finish_call(consult, at=event.at, reason="consultation completed", release_agent=False)
    target = Agent.objects.select_for_update().filter(extension=event.agent).first()
    if event.agent and target is None:
        return None, f"transferred to unknown extension {event.agent!r}"
    if previous is not None:
        agent_transition(
            previous,
            Agent.State.WRAP_UP,
            at=event.at,
            notify=False,
            wrap_up_seconds=wrap_up_seconds_for(item),
        )
        previous.current_interaction = None
        previous.save(update_fields=["current_interaction"])
        push.publish(kind="call.ended", id=call.pk, groups=[previous.group_name])
    if item is not None:
        item.declined_by.clear()
    if target is not None:
        # After a consultation the colleague already talks to the agent and takes over the
        # customer directly; a blind transfer rings the colleague first.
        talking = consulted == target.pk
        call.status = Call.Status.TALKING if talking else Call.Status.RINGING
        call.agent = target
        call.save(update_fields=["status", "agent"])
        interaction = call.interaction
        interaction.agent = target.user
        interaction.save(update_fields=["agent"])
        if item is not None:
            item.agent = target
            item.status = WorkItem.Status.ACCEPTED if talking else WorkItem.Status.OFFERED
            item.offered_at = event.at
            item.save(update_fields=["agent", "status", "offered_at"])
        agent_transition(
            target,
            Agent.State.TALKING if talking else Agent.State.RINGING,
            at=event.at,
            reason=call.queue,
            notify=False,
        )
        target.current_interaction = interaction
        target.save(update_fields=["current_interaction"])
        push.publish(kind="call.offered", id=call.pk, groups=[target.group_name])
        return call, f"transferred to {target.extension}"
    queue = (
        Queue.objects.filter(number=event.queue).first()
        or Queue.objects.filter(name=event.queue).first()
    )
    if queue is None:
        return None, f"transferred to unknown queue {event.queue!r}"
    call.status = Call.Status.QUEUED
    call.agent = None
    call.queue = queue.name
    call.save(update_fields=["status", "agent", "queue"])
    if item is not None:
        item.status, item.agent, item.queue = WorkItem.Status.QUEUED, None, queue
        item.priority = queue.priority
        item.save(update_fields=["status", "agent", "queue", "priority"])
        route_item(item, deliver=True)
        publish_queue_change(item)
    return call, f"transferred to queue {queue}"


def _handle_ended(event: CallEvent, call: Call | None) -> tuple[Call | None, str]:
    if call is None:
        return None, "ended event for an unknown call"
    if call.status == Call.Status.ENDED:
        return None, "the call has ended already"
    return _end(call, event, reason=event.reason)


def _end(call: Call, event: CallEvent, *, reason: str) -> tuple[Call, str]:
    was = call.status
    answered = call.answered_at is not None
    _finish_call(call, at=event.at, reason=reason)
    if call.consult_for_id is None:
        for consult in (
            Call.objects.select_for_update()
            .filter(consult_for=call)
            .exclude(status=Call.Status.ENDED)
        ):
            _finish_call(consult, at=event.at, reason="customer hung up")
    return call, f"{'ended' if answered else 'abandoned'} while {was}"


def _finish_call(call: Call, *, at: datetime, reason: str, release_agent: bool = True) -> None:
    """End a call and what hangs on it: work item, interaction and (unless told not to) agent.

    After a conversation the agent goes to wrap-up; after an incoming call that only rang, the
    agent is ready again and gets the next waiting item.
    """
    was = call.status
    call_transition(call, Call.Status.ENDED, save=False)
    call.ended_at = max(at, call.offered_at)
    call.end_reason = reason[:200]
    rows: list[tuple[Model, list[str]]] = [(call, ["status", "ended_at", "end_reason"])]
    answered = call.answered_at is not None
    account_services.interaction_end(
        interaction=call.interaction,
        outcome=Interaction.Outcome.COMPLETED if answered else Interaction.Outcome.ABANDONED,
        ended_at=call.ended_at,
    )
    item = _item_of(call)
    if item is not None and item.is_live:
        item_transition(
            item, WorkItem.Status.DONE if answered else WorkItem.Status.CANCELLED, save=False
        )
        item.finished_at = call.ended_at
        rows.append((item, ["status", "finished_at"]))
        publish_queue_change(item)
    if call.agent_id is None or not release_agent:
        rows_save(updates=rows)
        return
    agent = _locked_agent(call.agent_id)
    conversation = was in {Call.Status.TALKING, Call.Status.HELD}
    if (conversation or call.direction != Call.Direction.INBOUND) and agent.state in {
        Agent.State.TALKING,
        Agent.State.RINGING,
    }:
        still_busy = (
            Call.objects.filter(agent=agent, status__in=LIVE_AGENT_CALL)
            .exclude(pk=call.pk)
            .exists()
        )
        if not still_busy:
            agent_transition(
                agent,
                Agent.State.WRAP_UP,
                at=call.ended_at,
                notify=False,
                wrap_up_seconds=wrap_up_seconds_for(item),
                save=False,
            )
    elif was == Call.Status.RINGING and agent.state == Agent.State.RINGING:
        # The ended item must be written before the agent is offered the next one: an agent
        # holds one voice item at a time (workitem_one_voice_item_per_agent).
        rows_save(updates=rows)
        rows = []
        agent.current_interaction = None
        agent_transition(
            agent, Agent.State.READY, notify=False, fields=["current_interaction"], save=False
        )
        dispatch_to_agent(agent)
    agent_state_save(agent, rows=rows)
    push.publish(kind="call.ended", id=call.pk, groups=[agent.group_name])


_HANDLERS: dict[str, Callable[[CallEvent, Call | None], tuple[Call | None, str]]] = {
    "offered": _handle_offered,
    "ringing": _handle_ringing,
    "not_answered": _handle_not_answered,
    "answered": _handle_answered,
    "held": _handle_held,
    "retrieved": _handle_retrieved,
    "transferred": _handle_transferred,
    "ended": _handle_ended,
}


def call_ring_timeout(*, now: datetime | None = None) -> int:
    """Offers that rang too long are withdrawn as "no answer"; the PBX is told to stop ringing."""
    now = now or timezone.now()
    stale = []
    offered = WorkItem.objects.filter(
        status=WorkItem.Status.OFFERED, channel__in=WorkItem.VOICE
    ).select_related("queue", "call", "agent")
    for item in offered:
        ring = item.queue.ring_timeout_seconds if item.queue else DEFAULT_RING_SECONDS
        if item.channel == WorkItem.Channel.CALLBACK:
            ring *= 3  # a callback is a preview: the agent reads before dialling
        if (
            item.offered_at
            and item.offered_at + timedelta(seconds=ring) + RING_TIMEOUT_GRACE <= now
        ):
            stale.append(item)
    for item in stale:
        if item.call is not None and item.agent is not None:
            extension, call_id = item.agent.extension, item.call.call_id
            call_event_handle(
                event=CallEvent(
                    kind="not_answered", call_id=call_id, agent=extension, reason="timeout"
                )
            )
            _best_effort(functools.partial(_reject, call_id=call_id, extension=extension))
        elif item.agent is not None:
            with transaction.atomic():
                locked = (
                    WorkItem.objects.select_for_update()
                    .filter(pk=item.pk, status=WorkItem.Status.OFFERED)
                    .first()
                )
                if locked is not None and locked.agent_id is not None:
                    agent = _locked_agent(locked.agent_id)
                    item_requeue_after_no_answer(locked, agent, reason="timeout")
                    route_item(locked, deliver=False)
    return len(stale)


# -- the routing hop a PBX asks for ---------------------------------------------------------


@dataclass(frozen=True)
class RouteDecision:
    """What the PBX should do with a call now: ring an extension, keep it waiting, or close."""

    action: str  # "ring" | "wait" | "closed"
    call: Call
    extension: str = ""
    announcement: str = ""
    position: int = 0
    media: str = ""  # the queue's own spoken file (telephony.announcements), "" for generic


def call_route(*, call_id: str, ani: str, dnis: str, at: datetime | None = None) -> RouteDecision:
    """Answer the PBX's question "which extension rings for this call?"; idempotent per call.

    The first question creates the call and its work item (as an `offered` event would); later
    questions for the same call return where it stands: the agent now ringing, or its place
    in the queue.
    """
    call = Call.objects.select_related("agent", "work_item__queue").filter(call_id=call_id).first()
    if call is None:
        event = CallEvent(kind="offered", call_id=call_id, ani=ani, dnis=dnis)
        if at is not None:
            event = CallEvent(kind="offered", call_id=call_id, ani=ani, dnis=dnis, at=at)
        call = _event_apply(event, call_is_new=True)
        if call is None:  # pragma: no cover - offered on a new call id always creates it
            raise DomainError(_("The call could not be recorded."))
    return _decision(call)


def _decision(call: Call) -> RouteDecision:
    """Where the call stands: ringing at an extension, waiting at a position, or closed."""
    # Read from the call as its event just left it, or as call_route read it with its agent
    # and work item: only the queue position costs a query.
    item = _work_item_of(call)
    queue = item.queue if item is not None else None
    if call.status == Call.Status.ENDED:
        text = queue.closed_announcement if queue is not None else ""
        media = announcements.queue_media(queue=queue, kind=announcements.CLOSED)
        return RouteDecision(action="closed", call=call, announcement=text, media=media)
    ringing_or_connected = {Call.Status.RINGING, Call.Status.TALKING, Call.Status.HELD}
    if call.status in ringing_or_connected and call.agent is not None:
        return RouteDecision(action="ring", call=call, extension=call.agent.extension)
    position = routing.queue_position(item=item) if item is not None else 0
    text = queue.busy_announcement if queue is not None else ""
    media = announcements.queue_media(queue=queue, kind=announcements.BUSY, position=position)
    return RouteDecision(
        action="wait", call=call, announcement=text, position=position, media=media
    )


def _work_item_of(call: Call) -> WorkItem | None:
    """The call's work item with its queue: the one in memory if the call holds it."""
    if not WorkItem.call.field.remote_field.is_cached(call):
        return WorkItem.objects.filter(call=call).select_related("queue").first()
    try:
        return call.work_item
    except WorkItem.DoesNotExist:
        return None


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


def call_reject(*, agent: Agent, call_pk: int) -> Call:
    """The agent declines the ringing call; it goes to the next agent, the agent to not ready."""
    call = _live_call_of(agent, call_pk)
    if call.status != Call.Status.RINGING or call.direction != Call.Direction.INBOUND:
        raise DomainError(_("Only a ringing incoming call can be rejected."))
    _adapter_command(lambda a: a.reject(call_id=call.call_id, extension=agent.extension))
    call.refresh_from_db()
    return call


def call_hangup(*, agent: Agent, call_pk: int) -> Call:
    """The agent ends the call for everyone."""
    call = _live_call_of(agent, call_pk)
    if call.status not in {Call.Status.TALKING, Call.Status.HELD} and not (
        call.direction == Call.Direction.OUTBOUND and call.status == Call.Status.RINGING
    ):
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
    if call.consultations.exclude(status=Call.Status.ENDED).exists():
        raise DomainError(_("End or complete the consultation first."))
    _adapter_command(lambda a: a.retrieve(call_id=call.call_id))
    call.refresh_from_db()
    return call


def _transfer_target(*, agent: Agent, target_agent: Agent | None, queue: Queue | None) -> str:
    if (target_agent is None) == (queue is None):
        raise DomainError(_("Choose one agent or one queue to transfer to."))
    if target_agent is not None:
        if target_agent.pk == agent.pk:
            raise DomainError(_("You cannot transfer a call to yourself."))
        if target_agent.state != Agent.State.READY:
            raise DomainError(
                _("%(agent)s is not ready (%(state)s).")
                % {"agent": target_agent, "state": target_agent.get_state_display()}
            )
        return target_agent.extension
    assert queue is not None
    if not queue.number:
        raise DomainError(_("The queue %(queue)s has no number to transfer to.") % {"queue": queue})
    return queue.number


def call_transfer_blind(
    *, agent: Agent, call_pk: int, target_agent: Agent | None = None, queue: Queue | None = None
) -> Call:
    """Hand the customer to a ready colleague or a queue at once."""
    call = _live_call_of(agent, call_pk)
    if call.status not in {Call.Status.TALKING, Call.Status.HELD}:
        raise DomainError(_("Only a call in progress can be transferred."))
    target = _transfer_target(agent=agent, target_agent=target_agent, queue=queue)
    _adapter_command(lambda a: a.transfer_blind(call_id=call.call_id, target=target))
    call.refresh_from_db()
    return call


def call_consult_start(*, agent: Agent, call_pk: int, target_agent: Agent) -> Call:
    """Hold the customer and call a ready colleague to talk before handing the call over."""
    call = _live_call_of(agent, call_pk)
    if call.status not in {Call.Status.TALKING, Call.Status.HELD}:
        raise DomainError(_("Only a call in progress can be consulted on."))
    if call.consultations.exclude(status=Call.Status.ENDED).exists():
        raise DomainError(_("A consultation is already running for this call."))
    target = _transfer_target(agent=agent, target_agent=target_agent, queue=None)
    adapter = get_adapter()
    try:
        consult_id = adapter.consult_start(
            call_id=call.call_id, extension=agent.extension, target=target
        )
    except CtiError as exc:
        raise DomainError(
            _("The phone system refused: %(reason)s") % {"reason": exc.message}
        ) from exc
    with transaction.atomic():
        consult = Call.objects.filter(call_id=consult_id).first()
        if consult is None:
            consult = _internal_call_create(call, agent, target_agent, consult_id)
    return consult


def _internal_call_create(call: Call, agent: Agent, target: Agent, consult_id: str) -> Call:
    now = timezone.now()
    interaction = account_services.interaction_start(
        channel=Interaction.Channel.PHONE,
        direction=Interaction.Direction.OUTBOUND,
        started_at=now,
        account=call.interaction.account,
        address=target.extension,
    )
    consult = Call.objects.create(
        call_id=consult_id,
        direction=Call.Direction.INTERNAL,
        ani=agent.extension,
        dnis=target.extension,
        queue=call.queue,
        status=Call.Status.RINGING,
        agent=target,
        interaction=interaction,
        offered_at=now,
        consult_for=call,
    )
    locked = _locked_agent(target.pk)
    agent_transition(locked, Agent.State.RINGING, reason="consultation", notify=False)
    locked.current_interaction = call.interaction
    locked.save(update_fields=["current_interaction"])
    push.publish(kind="call.offered", id=consult.pk, groups=[locked.group_name])
    return consult


def call_consult_complete(*, agent: Agent, call_pk: int) -> Call:
    """Connect the held customer with the consulted colleague; the agent goes to wrap-up."""
    call = _live_call_of(agent, call_pk)
    consult = call.consultations.exclude(status=Call.Status.ENDED).first()
    if consult is None:
        raise DomainError(_("There is no consultation to complete."))
    _adapter_command(
        lambda a: a.consult_complete(call_id=call.call_id, consult_call_id=consult.call_id)
    )
    call.refresh_from_db()
    return call


def call_consult_cancel(*, agent: Agent, call_pk: int) -> Call:
    """End the consultation and take the customer back."""
    call = _live_call_of(agent, call_pk)
    consult = call.consultations.exclude(status=Call.Status.ENDED).first()
    if consult is None:
        raise DomainError(_("There is no consultation to end."))
    _adapter_command(
        lambda a: a.consult_cancel(call_id=call.call_id, consult_call_id=consult.call_id)
    )
    call.refresh_from_db()
    return call


def call_originate(*, agent: Agent, number: str, work_item: WorkItem | None = None) -> Call:
    """Click-to-dial: the agent's phone rings, then the PBX dials the customer.

    A callback work item offered to the agent is taken with it and linked to the call.
    """
    parsed = phone_parse(number)
    if not parsed.e164 and not _is_extension(number.strip()):
        raise DomainError(_("“%(number)s” is not a phone number.") % {"number": number})
    dial = parsed.e164 or number.strip()
    fresh = Agent.objects.get(pk=agent.pk)
    busy_states = {Agent.State.TALKING, Agent.State.LOGGED_OUT}
    if fresh.state in busy_states or (fresh.state == Agent.State.RINGING and work_item is None):
        raise DomainError(_("You can dial out only when no call is ringing or running."))
    # The call is recorded (and committed) before the PBX is asked, so that the PBX's first
    # events — the agent's phone dialling out, the customer answering — always find it.
    with transaction.atomic():
        call = _outbound_call_create(
            _locked_agent(agent.pk),
            dial,
            call_id=f"pending-{uuid.uuid4().hex}",
            at=timezone.now(),
            item=work_item,
            from_desk=True,
        )
    try:
        with transaction.atomic():
            locked = Call.objects.select_for_update().get(pk=call.pk)
            pbx_id = get_adapter().originate(extension=agent.extension, number=dial)
            if locked.call_id.startswith("pending-") and pbx_id:
                locked.call_id = pbx_id
                locked.save(update_fields=["call_id"])
    except CtiError as exc:
        logger.error("PBX refused to dial %s for %s: %s", dial, agent.extension, exc.message)
        call_event_handle(
            event=CallEvent(kind="ended", call_id=call.call_id, reason="phone system refused")
        )
        raise DomainError(
            _("The phone system refused: %(reason)s") % {"reason": exc.message}
        ) from exc
    call.refresh_from_db()
    return call


def _outbound_call_create(
    agent: Agent,
    number: str,
    *,
    call_id: str,
    at: datetime,
    item: WorkItem | None = None,
    from_desk: bool = False,
) -> Call:
    parsed = phone_parse(number)
    identification = account_selectors.account_list_by_phone(raw=number)
    if item is not None:
        item = WorkItem.objects.select_for_update().get(pk=item.pk)
        if item.agent_id != agent.pk or item.status != WorkItem.Status.OFFERED:
            raise DomainError(_("This callback is no longer offered to you."))
    interaction = (item.interaction if item is not None else None) or (
        account_services.interaction_start(
            channel=Interaction.Channel.PHONE,
            direction=Interaction.Direction.OUTBOUND,
            started_at=at,
            account=(item.account if item is not None else None) or identification.account,
            address=parsed.e164 or number,
            agent=agent.user,
        )
    )
    call = Call.objects.create(
        call_id=call_id,
        direction=Call.Direction.OUTBOUND,
        ani=agent.extension,
        dnis=number,
        ani_e164=parsed.e164,
        status=Call.Status.RINGING,
        agent=agent,
        interaction=interaction,
        offered_at=at,
    )
    if item is not None:
        item.call = call
        item_transition(item, WorkItem.Status.ACCEPTED)
        item.accepted_at = at
        item.save(update_fields=["call", "accepted_at"])
    else:
        WorkItem.objects.create(
            channel=WorkItem.Channel.CALL,
            status=WorkItem.Status.ACCEPTED,
            agent=agent,
            call=call,
            interaction=interaction,
            account=interaction.account,
            enqueued_at=at,
            offered_at=at,
            accepted_at=at,
        )
    if agent.state != Agent.State.RINGING:
        agent_transition(agent, Agent.State.RINGING, reason="outbound", notify=False)
    agent.current_interaction = interaction
    agent.save(update_fields=["current_interaction"])
    # Dialled from the desk, the workspace stays on what the agent dialled from (a call list's
    # customer, a ticket); dialled on the phone, the desk pops the account like for a call in.
    kind: push.DeskEventKind = "call.dialled" if from_desk else "call.offered"
    push.publish(kind=kind, id=call.pk, groups=[agent.group_name])
    return call


def _adapter_command(command: Callable[[CtiAdapter], Any]) -> Any:
    try:
        return command(get_adapter())
    except CtiError as exc:
        logger.error("PBX refused a command: %s", exc.message)
        raise DomainError(
            _("The phone system refused: %(reason)s") % {"reason": exc.message}
        ) from exc


def _reject(adapter: CtiAdapter, *, call_id: str, extension: str) -> None:
    adapter.reject(call_id=call_id, extension=extension)


def _best_effort(command: Callable[[CtiAdapter], Any]) -> None:
    try:
        command(get_adapter())
    except CtiError as exc:
        logger.warning("PBX command failed (state already recorded): %s", exc.message)
