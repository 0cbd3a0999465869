"""The universal queue: work items for every channel, offered to agents by the ACD."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Model
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts import services as account_services
from accounts.models import Account, Interaction
from accounts.phone import phone_parse
from icenter.desk import push
from icenter.errors import DomainError
from icenter.workflow import transition_check
from telephony import routing
from telephony.cti.base import CtiError, get_adapter
from telephony.models import Agent, AgentGroup, Call, Queue, WorkItem, WrapUpCode
from telephony.services.agents import agent_state_save, agent_transition

logger = logging.getLogger(__name__)

DEFAULT_RING_SECONDS = 20
DEFAULT_WRAP_UP_SECONDS = 30
DEFAULT_VIP_WAIT_SECONDS = 30
# The PBX's own no-answer timer should fire first; the tick is the safety net.
RING_TIMEOUT_GRACE = timedelta(seconds=5)


def item_transition(item: WorkItem, status: str, *, save: bool = True) -> None:
    transition_check(
        transitions=WorkItem.TRANSITIONS,
        choices=WorkItem.Status,
        old=item.status,
        new=status,
        message=_("A work item cannot go from “%(old)s” to “%(new)s”."),
    )
    item.status = status
    if save:
        item.save(update_fields=["status"])


def wrap_up_seconds_for(item: WorkItem | None) -> int:
    if item is not None and item.queue is not None:
        return item.queue.wrap_up_seconds
    return DEFAULT_WRAP_UP_SECONDS


def work_item_create(
    *,
    channel: str,
    queue: Queue | None = None,
    account: Account | None = None,
    interaction: Interaction | None = None,
    call: Call | None = None,
    preferred_agent: Agent | None = None,
    preferred_until: datetime | None = None,
    agent_group: AgentGroup | None = None,
    subject: str = "",
    number: str = "",
    not_before: datetime | None = None,
    not_after: datetime | None = None,
    created_by: Any = None,
    priority: int | None = None,
    route: bool = True,
) -> WorkItem:
    """Put a piece of work into the universal queue and offer it at once if someone can take it.

    A callback needs a valid phone number; `not_before` keeps it waiting until it is due.
    """
    if channel not in WorkItem.Channel.values:
        raise DomainError(_("Unknown channel “%(channel)s”.") % {"channel": channel})
    if channel == WorkItem.Channel.CALLBACK:
        parsed = phone_parse(number)
        if not parsed.e164:
            raise DomainError(_("A callback needs a valid phone number."))
        number = parsed.e164
    if not_before and not_after and not_after <= not_before:
        raise DomainError(_("The callback window ends before it starts."))
    with transaction.atomic():
        item = WorkItem.objects.create(
            channel=channel,
            queue=queue,
            account=account,
            interaction=interaction,
            call=call,
            preferred_agent=preferred_agent,
            preferred_until=preferred_until,
            agent_group=agent_group,
            subject=subject[:200],
            number=number,
            not_before=not_before,
            not_after=not_after,
            created_by=created_by,
            priority=priority if priority is not None else (queue.priority if queue else 5),
        )
        if route and (not_before is None or not_before <= timezone.now()):
            route_item(item, deliver=False)
        publish_queue_change(item)
    return item


def publish_queue_change(item: WorkItem) -> None:
    push.publish(kind="work_item.updated", id=item.pk, groups=[push.SUPERVISORS])


def route_item(item: WorkItem, *, deliver: bool) -> Agent | None:
    """Offer a waiting item to the best agent, if any; call inside a transaction.

    `deliver` asks the PBX to ring the agent's phone: needed when the call was already
    waiting at the PBX, not when the PBX is asking which extension to ring right now.
    """
    if item.status != WorkItem.Status.QUEUED:
        return None
    agent = routing.agent_pick_for_item(item=item)
    if agent is None:
        return None
    offer_item(item, agent, deliver=deliver)
    return agent


def offer_item(item: WorkItem, agent: Agent, *, deliver: bool) -> None:
    """Give the item to the (locked) agent: their phone rings or the item appears on their desk.

    The rows it changes (item, call, interaction, agent and its state history) are written
    together at the end: one round trip on PostgreSQL.
    """
    now = timezone.now()
    item_transition(item, WorkItem.Status.OFFERED, save=False)
    item.agent = agent
    item.offered_at = now
    rows: list[tuple[Model, list[str]]] = [(item, ["status", "agent", "offered_at"])]
    call = item.call
    if call is not None:
        from telephony.services.calls import call_transition

        call_transition(call, Call.Status.RINGING, save=False)
        call.agent = agent
        rows.append((call, ["status", "agent"]))
        # The caller's copy of the interaction, if it holds one, stays true.
        cached = Call.interaction.field.is_cached(call)
        interaction = call.interaction if cached else Interaction(pk=call.interaction_id)
        interaction.agent_id = agent.user_id
        rows.append((interaction, ["agent"]))
        agent.current_interaction_id = call.interaction_id
        agent_transition(
            agent,
            Agent.State.RINGING,
            reason=call.queue,
            notify=False,
            fields=["current_interaction"],
            save=False,
        )
        push.publish(kind="call.offered", id=call.pk, groups=[agent.group_name])
        if deliver:
            call_id, extension = call.call_id, agent.extension

            def ring() -> None:
                try:
                    get_adapter().deliver(call_id=call_id, extension=extension)
                except CtiError as exc:
                    logger.error("PBX could not ring %s for call %s: %s", extension, call_id, exc)

            transaction.on_commit(ring)
    elif item.channel == WorkItem.Channel.CALLBACK:
        if item.interaction_id is None:
            item.interaction = account_services.interaction_start(
                channel=Interaction.Channel.CALLBACK,
                direction=Interaction.Direction.OUTBOUND,
                started_at=now,
                account=item.account,
                address=item.number,
            )
            rows[0][1].append("interaction")
        agent.current_interaction_id = item.interaction_id
        agent_transition(
            agent,
            Agent.State.RINGING,
            reason="callback",
            notify=False,
            fields=["current_interaction"],
            save=False,
        )
        push.publish(kind="work_item.offered", id=item.pk, groups=[agent.group_name])
    else:
        push.publish(kind="work_item.offered", id=item.pk, groups=[agent.group_name])
    agent_state_save(agent, rows=rows)
    publish_queue_change(item)


def dispatch_to_agent(agent: Agent, *, at: datetime | None = None) -> WorkItem | None:
    """Give a ready (locked) agent the best waiting voice item, if any."""
    if agent.state != Agent.State.READY:
        return None
    item = routing.item_pick_for_agent(agent=agent, at=at)
    if item is None:
        return None
    offer_item(item, agent, deliver=True)
    return item


def item_requeue_after_no_answer(item: WorkItem, agent: Agent, *, reason: str) -> None:
    """The agent let the item ring or rejected it: they become not ready, the item goes on."""
    item.declined_by.add(agent)
    item_transition(item, WorkItem.Status.QUEUED)
    item.agent = None
    item.offered_at = None
    item.save(update_fields=["agent", "offered_at"])
    code = "rejected" if reason == "rejected" else "no_answer"
    if agent.state == Agent.State.RINGING:
        agent_transition(agent, Agent.State.NOT_READY, reason=code, notify=False)
        agent.current_interaction = None
        agent.save(update_fields=["current_interaction"])
    push.publish(kind="call.ended", id=item.call_id or item.pk, groups=[agent.group_name])


def work_item_reject(*, agent: Agent, item_pk: int) -> WorkItem:
    """The agent declines an offered callback or message; it goes to the next agent."""
    with transaction.atomic():
        item = (
            WorkItem.objects.select_for_update()
            .filter(pk=item_pk, agent=agent, status=WorkItem.Status.OFFERED, call__isnull=True)
            .first()
        )
        if item is None:
            raise DomainError(_("This work item is no longer offered to you."))
        locked = Agent.objects.select_for_update().get(pk=agent.pk)
        item_requeue_after_no_answer(item, locked, reason="rejected")
        route_item(item, deliver=True)
        publish_queue_change(item)
    return item


def work_item_accept(*, agent: Agent, item_pk: int) -> WorkItem:
    """The agent takes an offered email or chat (calls are accepted by answering)."""
    with transaction.atomic():
        item = (
            WorkItem.objects.select_for_update()
            .filter(pk=item_pk, agent=agent, status=WorkItem.Status.OFFERED, call__isnull=True)
            .first()
        )
        if item is None:
            raise DomainError(_("This work item is no longer offered to you."))
        if item.channel == WorkItem.Channel.CALLBACK:
            raise DomainError(_("Start the callback with “Call now”."))
        item_transition(item, WorkItem.Status.ACCEPTED)
        item.accepted_at = timezone.now()
        item.save(update_fields=["accepted_at"])
        push.publish(kind="work_item.updated", id=item.pk, groups=[agent.group_name])
        publish_queue_change(item)
    return item


def work_item_finish(*, agent: Agent, item_pk: int, wrap_up_code: str = "") -> WorkItem:
    """The agent is done with an email or chat."""
    with transaction.atomic():
        item = (
            WorkItem.objects.select_for_update()
            .filter(pk=item_pk, agent=agent, status=WorkItem.Status.ACCEPTED)
            .first()
        )
        if item is None:
            raise DomainError(_("This work item is not in your work."))
        if item.channel in WorkItem.VOICE:
            raise DomainError(_("Calls end by hanging up."))
        item_transition(item, WorkItem.Status.DONE)
        item.finished_at = timezone.now()
        item.wrap_up_code = _wrap_up_code(wrap_up_code) if wrap_up_code else None
        item.save(update_fields=["finished_at", "wrap_up_code"])
        publish_queue_change(item)
    return item


def _wrap_up_code(code: str) -> WrapUpCode:
    found = WrapUpCode.objects.filter(code=code, is_active=True).first()
    if found is None:
        raise DomainError(_("Unknown wrap-up code “%(code)s”.") % {"code": code})
    return found


def work_item_set_wrap_up_code(*, agent: Agent, item_pk: int, code: str) -> WorkItem:
    """Record the result of the agent's last contact (during or after wrap-up)."""
    with transaction.atomic():
        item = WorkItem.objects.select_for_update().filter(pk=item_pk, agent=agent).first()
        if item is None:
            raise DomainError(_("This work item is not yours."))
        item.wrap_up_code = _wrap_up_code(code)
        item.save(update_fields=["wrap_up_code"])
        push.publish(kind="work_item.updated", id=item.pk, groups=[agent.group_name])
    return item


def callback_schedule(
    *,
    number: str,
    reason: str,
    not_before: datetime,
    not_after: datetime | None = None,
    account: Account | None = None,
    agent: Agent | None = None,
    agent_group: AgentGroup | None = None,
    queue: Queue | None = None,
    created_by: Any = None,
) -> WorkItem:
    """Schedule a callback; at its time it is offered to the agent (or their group) like a call."""
    if not_before < timezone.now() - timedelta(minutes=1):
        raise DomainError(_("A callback cannot be scheduled in the past."))
    return work_item_create(
        channel=WorkItem.Channel.CALLBACK,
        number=number,
        subject=reason,
        not_before=not_before,
        not_after=not_after,
        account=account,
        preferred_agent=agent,
        preferred_until=not_after,
        agent_group=agent_group,
        queue=queue,
        created_by=created_by,
    )


# -- the ACD tick ---------------------------------------------------------------------------


def acd_tick(*, now: datetime | None = None) -> dict[str, int]:
    """Timers of the ACD, run every second or two (Celery beat, or a thread in `make run`).

    Ends wrap-up, moves waiting items to overflow queues, withdraws offers nobody answered,
    and hands waiting items (due callbacks, ended VIP reservations) to ready agents.
    """
    from telephony.services.agents import agent_wrap_up_expire
    from telephony.services.calls import call_ring_timeout

    now = now or timezone.now()
    figures = {"wrap_up_ended": agent_wrap_up_expire(now=now)}
    figures["overflowed"] = _overflow(now)
    figures["ring_timeouts"] = call_ring_timeout(now=now)
    figures["dispatched"] = _dispatch_ready_agents(now)
    figures["messages_routed"] = _route_waiting_messages()
    return figures


def _overflow(now: datetime) -> int:
    moved = 0
    for queue in Queue.objects.filter(
        overflow_queue__isnull=False, overflow_after_seconds__isnull=False
    ).select_related("overflow_queue"):
        assert queue.overflow_after_seconds is not None and queue.overflow_queue is not None
        limit = now - timedelta(seconds=queue.overflow_after_seconds)
        with transaction.atomic():
            items = WorkItem.objects.filter(
                queue=queue, status=WorkItem.Status.QUEUED, enqueued_at__lte=limit
            )
            call_ids = list(items.exclude(call=None).values_list("call_id", flat=True))
            count = items.update(queue=queue.overflow_queue, priority=queue.overflow_queue.priority)
            Call.objects.filter(pk__in=call_ids).update(queue=queue.overflow_queue.name)
            if count:
                logger.info("%d items overflowed from %s to %s", count, queue, queue.overflow_queue)
                push.publish(kind="work_item.updated", id=queue.pk, groups=[push.SUPERVISORS])
            moved += count
    return moved


def _dispatch_ready_agents(now: datetime) -> int:
    given = 0
    ready = list(
        Agent.objects.filter(state=Agent.State.READY)
        .order_by("state_since", "id")
        .values_list("pk", flat=True)
    )
    if (
        not ready
        or not WorkItem.objects.filter(
            status=WorkItem.Status.QUEUED, channel__in=WorkItem.VOICE
        ).exists()
    ):
        return 0
    for agent_id in ready:
        with transaction.atomic():
            free = Agent.objects.filter(pk=agent_id).exclude(routing.line_is_held())
            agent = routing.locked(free).first()
            if agent is not None and dispatch_to_agent(agent, at=now) is not None:
                given += 1
    return given


def _route_waiting_messages(batch: int = 50) -> int:
    routed = 0
    waiting = list(
        WorkItem.objects.filter(
            status=WorkItem.Status.QUEUED,
            channel__in=[WorkItem.Channel.EMAIL, WorkItem.Channel.CHAT],
        )
        .order_by("-priority", "enqueued_at")
        .values_list("pk", flat=True)[:batch]
    )
    for item_id in waiting:
        with transaction.atomic():
            item = routing.locked(WorkItem.objects.filter(pk=item_id)).first()
            if item is not None and route_item(item, deliver=False) is not None:
                routed += 1
    return routed
