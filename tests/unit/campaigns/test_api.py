"""REST API of campaigns and call lists: read progress and entries, managers add customers."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from campaigns.models import CallListEntry
from tests.factories import AccountFactory, CustomerGroupFactory, PhoneFactory
from tests.unit.campaigns.conftest import add

pytestmark = pytest.mark.django_db


def api(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_staff_read_campaigns_and_lists_with_their_progress(agent, call_list):
    add(call_list, "A")
    done = add(call_list, "B")
    CallListEntry.objects.filter(pk=done.pk).update(status="done")
    campaigns = api(agent.user).get("/api/v1/campaigns/").json()["results"]
    assert [(c["code"], c["script"]) for c in campaigns] == [("fibre-2026", "fibre-offer")]
    lists = api(agent.user).get("/api/v1/call-lists/").json()["results"]
    assert lists[0]["campaign"] == "fibre-2026"
    assert lists[0]["agent_groups"] == ["Outbound"]
    assert lists[0]["counts"] == {"open": 1, "in_work": 0, "done": 1, "failed": 0}


def test_entries_are_listed_by_status_and_only_for_visible_accounts(agent, call_list):
    visible = add(call_list, "Open")
    hidden = add(call_list, "Hidden")
    hidden.account.customer_group = CustomerGroupFactory(name="Key accounts")
    hidden.account.save()
    response = api(agent.user).get(f"/api/v1/call-lists/{call_list.pk}/entries/?status=open")
    rows = response.json()["results"]
    assert [r["account"] for r in rows] == [visible.account_id]
    bad = api(agent.user).get(f"/api/v1/call-lists/{call_list.pk}/entries/?status=nope")
    assert bad.status_code == 400 and "nope" in bad.json()["message"]


def test_managers_add_customers_all_or_nothing(manager_user, call_list):
    account = AccountFactory(customer_number="800001")
    PhoneFactory(account=account)
    url = f"/api/v1/call-lists/{call_list.pk}/entries/"
    refused = api(manager_user).post(
        url,
        {"entries": [{"customer_number": "800001"}, {"customer_number": "nope"}]},
        format="json",
    )
    assert refused.status_code == 400
    assert refused.json()["extra"]["problems"] == ["Entry 2: no account has the number “nope”."]
    assert not CallListEntry.objects.exists()

    added = api(manager_user).post(
        url,
        {"entries": [{"customer_number": "800001", "priority": 2, "note": "VIP-Angebot"}]},
        format="json",
    )
    assert added.status_code == 201 and added.json() == {"added": 1, "skipped": 0}
    entry = CallListEntry.objects.get()
    assert (entry.priority, entry.note) == (2, "VIP-Angebot")


def test_bad_payloads_are_answered_clearly(manager_user, call_list):
    url = f"/api/v1/call-lists/{call_list.pk}/entries/"
    assert api(manager_user).post(url, {"entries": []}, format="json").status_code == 400
    wrong = api(manager_user).post(
        url, {"entries": [{"customer_number": "1", "priority": 12}]}, format="json"
    )
    assert wrong.status_code == 400 and "priority" in wrong.json()["message"]


def test_agents_may_not_add_customers_and_outsiders_read_nothing(agent, outsider_user, call_list):
    url = f"/api/v1/call-lists/{call_list.pk}/entries/"
    response = api(agent.user).post(url, {"entries": [{"customer_number": "1"}]}, format="json")
    assert response.status_code == 403
    assert api(outsider_user).get("/api/v1/call-lists/").status_code == 403
