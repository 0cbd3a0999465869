"""Read paths of telephony: the supervisor wallboard's figures.

`wallboard_get` runs a constant number of queries whatever the number of queues, agents,
calls or work items: the per-queue figures are aggregated by the database, agents and their
qualifications are read once and matched to the queues in Python.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db.models import (
    Case,
    Count,
    DurationField,
    ExpressionWrapper,
    F,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.utils import timezone

from accounts.models import Interaction
from telephony.models import (
    Agent,
    AgentGroup,
    AgentSkill,
    AgentStateChange,
    Call,
    NotReadyReason,
    Queue,
    WorkItem,
)
from telephony.services.agents import SYSTEM_REASONS

# The order states are shown in: working first, absent last.
STATE_ORDER: tuple[str, ...] = (
    Agent.State.READY,
    Agent.State.RINGING,
    Agent.State.TALKING,
    Agent.State.WRAP_UP,
    Agent.State.NOT_READY,
    Agent.State.LOGGED_OUT,
)


@dataclass
class QueueFigures:
    """Today's figures of one queue, as the wallboard shows them."""

    queue: Queue
    waiting: int = 0
    waiting_since: datetime | None = None  # the longest-waiting item's start
    offered: int = 0
    answered: int = 0
    answered_in_time: int = 0
    abandoned: int = 0
    handled: int = 0
    handle_seconds_total: float = 0.0
    agents_by_state: dict[str, int] = field(default_factory=dict)

    @property
    def longest_wait_seconds(self) -> int | None:
        if self.waiting_since is None:
            return None
        return max(0, int((timezone.now() - self.waiting_since).total_seconds()))

    @property
    def service_level(self) -> float | None:
        """Percent of today's offered calls answered within the queue's threshold."""
        if not self.offered:
            return None
        return 100.0 * self.answered_in_time / self.offered

    @property
    def meets_target(self) -> bool | None:
        level = self.service_level
        if level is None:
            return None
        return level >= self.queue.service_level_percent

    @property
    def average_handle_seconds(self) -> int | None:
        """Talk time plus after-call work, averaged over today's finished calls."""
        if not self.handled:
            return None
        return round(self.handle_seconds_total / self.handled)

    @property
    def average_handle_text(self) -> str:
        """The average handle time as minutes:seconds, "" when there is none."""
        seconds = self.average_handle_seconds
        if seconds is None:
            return ""
        return f"{seconds // 60}:{seconds % 60:02d}"

    @property
    def agent_states(self) -> list[tuple[Agent.State, int]]:
        """(state, count) of the agents who serve this queue, in display order."""
        return [(Agent.State(state), self.agents_by_state.get(state, 0)) for state in STATE_ORDER]


@dataclass
class AgentRow:
    """One agent's line on the wallboard."""

    agent: Agent
    reason_label: str
    group_names: list[str]

    @property
    def is_logged_in(self) -> bool:
        return self.agent.state != Agent.State.LOGGED_OUT

    @property
    def can_be_set_not_ready(self) -> bool:
        return self.agent.state in {Agent.State.READY, Agent.State.WRAP_UP}

    @property
    def can_be_logged_out(self) -> bool:
        return self.agent.state in {Agent.State.READY, Agent.State.NOT_READY, Agent.State.WRAP_UP}


@dataclass
class Wallboard:
    queues: list[QueueFigures]
    agents: list[AgentRow]
    agents_by_state: dict[str, int]
    generated_at: datetime

    @property
    def state_totals(self) -> list[tuple[Agent.State, int]]:
        return [(Agent.State(state), self.agents_by_state.get(state, 0)) for state in STATE_ORDER]

    def chart_data(self) -> dict[str, Any]:
        """What the charts draw: waiting per queue and agents by state (JSON-ready)."""
        return {
            "queues": [figures.queue.name for figures in self.queues],
            "waiting": [figures.waiting for figures in self.queues],
            "states": [str(Agent.State(state).label) for state in STATE_ORDER],
            "state_codes": list(STATE_ORDER),
            "agents": [self.agents_by_state.get(state, 0) for state in STATE_ORDER],
        }


ABANDONED = Interaction.Outcome.ABANDONED


def start_of_day(now: datetime) -> datetime:
    """Midnight of `now`'s day in the site's time zone."""
    local = timezone.localtime(now)
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


def _waiting_by_queue(now: datetime) -> dict[int, dict[str, Any]]:
    rows = (
        WorkItem.objects.filter(status=WorkItem.Status.QUEUED, queue__isnull=False)
        .filter(Q(not_before__isnull=True) | Q(not_before__lte=now))
        .order_by()
        .values("queue_id")
        .annotate(waiting=Count("pk"), since=Min("enqueued_at"))
    )
    return {row["queue_id"]: dict(row) for row in rows}


def _today_calls_by_queue(queues: list[Queue], now: datetime) -> dict[int, dict[str, Any]]:
    """Offered, answered (in time), abandoned and handle time per queue, in one query.

    A call counts as offered once it was answered, was abandoned, or has waited longer than
    the queue's threshold (then it already missed the service level). Handle time is talk
    time plus the wrap-up that followed, for calls whose wrap-up is over.
    """
    if not queues:
        return {}
    threshold = Case(
        *(
            When(queue_id=queue.pk, then=Value(timedelta(seconds=queue.service_level_seconds)))
            for queue in queues
        ),
        default=Value(timedelta(0)),
        output_field=DurationField(),
    )
    # The agent's first state change after the call ended: if it leaves wrap-up, the
    # wrap-up belonged to this call.
    next_change = AgentStateChange.objects.filter(
        agent_id=OuterRef("call__agent_id"), at__gt=OuterRef("call__ended_at")
    ).order_by("at", "id")
    answered = Q(call__answered_at__isnull=False)
    abandoned = Q(call__answered_at__isnull=True, call__interaction__outcome=ABANDONED)
    # A finished call whose wrap-up is over (or that had none); while the agent is still in
    # the wrap-up that followed, its handle time is not known yet.
    handled = (
        answered
        & Q(call__ended_at__isnull=False)
        & ~Q(next_at__isnull=True, call__agent__state=Agent.State.WRAP_UP)
    )
    rows = (
        WorkItem.objects.filter(
            channel=WorkItem.Channel.CALL,
            queue_id__in=[queue.pk for queue in queues],
            call__offered_at__gte=start_of_day(now),
            call__direction=Call.Direction.INBOUND,
        )
        # Calls to a closed queue were never offered to anyone.
        .exclude(call__interaction__outcome=Interaction.Outcome.MISSED)
        .alias(
            threshold=threshold,
            wait=ExpressionWrapper(
                F("call__answered_at") - F("call__offered_at"), output_field=DurationField()
            ),
            waited=ExpressionWrapper(
                Value(now) - F("call__offered_at"), output_field=DurationField()
            ),
            talk=ExpressionWrapper(
                F("call__ended_at") - F("call__answered_at"), output_field=DurationField()
            ),
            next_at=Subquery(next_change.values("at")[:1]),
            next_from=Subquery(next_change.values("previous_state")[:1]),
            wrap=ExpressionWrapper(
                F("next_at") - F("call__ended_at"), output_field=DurationField()
            ),
        )
        .order_by()
        .values("queue_id")
        .annotate(
            offered=Count(
                "pk",
                filter=answered
                | abandoned
                | Q(call__answered_at__isnull=True, waited__gt=F("threshold")),
            ),
            answered=Count("pk", filter=answered),
            answered_in_time=Count("pk", filter=answered & Q(wait__lte=F("threshold"))),
            abandoned=Count("pk", filter=abandoned),
            # A finished call without wrap-up (the agent went on at once) or whose wrap-up
            # ended; calls whose agent is still in wrap-up wait until it is over.
            handled=Count("pk", filter=handled),
            talk_total=Sum("talk", filter=handled),
            wrap_total=Sum("wrap", filter=handled & Q(next_from=Agent.State.WRAP_UP)),
        )
    )
    return {row["queue_id"]: dict(row) for row in rows}


def _seconds(value: Any) -> float:
    """A summed duration as seconds (timedelta on PostgreSQL, microseconds on SQLite)."""
    if value is None:
        return 0.0
    if isinstance(value, timedelta):
        return value.total_seconds()
    return float(value) / 1_000_000


def _qualified(
    queue: Queue,
    *,
    levels: dict[int, dict[int, int]],
    groups: dict[int, set[int]],
    agent_id: int,
) -> bool:
    """Whether the agent serves the queue: member of a serving group and skilled enough."""
    serving = {group.pk for group in queue.agent_groups.all()}
    if serving and not serving & groups.get(agent_id, set()):
        return False
    own = levels.get(agent_id, {})
    return all(own.get(req.skill_id, 0) >= req.min_level for req in queue.required_skills.all())


def reason_labels() -> dict[str, str]:
    """Every reason code with its label, system reasons included (one query)."""
    labels = {code: str(label) for code, label in SYSTEM_REASONS.items()}
    labels.update(NotReadyReason.objects.values_list("code", "label"))
    return labels


def queue_list_for_wallboard() -> QuerySet[Queue]:
    return Queue.objects.filter(is_active=True).prefetch_related("required_skills", "agent_groups")


def agent_list_for_wallboard() -> QuerySet[Agent]:
    return (
        Agent.objects.select_related("user")
        .filter(user__is_active=True)
        .order_by("user__last_name", "user__first_name", "extension")
    )


def wallboard_get(*, now: datetime | None = None) -> Wallboard:
    """Everything the supervisor wallboard shows, in a constant number of queries (nine)."""
    now = now or timezone.now()
    queues = list(queue_list_for_wallboard())  # 3 queries with the prefetches
    agents = list(agent_list_for_wallboard())
    levels: dict[int, dict[int, int]] = defaultdict(dict)
    for agent_id, skill_id, level in AgentSkill.objects.values_list(
        "agent_id", "skill_id", "level"
    ):
        levels[agent_id][skill_id] = level
    groups: dict[int, set[int]] = defaultdict(set)
    group_names: dict[int, list[str]] = defaultdict(list)
    for agent_id, group_id, name in AgentGroup.members.through.objects.values_list(
        "agent_id", "agentgroup_id", "agentgroup__name"
    ).order_by("agentgroup__name"):
        groups[agent_id].add(group_id)
        group_names[agent_id].append(name)
    labels = reason_labels()
    waiting = _waiting_by_queue(now)
    calls = _today_calls_by_queue(queues, now)

    figures: list[QueueFigures] = []
    for queue in queues:
        row = calls.get(queue.pk, {})
        wait_row = waiting.get(queue.pk, {})
        by_state = Counter(
            agent.state
            for agent in agents
            if _qualified(queue, levels=levels, groups=groups, agent_id=agent.pk)
        )
        figures.append(
            QueueFigures(
                queue=queue,
                waiting=wait_row.get("waiting", 0),
                waiting_since=wait_row.get("since"),
                offered=row.get("offered", 0),
                answered=row.get("answered", 0),
                answered_in_time=row.get("answered_in_time", 0),
                abandoned=row.get("abandoned", 0),
                handled=row.get("handled", 0),
                handle_seconds_total=_seconds(row.get("talk_total"))
                + _seconds(row.get("wrap_total")),
                agents_by_state={state: by_state.get(state, 0) for state in STATE_ORDER},
            )
        )
    rank = {state: index for index, state in enumerate(STATE_ORDER)}
    rows = [
        AgentRow(
            agent=agent,
            reason_label=labels.get(agent.state_reason, agent.state_reason),
            group_names=group_names.get(agent.pk, []),
        )
        for agent in sorted(
            agents, key=lambda a: (a.state == Agent.State.LOGGED_OUT, rank[a.state])
        )
    ]
    totals = Counter(agent.state for agent in agents)
    return Wallboard(
        queues=figures,
        agents=rows,
        agents_by_state={state: totals.get(state, 0) for state in STATE_ORDER},
        generated_at=now,
    )


@dataclass
class StateDurations:
    """Seconds an agent spent in each state within a period."""

    agent_id: int
    extension: str
    seconds: dict[str, float]


def agent_state_durations(
    *, start: datetime, end: datetime, agent_ids: list[int] | None = None
) -> list[StateDurations]:
    """Time per state for every agent in [start, end), from the stored state changes.

    Two queries whatever the period: each agent's state when the period begins, and the
    changes inside it. A period reaching into the future ends now.
    """
    end = min(end, timezone.now())
    agents = Agent.objects.order_by("extension")
    if agent_ids is not None:
        agents = agents.filter(pk__in=agent_ids)
    before = AgentStateChange.objects.filter(agent=OuterRef("pk"), at__lt=start).order_by(
        "-at", "-id"
    )
    rows = list(
        agents.annotate(state_at_start=Subquery(before.values("state")[:1])).values_list(
            "pk", "extension", "state_at_start"
        )
    )
    changes: dict[int, list[tuple[datetime, str]]] = defaultdict(list)
    for agent_id, at, state in (
        AgentStateChange.objects.filter(
            agent_id__in=[row[0] for row in rows], at__gte=start, at__lt=end
        )
        .order_by("at", "id")
        .values_list("agent_id", "at", "state")
    ):
        changes[agent_id].append((at, state))
    result = []
    for agent_id, extension, state_at_start in rows:
        seconds: dict[str, float] = defaultdict(float)
        current, since = state_at_start or Agent.State.LOGGED_OUT, start
        for at, state in changes[agent_id]:
            seconds[current] += max(0.0, (at - since).total_seconds())
            current, since = state, at
        if end > since:
            seconds[current] += (end - since).total_seconds()
        result.append(
            StateDurations(
                agent_id=agent_id,
                extension=extension,
                seconds={state: round(value, 1) for state, value in seconds.items() if value},
            )
        )
    return result
