"""Webhooks for call events, sent to a real HTTP receiver on 127.0.0.1."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.utils import timezone

from telephony import tasks, webhooks
from telephony.models import Call, WebhookDelivery, WebhookSubscription
from tests.factories import InteractionFactory


class Receiver:
    """An integrator's endpoint: records requests and answers with the scripted status codes."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.statuses: list[int] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append({"headers": dict(self.headers), "body": body})
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/icenter"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    receiver = Receiver()
    yield receiver
    receiver.close()


@pytest.fixture
def call(db: Any) -> Call:
    now = timezone.now()
    return Call.objects.create(
        call_id="1718012400.1",
        direction=Call.Direction.INBOUND,
        ani="+4930123456",
        dnis="7000",
        queue="7000",
        status=Call.Status.TALKING,
        interaction=InteractionFactory(),
        offered_at=now - timedelta(seconds=20),
        answered_at=now,
    )


def subscribe(url: str, kinds: list[str] | None = None, active: bool = True) -> tuple[Any, str]:
    return webhooks.webhook_subscription_create(
        name="CRM", url=url, event_kinds=kinds or [], is_active=active
    )


def verify(secret: str, header: str, body: bytes) -> bool:
    """What docs/webhooks.md tells receivers to do."""
    parts = dict(item.split("=", 1) for item in header.split(","))
    expected = hmac.new(
        secret.encode(), parts["t"].encode() + b"." + body, hashlib.sha256
    ).hexdigest()
    return hmac.compare_digest(expected, parts["v1"])


def test_an_answered_call_is_posted_signed_to_the_subscriber(
    receiver: Receiver, call: Call
) -> None:
    _subscription, secret = subscribe(receiver.url)
    assert webhooks.webhook_enqueue_for_call_event(call=call, kind="answered", at=timezone.now())
    run = webhooks.webhook_deliver_due()
    assert (run.delivered, run.retrying, run.failed) == (1, 0, 0)
    (request,) = receiver.requests
    headers, body = request["headers"], request["body"]
    assert verify(secret, headers["X-Icenter-Signature"], body)
    assert not verify("another-secret", headers["X-Icenter-Signature"], body)
    payload = json.loads(body)
    assert payload["type"] == "call.answered"
    assert payload["id"] == headers["X-Icenter-Delivery"]
    assert payload["data"]["call"]["call_id"] == "1718012400.1"
    assert payload["data"]["call"]["account_id"] == call.interaction.account_id
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("delivered", 1, 200)


def test_a_failing_receiver_is_retried_with_growing_pauses_and_the_same_event_id(
    receiver: Receiver, call: Call, settings: Any
) -> None:
    settings.ICENTER_WEBHOOK_MAX_ATTEMPTS = 5
    subscribe(receiver.url)
    webhooks.webhook_enqueue_for_call_event(call=call, kind="ended", at=timezone.now())
    receiver.statuses = [500, 503]
    start = timezone.now()
    assert webhooks.webhook_deliver_due(now=start).retrying == 1
    delivery = WebhookDelivery.objects.get()
    assert delivery.next_attempt_at == start + timedelta(seconds=30)
    assert (delivery.status, delivery.last_error) == ("pending", "HTTP 500 Internal Server Error")

    # Not due yet: nothing is sent.
    assert webhooks.webhook_deliver_due(now=start + timedelta(seconds=29)).retrying == 0
    assert len(receiver.requests) == 1

    second = start + timedelta(seconds=30)
    webhooks.webhook_deliver_due(now=second)
    delivery.refresh_from_db()
    assert delivery.next_attempt_at == second + timedelta(seconds=60)
    assert delivery.last_status_code == 503

    webhooks.webhook_deliver_due(now=second + timedelta(seconds=60))
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_error) == ("delivered", 3, "")
    ids = {r["headers"]["X-Icenter-Delivery"] for r in receiver.requests}
    assert ids == {delivery.event_id}


def test_a_delivery_gives_up_after_the_maximum_attempts_and_keeps_the_error(
    receiver: Receiver, call: Call, settings: Any
) -> None:
    settings.ICENTER_WEBHOOK_MAX_ATTEMPTS = 3
    subscribe(receiver.url)
    webhooks.webhook_enqueue_for_call_event(call=call, kind="ended", at=timezone.now())
    receiver.statuses = [500, 500, 500, 500]
    now = timezone.now()
    for _ in range(5):
        webhooks.webhook_deliver_due(now=now)
        now += timedelta(hours=2)
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts) == ("failed", 3)
    assert delivery.last_error == "HTTP 500 Internal Server Error"
    assert len(receiver.requests) == 3


def test_an_unreachable_receiver_counts_as_a_failed_attempt(call: Call) -> None:
    subscribe("http://127.0.0.1:1/nobody-listens")
    webhooks.webhook_enqueue_for_call_event(call=call, kind="ended", at=timezone.now())
    assert webhooks.webhook_deliver_due().retrying == 1
    assert "URLError" in WebhookDelivery.objects.get().last_error


def test_a_redirect_is_not_followed(receiver: Receiver, call: Call) -> None:
    subscribe(receiver.url)
    webhooks.webhook_enqueue_for_call_event(call=call, kind="ended", at=timezone.now())
    receiver.statuses = [302]
    assert webhooks.webhook_deliver_due().retrying == 1
    assert WebhookDelivery.objects.get().last_status_code == 302


def test_no_delivery_for_inactive_or_not_matching_subscriptions(
    receiver: Receiver, call: Call, django_assert_num_queries: Any
) -> None:
    subscribe(receiver.url, active=False)
    subscribe(receiver.url, kinds=["offered", "ended"])
    with django_assert_num_queries(1):
        assert (
            webhooks.webhook_enqueue_for_call_event(call=call, kind="held", at=timezone.now()) == 0
        )
    assert WebhookDelivery.objects.count() == 0
    assert webhooks.webhook_deliver_due().delivered == 0
    assert receiver.requests == []


def test_a_subscription_deactivated_after_the_event_gets_nothing(
    receiver: Receiver, call: Call
) -> None:
    subscription, _secret = subscribe(receiver.url)
    webhooks.webhook_enqueue_for_call_event(call=call, kind="ended", at=timezone.now())
    WebhookSubscription.objects.filter(pk=subscription.pk).update(is_active=False)
    assert webhooks.webhook_deliver_due().failed == 1
    assert receiver.requests == []
    assert WebhookDelivery.objects.get().last_error == "the subscription is not active"


def test_a_failed_delivery_can_be_resent_with_the_same_event_id(
    receiver: Receiver, call: Call, settings: Any
) -> None:
    settings.ICENTER_WEBHOOK_MAX_ATTEMPTS = 1
    subscribe(receiver.url)
    webhooks.webhook_enqueue_for_call_event(call=call, kind="ended", at=timezone.now())
    receiver.statuses = [500]
    webhooks.webhook_deliver_due()
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == "failed"
    webhooks.webhook_delivery_resend(delivery=delivery)
    assert tasks.webhook_deliver_due() == {"delivered": 1, "retrying": 0, "failed": 0}
    first, second = receiver.requests
    assert first["headers"]["X-Icenter-Delivery"] == second["headers"]["X-Icenter-Delivery"]


def test_unknown_event_kinds_are_refused(db: Any) -> None:
    from icenter.errors import DomainError

    with pytest.raises(DomainError, match="Unknown call event kinds: rang"):
        subscribe("https://crm.example.com/hook", kinds=["rang"])
