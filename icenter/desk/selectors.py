"""What an agent's desk shows right now, gathered in a fixed number of queries."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext as _

from accounts import selectors as account_selectors
from accounts.models import Account, Interaction
from accounts.phone import ParsedNumber, phone_parse
from telephony.models import Agent, Call

RECENT_INTERACTIONS = 10


@dataclass
class Alert:
    severity: str  # "info" | "warning" | "danger"
    text: str


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

    @property
    def is_unknown_caller(self) -> bool:
        return self.interaction is not None and self.account is None and not self.candidates


def agent_get_for_user(*, user: Any) -> Agent | None:
    return Agent.objects.filter(user=user).select_related("user").first()


def desk_state_for_agent(*, agent_id: int, account_id: int | None = None) -> DeskState | None:
    """The agent's current contact with its account, or a chosen account when none is live."""
    agent = (
        Agent.objects.filter(pk=agent_id)
        .select_related("user", "current_interaction", "current_interaction__call")
        .first()
    )
    if agent is None:
        return None
    state = DeskState(agent=agent)
    interaction = agent.current_interaction
    if interaction is not None:
        state.interaction = interaction
        call = getattr(interaction, "call", None)
        state.call = call
        if call is not None:
            state.number = phone_parse(call.ani)
        if interaction.account_id is None and interaction.ended_at is None:
            identification = account_selectors.account_list_by_phone(raw=interaction.address)
            if len(identification.accounts) > 1:
                state.candidates = identification.accounts
    chosen = account_id or (interaction.account_id if interaction is not None else None)
    if chosen:
        state.account = account_selectors.account_get_for_desk(account_id=chosen)
    if state.account is not None:
        state.recent_interactions = list(
            account_selectors.interaction_list_for_account(account_id=state.account.pk)[
                :RECENT_INTERACTIONS
            ]
        )
    state.alerts = _alerts(state)
    return state


def _alerts(state: DeskState) -> list[Alert]:
    alerts: list[Alert] = []
    if state.account is not None and state.account.is_vip:
        alerts.append(Alert("warning", _("VIP customer: handle with priority.")))
    if state.number is not None and state.number.is_withheld:
        alerts.append(Alert("info", _("The caller withheld their number.")))
    elif state.number is not None and state.number.error and state.call is not None:
        alerts.append(
            Alert(
                "info",
                _("The calling number “%(raw)s” is not a valid phone number.")
                % {"raw": state.call.ani},
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
