"""Celery tasks of customer service: thin, idempotent wrappers around services."""

from __future__ import annotations

from celery import shared_task

from accounts.services import ticket_sla_check as check


@shared_task(name="accounts.ticket_sla_check", acks_late=True)
def ticket_sla_check() -> dict[str, int]:
    """Warn before SLA breaches and escalate due tickets; running it twice changes nothing."""
    result = check()
    return {"warned": result.warned, "escalated": result.escalated}
