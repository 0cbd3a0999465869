"""What an agent's desk shows right now, gathered in a fixed number of queries."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db.models import Count, Exists, Min, OuterRef
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from accounts import selectors as account_selectors
from accounts.access import access_for, account_can_write
from accounts.alerts import DeskFacts, RuleHit, alert_rules_evaluate
from accounts.models import Account, Interaction
from accounts.phone import ParsedNumber, phone_parse
from accounts.prediction import ContactReason, contact_reasons_predict
from telephony import routing
from telephony.models import (
    Agent,
    AgentStateChange,
    Call,
    NotReadyReason,
    Queue,
    WorkItem,
    WrapUpCode,
)
from telephony.services.agents import SYSTEM_REASONS

RECENT_INTERACTIONS = 10


@dataclass
class Alert:
    severity: str  # "info" | "warning" | "danger"
    text: str


@dataclass
class QueueStatus:
    queue_id: int
    name: str
    waiting: int
    longest_wait_since: datetime | None


@dataclass
class DeskState:
    """Everything the desk's panels render; built by desk_state_for_agent."""

    agent: Agent
    call: Call | None = None
    interaction: Interaction | None = None
    account: Account | None = None
    number: ParsedNumber | None = None
    candidates: list[Account] = field(default_factory=list)
    recent_interactions: list[Interaction] = field(default_factory=list)
    open_tickets: list[Any] = field(default_factory=list)
    alerts: list[Alert] = field(default_factory=list)
    # Telephony: the voice work item on the agent's line, the consultation running for the
    # call, figures of the agent's queues, and the choices the toolbar offers.
    work_item: WorkItem | None = None
    consultation: Call | None = None
    queues: list[QueueStatus] = field(default_factory=list)
    reasons: list[NotReadyReason] = field(default_factory=list)
    wrap_up_codes: list[WrapUpCode] = field(default_factory=list)
    transfer_agents: list[Agent] = field(default_factory=list)
    transfer_queues: list[Queue] = field(default_factory=list)
    sla: account_selectors.SlaSummary = field(default_factory=account_selectors.SlaSummary)
    outages: list[Any] = field(default_factory=list)
    contact_reasons: list[ContactReason] = field(default_factory=list)
    guidance: list[RuleHit] = field(default_factory=list)
    # Access per customer group: the contact's account exists but is not the agent's to see,
    # or the agent may only look at it.
    account_hidden: bool = False
    account_writable: bool = True

    # The id of the agent's latest state change: it only grows, so the browser can drop a
    # panel older than the one it shows (an action's answer and a push can cross).
    stamp: int = 0

    @property
    def reason_text(self) -> str:
        """Why the agent is not ready, from the reasons already loaded (no query)."""
        code = self.agent.state_reason
        if not code:
            return ""
        if code in SYSTEM_REASONS:
            return str(SYSTEM_REASONS[code])
        return next((r.label for r in self.reasons if r.code == code), code)

    @property
    def is_unknown_caller(self) -> bool:
        return (
            self.interaction is not None
            and self.account is None
            and not self.candidates
            and not self.account_hidden
        )


def agent_get_for_user(*, user: Any) -> Agent | None:
    """The user's agent profile; its `user` is the given object (no second read of the user).

    `agent.has_agent_role` (read in the same query): the user is in the agent group."""
    from django.contrib.auth import get_user_model

    from icenter import roles

    in_group = get_user_model().groups.through.objects.filter(
        user_id=OuterRef("user_id"), group__name=roles.AGENT
    )
    agent = Agent.objects.filter(user_id=user.pk).annotate(has_agent_role=Exists(in_group)).first()
    if agent is not None:
        agent.user = user
    return agent


# The workspace views an htmx answer renders alone that show the account's panels (the 360°
# view); the others (history, search, …) show at most the account's name.
ACCOUNT_PANEL_VIEWS = ("account",)


def desk_state_for_agent(
    *,
    agent_id: int,
    account_id: int | None = None,
    workspace: str | None = None,
    user: Any = None,
) -> DeskState | None:
    """The agent's current contact with its account, or a chosen account when none is live.

    Without `workspace`, everything every desk panel shows. With it (the view an htmx answer
    renders alone, e.g. "history"), only what that view shows: no toolbar, queue, SLA or
    alert data, and the account's panels only for the 360° view. `user`: the agent's user
    object when the caller has it (the request's), so that its roles and access are looked
    up once per request.
    """
    agent = (
        Agent.objects.filter(pk=agent_id)
        .select_related("user", "current_interaction", "current_interaction__call")
        .first()
    )
    if agent is None:
        return None
    if user is not None and user.pk == agent.user_id:
        agent.user = user
    state = DeskState(agent=agent)
    interaction = agent.current_interaction
    if interaction is not None:
        state.interaction = interaction
        call = getattr(interaction, "call", None)
        state.call = call
        if call is not None:
            # The customer's number: who calls in, or whom the agent dialled.
            state.number = phone_parse(call.customer_number)
        if interaction.account_id is None and interaction.ended_at is None:
            identification = account_selectors.account_list_by_phone(raw=interaction.address)
            if len(identification.accounts) > 1:
                access = access_for(agent.user)
                state.candidates = [
                    a for a in identification.accounts if access.can_read(a.customer_group_id)
                ]
                state.account_hidden = len(state.candidates) < len(identification.accounts)
    chosen = account_id or (interaction.account_id if interaction is not None else None)
    panels = workspace is None or workspace in ACCOUNT_PANEL_VIEWS
    if chosen:
        get = account_selectors.account_get_for_desk if panels else account_selectors.account_get
        state.account = get(account_id=chosen, user=agent.user)
        # The live contact's account exists (it is a foreign key); one asked for by id that
        # cannot be seen is simply not there.
        state.account_hidden = state.account is None and not account_id
    if state.account is not None:
        state.account_writable = account_can_write(agent.user, state.account)
    if state.account is not None and panels:
        state.recent_interactions = list(
            account_selectors.interaction_list_for_account(
                account_id=state.account.pk, user=agent.user
            )[:RECENT_INTERACTIONS]
        )
        state.open_tickets = account_selectors.ticket_list_open_for_account(
            account_id=state.account.pk, user=agent.user
        )
        state.outages = account_selectors.outage_list_for_account(account=state.account)
        state.contact_reasons = contact_reasons_predict(
            account=state.account, outages=state.outages
        )
    if workspace is not None:
        return state
    state.sla = account_selectors.ticket_sla_summary_for_agent(user_id=agent.user_id)
    _telephony(state)
    state.alerts = _alerts(state)
    _guidance(state)
    return state


def _guidance(state: DeskState) -> None:
    """The managers' alert rules (accounts.alerts), evaluated on every render of the desk."""
    interaction = state.interaction
    call = state.call
    state.guidance = alert_rules_evaluate(
        facts=DeskFacts(
            account=state.account,
            agent_user=state.agent.user,
            interaction_id=interaction.pk if interaction is not None else None,
            is_live=interaction is not None and interaction.ended_at is None,
            is_unknown_caller=state.is_unknown_caller,
            dialled_number=call.dnis if call is not None else "",
            queue=call.queue if call is not None else "",
            open_tickets=state.open_tickets,
            outages=state.outages,
        )
    )
    state.alerts += [Alert(a.severity, a.text) for hit in state.guidance for a in hit.alerts]


def _telephony(state: DeskState) -> None:
    """What the toolbar and comm-info need, in a fixed number of queries."""
    agent = state.agent
    state.stamp = (
        AgentStateChange.objects.filter(agent=agent)
        .order_by("-id")
        .values_list("id", flat=True)
        .first()
        or 0
    )
    state.work_item = (
        WorkItem.objects.filter(
            agent=agent,
            channel__in=WorkItem.VOICE,
            status__in=[WorkItem.Status.OFFERED, WorkItem.Status.ACCEPTED],
        )
        .select_related("account", "wrap_up_code")
        .first()
    )
    if state.work_item is None and agent.state == Agent.State.WRAP_UP:
        # During wrap-up the agent codes the contact that just ended.
        state.work_item = (
            WorkItem.objects.filter(agent=agent, channel__in=WorkItem.VOICE)
            .select_related("account", "wrap_up_code")
            .order_by("-finished_at", "-id")
            .first()
        )
    if state.call is not None and state.call.is_live:
        state.consultation = (
            Call.objects.filter(consult_for=state.call)
            .exclude(status=Call.Status.ENDED)
            .select_related("agent__user")
            .first()
        )
    queue_ids = routing.queue_ids_for_agent(agent=agent)
    waiting: dict[int, tuple[int, datetime | None]] = {
        row["queue_id"]: (row["waiting"], row["since"])
        for row in WorkItem.objects.filter(status=WorkItem.Status.QUEUED, queue_id__in=queue_ids)
        .values("queue_id")
        .annotate(waiting=Count("id"), since=Min("enqueued_at"))
    }
    state.queues = [
        QueueStatus(
            queue_id=queue.pk,
            name=queue.name,
            waiting=waiting.get(queue.pk, (0, None))[0],
            longest_wait_since=waiting.get(queue.pk, (0, None))[1],
        )
        for queue in Queue.objects.filter(pk__in=queue_ids).order_by("-priority", "name")
    ]
    state.reasons = list(NotReadyReason.objects.filter(is_active=True))
    state.wrap_up_codes = list(WrapUpCode.objects.filter(is_active=True))
    if state.call is not None and state.call.is_live and state.call.status != Call.Status.RINGING:
        state.transfer_agents = list(
            Agent.objects.filter(state=Agent.State.READY)
            .exclude(pk=agent.pk)
            .select_related("user")
            .order_by("extension")[:50]
        )
        state.transfer_queues = list(Queue.objects.filter(is_active=True).exclude(number=""))


def _alerts(state: DeskState) -> list[Alert]:
    alerts: list[Alert] = []
    if state.account_hidden:
        alerts.append(
            Alert(
                "warning",
                _(
                    "The caller's account belongs to a customer group you have no access to: "
                    "transfer the call to a colleague who has, or take a message."
                ),
            )
        )
    if state.account is not None and state.account.is_vip:
        alerts.append(Alert("warning", _("VIP customer: handle with priority.")))
    if state.number is not None and state.number.is_withheld:
        alerts.append(Alert("info", _("The caller withheld their number.")))
    elif state.number is not None and state.number.error and state.call is not None:
        alerts.append(
            Alert(
                "info",
                _("The calling number “%(raw)s” is not a valid phone number.")
                % {"raw": state.call.customer_number},
            )
        )
    for outage in state.outages:
        alerts.append(
            Alert(
                "danger",
                _("Outage in %(area)s: %(title)s. Expected fix: %(when)s.")
                % {
                    "area": ", ".join(area.postcode for area in outage.areas.all()),
                    "title": outage.title,
                    "when": formats.date_format(
                        timezone.localtime(outage.expected_fix_at), "SHORT_DATETIME_FORMAT"
                    )
                    if outage.expected_fix_at
                    else _("unknown"),
                },
            )
        )
    if state.sla.breached:
        alerts.append(
            Alert(
                "danger",
                ngettext(
                    "%(count)d of your tickets is past its SLA due date.",
                    "%(count)d of your tickets are past their SLA due date.",
                    state.sla.breached,
                )
                % {"count": state.sla.breached},
            )
        )
    if state.sla.warning:
        alerts.append(
            Alert(
                "warning",
                ngettext(
                    "%(count)d of your tickets is close to its SLA due date.",
                    "%(count)d of your tickets are close to their SLA due date.",
                    state.sla.warning,
                )
                % {"count": state.sla.warning},
            )
        )
    if state.candidates:
        alerts.append(
            Alert(
                "info",
                _("%(count)d accounts share this number: pick the caller.")
                % {"count": len(state.candidates)},
            )
        )
    return alerts
