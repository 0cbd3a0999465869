"""Write paths for accounts, contacts, contact points and interactions."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.db.models import ProtectedError
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts import services
from accounts.models import Account, Contact, ContactPoint, Interaction
from icenter.errors import DomainError, PermissionDenied
from tests.factories import (
    AccountFactory,
    AddressFactory,
    ContactFactory,
    CustomerGroupFactory,
    InteractionFactory,
    PhoneFactory,
    UserFactory,
)

# -- account_update -----------------------------------------------------------------------------


@pytest.mark.django_db
def test_updating_an_account_changes_only_the_fields_given(agent):
    group = CustomerGroupFactory(code="gewerbe")
    account = AccountFactory(name="Alt", notes="Zahlt pünktlich.")
    before = account.updated_at
    services.account_update(
        account=account,
        name="  Neu GmbH ",
        is_vip=True,
        customer_group=group,
        assigned_agent=agent.user,
    )
    account.refresh_from_db()
    assert (account.name, account.is_vip, account.customer_group, account.assigned_agent) == (
        "Neu GmbH",
        True,
        group,
        agent.user,
    )
    assert account.notes == "Zahlt pünktlich."
    assert account.updated_at > before


@pytest.mark.django_db
def test_an_account_update_without_changes_writes_nothing():
    account = AccountFactory()
    with CaptureQueriesContext(connection) as queries:
        assert services.account_update(account=account) is account
    assert not [q for q in queries.captured_queries if q["sql"].startswith("UPDATE")]


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["", "   "])
def test_an_account_name_cannot_be_emptied(name):
    account = AccountFactory(name="Bleibt")
    with pytest.raises(DomainError) as refused:
        services.account_update(account=account, name=name)
    assert refused.value.extra == {"field": "name"}
    account.refresh_from_db()
    assert account.name == "Bleibt"


@pytest.mark.django_db
def test_a_manager_can_be_the_assigned_agent(manager_user):
    account = AccountFactory()
    services.account_update(account=account, assigned_agent=manager_user)
    account.refresh_from_db()
    assert account.assigned_agent == manager_user


@pytest.mark.django_db
def test_an_account_cannot_be_assigned_to_a_user_without_a_staff_role(outsider_user):
    account = AccountFactory()
    with pytest.raises(DomainError) as refused:
        services.account_update(account=account, assigned_agent=outsider_user)
    assert refused.value.extra == {"field": "assigned_agent"}
    assert "outsider" in refused.value.message
    account.refresh_from_db()
    assert account.assigned_agent is None


@pytest.mark.django_db
def test_an_account_cannot_be_assigned_to_an_agent_who_left():
    former = UserFactory(username="ehemalig", roles=["agent"])
    former.is_active = False
    former.save()
    with pytest.raises(DomainError) as refused:
        services.account_update(account=AccountFactory(), assigned_agent=former)
    assert refused.value.extra == {"field": "assigned_agent"}


@pytest.mark.django_db
def test_the_assigned_agent_can_be_taken_off_an_account(agent):
    account = AccountFactory(assigned_agent=agent.user)
    services.account_update(account=account, assigned_agent=None)
    account.refresh_from_db()
    assert account.assigned_agent is None


@pytest.mark.django_db
def test_an_account_update_refuses_fields_it_does_not_change():
    account = AccountFactory(customer_number="100234")
    with pytest.raises(DomainError) as refused:
        services.account_update(account=account, customer_number="1", is_vip=True)
    assert refused.value.extra == {"field": "customer_number"}
    account.refresh_from_db()
    assert (account.customer_number, account.is_vip) == ("100234", False)


# -- account_delete, contact_delete, contact_point_delete ---------------------------------------


@pytest.mark.django_db
def test_deleting_an_account_takes_its_contacts_and_keeps_its_history():
    contact = ContactFactory()
    account = contact.account
    PhoneFactory(account=account, contact=contact)
    AddressFactory(account=account)
    interaction = InteractionFactory(account=account, contact=contact)
    services.account_delete(account=account)
    assert not Account.objects.exists()
    assert not Contact.objects.exists()
    assert not ContactPoint.objects.exists()
    interaction.refresh_from_db()
    assert (interaction.account, interaction.contact) == (None, None)


@pytest.mark.django_db
def test_deleting_a_contact_takes_its_own_numbers_and_keeps_the_accounts():
    contact = ContactFactory()
    own = PhoneFactory(account=contact.account, contact=contact)
    switchboard = PhoneFactory(account=contact.account)
    interaction = InteractionFactory(account=contact.account, contact=contact)
    services.contact_delete(contact=contact)
    assert list(ContactPoint.objects.all()) == [switchboard]
    assert not ContactPoint.objects.filter(pk=own.pk).exists()
    interaction.refresh_from_db()
    assert (interaction.account, interaction.contact) == (contact.account, None)


@pytest.mark.django_db
def test_deleting_a_contact_point_keeps_the_rest():
    phone = PhoneFactory()
    other = PhoneFactory(account=phone.account)
    services.contact_point_delete(contact_point=phone)
    assert list(ContactPoint.objects.all()) == [other]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("model", "make", "delete", "key"),
    [
        (Account, AccountFactory, lambda o: services.account_delete(account=o), "account"),
        (Contact, ContactFactory, lambda o: services.contact_delete(contact=o), "contact"),
        (
            ContactPoint,
            PhoneFactory,
            lambda o: services.contact_point_delete(contact_point=o),
            "contact_point",
        ),
    ],
)
def test_something_still_used_elsewhere_is_not_deleted(model, make, delete, key, monkeypatch):
    thing = make()

    def protected(self, *args, **kwargs):
        raise ProtectedError("still referenced", set())

    monkeypatch.setattr(model, "delete", protected)
    with pytest.raises(DomainError) as refused:
        delete(thing)
    assert refused.value.extra == {key: thing.pk}
    assert "cannot be deleted" in refused.value.message
    assert model.objects.filter(pk=thing.pk).exists()


# -- contact_create, contact_update: at most one primary contact --------------------------------


@pytest.mark.django_db
def test_a_contact_is_added_to_an_account():
    account = AccountFactory(kind="organisation")
    contact = services.contact_create(
        account=account, first_name=" Käthe ", last_name=" Schröder ", position="Einkauf"
    )
    contact.refresh_from_db()
    assert (contact.account, contact.full_name, contact.position, contact.is_primary) == (
        account,
        "Käthe Schröder",
        "Einkauf",
        False,
    )


@pytest.mark.django_db
def test_a_contact_needs_a_last_name():
    with pytest.raises(DomainError) as refused:
        services.contact_create(account=AccountFactory(), first_name="Käthe", last_name="  ")
    assert refused.value.extra == {"field": "last_name"}
    assert not Contact.objects.exists()


@pytest.mark.django_db
def test_a_new_primary_contact_replaces_the_previous_one_of_that_account_only():
    previous = ContactFactory(is_primary=True)
    elsewhere = ContactFactory(is_primary=True)
    new = services.contact_create(
        account=previous.account, first_name="Jörg", last_name="Weiß", is_primary=True
    )
    previous.refresh_from_db()
    elsewhere.refresh_from_db()
    assert (new.is_primary, previous.is_primary, elsewhere.is_primary) == (True, False, True)


@pytest.mark.django_db
def test_a_contact_that_is_not_primary_leaves_the_primary_alone():
    primary = ContactFactory(is_primary=True)
    services.contact_create(account=primary.account, first_name="", last_name="Weiß")
    primary.refresh_from_db()
    assert primary.is_primary


@pytest.mark.django_db
def test_making_a_contact_primary_takes_the_flag_from_the_others():
    previous = ContactFactory(is_primary=True)
    contact = ContactFactory(account=previous.account)
    services.contact_update(contact=contact, is_primary=True)
    previous.refresh_from_db()
    contact.refresh_from_db()
    assert (contact.is_primary, previous.is_primary) == (True, False)
    assert Contact.objects.filter(account=contact.account, is_primary=True).count() == 1


@pytest.mark.django_db
def test_an_account_can_be_left_without_a_primary_contact():
    contact = ContactFactory(is_primary=True)
    services.contact_update(contact=contact, is_primary=False)
    assert not Contact.objects.filter(is_primary=True).exists()


@pytest.mark.django_db
def test_updating_a_contact_changes_only_the_fields_given():
    contact = ContactFactory(first_name="Käthe", last_name="Schröder", position="Einkauf")
    services.contact_update(contact=contact, last_name=" Schulz ")
    contact.refresh_from_db()
    assert (contact.first_name, contact.last_name, contact.position) == (
        "Käthe",
        "Schulz",
        "Einkauf",
    )


@pytest.mark.django_db
def test_a_contacts_last_name_cannot_be_emptied():
    contact = ContactFactory(last_name="Schröder")
    with pytest.raises(DomainError) as refused:
        services.contact_update(contact=contact, last_name="")
    assert refused.value.extra == {"field": "last_name"}
    contact.refresh_from_db()
    assert contact.last_name == "Schröder"


@pytest.mark.django_db
def test_a_contact_cannot_move_to_another_account():
    contact = ContactFactory()
    home = contact.account
    with pytest.raises(DomainError) as refused:
        services.contact_update(contact=contact, account=AccountFactory())
    assert refused.value.extra == {"field": "account"}
    contact.refresh_from_db()
    assert contact.account == home


# -- interaction_log ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_an_answered_email_is_logged_with_its_notes_in_one_call(agent):
    account = AccountFactory()
    started = timezone.now() - timedelta(hours=2)
    interaction = services.interaction_log(
        channel="email",
        direction="inbound",
        started_at=started,
        account=account,
        agent=agent.user,
        address="kunde@example.org",
        subject="Rechnung März",
        notes="Gutschrift zugesagt.",
        ended_at=started + timedelta(minutes=5),
    )
    interaction.refresh_from_db()
    assert interaction.account == account
    assert interaction.agent == agent.user
    assert interaction.outcome == Interaction.Outcome.COMPLETED
    assert interaction.duration_seconds == 300
    assert interaction.notes == "Gutschrift zugesagt."
    assert interaction.notes_updated_at is not None


@pytest.mark.django_db
def test_a_web_form_email_nobody_handled_is_logged_with_its_text():
    interaction = services.interaction_log(
        channel="email",
        direction="inbound",
        started_at=timezone.now(),
        address="kunde@example.org",
        notes="Mein Router blinkt rot.",
    )
    assert interaction.agent is None
    assert interaction.notes == "Mein Router blinkt rot."
    assert (interaction.ended_at, interaction.outcome) == (None, Interaction.Outcome.OPEN)


@pytest.mark.django_db
def test_an_interaction_logged_without_notes_has_no_notes_time():
    interaction = services.interaction_log(
        channel="note", direction="outbound", started_at=timezone.now()
    )
    assert interaction.notes_updated_at is None


@pytest.mark.django_db
def test_an_outcome_without_an_end_ends_the_interaction_now():
    started = timezone.now() - timedelta(minutes=3)
    interaction = services.interaction_log(
        channel="phone", direction="outbound", started_at=started, outcome="missed"
    )
    assert interaction.outcome == "missed"
    assert started < interaction.ended_at <= timezone.now()


@pytest.mark.django_db
def test_a_contact_gives_a_logged_interaction_its_account():
    contact = ContactFactory()
    interaction = services.interaction_log(
        channel="phone", direction="inbound", started_at=timezone.now(), contact=contact
    )
    assert interaction.account == contact.account


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"channel": "fax"}, "channel"),
        ({"direction": "sideways"}, "direction"),
        ({"outcome": "lost"}, "outcome"),
        ({"ended_at": timezone.now() - timedelta(days=1)}, "ended_at"),
        ({"notes": "x" * (services.NOTES_MAX_LENGTH + 1)}, "notes"),
    ],
)
def test_logging_an_interaction_with_bad_input_names_the_field(changes, field):
    arguments = {"channel": "email", "direction": "inbound", "started_at": timezone.now()}
    with pytest.raises(DomainError) as refused:
        services.interaction_log(**{**arguments, **changes})
    assert refused.value.extra == {"field": field}
    assert not Interaction.objects.exists()


@pytest.mark.django_db
def test_a_logged_interactions_contact_must_belong_to_its_account():
    with pytest.raises(DomainError) as refused:
        services.interaction_log(
            channel="phone",
            direction="inbound",
            started_at=timezone.now(),
            account=AccountFactory(),
            contact=ContactFactory(),
        )
    assert refused.value.extra == {"field": "contact"}


@pytest.mark.django_db
def test_an_interaction_is_not_logged_for_a_user_without_a_staff_role(outsider_user):
    with pytest.raises(DomainError) as refused:
        services.interaction_log(
            channel="phone", direction="inbound", started_at=timezone.now(), agent=outsider_user
        )
    assert refused.value.extra == {"field": "agent"}


# -- interaction_save_notes ---------------------------------------------------------------------


@pytest.mark.django_db
def test_the_agent_writes_the_notes_of_their_interaction(agent):
    interaction = InteractionFactory(agent=agent.user)
    services.interaction_save_notes(interaction=interaction, notes="Rückruf.", user=agent.user)
    interaction.refresh_from_db()
    assert interaction.notes == "Rückruf."
    assert interaction.notes_updated_at is not None


@pytest.mark.django_db
def test_nobody_else_writes_the_notes_of_an_agents_interaction(agent, manager_user):
    interaction = InteractionFactory(agent=agent.user, notes="Von Anna.")
    with pytest.raises(PermissionDenied):
        services.interaction_save_notes(interaction=interaction, notes="x", user=manager_user)
    interaction.refresh_from_db()
    assert interaction.notes == "Von Anna."


@pytest.mark.django_db
def test_any_staff_user_writes_the_notes_of_an_interaction_nobody_handled(agent):
    interaction = InteractionFactory(agent=None)
    services.interaction_save_notes(interaction=interaction, notes="Erledigt.", user=agent.user)
    interaction.refresh_from_db()
    assert interaction.notes == "Erledigt."


@pytest.mark.django_db
def test_an_outsider_writes_no_notes_even_where_nobody_handled_it(outsider_user):
    interaction = InteractionFactory(agent=None)
    with pytest.raises(PermissionDenied):
        services.interaction_save_notes(interaction=interaction, notes="x", user=outsider_user)
    interaction.refresh_from_db()
    assert interaction.notes == ""
