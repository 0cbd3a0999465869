"""Celery tasks of customer service: thin, idempotent wrappers around services."""

from __future__ import annotations

from celery import shared_task

from accounts import services


@shared_task(name="accounts.ticket_sla_check", acks_late=True)
def ticket_sla_check() -> dict[str, int]:
    """Warn before SLA breaches and escalate due tickets; running it twice changes nothing."""
    result = services.ticket_sla_check()
    return {"warned": result.warned, "escalated": result.escalated}


@shared_task(name="accounts.outage_sync", acks_late=True)
def outage_sync() -> int:
    """Pull the known outages from the outage system (idempotent)."""
    return services.outage_sync()


@shared_task(name="accounts.presence_prune", acks_late=True)
def presence_prune() -> int:
    """Forget who had which account or ticket open long ago (idempotent housekeeping)."""
    return services.presence_prune()
