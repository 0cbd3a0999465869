"""ACD: which queue a contact joins, which agent gets a work item, which item an agent gets next.

Every pick runs inside the caller's transaction and locks what it returns with
`SELECT … FOR UPDATE SKIP LOCKED` (PostgreSQL): two routing workers never pick
the same agent or the same work item; a row another worker holds is skipped, not
waited for. SQLite serialises writers, so plain selects are enough there.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from django.db import connection
from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet
from django.utils import timezone

from accounts.models import Account
from telephony.models import (
    Agent,
    AgentSkill,
    Call,
    OpeningHours,
    Queue,
    QueueSkill,
    WorkItem,
)

M = TypeVar("M", Agent, Call, WorkItem)


def locked(queryset: QuerySet[M]) -> QuerySet[M]:
    if connection.features.has_select_for_update_skip_locked:
        return queryset.select_for_update(skip_locked=True, of=("self",))
    return queryset


# -- queues ---------------------------------------------------------------------------------


def queue_for_contact(*, dnis: str, account: Account | None) -> Queue | None:
    """The caller's customer group's queue if there is one, else the queue of the dialled number."""
    if account is not None and account.customer_group_id is not None:
        grouped = (
            Queue.objects.filter(is_active=True, customer_groups=account.customer_group_id)
            .order_by("-priority", "id")
            .first()
        )
        if grouped is not None:
            return grouped
    if not dnis:
        return None
    return Queue.objects.filter(is_active=True, number=dnis).first()


def queue_is_open(*, queue: Queue, at: datetime | None = None) -> bool:
    """A queue without opening hours is always open; otherwise `at` must fall into a period."""
    local = timezone.localtime(at or timezone.now())
    hours = list(OpeningHours.objects.filter(queue=queue).values_list("weekday", "opens", "closes"))
    if not hours:
        return True
    now = local.time()
    return any(day == local.weekday() and opens <= now < closes for day, opens, closes in hours)


@dataclass(frozen=True)
class QueueRequirements:
    skills: tuple[tuple[int, int], ...]  # (skill id, minimum level)
    group_ids: tuple[int, ...]


def queue_requirements(*, queue: Queue | None) -> QueueRequirements:
    if queue is None:
        return QueueRequirements(skills=(), group_ids=())
    return QueueRequirements(
        skills=tuple(queue.required_skills.values_list("skill_id", "min_level")),
        group_ids=tuple(queue.agent_groups.values_list("id", flat=True)),
    )


def queue_ids_for_agent(*, agent: Agent) -> list[int]:
    """Queues this agent is qualified for: member of a serving group and every skill high enough.

    One query: it runs in every routing decision for a ready agent.
    """
    skill_missing = QueueSkill.objects.filter(queue=OuterRef("pk")).exclude(
        Exists(
            AgentSkill.objects.filter(
                agent=agent, skill=OuterRef("skill"), level__gte=OuterRef("min_level")
            )
        )
    )
    serving = Queue.agent_groups.through.objects.filter(queue_id=OuterRef("pk"))
    return list(
        Queue.objects.filter(is_active=True)
        .exclude(Exists(skill_missing))
        .filter(~Exists(serving) | Exists(serving.filter(agentgroup__members=agent)))
        .values_list("pk", flat=True)
    )


# -- agent for a work item ------------------------------------------------------------------


CAPACITY_FIELDS: dict[str, str] = {
    WorkItem.Channel.EMAIL: "capacity_email",
    WorkItem.Channel.CHAT: "capacity_chat",
}


def agent_pick_for_item(*, item: WorkItem, at: datetime | None = None) -> Agent | None:
    """The agent who should get this item now, locked; None when nobody qualifies.

    Voice (call, callback): a ready agent — the preferred agent while the item is reserved for
    them, otherwise the longest-idle qualified one. Email and chat: a logged-in agent who is not
    "not ready" with free capacity for the channel, least busy first, then longest idle.
    Agents who already let this item ring are tried last.
    """
    now = at or timezone.now()
    reserved = item.preferred_agent_id is not None and (
        item.preferred_until is None or item.preferred_until > now
    )
    if item.channel in WorkItem.VOICE:
        candidates = Agent.objects.filter(state=Agent.State.READY)
    else:
        candidates = Agent.objects.filter(
            state__in=[
                Agent.State.READY,
                Agent.State.RINGING,
                Agent.State.TALKING,
                Agent.State.WRAP_UP,
            ]
        )
    if reserved:
        # The personal agent gets it without skill checks; others wait until the reservation ends.
        candidates = candidates.filter(pk=item.preferred_agent_id or 0)
    else:
        requirements = queue_requirements(queue=item.queue)
        for skill_id, min_level in requirements.skills:
            candidates = candidates.filter(
                Exists(
                    AgentSkill.objects.filter(
                        agent=OuterRef("pk"), skill_id=skill_id, level__gte=min_level
                    )
                )
            )
        if requirements.group_ids:
            candidates = candidates.filter(
                Exists(
                    Agent.groups.through.objects.filter(
                        agent_id=OuterRef("pk"), agentgroup_id__in=requirements.group_ids
                    )
                )
            )
        if item.agent_group_id is not None:
            candidates = candidates.filter(
                Exists(
                    Agent.groups.through.objects.filter(
                        agent_id=OuterRef("pk"), agentgroup_id=item.agent_group_id
                    )
                )
            )
    declined = item.declined_by.through.objects.filter(workitem_id=item.pk, agent_id=OuterRef("pk"))
    if item.channel in WorkItem.VOICE:
        ordered = candidates.order_by(Exists(declined), "state_since", "id")
        return locked(ordered).first()
    busy = Count(
        "work_items",
        filter=Q(
            work_items__channel=item.channel,
            work_items__status__in=[WorkItem.Status.OFFERED, WorkItem.Status.ACCEPTED],
        ),
    )
    field = CAPACITY_FIELDS[item.channel]
    ids = list(
        candidates.annotate(busy=busy)
        .filter(busy__lt=F(field))
        .order_by(Exists(declined), "busy", "state_since", "id")
        .values_list("pk", flat=True)[:5]
    )
    for agent_id in ids:
        # The counts above were read without locks: another worker may have given this agent
        # an item (or the agent logged out) since. Check again under the agent's lock.
        agent = locked(candidates.filter(pk=agent_id)).first()
        if agent is not None and _busy_count(agent, item.channel) < getattr(agent, field):
            return agent
    return None


def _busy_count(agent: Agent, channel: str) -> int:
    return WorkItem.objects.filter(
        agent=agent,
        channel=channel,
        status__in=[WorkItem.Status.OFFERED, WorkItem.Status.ACCEPTED],
    ).count()


# -- next work item for an agent ------------------------------------------------------------


def item_pick_for_agent(*, agent: Agent, at: datetime | None = None) -> WorkItem | None:
    """The voice item a ready agent should take next, locked: highest priority, longest waiting.

    Items reserved for another agent, not yet due, or outside the agent's queues and groups are
    left for others; an item this agent let ring comes only when nobody else can take it.
    """
    now = at or timezone.now()
    queue_ids = queue_ids_for_agent(agent=agent)
    group_ids = Agent.groups.through.objects.filter(agent_id=agent.pk).values("agentgroup_id")
    declined = WorkItem.declined_by.through.objects.filter(
        workitem_id=OuterRef("pk"), agent_id=agent.pk
    )
    items = (
        WorkItem.objects.filter(status=WorkItem.Status.QUEUED, channel__in=WorkItem.VOICE)
        .filter(Q(not_before__isnull=True) | Q(not_before__lte=now))
        .filter(Q(queue__isnull=True) | Q(queue_id__in=queue_ids))
        .filter(Q(agent_group__isnull=True) | Q(agent_group_id__in=group_ids))
        .exclude(
            Q(preferred_agent__isnull=False)
            & ~Q(preferred_agent=agent)
            & (Q(preferred_until__isnull=True) | Q(preferred_until__gt=now))
        )
    )
    # The personal agent may take a reserved item even without the queue's skills.
    reserved_for_me = WorkItem.objects.filter(
        status=WorkItem.Status.QUEUED,
        channel__in=WorkItem.VOICE,
        preferred_agent=agent,
    ).filter(Q(preferred_until__isnull=True) | Q(preferred_until__gt=now))
    mine = _first_with_free_call(reserved_for_me.order_by("-priority", "enqueued_at", "id"))
    if mine is not None:
        return mine
    # Items this agent let ring come last: first look among the others (in index order, so
    # the first match ends the scan), then among the declined ones.
    order = ("-priority", "enqueued_at", "id")
    fresh = _first_with_free_call(items.exclude(Exists(declined)).order_by(*order))
    if fresh is not None:
        return fresh
    return _first_with_free_call(items.filter(Exists(declined)).order_by(*order))


def _first_with_free_call(ordered: QuerySet[WorkItem], attempts: int = 10) -> WorkItem | None:
    """The first item whose call, if it has one, is locked too, without waiting for either.

    A PBX event (a hang-up) locks the call first and then waits for its item; offering the item
    locks the item first and then updates the call. Waiting for the call here would deadlock,
    so an item whose call is busy is passed over: the event is about to change it anyway.
    """
    passed: list[int] = []
    for _ in range(attempts):
        item = locked(ordered.exclude(pk__in=passed)).first()
        if item is None or item.call_id is None:
            return item
        call = locked(Call.objects.filter(pk=item.call_id)).first()
        if call is not None:
            item.call = call
            return item
        passed.append(item.pk)
    return None


def queue_position(*, item: WorkItem) -> int:
    """1 for the next item to be served in the item's queue."""
    ahead = WorkItem.objects.filter(
        status=WorkItem.Status.QUEUED, queue=item.queue, channel=item.channel
    ).filter(
        Q(priority__gt=item.priority)
        | Q(priority=item.priority, enqueued_at__lt=item.enqueued_at)
        | Q(priority=item.priority, enqueued_at=item.enqueued_at, pk__lt=item.pk)
    )
    return ahead.count() + 1
