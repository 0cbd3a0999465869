"""Managers set up campaigns and call lists in the admin and fill lists from CSV."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from campaigns.models import CallListEntry
from tests.factories import AccountFactory, PhoneFactory
from tests.unit.campaigns.conftest import add

pytestmark = pytest.mark.django_db


@pytest.fixture
def manager(client, manager_user):
    client.force_login(manager_user)
    return client


def test_managers_open_every_campaign_admin_page(manager, call_list):
    entry = add(call_list, "Kunde")
    for page in [
        "/admin/campaigns/",
        "/admin/campaigns/campaign/",
        "/admin/campaigns/campaign/add/",
        f"/admin/campaigns/campaign/{call_list.campaign_id}/change/",
        "/admin/campaigns/calllist/",
        "/admin/campaigns/calllist/add/",
        f"/admin/campaigns/calllist/{call_list.pk}/change/",
        f"/admin/campaigns/calllist/{call_list.pk}/import/",
        "/admin/campaigns/calllistentry/",
        f"/admin/campaigns/calllistentry/{entry.pk}/change/",
    ]:
        assert manager.get(page).status_code == 200, page


def test_the_list_page_shows_progress_and_the_import_link(manager, call_list):
    add(call_list, "A")
    closed = add(call_list, "B")
    CallListEntry.objects.filter(pk=closed.pk).update(status="done")
    html = manager.get("/admin/campaigns/calllist/").content.decode()
    assert "1 / 2" in html
    assert f"/admin/campaigns/calllist/{call_list.pk}/import/" in html


def test_a_csv_upload_adds_the_customers(manager, call_list):
    account = AccountFactory(customer_number="700001")
    PhoneFactory(account=account, value="030 7000001")
    upload = SimpleUploadedFile(
        "list.csv", "\ufeffcustomer_number;priority\n700001;2\n".encode(), "text/csv"
    )
    response = manager.post(f"/admin/campaigns/calllist/{call_list.pk}/import/", {"file": upload})
    assert response.status_code == 302
    entry = CallListEntry.objects.get()
    assert (entry.account, entry.phone, entry.priority) == (account, "+49307000001", 2)
    page = manager.get(response["Location"]).content.decode()
    assert "1 customers added, 0 already on the list." in page


def test_a_bad_csv_is_shown_back_with_every_problem_and_adds_nobody(manager, call_list):
    text = "customer_number,phone\n123,\n"
    html = manager.post(
        f"/admin/campaigns/calllist/{call_list.pk}/import/", {"text": text}
    ).content.decode()
    assert 'id="import-problems"' in html
    assert "Nothing was imported: 1 lines have errors." in html
    assert "Line 2: no account has the number “123”." in html
    assert not CallListEntry.objects.exists()


def test_a_file_that_is_not_utf8_is_refused(manager, call_list):
    upload = SimpleUploadedFile("list.csv", "customer_number\nM\xfcller\n".encode("latin-1"))
    html = manager.post(
        f"/admin/campaigns/calllist/{call_list.pk}/import/", {"file": upload}
    ).content.decode()
    assert "The file is not UTF-8 text." in html


def test_supervisors_may_look_but_not_import(client, supervisor_user, call_list):
    supervisor_user.is_staff = True
    supervisor_user.save()
    client.force_login(supervisor_user)
    assert client.get("/admin/campaigns/calllist/").status_code == 200
    assert client.get(f"/admin/campaigns/calllist/{call_list.pk}/import/").status_code == 403


def test_put_back_action_reopens_closed_customers(manager, call_list):
    entry = add(call_list, "Kunde")
    CallListEntry.objects.filter(pk=entry.pk).update(status="failed", result="no_answer")
    manager.post(
        "/admin/campaigns/calllistentry/",
        {"action": "put_back", "_selected_action": [entry.pk]},
    )
    entry.refresh_from_db()
    assert entry.status == "open" and entry.not_before is None
