"""Webhooks for call events: subscriptions, signed deliveries, retries with backoff.

`webhook_enqueue_for_call_event` runs after every applied call event and only writes
WebhookDelivery rows; `webhook_deliver_due` (Celery beat, telephony.tasks) sends them.
A delivery is a POST of a JSON payload with

    X-Icenter-Signature: t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<body>" with the secret>
    X-Icenter-Event: call.<kind>
    X-Icenter-Delivery: <event id>     (the same on every retry: receivers dedupe on it)

Any 2xx answer delivers it; anything else (other status, timeout, refused connection,
redirect) is retried with exponential backoff until ICENTER_WEBHOOK_MAX_ATTEMPTS, then the
delivery is FAILED with the last error kept. See docs/webhooks.md.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.db.models import Model
from django.db.models.sql import InsertQuery
from django.utils import timezone
from django.utils.translation import gettext as _

from icenter.errors import DomainError
from telephony.cti.base import EVENT_KINDS
from telephony.models import Call, WebhookDelivery, WebhookSubscription

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Icenter-Signature"
FIRST_RETRY_SECONDS = 30
MAX_RETRY_SECONDS = 3600
BATCH = 100
USER_AGENT = "icenter-webhooks/1"


# -- signing ---------------------------------------------------------------------------------


def webhook_signature(*, secret: str, timestamp: int, body: bytes) -> str:
    """The value of the X-Icenter-Signature header for one request."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def webhook_secret_new() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def webhook_secret_hint(secret: str) -> str:
    """A masked secret for lists and forms: enough to tell two apart, useless to sign."""
    return f"{secret[:10]}…" if secret else ""


# -- subscriptions -------------------------------------------------------------------------


def _clean_kinds(event_kinds: list[str]) -> list[str]:
    unknown = sorted(set(event_kinds) - set(EVENT_KINDS))
    if unknown:
        raise DomainError(
            _("Unknown call event kinds: %(kinds)s. Known kinds: %(known)s.")
            % {"kinds": ", ".join(unknown), "known": ", ".join(EVENT_KINDS)}
        )
    return [kind for kind in EVENT_KINDS if kind in event_kinds]


def webhook_subscription_create(
    *,
    name: str,
    url: str,
    event_kinds: list[str],
    created_by: Any = None,
    is_active: bool = True,
) -> tuple[WebhookSubscription, str]:
    """Subscribe a URL to call events; returns the subscription and its new secret."""
    secret = webhook_secret_new()
    subscription = WebhookSubscription.objects.create(
        name=name,
        url=url,
        secret=secret,
        event_kinds=_clean_kinds(event_kinds),
        is_active=is_active,
        created_by=created_by,
    )
    return subscription, secret


def webhook_subscription_update(
    *, subscription: WebhookSubscription, **changes: Any
) -> WebhookSubscription:
    """Change name, URL, event kinds or active flag (never the secret: rotate it)."""
    allowed = {"name", "url", "event_kinds", "is_active"}
    if set(changes) - allowed:
        raise DomainError(_("Only name, URL, event kinds and active can be changed."))
    if "event_kinds" in changes:
        changes["event_kinds"] = _clean_kinds(changes["event_kinds"])
    for name, value in changes.items():
        setattr(subscription, name, value)
    subscription.save(update_fields=list(changes))
    return subscription


def webhook_subscription_rotate_secret(*, subscription: WebhookSubscription) -> str:
    """Give the subscription a new secret; pending deliveries are signed with it."""
    subscription.secret = webhook_secret_new()
    subscription.save(update_fields=["secret"])
    return subscription.secret


def webhook_delivery_resend(*, delivery: WebhookDelivery) -> WebhookDelivery:
    """Send a delivery again (same event id), with a fresh number of attempts."""
    with transaction.atomic():
        locked = WebhookDelivery.objects.select_for_update().get(pk=delivery.pk)
        locked.status = WebhookDelivery.Status.PENDING
        locked.attempts = 0
        locked.next_attempt_at = timezone.now()
        locked.delivered_at = None
        locked.save(update_fields=["status", "attempts", "next_attempt_at", "delivered_at"])
    _kick()
    return locked


# -- enqueueing ------------------------------------------------------------------------------


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def webhook_call_payload(*, call: Call, kind: str, at: datetime, event_id: str) -> dict[str, Any]:
    """The JSON body integrators receive for one call event."""
    agent = call.agent.extension if call.agent_id is not None and call.agent else ""
    account_id = call.interaction.account_id
    return {
        "id": event_id,
        "type": f"call.{kind}",
        "occurred_at": at.isoformat(),
        "data": {
            "call": {
                "id": call.pk,
                "call_id": call.call_id,
                "direction": call.direction,
                "status": call.status,
                "ani": call.ani,
                "ani_e164": call.ani_e164,
                "dnis": call.dnis,
                "queue": call.queue,
                "agent_extension": agent,
                "offered_at": _iso(call.offered_at),
                "answered_at": _iso(call.answered_at),
                "ended_at": _iso(call.ended_at),
                "end_reason": call.end_reason,
                "interaction_id": call.interaction_id,
                "account_id": account_id,
            }
        },
    }


def webhook_enqueue_for_call_event(
    *, call: Call, kind: str, at: datetime, record: Model | None = None
) -> int:
    """Queue one delivery per active subscription that wants this kind; returns how many.

    Cheap when nobody subscribed: one query. `record` (the event's own audit row) is inserted
    too, in that same round trip on PostgreSQL. Called by call_event_handle in the event's
    transaction.
    """
    subscriptions = [
        subscription_id
        for subscription_id, kinds in _active_subscriptions(inserting=record)
        if not kinds or kind in kinds
    ]
    if not subscriptions:
        return 0
    event_id = uuid.uuid4().hex
    payload = json.loads(
        json.dumps(
            webhook_call_payload(call=call, kind=kind, at=at, event_id=event_id),
            cls=DjangoJSONEncoder,
        )
    )
    now = timezone.now()
    WebhookDelivery.objects.bulk_create(
        [
            WebhookDelivery(
                subscription_id=subscription,
                event_id=event_id,
                kind=kind,
                payload=payload,
                next_attempt_at=now,
                created_at=now,
            )
            for subscription in subscriptions
        ],
        ignore_conflicts=True,
    )
    transaction.on_commit(_kick)
    return len(subscriptions)


def _active_subscriptions(*, inserting: Model | None) -> list[tuple[int, Any]]:
    """(id, event kinds) of every active subscription; inserts `inserting` on the way.

    Looked up on every applied call event, so on PostgreSQL the insert and the lookup share one
    statement (a data-modifying CTE runs exactly once, whether or not the query reads it).
    Not cached in the process: a subscription saved in another process (the API, the admin)
    must get the very next event.
    """
    active = WebhookSubscription.objects.filter(is_active=True).values_list("id", "event_kinds")
    if inserting is None or connection.vendor != "postgresql":
        if inserting is not None:
            inserting.save()
        return list(active)
    fields = [f for f in inserting._meta.concrete_fields if not f.primary_key]
    insert = InsertQuery(type(inserting))
    insert.insert_values(fields, [inserting])
    ((insert_sql, insert_params),) = insert.get_compiler(connection=connection).as_sql()
    select_sql, select_params = active.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH inserted AS ({insert_sql} RETURNING 1) {select_sql}",
            (*insert_params, *select_params),
        )
        rows = cursor.fetchall()
    # A raw cursor may hand jsonb over as text; the ORM would have decoded it.
    return [(pk, json.loads(kinds) if isinstance(kinds, str) else kinds) for pk, kinds in rows]


def _kick() -> None:
    """With a real broker, send right away instead of waiting for the next beat tick."""
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return  # in-process Celery would send inside the caller's request: leave it to beat
    from telephony.tasks import webhook_deliver_due

    try:
        webhook_deliver_due.delay()
    except Exception:
        logger.exception("could not queue webhook sending; the next beat tick sends them")


# -- sending ---------------------------------------------------------------------------------


@dataclass
class DeliveryRun:
    delivered: int = 0
    retrying: int = 0
    failed: int = 0


def webhook_retry_delay(attempts: int) -> timedelta:
    """Wait before the next attempt: 30 s, 60 s, 2 min, 4 min … at most one hour."""
    seconds = min(FIRST_RETRY_SECONDS * 2 ** max(attempts - 1, 0), MAX_RETRY_SECONDS)
    return timedelta(seconds=seconds)


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_opener = urllib.request.build_opener(_NoRedirects)


def _post(url: str, body: bytes, headers: dict[str, str], timeout: float) -> tuple[int | None, str]:
    """POST once; (status, error) with error empty on a 2xx answer."""
    if not url.lower().startswith(("http://", "https://")):
        return None, "only http and https URLs can receive webhooks"
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310
    try:
        with _opener.open(request, timeout=timeout) as response:
            status = int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code, f"HTTP {exc.code} {exc.reason}".strip()
    except (urllib.error.URLError, TimeoutError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        return None, f"{type(exc).__name__}: {reason}"
    if 200 <= status < 300:
        return status, ""
    return status, f"HTTP {status}"


def _claim_due(now: datetime, limit: int) -> list[WebhookDelivery]:
    """Take due deliveries for this worker; a lease keeps other workers off them meanwhile."""
    lease = now + timedelta(seconds=settings.ICENTER_WEBHOOK_TIMEOUT * 2 + 30)
    with transaction.atomic():
        due = WebhookDelivery.objects.filter(
            status=WebhookDelivery.Status.PENDING, next_attempt_at__lte=now
        ).order_by("next_attempt_at", "id")
        if connection.features.has_select_for_update_skip_locked:
            due = due.select_for_update(skip_locked=True, of=("self",))
        claimed = list(due.select_related("subscription")[:limit])
        WebhookDelivery.objects.filter(pk__in=[d.pk for d in claimed]).update(next_attempt_at=lease)
    return claimed


def webhook_deliver_due(*, now: datetime | None = None, limit: int = BATCH) -> DeliveryRun:
    """Send every due delivery once; record success, schedule a retry or give up.

    Idempotent and safe with several workers: rows are claimed with SKIP LOCKED and a lease.
    """
    now = now or timezone.now()
    run = DeliveryRun()
    for delivery in _claim_due(now, limit):
        subscription = delivery.subscription
        if not subscription.is_active:
            status, error = None, "the subscription is not active"
            delivery.attempts = settings.ICENTER_WEBHOOK_MAX_ATTEMPTS - 1
        else:
            body = json.dumps(delivery.payload, separators=(",", ":"), sort_keys=True).encode()
            headers = {
                "Content-Type": "application/json",
                "User-Agent": USER_AGENT,
                "X-Icenter-Event": f"call.{delivery.kind}",
                "X-Icenter-Delivery": delivery.event_id,
                SIGNATURE_HEADER: webhook_signature(
                    secret=subscription.secret, timestamp=int(time.time()), body=body
                ),
            }
            status, error = _post(
                subscription.url, body, headers, float(settings.ICENTER_WEBHOOK_TIMEOUT)
            )
        _record_attempt(delivery, status=status, error=error, now=now)
        if delivery.status == WebhookDelivery.Status.DELIVERED:
            run.delivered += 1
        elif delivery.status == WebhookDelivery.Status.FAILED:
            run.failed += 1
        else:
            run.retrying += 1
    return run


def _record_attempt(
    delivery: WebhookDelivery, *, status: int | None, error: str, now: datetime
) -> None:
    delivery.attempts += 1
    delivery.last_status_code = status
    if not error:
        delivery.status = WebhookDelivery.Status.DELIVERED
        delivery.delivered_at = timezone.now()
        delivery.last_error = ""
    else:
        delivery.last_error = error[:300]
        if delivery.attempts >= settings.ICENTER_WEBHOOK_MAX_ATTEMPTS:
            delivery.status = WebhookDelivery.Status.FAILED
            logger.warning(
                "webhook %s to %s failed for good after %s attempts: %s",
                delivery.event_id,
                delivery.subscription.url,
                delivery.attempts,
                error,
            )
        else:
            delivery.next_attempt_at = now + webhook_retry_delay(delivery.attempts)
            logger.info(
                "webhook %s to %s failed (attempt %s), retrying: %s",
                delivery.event_id,
                delivery.subscription.url,
                delivery.attempts,
                error,
            )
    delivery.save(
        update_fields=[
            "attempts",
            "status",
            "last_status_code",
            "last_error",
            "delivered_at",
            "next_attempt_at",
        ]
    )
