"""Managers manage webhook subscriptions over the REST API and in the admin."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from telephony import webhooks
from telephony.models import WebhookDelivery, WebhookSubscription

URL = "/api/v1/webhooks/"


def client_for(user: Any) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_a_manager_creates_a_subscription_and_sees_the_secret_only_once(
    manager_user: Any,
) -> None:
    api = client_for(manager_user)
    response = api.post(
        URL,
        {"name": "CRM", "url": "https://crm.example.com/hook", "event_kinds": ["ended"]},
        format="json",
    )
    assert response.status_code == 201, response.json()
    created = response.json()
    subscription = WebhookSubscription.objects.get()
    assert created["secret"] == subscription.secret
    assert subscription.created_by == manager_user
    listed = api.get(URL).json()["results"]
    assert "secret" not in listed[0]
    assert listed[0]["secret_hint"].endswith("…")
    assert subscription.secret not in str(listed)


def test_a_manager_changes_rotates_and_deletes_a_subscription(manager_user: Any) -> None:
    subscription, secret = webhooks.webhook_subscription_create(
        name="CRM", url="https://crm.example.com/hook", event_kinds=[]
    )
    api = client_for(manager_user)
    response = api.patch(f"{URL}{subscription.pk}/", {"is_active": False}, format="json")
    assert response.status_code == 200
    subscription.refresh_from_db()
    assert (subscription.is_active, subscription.url) == (False, "https://crm.example.com/hook")
    rotated = api.post(f"{URL}{subscription.pk}/rotate-secret/").json()["secret"]
    assert rotated != secret
    assert api.delete(f"{URL}{subscription.pk}/").status_code == 204
    assert not WebhookSubscription.objects.exists()


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"name": "CRM", "url": "ftp://crm.example.com/hook"}, "url"),
        ({"name": "CRM", "url": "https://crm.example.com", "event_kinds": ["rang"]}, "event_kinds"),
        ({"url": "https://crm.example.com"}, "name"),
    ],
)
def test_bad_input_gets_a_clear_error_and_stores_nothing(
    manager_user: Any, payload: dict[str, Any], field: str
) -> None:
    response = client_for(manager_user).post(URL, payload, format="json")
    assert response.status_code == 400
    body = response.json()
    assert field in body["extra"]["fields"]
    assert body["message"]
    assert not WebhookSubscription.objects.exists()


def test_agents_supervisors_and_outsiders_cannot_see_or_change_webhooks(
    agent: Any, supervisor_user: Any, outsider_user: Any
) -> None:
    webhooks.webhook_subscription_create(name="CRM", url="https://crm.example.com", event_kinds=[])
    for user in (agent.user, supervisor_user, outsider_user):
        api = client_for(user)
        assert api.get(URL).status_code == 403
        assert api.post(URL, {"name": "x", "url": "https://x.example"}).status_code == 403
    assert WebhookSubscription.objects.count() == 1


def test_a_manager_lists_and_resends_deliveries(manager_user: Any) -> None:
    subscription, _secret = webhooks.webhook_subscription_create(
        name="CRM", url="https://crm.example.com", event_kinds=[]
    )
    delivery = WebhookDelivery.objects.create(
        subscription=subscription,
        event_id="e1",
        kind="ended",
        payload={"id": "e1"},
        status=WebhookDelivery.Status.FAILED,
        attempts=8,
        last_error="HTTP 500",
    )
    api = client_for(manager_user)
    listed = api.get(f"{URL}{subscription.pk}/deliveries/").json()["results"]
    assert [d["event_id"] for d in listed] == ["e1"]
    response = api.post(f"{URL}{subscription.pk}/deliveries/{delivery.pk}/resend/")
    assert response.status_code == 200
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.event_id) == ("pending", 0, "e1")


def test_the_admin_shows_a_new_secret_once_and_masks_it_afterwards(
    client: Any, manager_user: Any
) -> None:
    client.force_login(manager_user)
    response = client.post(
        "/admin/telephony/webhooksubscription/add/",
        {"name": "CRM", "url": "https://crm.example.com/hook", "event_kinds": ["ended"]},
    )
    assert response.status_code == 200
    subscription = WebhookSubscription.objects.get()
    assert subscription.secret in response.content.decode()
    assert subscription.event_kinds == ["ended"]
    assert "no-store" in response["Cache-Control"]
    change = client.get(f"/admin/telephony/webhooksubscription/{subscription.pk}/change/")
    assert change.status_code == 200
    assert subscription.secret not in change.content.decode()
    assert webhooks.webhook_secret_hint(subscription.secret) in change.content.decode()


def test_the_admin_resends_deliveries_and_never_edits_them(client: Any, manager_user: Any) -> None:
    subscription, _secret = webhooks.webhook_subscription_create(
        name="CRM", url="https://crm.example.com", event_kinds=[]
    )
    delivery = WebhookDelivery.objects.create(
        subscription=subscription,
        event_id="e1",
        kind="ended",
        payload={},
        status=WebhookDelivery.Status.FAILED,
        attempts=8,
    )
    client.force_login(manager_user)
    response = client.post(
        "/admin/telephony/webhookdelivery/",
        {"action": "resend", "_selected_action": [delivery.pk]},
        follow=True,
    )
    assert response.status_code == 200
    delivery.refresh_from_db()
    assert delivery.status == "pending"
    change = client.post(f"/admin/telephony/webhookdelivery/{delivery.pk}/change/", {})
    assert change.status_code == 403
    delivery.refresh_from_db()
    assert delivery.event_id == "e1"
