"""Access per customer group (mandant): agents see and change only the accounts and tickets of
their customer groups, some groups read-only; enforced in selectors, views and the API."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from rest_framework.test import APIClient

from accounts import selectors, services
from accounts.access import access_for
from accounts.models import Account, Contact, Ticket
from icenter.errors import NotFound, PermissionDenied
from telephony import services as telephony_services
from telephony.cti.base import CallEvent
from tests.factories import (
    AccountFactory,
    CustomerGroupFactory,
    InteractionFactory,
    PhoneFactory,
    grant,
)

pytestmark = pytest.mark.django_db

API = "/api/v1"


@pytest.fixture
def world(agent, manager_user):
    """Private customers (the agent's), business customers (read-only for the agent) and
    premium customers (not the agent's); one account and one ticket in each, plus one
    account without a customer group."""
    privat = CustomerGroupFactory(code="privat", name="Privatkunden")
    gewerbe = CustomerGroupFactory(code="gewerbe", name="Geschäftskunden")
    premium = CustomerGroupFactory(code="premium", name="Premium")
    grant(agent.user, privat)
    grant(agent.user, gewerbe, read_only=True)
    accounts = {
        "own": AccountFactory(name="Karl Meier", customer_group=privat),
        "readonly": AccountFactory(name="Meier Bau GmbH", customer_group=gewerbe),
        "hidden": AccountFactory(name="Petra Meier", customer_group=premium),
        "open": AccountFactory(name="Otto Meier", customer_group=None),
    }
    tickets = {
        key: services.ticket_create(account=account, subject=f"Ticket {key}", created_by=None)
        for key, account in accounts.items()
    }
    for key, account in accounts.items():
        InteractionFactory(account=account, subject=f"Anruf {key}")
    return {"accounts": accounts, "tickets": tickets, "groups": (privat, gewerbe, premium)}


def api_for(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


# -- the rule ----------------------------------------------------------------------------------


def test_managers_see_everything_agents_their_groups_and_the_ungrouped(
    world, agent, manager_user, outsider_user
):
    privat, gewerbe, premium = world["groups"]
    mine = access_for(agent.user)
    assert mine.can_read(privat.pk) and mine.can_write(privat.pk)
    assert mine.can_read(gewerbe.pk) and not mine.can_write(gewerbe.pk)
    assert not mine.can_read(premium.pk)
    assert mine.can_read(None) and mine.can_write(None)
    assert access_for(manager_user).can_write(premium.pk)


# -- selectors ---------------------------------------------------------------------------------


def test_selectors_return_only_accounts_and_tickets_the_user_may_see(world, agent, manager_user):
    accounts, tickets = world["accounts"], world["tickets"]
    user = agent.user
    assert selectors.account_get_for_desk(account_id=accounts["own"].pk, user=user)
    assert selectors.account_get_for_desk(account_id=accounts["readonly"].pk, user=user)
    assert selectors.account_get_for_desk(account_id=accounts["open"].pk, user=user)
    assert selectors.account_get_for_desk(account_id=accounts["hidden"].pk, user=user) is None
    assert selectors.ticket_get(ticket_id=tickets["hidden"].pk, user=user) is None
    assert selectors.ticket_get(ticket_id=tickets["readonly"].pk, user=user) is not None
    assert {t.subject for t in selectors.ticket_list(user=user)} == {
        "Ticket own",
        "Ticket readonly",
        "Ticket open",
    }
    assert selectors.ticket_list_open_for_account(account_id=accounts["hidden"].pk, user=user) == []
    assert not selectors.interaction_list_for_account(account_id=accounts["hidden"].pk, user=user)
    assert {a.name for a in selectors.account_search(query="Meier", user=user)} == {
        "Karl Meier",
        "Meier Bau GmbH",
        "Otto Meier",
    }
    assert len(selectors.account_search(query="Meier", user=manager_user)) == 4
    assert len(selectors.ticket_list(user=manager_user)) == 4


def test_duplicate_candidates_leave_out_accounts_of_other_groups(world, agent):
    found = selectors.duplicate_candidates_for_account(
        account=world["accounts"]["own"], user=agent.user
    )
    assert "Petra Meier" not in {c.account.name for c in found}


# -- services ----------------------------------------------------------------------------------


def test_services_refuse_changes_to_read_only_tickets_and_keep_them_as_they_were(world, agent):
    ticket = world["tickets"]["readonly"]
    with pytest.raises(PermissionDenied) as refused:
        services.ticket_update(ticket=ticket, by=agent.user, subject="Geändert")
    assert "Geschäftskunden" in refused.value.message
    assert "read-only" in refused.value.message
    with pytest.raises(PermissionDenied):
        services.ticket_set_status(ticket=ticket, status="in_progress", by=agent.user)
    with pytest.raises(PermissionDenied):
        services.ticket_message_add(ticket=ticket, author=agent.user, body="Hallo")
    with pytest.raises(PermissionDenied):
        services.ticket_create(
            account=world["accounts"]["readonly"], subject="Neu", created_by=agent.user
        )
    ticket.refresh_from_db()
    assert (ticket.subject, ticket.status) == ("Ticket readonly", "new")
    assert not ticket.messages.exists()


def test_services_treat_tickets_of_other_groups_as_not_found(world, agent):
    with pytest.raises(NotFound):
        services.ticket_update(ticket=world["tickets"]["hidden"], by=agent.user, subject="x")
    with pytest.raises(NotFound):
        services.account_merge(
            source=world["accounts"]["hidden"], target=world["accounts"]["own"], by=agent.user
        )
    assert Account.objects.filter(merged_into__isnull=False).count() == 0


def test_services_let_the_agent_work_on_own_and_ungrouped_tickets(world, agent):
    for key in ("own", "open"):
        ticket = services.ticket_update(ticket=world["tickets"][key], by=agent.user, subject="Neu")
        assert ticket.subject == "Neu"


def test_system_actions_without_a_user_are_not_limited(world):
    ticket = services.ticket_set_status(
        ticket=world["tickets"]["hidden"], status="in_progress", by=None
    )
    assert ticket.status == "in_progress"


# -- desk views --------------------------------------------------------------------------------


def test_the_desk_shows_own_accounts_and_not_those_of_other_groups(world, desk_client):
    accounts = world["accounts"]
    own = desk_client.get(f"/desk/?account={accounts['own'].pk}").content.decode()
    assert "Karl Meier" in own
    assert "Create ticket" in own
    hidden = desk_client.get(f"/desk/?account={accounts['hidden'].pk}").content.decode()
    assert "Petra Meier" not in hidden
    assert "Anruf hidden" not in hidden


def test_a_read_only_account_is_shown_without_ways_to_change_it(world, desk_client):
    html = desk_client.get(f"/desk/?account={world['accounts']['readonly'].pk}").content.decode()
    assert "Meier Bau GmbH" in html
    assert "read-only" in html
    assert "you cannot create tickets for this customer group" in html
    assert reverse("accounts:ticket_create") not in html
    ticket_html = desk_client.get(
        reverse("accounts:ticket_detail", args=[world["tickets"]["readonly"].pk])
    ).content.decode()
    assert "Read-only: tickets of this customer group" in ticket_html
    assert reverse("accounts:ticket_edit", args=[world["tickets"]["readonly"].pk]) not in (
        ticket_html
    )


def test_ticket_views_refuse_hidden_tickets_and_changes_to_read_only_ones(world, desk_client):
    hidden, readonly = world["tickets"]["hidden"], world["tickets"]["readonly"]
    assert desk_client.get(reverse("accounts:ticket_detail", args=[hidden.pk])).status_code == 404
    assert (
        desk_client.post(
            reverse("accounts:ticket_status", args=[hidden.pk]), {"status": "in_progress"}
        ).status_code
        == 404
    )
    response = desk_client.post(
        reverse("accounts:ticket_status", args=[readonly.pk]),
        {"status": "in_progress", "version": readonly.version},
        HTTP_HX_REQUEST="true",
    )
    assert "read-only for you" in response.content.decode()
    readonly.refresh_from_db()
    assert readonly.status == "new"
    listing = desk_client.get(reverse("accounts:ticket_list") + "?scope=all").content.decode()
    assert "Ticket own" in listing and "Ticket readonly" in listing
    assert "Ticket hidden" not in listing


def test_ticket_creation_for_a_read_only_account_is_refused_at_the_desk(world, desk_client):
    response = desk_client.post(
        reverse("accounts:ticket_create"),
        {"account": world["accounts"]["readonly"].pk, "subject": "Neu"},
        HTTP_HX_REQUEST="true",
    )
    assert "read-only for you" in response.content.decode()
    assert not Ticket.objects.filter(subject="Neu").exists()


def test_files_of_hidden_tickets_are_not_served(
    world, agent, manager_user, desk_client, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    attachment = services.ticket_attachment_add(
        ticket=world["tickets"]["hidden"],
        upload=SimpleUploadedFile("notiz.txt", b"geheim", content_type="text/plain"),
        by=manager_user,
    )
    url = reverse("accounts:ticket_download", args=[attachment.pk])
    assert desk_client.get(url).status_code == 404


def test_search_merge_and_panels_leave_out_other_groups(world, desk_client):
    accounts = world["accounts"]
    html = desk_client.get("/desk/?view=search&q=Meier").content.decode()
    assert "Karl Meier" in html and "Otto Meier" in html
    assert "Petra Meier" not in html
    for panel in ("accounts:reach_panel", "accounts:duplicates_panel"):
        url = reverse(panel, args=[accounts["hidden"].pk])
        assert desk_client.get(url).status_code == 404
    response = desk_client.post(
        reverse("accounts:account_merge", args=[accounts["own"].pk]),
        {"source": accounts["hidden"].pk},
        HTTP_HX_REQUEST="true",
    )
    assert "does not exist" in response.content.decode()
    assert Account.objects.filter(merged_into__isnull=False).count() == 0


def test_a_caller_of_another_group_pops_as_not_accessible_not_as_unknown(world, agent, desk_client):
    PhoneFactory(account=world["accounts"]["hidden"], value="030 7654321")
    telephony_services.call_event_handle(
        event=CallEvent(kind="offered", call_id="c-premium", ani="+49 30 7654321", dnis="7000")
    )
    html = desk_client.get("/desk/").content.decode()
    assert "Account not accessible" in html
    assert "customer group you have no access to" in html
    assert "Petra Meier" not in html
    assert "Unknown caller" not in html


# -- API ---------------------------------------------------------------------------------------


def test_the_api_lists_and_finds_only_visible_accounts(world, agent, manager_user):
    api = api_for(agent.user)
    names = {a["name"] for a in api.get(f"{API}/accounts/").json()["results"]}
    assert names == {"Karl Meier", "Meier Bau GmbH", "Otto Meier"}
    hidden = world["accounts"]["hidden"]
    assert api.get(f"{API}/accounts/{hidden.pk}/").status_code == 404
    found = api.get(f"{API}/accounts/search/", {"q": "Meier"}).json()["results"]
    assert "Petra Meier" not in {a["name"] for a in found}
    PhoneFactory(account=hidden, value="030 7654321")
    identified = api.get(f"{API}/accounts/identify/", {"phone": "030 7654321"}).json()
    assert identified["accounts"] == []
    assert len(api_for(manager_user).get(f"{API}/accounts/").json()["results"]) == 4


def test_the_api_refuses_changes_to_read_only_accounts_with_403(world, agent):
    api = api_for(agent.user)
    readonly = world["accounts"]["readonly"]
    response = api.patch(f"{API}/accounts/{readonly.pk}/", {"name": "X"}, format="json")
    assert response.status_code == 403
    assert "read-only" in response.json()["message"]
    response = api.post(
        f"{API}/contacts/", {"account": readonly.pk, "last_name": "Neu"}, format="json"
    )
    assert response.status_code == 403
    response = api.post(
        f"{API}/accounts/", {"name": "Neu AG", "customer_group": "premium"}, format="json"
    )
    assert response.status_code == 403
    readonly.refresh_from_db()
    assert readonly.name == "Meier Bau GmbH"
    assert not Contact.objects.filter(last_name="Neu").exists()
    assert not Account.objects.filter(name="Neu AG").exists()


def test_the_api_moves_an_account_only_into_groups_the_user_may_change(world, agent):
    api = api_for(agent.user)
    own = world["accounts"]["own"]
    response = api.patch(f"{API}/accounts/{own.pk}/", {"customer_group": "premium"}, format="json")
    assert response.status_code == 403
    own.refresh_from_db()
    assert own.customer_group.code == "privat"


def test_the_api_hides_tickets_interactions_and_contacts_of_other_groups(world, agent):
    api = api_for(agent.user)
    tickets, accounts = world["tickets"], world["accounts"]
    subjects = {t["subject"] for t in api.get(f"{API}/tickets/").json()["results"]}
    assert subjects == {"Ticket own", "Ticket readonly", "Ticket open"}
    assert api.get(f"{API}/tickets/{tickets['hidden'].pk}/").status_code == 404
    interactions = {i["subject"] for i in api.get(f"{API}/interactions/").json()["results"]}
    assert "Anruf hidden" not in interactions and "Anruf own" in interactions
    response = api.post(
        f"{API}/contacts/", {"account": accounts["hidden"].pk, "last_name": "Neu"}, format="json"
    )
    assert response.status_code == 404
    response = api.post(
        f"{API}/callbacks/",
        {
            "number": "030 1234567",
            "reason": "Rückruf",
            "not_before": "2030-01-07T10:00:00+01:00",
            "account": accounts["hidden"].pk,
            "agent": agent.pk,
        },
        format="json",
    )
    assert response.status_code == 404


def test_the_api_refuses_ticket_transitions_on_read_only_tickets(world, agent):
    api = api_for(agent.user)
    ticket = world["tickets"]["readonly"]
    response = api.post(
        f"{API}/tickets/{ticket.pk}/status/", {"status": "in_progress"}, format="json"
    )
    assert response.status_code == 403
    ticket.refresh_from_db()
    assert ticket.status == "new"
    own = world["tickets"]["own"]
    response = api.post(f"{API}/tickets/{own.pk}/status/", {"status": "in_progress"}, format="json")
    assert response.status_code == 200, response.content


def test_a_stale_account_patch_is_refused_instead_of_overwriting(world, agent):
    api = api_for(agent.user)
    own = world["accounts"]["own"]
    version = api.get(f"{API}/accounts/{own.pk}/").json()["version"]
    first = api.patch(
        f"{API}/accounts/{own.pk}/", {"notes": "erste", "version": version}, format="json"
    )
    assert first.status_code == 200
    assert first.json()["version"] == version + 1
    stale = api.patch(
        f"{API}/accounts/{own.pk}/", {"notes": "zweite", "version": version}, format="json"
    )
    assert stale.status_code == 400
    assert "changed by someone else" in stale.json()["message"]
    own.refresh_from_db()
    assert own.notes == "erste"
