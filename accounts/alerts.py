"""Evaluating the managers' alert rules against what is on an agent's desk right now.

Runs inside the desk's render (views and the consumer's pushes alike), so every desk event
re-evaluates the rules on the server and the result travels with the pushed panels. It only
reads: 0 queries without active rules, 3 with (rules, conditions, actions) plus one when a
rule counts contacts.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Q, prefetch_related_objects
from django.utils import timezone

from accounts import messaging
from accounts.models import Account, AlertAction, AlertCondition, AlertRule, Interaction, Ticket


@dataclass
class DeskFacts:
    """What the rules can look at: the contact on the desk and its account's data."""

    account: Account | None = None
    agent_user: Any = None
    interaction_id: int | None = None
    is_live: bool = False
    is_unknown_caller: bool = False
    dialled_number: str = ""
    queue: str = ""
    open_tickets: list[Ticket] = field(default_factory=list)
    outages: list[Any] = field(default_factory=list)
    now: dt.datetime = field(default_factory=timezone.now)


@dataclass(frozen=True)
class GuidanceAlert:
    severity: str
    text: str


@dataclass(frozen=True)
class RuleHit:
    """What one fired rule asks for."""

    rule_id: int
    alerts: list[GuidanceAlert]
    navigate: str = ""
    script_code: str = ""


def _contact_counts(facts: DeskFacts, days: set[int]) -> dict[int, int]:
    """Contacts of the account in each of the given last-N-days windows (one query)."""
    if facts.account is None or not days:
        return {}
    aggregates = {
        f"d{n}": Count("pk", filter=Q(started_at__gte=facts.now - dt.timedelta(days=n)))
        for n in days
    }
    counts = Interaction.objects.filter(account=facts.account).aggregate(**aggregates)
    return {n: counts[f"d{n}"] or 0 for n in days}


def _holds(condition: AlertCondition, facts: DeskFacts, counts: dict[int, int]) -> bool:
    kind, account = condition.kind, facts.account
    Kind = AlertCondition.Kind
    if kind == Kind.ACCOUNT_IDENTIFIED:
        result = account is not None
    elif kind == Kind.UNKNOWN_CALLER:
        result = facts.is_unknown_caller
    elif kind == Kind.VIP:
        result = account is not None and account.is_vip
    elif kind == Kind.OPEN_COMPLAINT:
        result = any(t.type == Ticket.Type.COMPLAINT for t in facts.open_tickets)
    elif kind == Kind.SLA_DUE:
        result = any(t.sla_state(facts.now) in ("warning", "breached") for t in facts.open_tickets)
    elif kind == Kind.OUTAGE:
        result = bool(facts.outages)
    elif kind == Kind.DIALLED_NUMBER:
        digits = "".join(ch for ch in facts.dialled_number if ch.isdigit())
        wanted = "".join(ch for ch in condition.value if ch.isdigit())
        result = bool(wanted) and digits.startswith(wanted)
    elif kind == Kind.QUEUE:
        result = bool(facts.queue) and facts.queue.lower() == condition.value.strip().lower()
    elif kind == Kind.CONTACTS:
        result = counts.get(condition.days or 0, 0) >= (condition.count or 0)
    elif kind == Kind.CUSTOMER_GROUP:
        group = account.customer_group if account is not None else None
        result = group is not None and group.code == condition.value.strip()
    else:
        result = False
    return result != condition.negate


def alert_rules_evaluate(*, facts: DeskFacts) -> list[RuleHit]:
    """The active rules that fire for these facts, in rule order, with their actions."""
    rules = list(AlertRule.objects.filter(is_active=True).order_by("order", "name", "id"))
    if not rules:
        return []
    prefetch_related_objects(rules, "conditions", "actions")
    days = {
        c.days
        for rule in rules
        for c in rule.conditions.all()
        if c.kind == AlertCondition.Kind.CONTACTS and c.days
    }
    counts = _contact_counts(facts, days)
    context = messaging.MessageContext(account=facts.account, agent=facts.agent_user)
    hits = []
    for rule in rules:
        conditions = list(rule.conditions.all())
        if not conditions:
            continue
        results = (_holds(condition, facts, counts) for condition in conditions)
        fired = all(results) if rule.match == AlertRule.Match.ALL else any(results)
        if not fired:
            continue
        alerts, navigate, script = [], "", ""
        for action in rule.actions.all():
            if action.kind == AlertAction.Kind.ALERT:
                alerts.append(
                    GuidanceAlert(action.severity, messaging.render_text(action.text, context))
                )
            elif action.kind == AlertAction.Kind.NAVIGATE and not navigate:
                navigate = action.view
            elif action.kind == AlertAction.Kind.SCRIPT and not script:
                script = action.script_code
        hits.append(RuleHit(rule_id=rule.pk, alerts=alerts, navigate=navigate, script_code=script))
    return hits
