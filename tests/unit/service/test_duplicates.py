"""Duplicate accounts: found by phonetic name and shared numbers, merged in one action with
an audit that can undo it; presence of colleagues and stale saves."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts import services
from accounts.models import (
    Account,
    AccountMerge,
    Address,
    ContactPoint,
    Interaction,
    Presence,
    Ticket,
)
from accounts.selectors import duplicate_candidates_for_account, presence_others
from icenter.errors import DomainError
from telephony.models import WorkItem
from tests.factories import (
    AccountFactory,
    AddressFactory,
    ContactFactory,
    InteractionFactory,
    PhoneFactory,
)

pytestmark = pytest.mark.django_db


def email(account, value):
    return ContactPoint.objects.create(
        account=account, kind="email", value=value, normalized=value.lower()
    )


@pytest.fixture
def pair(agent):
    """Jürgen Meier and a second record of him, "Juergen Mayer", with his mobile number."""
    kept = AccountFactory(name="Jürgen Meier", first_name="Jürgen", last_name="Meier")
    PhoneFactory(account=kept, value="0171 2345678")
    AddressFactory(account=kept, street="Lindenweg 4", postcode="50667", city="Köln")
    dup = AccountFactory(name="Juergen Mayer", first_name="Juergen", last_name="Mayer")
    PhoneFactory(account=dup, value="+49 171 2345678")
    PhoneFactory(account=dup, value="0221 998877")
    email(dup, "juergen@example.de")
    AddressFactory(account=dup, street="Lindenweg 4", postcode="50667", city="Köln")
    AddressFactory(account=dup, kind="billing", street="Postfach 1", postcode="50668", city="Köln")
    ContactFactory(account=dup, first_name="Eva", last_name="Mayer")
    services.ticket_create(account=dup, subject="Rechnung", created_by=agent.user)
    InteractionFactory(account=dup, subject="Anruf")
    return kept, dup


def test_duplicates_are_found_by_shared_number_and_sounding_name(pair, agent):
    kept, dup = pair
    AccountFactory(name="Erika Musterfrau", first_name="Erika", last_name="Musterfrau")
    found = duplicate_candidates_for_account(account=kept, user=agent.user)
    assert [c.account for c in found] == [dup]
    assert "same phone +49 171 2345678" in found[0].reasons
    assert "similar name" in found[0].reasons


def test_a_merge_moves_everything_and_drops_exact_duplicates(pair, agent):
    kept, dup = pair
    merge = services.account_merge(source=dup, target=kept, by=agent.user)
    assert set(ContactPoint.objects.filter(account=kept).values_list("normalized", flat=True)) == {
        "+491712345678",
        "+49221998877",
        "juergen@example.de",
    }
    assert Address.objects.filter(account=kept).count() == 2  # the same street once
    assert kept.contacts.get().first_name == "Eva"
    assert Ticket.objects.get().account == kept
    assert Interaction.objects.get().account == kept
    dup.refresh_from_db()
    assert dup.merged_into == kept
    assert merge.merged_by == agent.user
    assert len(merge.removed["contact_points"]) == 1 and len(merge.removed["addresses"]) == 1
    assert merge.moved["accounts.ticket.account"] == [Ticket.objects.get().pk]
    assert duplicate_candidates_for_account(account=kept, user=agent.user) == []


def test_a_merge_also_moves_records_of_other_apps(pair, agent):
    kept, dup = pair
    item = WorkItem.objects.create(channel="callback", account=dup, number="+491712345678")
    services.account_merge(source=dup, target=kept, by=agent.user)
    item.refresh_from_db()
    assert item.account == kept


def test_undo_restores_the_duplicate_with_its_records(pair, agent):
    kept, dup = pair
    before = {
        "points": set(
            ContactPoint.objects.filter(account=dup).values_list("normalized", flat=True)
        ),
        "addresses": Address.objects.filter(account=dup).count(),
    }
    merge = services.account_merge(source=dup, target=kept, by=agent.user)
    services.account_merge_undo(merge=merge, by=agent.user)
    dup.refresh_from_db()
    assert dup.merged_into is None
    assert (
        set(ContactPoint.objects.filter(account=dup).values_list("normalized", flat=True))
        == before["points"]
    )
    assert Address.objects.filter(account=dup).count() == before["addresses"]
    assert Ticket.objects.get().account == dup
    assert kept.contacts.count() == 0 and dup.contacts.count() == 1
    with pytest.raises(DomainError, match="already been undone"):
        services.account_merge_undo(merge=merge, by=agent.user)


def test_merges_that_make_no_sense_are_refused(pair, agent):
    kept, dup = pair
    with pytest.raises(DomainError, match="into itself"):
        services.account_merge(source=kept, target=kept, by=agent.user)
    services.account_merge(source=dup, target=kept, by=agent.user)
    with pytest.raises(DomainError, match="already been merged"):
        services.account_merge(source=dup, target=kept, by=agent.user)
    with pytest.raises(DomainError, match="merge into that one"):
        services.account_merge(source=AccountFactory(), target=dup, by=agent.user)


def test_a_merge_based_on_an_old_page_is_refused(pair, agent):
    kept, dup = pair
    seen = kept.version
    services.account_update(account=kept, name="Jürgen Meier-Mayer")
    with pytest.raises(DomainError, match="changed meanwhile"):
        services.account_merge(source=dup, target=kept, by=agent.user, target_version=seen)
    assert not AccountMerge.objects.exists()


def test_a_stale_account_save_is_refused_instead_of_overwriting(agent):
    account = AccountFactory(name="Müller GmbH")
    seen = account.version
    services.account_update(account=account, expected_version=seen, notes="von Anna")
    other_copy = Account.objects.get(pk=account.pk)
    with pytest.raises(DomainError, match="changed by someone else"):
        services.account_update(account=other_copy, expected_version=seen, notes="von Jörg")
    account.refresh_from_db()
    assert (account.notes, account.version) == ("von Anna", seen + 1)


def test_the_desk_merges_in_one_action_and_undoes(client, agent, pair):
    kept, dup = pair
    client.force_login(agent.user)
    panel = client.get(reverse("accounts:duplicates_panel", args=[kept.pk])).content.decode()
    assert "Juergen Mayer" in panel and "Merge into this account" in panel
    html = client.post(
        reverse("accounts:account_merge", args=[kept.pk]),
        {"source": dup.pk, "source_version": dup.version, "target_version": kept.version},
    ).content.decode()
    assert "was merged into Jürgen Meier" in html
    merge = AccountMerge.objects.get()
    panel = client.get(reverse("accounts:duplicates_panel", args=[kept.pk])).content.decode()
    assert "Undo merge" in panel
    html = client.post(reverse("accounts:account_merge_undo", args=[merge.pk])).content.decode()
    assert "was undone" in html
    # The page still shows the old versions: a second merge from it is refused.
    html = client.post(
        reverse("accounts:account_merge", args=[kept.pk]),
        {"source": dup.pk, "source_version": 1, "target_version": 1},
    ).content.decode()
    assert "changed meanwhile" in html


def test_managers_merge_in_the_admin_and_see_the_audit(client, manager_user, pair):
    kept, dup = pair
    client.force_login(manager_user)
    response = client.post(
        "/admin/accounts/account/",
        {"action": "merge_selected", "_selected_action": [kept.pk, dup.pk]},
        follow=True,
    )
    assert "was merged into" in response.content.decode()
    dup.refresh_from_db()
    assert dup.merged_into == kept
    assert client.get("/admin/accounts/accountmerge/").status_code == 200


def test_two_agents_see_each_other_on_the_same_ticket(client, agent, other_agent):
    ticket = services.ticket_create(
        account=AccountFactory(), subject="Router", created_by=agent.user
    )
    url = reverse("accounts:presence", args=["ticket", ticket.pk])
    client.force_login(other_agent.user)
    assert client.post(url).content.decode().strip() == ""
    client.force_login(agent.user)
    assert "Jörg Weiß also has this ticket open" in client.post(url).content.decode()
    client.force_login(other_agent.user)
    assert "Anna Schäfer also has this ticket open" in client.post(url).content.decode()
    # Someone who closed the ticket long ago is not shown.
    Presence.objects.filter(user=agent.user).update(
        seen_at=timezone.now() - dt.timedelta(minutes=5)
    )
    assert presence_others(user_id=other_agent.user_id, kind="ticket", object_id=ticket.pk) == []
    assert client.post(reverse("accounts:presence", args=["invoice", 1])).status_code == 404


def test_the_ticket_and_account_views_poll_for_presence(client, agent):
    ticket = services.ticket_create(
        account=AccountFactory(), subject="Router", created_by=agent.user
    )
    client.force_login(agent.user)
    html = client.get(
        reverse("accounts:ticket_detail", args=[ticket.pk]), HTTP_HX_REQUEST="true"
    ).content.decode()
    assert reverse("accounts:presence", args=["ticket", ticket.pk]) in html
    assert 'hx-trigger="load, every 20s, presence-edit"' in html


def test_opening_a_merged_duplicate_points_to_the_kept_account(client, agent, pair):
    kept, dup = pair
    services.account_merge(source=dup, target=kept, by=agent.user)
    client.force_login(agent.user)
    html = client.get(f"/desk/?account={dup.pk}").content.decode()
    assert "This account is a merged duplicate." in html
    assert "Open Jürgen Meier" in html
