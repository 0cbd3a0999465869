"""Celery tasks of telephony: thin, idempotent wrappers around services."""

from __future__ import annotations

from celery import shared_task

from telephony import services


@shared_task(name="telephony.acd_tick", acks_late=True, ignore_result=True)
def acd_tick() -> dict[str, int]:
    """The ACD's timers; running it twice in a row changes nothing the second time."""
    return services.acd_tick()


@shared_task(name="telephony.webhook_deliver_due", acks_late=True, ignore_result=True)
def webhook_deliver_due() -> dict[str, int]:
    """Send due webhook deliveries (signed, with retries); safe to run on several workers."""
    from telephony import webhooks

    run = webhooks.webhook_deliver_due()
    return {"delivered": run.delivered, "retrying": run.retrying, "failed": run.failed}
