"""Agent states: the workflow, reason codes, wrap-up timer, supervisor overrides."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, NoReturn

from django.db import transaction
from django.db.models import Model
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from icenter.desk import push
from icenter.errors import DomainError
from icenter.workflow import transition_check
from telephony.cti.base import CtiError, get_adapter
from telephony.models import Agent, AgentStateChange, NotReadyReason
from telephony.rows import rows_save

logger = logging.getLogger(__name__)

# Reasons the system sets by itself; managers define the others as NotReadyReason rows.
SYSTEM_REASONS: dict[str, Any] = {
    "login": gettext_lazy("Just logged in"),
    "no_answer": gettext_lazy("Did not answer a call"),
    "rejected": gettext_lazy("Rejected a call"),
    "supervisor": gettext_lazy("Set by a supervisor"),
}


def reason_label(code: str) -> str:
    """What a reason code means, for display."""
    if not code:
        return ""
    if code in SYSTEM_REASONS:
        return str(SYSTEM_REASONS[code])
    reason = NotReadyReason.objects.filter(code=code).first()
    return reason.label if reason is not None else code


def agent_set_state(
    *, agent: Agent, state: str, reason: str = "", at: datetime | None = None
) -> Agent:
    """Move the agent to a new state if the workflow allows it, and record the change.

    Locks the agent row. "Not ready" from the desk needs an active reason code a manager
    defined. Becoming ready hands the agent the best waiting work item.
    """
    if (
        state == Agent.State.NOT_READY
        and reason not in SYSTEM_REASONS
        and not NotReadyReason.objects.filter(code=reason, is_active=True).exists()
    ):
        raise DomainError(_("Choose a reason for being not ready."))
    if state in {Agent.State.RINGING, Agent.State.TALKING}:
        raise DomainError(_("Ringing and talking follow the calls; they cannot be chosen."))
    with transaction.atomic():
        locked, on_the_line = _with_line(agent.pk)
        if on_the_line:
            _refuse_while_on_the_line(state)
        # Written with the offer, if becoming ready hands the agent a call: one agent update.
        agent_transition(locked, state, reason=reason, at=at, save=False)
        if state == Agent.State.READY:
            from telephony.services.work_items import dispatch_to_agent

            dispatch_to_agent(locked)
        agent_state_save(locked)
    _copy_fields(locked, agent)
    return agent


def _with_line(agent_id: int, *, lock: bool = True) -> tuple[Agent, bool]:
    """The agent (locked, in a transaction) and whether a ringing or running call holds their line.

    One query: the line is read with the agent row.
    """
    from telephony.routing import line_is_held

    agents = Agent.objects.select_for_update() if lock else Agent.objects.all()
    found = agents.annotate(line_is_held=line_is_held()).get(pk=agent_id)
    busy = found.state in {Agent.State.RINGING, Agent.State.TALKING}
    return found, busy or bool(found.line_is_held)


def _refuse_while_on_the_line(state: str) -> NoReturn:
    # While a call rings or runs, the agent's state follows the call. "Ready" by hand (a double
    # click, a click racing a call offered to the agent, or after "not ready" clicked while
    # the phone rang) would offer the agent a second call on their one line; the database
    # refuses that (workitem_one_voice_item_per_agent) and the PBX's request would fail.
    if state == Agent.State.READY:
        raise DomainError(_("A call is ringing or running: you become ready after it."))
    if state == Agent.State.LOGGED_OUT:
        raise DomainError(_("Finish the current call before logging out."))
    raise DomainError(
        _("A call is ringing or running: you can change your state when it has ended.")
    )


def _copy_fields(source: Agent, target: Agent) -> None:
    """What `refresh_from_db` would read right after the commit, without reading it."""
    for model_field in Agent._meta.concrete_fields:
        setattr(target, model_field.attname, getattr(source, model_field.attname))


def agent_force_state(*, agent: Agent, state: str, by: Any) -> Agent:
    """A supervisor sets an agent not ready or logs them out (live calls are not cut)."""
    if state not in {Agent.State.NOT_READY, Agent.State.LOGGED_OUT}:
        raise DomainError(_("A supervisor can only set agents not ready or log them out."))
    current, on_the_line = _with_line(agent.pk, lock=False)
    if current.state == Agent.State.LOGGED_OUT:
        raise DomainError(_("%(agent)s is logged out already.") % {"agent": agent})
    if on_the_line:
        raise DomainError(
            _("%(agent)s has a call right now; try again when it has ended.") % {"agent": agent}
        )
    logger.info("supervisor %s sets agent %s to %s", by, agent.extension, state)
    return agent_set_state(agent=agent, state=state, reason="supervisor")


STATE_FIELDS = ("state", "state_since", "state_reason", "wrap_up_until")


@dataclass
class _Unsaved:
    """State changes of a locked agent not written yet, and the agent fields they touched."""

    changes: list[AgentStateChange] = field(default_factory=list)
    fields: set[str] = field(default_factory=set)


def _unsaved(agent: Agent) -> _Unsaved:
    unsaved: _Unsaved = agent.__dict__.setdefault("_unsaved_state", _Unsaved())
    return unsaved


def agent_transition(
    agent: Agent,
    state: str,
    *,
    reason: str = "",
    at: datetime | None = None,
    notify: bool = True,
    wrap_up_seconds: int | None = None,
    fields: Iterable[str] = (),
    save: bool = True,
) -> None:
    """Change the state of a locked agent and record it.

    `notify=False` when the caller pushes a covering event itself. `fields`: other agent fields
    the caller changed, written together with the state. `save=False` keeps the change (and
    the history row) in memory until the next transition that saves or `agent_state_save`, so
    that a routing decision (ready, then ringing) writes the agent row once.
    """
    if state not in Agent.State.values:
        raise DomainError(_("Unknown agent state “%(state)s”.") % {"state": state})
    if state == agent.state:
        unsaved = _unsaved(agent)
        unsaved.fields.update(fields)
        if reason != agent.state_reason:
            agent.state_reason = reason
            unsaved.fields.add("state_reason")
            if notify:
                push.publish(kind="agent.state", id=agent.pk, groups=[agent.group_name])
        if save:
            agent_state_save(agent)
        return
    transition_check(
        transitions=Agent.TRANSITIONS,
        choices=Agent.State,
        old=agent.state,
        new=state,
        message=_("An agent cannot go from “%(old)s” to “%(new)s”."),
    )
    when = at or timezone.now()
    unsaved = _unsaved(agent)
    unsaved.fields.update(fields)
    unsaved.changes.append(
        AgentStateChange(
            agent=agent, state=state, previous_state=agent.state, reason=reason, at=when
        )
    )
    unsaved.fields.update(STATE_FIELDS)
    agent.state = state
    agent.state_since = when
    agent.state_reason = reason
    agent.wrap_up_until = (
        when + timedelta(seconds=wrap_up_seconds if wrap_up_seconds is not None else 30)
        if state == Agent.State.WRAP_UP
        else None
    )
    if save:
        agent_state_save(agent)
    extension = agent.extension

    def tell_pbx() -> None:
        try:
            get_adapter().set_agent_state(extension=extension, state=state)
        except CtiError as exc:
            logger.warning("PBX did not take state %s for %s: %s", state, extension, exc)

    transaction.on_commit(tell_pbx)
    groups = [agent.group_name, push.SUPERVISORS]
    push.publish(kind="agent.state", id=agent.pk, groups=groups if notify else [push.SUPERVISORS])


def agent_state_save(agent: Agent, *, rows: Sequence[tuple[Model, Sequence[str]]] = ()) -> None:
    """Write what `agent_transition(save=False)` kept: the history rows and the agent row once.

    `rows`: other rows of the same step as (instance, changed fields), written with them —
    one round trip on PostgreSQL (`telephony.rows`).
    """
    unsaved = agent.__dict__.pop("_unsaved_state", None) or _Unsaved()
    updates = list(rows)
    if unsaved.fields:
        updates.append((agent, sorted(unsaved.fields)))
    rows_save(updates=updates, inserts=unsaved.changes)


def agent_login(*, user: Any) -> Agent | None:
    """When an agent opens the desk logged out, they become 'not ready' (logged in)."""
    agent = Agent.objects.filter(user=user).first()
    if agent is not None and agent.state == Agent.State.LOGGED_OUT:
        try:
            agent_set_state(agent=agent, state=Agent.State.NOT_READY, reason="login")
        except DomainError as exc:
            # Only a state written before calls held the line could get here; the desk opens.
            logger.warning("agent %s not logged in to the ACD: %s", agent.extension, exc.message)
    return agent


def agent_logout(*, user: Any) -> None:
    """Log the agent out of the ACD unless a call is still live."""
    agent = Agent.objects.filter(user=user).first()
    if agent is None or agent.state == Agent.State.LOGGED_OUT:
        return
    if agent.state in {Agent.State.RINGING, Agent.State.TALKING}:
        logger.info("agent %s logged out of the web with a live call", agent.extension)
        return
    try:
        agent_set_state(agent=agent, state=Agent.State.LOGGED_OUT)
    except DomainError as exc:
        logger.info(
            "agent %s logged out of the web with a live call: %s", agent.extension, exc.message
        )


def agent_wrap_up_expire(*, now: datetime | None = None) -> int:
    """Agents whose after-call work time is over become ready; returns how many."""
    now = now or timezone.now()
    due = list(
        Agent.objects.filter(state=Agent.State.WRAP_UP, wrap_up_until__lte=now).values_list(
            "pk", flat=True
        )
    )
    done = 0
    for agent_id in due:
        with transaction.atomic():
            agent = (
                Agent.objects.select_for_update(skip_locked=True)
                .filter(pk=agent_id, state=Agent.State.WRAP_UP, wrap_up_until__lte=now)
                .first()
            )
            if agent is None:
                continue
            agent_transition(agent, Agent.State.READY, reason="", save=False)
            from telephony.services.work_items import dispatch_to_agent

            dispatch_to_agent(agent)
            agent_state_save(agent)
            done += 1
    return done
