"""ACD: which queue a contact joins, which agent gets a work item, which item an agent gets next.

Every pick runs inside the caller's transaction and locks what it returns with
`SELECT … FOR UPDATE SKIP LOCKED` (PostgreSQL): two routing workers never pick
the same agent or the same work item; a row another worker holds is skipped, not
waited for. SQLite serialises writers, so plain selects are enough there.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

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
    for lookup in _contact_queue_lookups(dnis=dnis, account=account):
        queue = Queue.objects.filter(lookup, is_active=True).order_by("-priority", "id").first()
        if queue is not None:
            return queue
    return None


def queue_for_call(
    *, dnis: str, account: Account | None, at: datetime
) -> tuple[Queue | None, bool]:
    """The queue a new call joins (as `queue_for_contact`) and whether it is open at `at`.

    The opening hours (as `queue_is_open` reads them) come with the queue: no query of their own.
    """
    local = timezone.localtime(at)
    now = local.time()
    hours = OpeningHours.objects.filter(queue=OuterRef("pk"))
    open_now = hours.filter(weekday=local.weekday(), opens__lte=now, closes__gt=now)
    queues = Queue.objects.filter(is_active=True).annotate(
        has_hours=Exists(hours), open_now=Exists(open_now)
    )
    for lookup in _contact_queue_lookups(dnis=dnis, account=account):
        queue = queues.filter(lookup).order_by("-priority", "id").first()
        if queue is not None:
            return queue, not queue.has_hours or queue.open_now
    return None, True


def _contact_queue_lookups(*, dnis: str, account: Account | None) -> list[Q]:
    """Where a contact's queue is looked for, best first: its customer group's, the number's."""
    lookups = []
    if account is not None and account.customer_group_id is not None:
        lookups.append(Q(customer_groups=account.customer_group_id))
    if dnis:
        lookups.append(Q(number=dnis))  # unique among queues
    return lookups


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

    One query, the same condition the routing pick uses (`_QUALIFIED_QUEUES`).
    """
    with connection.cursor() as cursor:
        cursor.execute(_QUALIFIED_QUEUES.format(**_tables()), {"agent": agent.pk, "true": True})
        return [row[0] for row in cursor.fetchall()]


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
        return _voice_agent_pick(item=item, reserved=reserved)
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


def line_is_held() -> Q:
    """For an agent queryset: a voice item or a call holds the agent's phone line."""
    voice_items = WorkItem.objects.filter(
        agent=OuterRef("pk"),
        channel__in=WorkItem.VOICE,
        status__in=[WorkItem.Status.OFFERED, WorkItem.Status.ACCEPTED],
    )
    calls = Call.objects.filter(
        agent=OuterRef("pk"),
        status__in=[Call.Status.RINGING, Call.Status.TALKING, Call.Status.HELD],
    )
    return Q(Exists(voice_items)) | Q(Exists(calls))


# -- next work item for an agent ------------------------------------------------------------


def item_pick_for_agent(*, agent: Agent, at: datetime | None = None) -> WorkItem | None:
    """The voice item a ready agent should take next, locked, with its call locked too.

    Items reserved for this agent come first, even without the queue's skills; then the others
    by priority and waiting time. Items reserved for another agent, not yet due, or outside the
    agent's queues and groups are left for others; an item this agent let ring comes only when
    nobody else can take it.
    """
    now = at or timezone.now()
    passed: list[int] = []
    for _ in range(10):
        item, call = _voice_item_pick(agent_id=agent.pk, now=now, passed=passed)
        if item is None or item.call_id is None:
            return item
        if call is not None:
            item.call = call
            return item
        # A PBX event (a hang-up) locks the call first and then waits for its item; waiting for
        # the call here would deadlock, so an item whose call is busy is passed over: the event
        # is about to change it anyway. (Only on PostgreSQL: SQLite has no row locks.)
        passed.append(item.pk)
    return None


# -- the voice picks, one statement each ----------------------------------------------------
#
# Every routing decision runs one of these, so each is a single round trip from a SQL text built
# once per process (the ORM would rebuild and compile a dozen subqueries per decision). A
# statement lists its branches in order of preference — for an agent: reserved for them,
# everything else, what they let ring — joined by UNION ALL under LIMIT 1: the database runs a
# branch only while the earlier ones found nothing, so only the returned row is locked. Each
# branch walks its index in serving order and skips rows another worker holds (SKIP LOCKED on
# PostgreSQL; SQLite serialises writers). Table and column names come from the models; every
# value is a query parameter.

_QUALIFIED_QUEUES = """
    SELECT q.id FROM {queue} q
    WHERE q.is_active = %(true)s
      AND NOT EXISTS (
        SELECT 1 FROM {queueskill} qs
        WHERE qs.queue_id = q.id AND NOT EXISTS (
          SELECT 1 FROM {agentskill} s
          WHERE s.agent_id = %(agent)s AND s.skill_id = qs.skill_id AND s.level >= qs.min_level))
      AND (NOT EXISTS (SELECT 1 FROM {serving} g WHERE g.queue_id = q.id)
           OR EXISTS (SELECT 1 FROM {serving} g
                      JOIN {members} m ON m.agentgroup_id = g.agentgroup_id
                      WHERE g.queue_id = q.id AND m.agent_id = %(agent)s))
"""

_OPEN_TO_AGENT = """
    NOT (w.preferred_agent_id IS NOT NULL AND w.preferred_agent_id <> %(agent)s
         AND (w.preferred_until IS NULL OR w.preferred_until > %(now)s))
    AND (w.queue_id IS NULL OR w.queue_id IN ({qualified_queues}))
    AND (w.agent_group_id IS NULL
         OR w.agent_group_id IN (
           SELECT m.agentgroup_id FROM {members} m WHERE m.agent_id = %(agent)s))
"""

_DECLINED_BY_AGENT = """
    EXISTS (SELECT 1 FROM {declined} d WHERE d.workitem_id = w.id AND d.agent_id = %(agent)s)
"""

_ITEM_BRANCH = """
    SELECT {columns} FROM {workitem} w
    WHERE w.status = %(queued)s AND w.channel IN (%(call)s, %(callback)s)
      AND (w.not_before IS NULL OR w.not_before <= %(now)s)
      {passed}
      AND {condition}
    ORDER BY w.priority DESC, w.enqueued_at, w.id
    LIMIT 1 {lock}
"""

_ITEM_WITH_CALL = """
    WITH picked AS ({picked}),
    free_call AS (
      SELECT {call_select} FROM {call_table} c JOIN picked ON c.id = picked.call_id {call_lock}
    )
    SELECT {item_columns}, {call_columns}
    FROM picked LEFT JOIN free_call ON free_call.id = picked.call_id
"""

_QUALIFIED_AGENT = """
    NOT EXISTS (
      SELECT 1 FROM {queueskill} qs
      WHERE qs.queue_id = %(queue)s AND NOT EXISTS (
        SELECT 1 FROM {agentskill} s
        WHERE s.agent_id = a.id AND s.skill_id = qs.skill_id AND s.level >= qs.min_level))
    AND (NOT EXISTS (SELECT 1 FROM {serving} g WHERE g.queue_id = %(queue)s)
         OR EXISTS (SELECT 1 FROM {serving} g
                    JOIN {members} m ON m.agentgroup_id = g.agentgroup_id
                    WHERE g.queue_id = %(queue)s AND m.agent_id = a.id))
"""

_IN_ITEM_GROUP = """
    AND EXISTS (SELECT 1 FROM {members} m WHERE m.agent_id = a.id AND m.agentgroup_id = %(group)s)
"""

# A ready agent whose line a voice item or call still holds (a state written by hand while the
# phone rang, before agent_set_state refused that) is passed over: offering them the item
# would break workitem_one_voice_item_per_agent and fail the PBX's request.
_LINE_IS_FREE = """
    NOT EXISTS (
      SELECT 1 FROM {workitem} v
      WHERE v.agent_id = a.id AND v.status IN (%(offered)s, %(accepted)s)
        AND v.channel IN (%(call)s, %(callback)s))
    AND NOT EXISTS (
      SELECT 1 FROM {call_table} c
      WHERE c.agent_id = a.id AND c.status IN (%(ringing)s, %(talking)s, %(held)s))
"""

_AGENT_BRANCH = """
    SELECT {columns} FROM {agent} a
    WHERE a.state = %(ready)s AND {qualified}
      AND {declined} EXISTS (
        SELECT 1 FROM {declined_table} d WHERE d.workitem_id = %(item)s AND d.agent_id = a.id)
      AND {line_is_free}
    ORDER BY a.state_since, a.id
    LIMIT 1 {lock}
"""


def _tables() -> dict[str, str]:
    return {
        "workitem": WorkItem._meta.db_table,
        "declined": WorkItem.declined_by.through._meta.db_table,
        "members": Agent.groups.through._meta.db_table,
        "queue": Queue._meta.db_table,
        "serving": Queue.agent_groups.through._meta.db_table,
        "queueskill": QueueSkill._meta.db_table,
        "agentskill": AgentSkill._meta.db_table,
        "agent": Agent._meta.db_table,
        "call_table": Call._meta.db_table,
    }


def _columns(model: type[Agent] | type[WorkItem] | type[Call], alias: str) -> tuple[list[str], str]:
    fields = model._meta.concrete_fields
    return [f.attname for f in fields], ", ".join(f'{alias}."{f.column}"' for f in fields)


def _column_names(model: type[Agent] | type[WorkItem] | type[Call]) -> list[str]:
    return [str(f.column) for f in model._meta.concrete_fields]


def _first_found(branches: list[str]) -> str:
    """The branches in order under one LIMIT 1: later ones run only if earlier ones find nothing."""
    parts = [f"SELECT * FROM ({branch}) AS branch{n}" for n, branch in enumerate(branches)]  # noqa: S608
    return " UNION ALL ".join(parts) + " LIMIT 1"


def _lock_clause(alias: str) -> str:
    if connection.features.has_select_for_update_skip_locked:
        return f"FOR UPDATE OF {alias} SKIP LOCKED"
    return ""


@functools.cache
def _voice_item_sql(lock: str, passing: bool) -> tuple[list[str], str]:
    t = _tables()
    names, columns = _columns(WorkItem, "w")
    qualified_queues = _QUALIFIED_QUEUES.format(**t)
    open_to_agent = _OPEN_TO_AGENT.format(qualified_queues=qualified_queues, **t)
    declined = _DECLINED_BY_AGENT.format(**t)
    reserved_for_agent = (
        "w.preferred_agent_id = %(agent)s"
        " AND (w.preferred_until IS NULL OR w.preferred_until > %(now)s)"
    )
    conditions = [
        reserved_for_agent,
        f"{open_to_agent} AND NOT {declined}",
        f"{open_to_agent} AND {declined}",
    ]
    passed = "AND w.id <> ALL(%(passed)s)" if passing else ""
    branches = [
        _ITEM_BRANCH.format(columns=columns, passed=passed, condition=condition, lock=lock, **t)
        for condition in conditions
    ]
    call_names, call_columns = _columns(Call, "c")
    # The picked item's call is locked in the same round trip, without waiting (NULL when
    # another transaction holds it): only the picked item's call, never another.
    sql = _ITEM_WITH_CALL.format(
        picked=_first_found(branches),
        item_columns=", ".join(f'picked."{column}"' for column in _column_names(WorkItem)),
        call_columns=", ".join(f'free_call."{column}"' for column in _column_names(Call)),
        call_select=call_columns,
        call_table=Call._meta.db_table,
        call_lock="FOR UPDATE OF c SKIP LOCKED" if lock else "",
    )
    return [*names, *call_names], sql


def _voice_item_pick(
    *, agent_id: int, now: datetime, passed: list[int]
) -> tuple[WorkItem | None, Call | None]:
    names, sql = _voice_item_sql(_lock_clause("w"), bool(passed))
    params: dict[str, Any] = {
        "queued": WorkItem.Status.QUEUED,
        "call": WorkItem.Channel.CALL,
        "callback": WorkItem.Channel.CALLBACK,
        "now": now,
        "agent": agent_id,
        "true": True,
    }
    if passed:
        params["passed"] = passed
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        return None, None
    split = len(WorkItem._meta.concrete_fields)
    item = WorkItem.from_db(connection.alias, names[:split], row[:split])
    if row[split] is None:  # no call, or its call is busy
        return item, None
    return item, Call.from_db(connection.alias, names[split:], row[split:])


_LINE_PARAMS: dict[str, str] = {
    "offered": WorkItem.Status.OFFERED,
    "accepted": WorkItem.Status.ACCEPTED,
    "call": WorkItem.Channel.CALL,
    "callback": WorkItem.Channel.CALLBACK,
    "ringing": Call.Status.RINGING,
    "talking": Call.Status.TALKING,
    "held": Call.Status.HELD,
}


@functools.cache
def _voice_agent_sql(lock: str, reserved: bool, in_group: bool) -> tuple[list[str], str]:
    t = _tables()
    names, columns = _columns(Agent, "a")
    if reserved:
        # The personal agent gets it without skill checks; others wait until the reservation ends.
        qualified = "a.id = %(preferred)s"
    else:
        qualified = _QUALIFIED_AGENT.format(**t) + (_IN_ITEM_GROUP.format(**t) if in_group else "")
    branches = [
        _AGENT_BRANCH.format(
            columns=columns,
            qualified=qualified,
            declined=declined,
            declined_table=t["declined"],
            line_is_free=_LINE_IS_FREE.format(**t),
            lock=lock,
            agent=t["agent"],
        )
        for declined in ("NOT", "")
    ]
    return names, _first_found(branches)


def _voice_agent_pick(*, item: WorkItem, reserved: bool) -> Agent | None:
    """The ready agent for a call or callback, locked: longest idle among the qualified."""
    names, sql = _voice_agent_sql(
        _lock_clause("a"), reserved, not reserved and item.agent_group_id is not None
    )
    params: dict[str, Any] = {
        "ready": Agent.State.READY,
        "preferred": item.preferred_agent_id,
        "queue": item.queue_id,
        "group": item.agent_group_id,
        "item": item.pk,
        **_LINE_PARAMS,
    }
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    return None if row is None else Agent.from_db(connection.alias, names, row)


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
