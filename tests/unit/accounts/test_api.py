"""The integrator REST API for accounts, contacts, contact points and interactions."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from accounts.models import Account, Contact, ContactPoint, Interaction
from tests.factories import (
    AccountFactory,
    AddressFactory,
    ContactFactory,
    CustomerGroupFactory,
    InteractionFactory,
    PhoneFactory,
    UserFactory,
    grant,
)

API = "/api/v1"


def client_for(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def agent_api(agent):
    return client_for(agent.user)


@pytest.fixture
def supervisor_api(supervisor_user):
    return client_for(supervisor_user)


@pytest.fixture
def manager_api(manager_user):
    return client_for(manager_user)


@pytest.fixture
def outsider_api(outsider_user):
    return client_for(outsider_user)


def assert_error_shape(response, status_code):
    assert response.status_code == status_code, response.content
    body = response.json()
    assert set(body) == {"message", "extra"}
    assert isinstance(body["message"], str)
    assert body["message"]
    assert isinstance(body["extra"], dict)
    return body


EVERY_ENDPOINT = [
    ("get", "/accounts/"),
    ("post", "/accounts/"),
    ("get", "/accounts/{account}/"),
    ("patch", "/accounts/{account}/"),
    ("delete", "/accounts/{account}/"),
    ("get", "/accounts/identify/?phone=0301234567"),
    ("get", "/accounts/search/?q=Weiß"),
    ("get", "/contacts/"),
    ("post", "/contacts/"),
    ("get", "/contacts/{contact}/"),
    ("patch", "/contacts/{contact}/"),
    ("delete", "/contacts/{contact}/"),
    ("get", "/contact-points/"),
    ("post", "/contact-points/"),
    ("get", "/contact-points/{point}/"),
    ("delete", "/contact-points/{point}/"),
    ("get", "/interactions/"),
    ("post", "/interactions/"),
    ("get", "/interactions/{interaction}/"),
    ("patch", "/interactions/{interaction}/"),
]


@pytest.fixture
def some_of_everything(db):
    contact = ContactFactory()
    point = PhoneFactory(account=contact.account, contact=contact, value="030 1234567")
    interaction = InteractionFactory(account=contact.account)
    return {
        "account": contact.account.pk,
        "contact": contact.pk,
        "point": point.pk,
        "interaction": interaction.pk,
    }


# -- who may use the API ------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(("method", "path"), EVERY_ENDPOINT)
def test_anonymous_callers_are_asked_to_authenticate(method, path, some_of_everything):
    response = getattr(APIClient(), method)(API + path.format(**some_of_everything))
    body = assert_error_shape(response, 401)
    assert response.headers["WWW-Authenticate"] == "Token"
    assert body["extra"] == {}


@pytest.mark.django_db
@pytest.mark.parametrize(("method", "path"), EVERY_ENDPOINT)
def test_an_outsider_without_a_role_is_refused_everything(
    method, path, some_of_everything, outsider_api
):
    response = getattr(outsider_api, method)(API + path.format(**some_of_everything))
    assert_error_shape(response, 403)


@pytest.mark.django_db
def test_an_outsider_cannot_create_anything(outsider_api):
    response = outsider_api.post(f"{API}/accounts/", {"name": "Sneaky"}, format="json")
    assert response.status_code == 403
    assert not Account.objects.exists()


@pytest.mark.django_db
def test_a_token_authenticates_an_integration_user():
    user = UserFactory(username="crm-sync", roles=["supervisor"])
    token = Token.objects.create(user=user)
    AccountFactory(name="Müller GmbH")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    response = client.get(f"{API}/accounts/")
    assert response.status_code == 200
    assert [a["name"] for a in response.json()["results"]] == ["Müller GmbH"]


@pytest.mark.django_db
def test_a_wrong_token_is_refused_with_401():
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    assert_error_shape(client.get(f"{API}/accounts/"), 401)


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["agent", "supervisor", "manager"])
def test_every_staff_role_may_read_and_write(role):
    client = client_for(UserFactory(roles=[role]))
    assert client.get(f"{API}/accounts/").status_code == 200
    response = client.post(f"{API}/accounts/", {"name": f"Kunde {role}"}, format="json")
    assert response.status_code == 201


@pytest.mark.django_db
@pytest.mark.parametrize(
    "path", ["/accounts/{account}/", "/contacts/{contact}/", "/contact-points/{point}/"]
)
def test_an_agent_cannot_delete(path, some_of_everything, agent_api, supervisor_api):
    url = API + path.format(**some_of_everything)
    assert_error_shape(agent_api.delete(url), 403)
    assert_error_shape(supervisor_api.delete(url), 403)
    assert agent_api.get(url).status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("path", "model"),
    [
        ("/accounts/{account}/", Account),
        ("/contacts/{contact}/", Contact),
        ("/contact-points/{point}/", ContactPoint),
    ],
)
def test_a_manager_deletes(path, model, some_of_everything, manager_api):
    response = manager_api.delete(API + path.format(**some_of_everything))
    assert response.status_code == 204
    assert not model.objects.exists()


# -- accounts: list, filters, ordering ----------------------------------------------------------


@pytest.mark.django_db
def test_account_list_is_paginated(agent_api):
    for n in range(3):
        AccountFactory(name=f"Kunde {n}")
    body = agent_api.get(f"{API}/accounts/?page_size=2").json()
    assert set(body) == {"count", "next", "previous", "results"}
    assert body["count"] == 3
    assert [a["name"] for a in body["results"]] == ["Kunde 0", "Kunde 1"]
    assert body["previous"] is None
    assert "page=2" in body["next"]
    second = agent_api.get(body["next"]).json()
    assert [a["name"] for a in second["results"]] == ["Kunde 2"]
    assert second["next"] is None


@pytest.mark.django_db
def test_account_list_shows_a_summary_of_each_account(agent_api, agent):
    group = CustomerGroupFactory(code="gewerbe", name="Gewerbekunden")
    grant(agent.user, group)
    AccountFactory(
        name="Müller GmbH",
        kind="organisation",
        customer_number="100234",
        is_vip=True,
        customer_group=group,
        assigned_agent=agent.user,
    )
    (row,) = agent_api.get(f"{API}/accounts/").json()["results"]
    assert row["name"] == "Müller GmbH"
    assert row["kind"] == "organisation"
    assert row["customer_number"] == "100234"
    assert row["is_vip"] is True
    assert row["customer_group"] == "gewerbe"
    assert row["assigned_agent"] == agent.user.pk
    assert "contacts" not in row


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("customer_number=100234", ["Müller GmbH"]),
        ("is_vip=true", ["Müller GmbH"]),
        ("is_vip=false", ["Anna Schmidt", "Zeta AG"]),
        ("kind=organisation", ["Müller GmbH", "Zeta AG"]),
        ("customer_group=gewerbe", ["Müller GmbH", "Zeta AG"]),
        ("q=schmidt", ["Anna Schmidt"]),
        ("q=0301234567", ["Zeta AG"]),
        ("q=Potsdam", ["Anna Schmidt"]),
        ("q=Potsdam&kind=organisation", []),
    ],
)
def test_account_list_filters(query, expected, agent_api, agent):
    gewerbe = CustomerGroupFactory(code="gewerbe", name="Gewerbe")
    grant(agent.user, gewerbe, CustomerGroupFactory())
    AccountFactory(
        name="Müller GmbH",
        kind="organisation",
        customer_number="100234",
        is_vip=True,
        customer_group=gewerbe,
    )
    zeta = AccountFactory(name="Zeta AG", kind="organisation", customer_group=gewerbe)
    PhoneFactory(account=zeta, value="030 1234567")
    anna = AccountFactory(name="Anna Schmidt", customer_group=CustomerGroupFactory())
    AddressFactory(account=anna, city="Potsdam")
    response = agent_api.get(f"{API}/accounts/?{query}")
    assert response.status_code == 200
    assert [a["name"] for a in response.json()["results"]] == expected


@pytest.mark.django_db
def test_an_unknown_customer_group_filter_is_a_clear_400(agent_api):
    body = assert_error_shape(agent_api.get(f"{API}/accounts/?customer_group=nope"), 400)
    assert "customer_group" in body["extra"]["fields"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("ordering", "expected"),
    [
        ("name", ["Alpha", "Beta", "Gamma"]),
        ("-name", ["Gamma", "Beta", "Alpha"]),
        ("customer_number", ["Beta", "Gamma", "Alpha"]),
        ("-created_at", ["Gamma", "Beta", "Alpha"]),
    ],
)
def test_account_list_ordering(ordering, expected, agent_api):
    AccountFactory(name="Alpha", customer_number="300")
    AccountFactory(name="Beta", customer_number="100")
    AccountFactory(name="Gamma", customer_number="200")
    Account.objects.filter(name="Beta").update(created_at=timezone.now() + timedelta(seconds=1))
    Account.objects.filter(name="Gamma").update(created_at=timezone.now() + timedelta(seconds=2))
    body = agent_api.get(f"{API}/accounts/?ordering={ordering}").json()
    assert [a["name"] for a in body["results"]] == expected


@pytest.mark.django_db
def test_pages_ordered_by_a_shared_value_neither_repeat_nor_skip_accounts(agent_api):
    for n in range(6):
        AccountFactory(name="Meier", customer_number=str(900 - n))
    seen = []
    url = f"{API}/accounts/?ordering=name&page_size=2"
    while url:
        body = agent_api.get(url).json()
        seen += [a["id"] for a in body["results"]]
        url = body["next"]
    assert sorted(seen) == sorted(Account.objects.values_list("id", flat=True))


# -- accounts: retrieve, create, update -----------------------------------------------------------


@pytest.mark.django_db
def test_an_account_comes_with_its_contacts_contact_points_and_addresses(agent_api):
    account = AccountFactory(name="Müller GmbH", kind="organisation", notes="Zahlt pünktlich.")
    contact = ContactFactory(
        account=account, first_name="Käthe", last_name="Schröder", is_primary=True
    )
    PhoneFactory(account=account, value="030 1234567", is_switchboard=True)
    PhoneFactory(account=account, contact=contact, value="030 1234567-12")
    AddressFactory(account=account, street="Friedrichstraße 123", postcode="10117")
    body = agent_api.get(f"{API}/accounts/{account.pk}/").json()
    assert body["notes"] == "Zahlt pünktlich."
    assert body["contacts"] == [
        {
            "id": contact.pk,
            "first_name": "Käthe",
            "last_name": "Schröder",
            "full_name": "Käthe Schröder",
            "position": "",
            "is_primary": True,
        }
    ]
    assert [
        (p["normalized"], p["contact"], p["is_switchboard"]) for p in body["contact_points"]
    ] == [
        ("+49301234567", None, True),
        ("+4930123456712", contact.pk, False),
    ]
    assert [(a["street"], a["postcode"], a["kind"]) for a in body["addresses"]] == [
        ("Friedrichstraße 123", "10117", "main")
    ]


@pytest.mark.django_db
def test_a_missing_account_is_a_404_in_the_error_shape(agent_api):
    assert_error_shape(agent_api.get(f"{API}/accounts/999999/"), 404)
    assert agent_api.get(f"{API}/accounts/abc/").status_code == 404


@pytest.mark.django_db
def test_creating_an_account_stores_its_number_email_and_address(agent_api, agent):
    grant(agent.user, CustomerGroupFactory(code="privat"))
    response = agent_api.post(
        f"{API}/accounts/",
        {
            "first_name": "Jürgen",
            "last_name": "Weiß",
            "customer_group": "privat",
            "phone": "030 1234567",
            "email": "Juergen.Weiss@Example.org",
            "street": "Hauptstraße 1",
            "postcode": "10115",
            "city": "Berlin",
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["name"] == "Jürgen Weiß"
    assert body["kind"] == "person"
    assert body["customer_number"] == "100000"
    assert body["customer_group"] == "privat"
    assert sorted((p["kind"], p["normalized"]) for p in body["contact_points"]) == [
        ("email", "juergen.weiss@example.org"),
        ("phone", "+49301234567"),
    ]
    assert body["addresses"][0]["city"] == "Berlin"
    assert Account.objects.get(pk=body["id"]).name == "Jürgen Weiß"


@pytest.mark.django_db
def test_an_account_needs_neither_phone_nor_email(agent_api):
    response = agent_api.post(
        f"{API}/accounts/",
        {"name": "Zeta AG", "kind": "organisation", "customer_number": "K-1"},
        format="json",
    )
    assert response.status_code == 201
    assert response.json()["customer_number"] == "K-1"
    assert response.json()["contact_points"] == []


@pytest.mark.django_db
def test_creating_an_account_with_an_invalid_phone_is_a_400_naming_the_field(agent_api):
    response = agent_api.post(f"{API}/accounts/", {"name": "Zeta AG", "phone": "12"}, format="json")
    body = assert_error_shape(response, 400)
    assert "phone" in body["extra"]["fields"]
    assert "not a valid phone number" in body["message"]
    assert not Account.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({}, "name"),
        ({"name": "  "}, "name"),
        ({"name": "X", "email": "not-an-address"}, "email"),
        ({"name": "X", "kind": "robot"}, "kind"),
        ({"name": "X", "street": "Hauptstraße 1"}, "street"),
        ({"name": "X", "customer_group": "nope"}, "customer_group"),
    ],
)
def test_creating_an_account_with_bad_input_names_the_field(payload, field, agent_api):
    body = assert_error_shape(agent_api.post(f"{API}/accounts/", payload, format="json"), 400)
    assert field in body["extra"]["fields"]


@pytest.mark.django_db
def test_a_taken_customer_number_is_refused(agent_api):
    AccountFactory(customer_number="100234")
    response = agent_api.post(
        f"{API}/accounts/", {"name": "X", "customer_number": "100234"}, format="json"
    )
    body = assert_error_shape(response, 400)
    assert "100234" in body["message"]
    assert body["extra"] == {"field": "customer_number"}


@pytest.mark.django_db
def test_patching_an_account_changes_only_the_fields_sent(agent_api, agent, other_agent):
    group = CustomerGroupFactory(code="gewerbe")
    grant(agent.user, group)
    account = AccountFactory(name="Alt", notes="alt")
    response = agent_api.patch(
        f"{API}/accounts/{account.pk}/",
        {
            "name": "Neu GmbH",
            "is_vip": True,
            "customer_group": "gewerbe",
            "assigned_agent": other_agent.user.pk,
        },
        format="json",
    )
    assert response.status_code == 200, response.content
    account.refresh_from_db()
    assert (account.name, account.is_vip, account.customer_group, account.assigned_agent) == (
        "Neu GmbH",
        True,
        group,
        other_agent.user,
    )
    assert account.notes == "alt"
    assert response.json()["assigned_agent"] == other_agent.user.pk


@pytest.mark.django_db
def test_an_account_can_only_be_assigned_to_staff(agent_api, outsider_user):
    account = AccountFactory()
    response = agent_api.patch(
        f"{API}/accounts/{account.pk}/", {"assigned_agent": outsider_user.pk}, format="json"
    )
    body = assert_error_shape(response, 400)
    assert "assigned_agent" in body["extra"]["fields"]


@pytest.mark.django_db
def test_an_account_name_cannot_be_emptied(agent_api):
    account = AccountFactory(name="Bleibt")
    response = agent_api.patch(f"{API}/accounts/{account.pk}/", {"name": ""}, format="json")
    assert_error_shape(response, 400)
    account.refresh_from_db()
    assert account.name == "Bleibt"


@pytest.mark.django_db
def test_patching_a_field_that_cannot_change_is_refused_not_ignored(agent_api):
    account = AccountFactory(customer_number="100234")
    response = agent_api.patch(
        f"{API}/accounts/{account.pk}/", {"customer_number": "1", "is_vip": True}, format="json"
    )
    body = assert_error_shape(response, 400)
    assert list(body["extra"]["fields"]) == ["customer_number"]
    account.refresh_from_db()
    assert (account.customer_number, account.is_vip) == ("100234", False)


@pytest.mark.django_db
def test_put_is_not_offered_use_patch(agent_api):
    account = AccountFactory()
    response = agent_api.put(f"{API}/accounts/{account.pk}/", {"name": "X"}, format="json")
    assert_error_shape(response, 405)


@pytest.mark.django_db
def test_deleting_an_account_keeps_its_interactions_in_the_history(manager_api):
    interaction = InteractionFactory()
    assert manager_api.delete(f"{API}/accounts/{interaction.account_id}/").status_code == 204
    interaction.refresh_from_db()
    assert interaction.account is None


# -- accounts: identify and search ------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("raw", ["030 1234567", "+49301234567", "004930 1234567", "4930 1234567"])
def test_identify_finds_an_account_by_its_number_in_any_format(raw, agent_api):
    phone = PhoneFactory(value="+49 30 1234567")
    response = agent_api.get(f"{API}/accounts/identify/", {"phone": raw})
    assert response.status_code == 200
    body = response.json()
    assert body["number"] == {"raw": raw, "e164": "+49301234567", "is_withheld": False, "error": ""}
    assert body["via_switchboard"] is False
    assert [a["id"] for a in body["accounts"]] == [phone.account_id]
    assert body["accounts"][0]["customer_number"] == phone.account.customer_number


@pytest.mark.django_db
def test_identify_finds_a_company_from_a_direct_dial_number_by_its_switchboard(agent_api):
    company = AccountFactory(name="Müller GmbH", kind="organisation")
    ContactPoint.objects.create(
        account=company,
        kind="phone",
        value="030 1234567",
        normalized="+49301234567",
        is_switchboard=True,
    )
    body = agent_api.get(f"{API}/accounts/identify/", {"phone": "+4930123456712"}).json()
    assert [a["name"] for a in body["accounts"]] == ["Müller GmbH"]
    assert body["via_switchboard"] is True


@pytest.mark.django_db
def test_identify_gives_every_account_that_shares_a_number(agent_api):
    first = PhoneFactory(value="030 1234567").account
    second = PhoneFactory(value="+49 30 1234567").account
    body = agent_api.get(f"{API}/accounts/identify/", {"phone": "0301234567"}).json()
    assert sorted(a["id"] for a in body["accounts"]) == sorted([first.pk, second.pk])


@pytest.mark.django_db
@pytest.mark.parametrize("raw", ["anonymous", ""])
def test_identify_of_a_withheld_number_finds_nobody(raw, agent_api):
    PhoneFactory(value="030 1234567")
    response = agent_api.get(f"{API}/accounts/identify/", {"phone": raw})
    assert response.status_code == 200
    body = response.json()
    assert body["accounts"] == []
    assert body["number"]["is_withheld"] is True
    assert body["number"]["e164"] == ""


@pytest.mark.django_db
def test_identify_of_an_unreadable_number_finds_nobody_and_says_why(agent_api):
    response = agent_api.get(f"{API}/accounts/identify/", {"phone": "12"})
    assert response.status_code == 200
    body = response.json()
    assert body["accounts"] == []
    assert body["number"]["is_withheld"] is False
    assert body["number"]["error"] == "not a valid phone number"


@pytest.mark.django_db
def test_identify_without_a_phone_parameter_is_a_400(agent_api):
    body = assert_error_shape(agent_api.get(f"{API}/accounts/identify/"), 400)
    assert "phone" in body["extra"]["fields"]


@pytest.mark.django_db
def test_identify_without_the_trailing_slash_redirects_to_it(agent_api):
    """The router's URLs end in "/"; Django's APPEND_SLASH answers the bare form with a 301."""
    phone = PhoneFactory(value="030 1234567")
    response = agent_api.get(f"{API}/accounts/identify?phone=0301234567")
    assert response.status_code == 301
    assert response.headers["Location"] == f"{API}/accounts/identify/?phone=0301234567"
    followed = agent_api.get(f"{API}/accounts/identify?phone=0301234567", follow=True)
    assert [a["id"] for a in followed.json()["accounts"]] == [phone.account_id]


@pytest.mark.django_db
def test_identify_runs_a_constant_number_of_queries(
    agent_api, agent, django_assert_max_num_queries
):
    group = CustomerGroupFactory()
    grant(agent.user, group)
    for _ in range(5):
        PhoneFactory(value="030 1234567", account=AccountFactory(customer_group=group))
    agent_api.get(f"{API}/accounts/identify/", {"phone": "0301234567"})
    # The user's customer groups, the identification.
    with django_assert_max_num_queries(3):
        body = agent_api.get(f"{API}/accounts/identify/", {"phone": "0301234567"}).json()
    assert len(body["accounts"]) == 5


@pytest.mark.django_db
def test_search_finds_accounts_by_name_or_number(agent_api):
    anna = AccountFactory(name="Anna Schmidt")
    PhoneFactory(account=AccountFactory(name="Zeta AG"), value="030 1234567")
    by_name = agent_api.get(f"{API}/accounts/search/", {"q": "schmidt"}).json()
    assert [a["id"] for a in by_name["results"]] == [anna.pk]
    by_phone = agent_api.get(f"{API}/accounts/search/", {"q": "+49 30 1234567"}).json()
    assert [a["name"] for a in by_phone["results"]] == ["Zeta AG"]


@pytest.mark.django_db
def test_search_gives_the_first_accounts_by_name(agent_api):
    for name in ["Meier D", "Meier B", "Meier C", "Meier A"]:
        AccountFactory(name=name)
    body = agent_api.get(f"{API}/accounts/search/", {"q": "Meier", "limit": 2}).json()
    assert [a["name"] for a in body["results"]] == ["Meier A", "Meier B"]


@pytest.mark.django_db
def test_search_runs_a_constant_number_of_queries(agent_api, agent, django_assert_max_num_queries):
    group = CustomerGroupFactory()
    grant(agent.user, group)
    for n in range(5):
        AddressFactory(account=AccountFactory(name=f"Meier {n}", customer_group=group))
    agent_api.get(f"{API}/accounts/search/", {"q": "Meier"})
    # The user's customer groups, the search index's vocabulary and postings, the accounts,
    # their addresses.
    with django_assert_max_num_queries(5):
        body = agent_api.get(f"{API}/accounts/search/", {"q": "Meier"}).json()
    assert len(body["results"]) == 5


@pytest.mark.django_db
@pytest.mark.parametrize("query", ["", "?q=", "?q=%20%20"])
def test_search_without_a_search_text_is_a_clear_400(query, agent_api):
    body = assert_error_shape(agent_api.get(f"{API}/accounts/search/{query}"), 400)
    assert "Give a search text in q." in body["message"]


@pytest.mark.django_db
def test_search_gives_at_most_limit_accounts(agent_api):
    for n in range(5):
        AccountFactory(name=f"Meier {n}")
    body = agent_api.get(f"{API}/accounts/search/", {"q": "Meier", "limit": 2}).json()
    assert len(body["results"]) == 2


# -- contacts -----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_contacts_can_be_listed_by_account_with_their_contact_points(agent_api):
    contact = ContactFactory(last_name="Schröder")
    PhoneFactory(account=contact.account, contact=contact, value="030 1234567")
    ContactFactory(last_name="Anderswo")
    body = agent_api.get(f"{API}/contacts/", {"account": contact.account_id}).json()
    assert [c["last_name"] for c in body["results"]] == ["Schröder"]
    assert [p["normalized"] for p in body["results"][0]["contact_points"]] == ["+49301234567"]


@pytest.mark.django_db
def test_a_contact_is_created_changed_and_deleted(agent_api, manager_api):
    account = AccountFactory(kind="organisation")
    response = agent_api.post(
        f"{API}/contacts/",
        {
            "account": account.pk,
            "first_name": "Käthe",
            "last_name": "Schröder",
            "position": "Einkauf",
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    contact_id = response.json()["id"]
    assert response.json()["full_name"] == "Käthe Schröder"
    response = agent_api.patch(f"{API}/contacts/{contact_id}/", {"is_primary": True}, format="json")
    assert response.status_code == 200
    assert response.json()["is_primary"] is True
    assert response.json()["position"] == "Einkauf"
    assert manager_api.delete(f"{API}/contacts/{contact_id}/").status_code == 204
    assert not Contact.objects.exists()


@pytest.mark.django_db
def test_making_a_contact_primary_takes_the_flag_from_the_previous_one(agent_api):
    previous = ContactFactory(is_primary=True)
    response = agent_api.post(
        f"{API}/contacts/",
        {"account": previous.account_id, "last_name": "Weiß", "is_primary": True},
        format="json",
    )
    assert response.status_code == 201, response.content
    new_id = response.json()["id"]
    previous.refresh_from_db()
    assert previous.is_primary is False
    response = agent_api.patch(
        f"{API}/contacts/{previous.pk}/", {"is_primary": True}, format="json"
    )
    assert response.status_code == 200
    body = agent_api.get(f"{API}/accounts/{previous.account_id}/").json()
    assert [(c["id"], c["is_primary"]) for c in body["contacts"]] == [
        (previous.pk, True),
        (new_id, False),
    ]


@pytest.mark.django_db
def test_a_contacts_last_name_cannot_be_emptied(agent_api):
    contact = ContactFactory(last_name="Schröder")
    response = agent_api.patch(f"{API}/contacts/{contact.pk}/", {"last_name": ""}, format="json")
    assert "last_name" in assert_error_shape(response, 400)["extra"]["fields"]
    contact.refresh_from_db()
    assert contact.last_name == "Schröder"


@pytest.mark.django_db
def test_a_contact_needs_an_account_and_a_last_name(agent_api):
    body = assert_error_shape(agent_api.post(f"{API}/contacts/", {}, format="json"), 400)
    assert set(body["extra"]["fields"]) == {"account", "last_name"}


@pytest.mark.django_db
def test_a_contact_cannot_move_to_another_account(agent_api):
    contact = ContactFactory()
    other = AccountFactory()
    response = agent_api.patch(
        f"{API}/contacts/{contact.pk}/", {"account": other.pk}, format="json"
    )
    assert "account" in assert_error_shape(response, 400)["extra"]["fields"]
    contact.refresh_from_db()
    assert contact.account != other


# -- contact points -----------------------------------------------------------------------------


@pytest.mark.django_db
def test_adding_a_phone_number_stores_it_in_e164(agent_api):
    account = AccountFactory()
    response = agent_api.post(
        f"{API}/contact-points/",
        {
            "account": account.pk,
            "kind": "phone",
            "value": "(030) 123 45 67",
            "label": "Büro",
            "is_switchboard": True,
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["value"], body["normalized"], body["label"], body["is_switchboard"]) == (
        "(030) 123 45 67",
        "+49301234567",
        "Büro",
        True,
    )


@pytest.mark.django_db
def test_an_invalid_phone_number_is_a_400_naming_the_value(agent_api):
    account = AccountFactory()
    response = agent_api.post(
        f"{API}/contact-points/",
        {"account": account.pk, "kind": "phone", "value": "12345"},
        format="json",
    )
    body = assert_error_shape(response, 400)
    assert body["extra"] == {"field": "value"}
    assert "12345" in body["message"]
    assert not ContactPoint.objects.exists()


@pytest.mark.django_db
def test_the_same_number_twice_on_an_account_is_refused(agent_api):
    phone = PhoneFactory(value="030 1234567")
    response = agent_api.post(
        f"{API}/contact-points/",
        {"account": phone.account_id, "kind": "phone", "value": "+49 30 1234567"},
        format="json",
    )
    assert assert_error_shape(response, 400)["extra"] == {"field": "value"}


@pytest.mark.django_db
def test_a_contact_point_of_another_accounts_contact_is_refused(agent_api):
    account = AccountFactory()
    stranger = ContactFactory()
    response = agent_api.post(
        f"{API}/contact-points/",
        {
            "account": account.pk,
            "contact": stranger.pk,
            "kind": "email",
            "value": "kaethe@example.org",
        },
        format="json",
    )
    assert assert_error_shape(response, 400)["extra"] == {"field": "contact"}


@pytest.mark.django_db
def test_contact_points_are_filtered_by_account_and_kind(agent_api):
    account = AccountFactory()
    PhoneFactory(account=account, value="030 1234567")
    ContactPoint.objects.create(
        account=account, kind="email", value="a@example.org", normalized="a@example.org"
    )
    PhoneFactory(value="040 1234567")
    body = agent_api.get(f"{API}/contact-points/", {"account": account.pk, "kind": "phone"}).json()
    assert [p["normalized"] for p in body["results"]] == ["+49301234567"]


@pytest.mark.django_db
def test_contact_points_cannot_be_changed_in_place(agent_api):
    phone = PhoneFactory(value="030 1234567")
    response = agent_api.patch(
        f"{API}/contact-points/{phone.pk}/", {"value": "040 1234567"}, format="json"
    )
    assert_error_shape(response, 405)


# -- interactions -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_an_integrator_records_an_email_that_was_answered(agent_api, agent):
    account = AccountFactory()
    started = timezone.now() - timedelta(hours=2)
    response = agent_api.post(
        f"{API}/interactions/",
        {
            "channel": "email",
            "direction": "inbound",
            "account": account.pk,
            "address": "kunde@example.org",
            "subject": "Rechnung März",
            "started_at": started.isoformat(),
            "ended_at": (started + timedelta(minutes=5)).isoformat(),
            "notes": "Gutschrift zugesagt.",
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["agent"] == agent.user.pk
    assert body["outcome"] == "completed"
    assert body["duration_seconds"] == 300
    assert body["notes"] == "Gutschrift zugesagt."
    interaction = Interaction.objects.get(pk=body["id"])
    assert interaction.notes_updated_at is not None


@pytest.mark.django_db
def test_a_recorded_interaction_stays_open_without_an_end(agent_api):
    response = agent_api.post(
        f"{API}/interactions/", {"channel": "note", "direction": "outbound"}, format="json"
    )
    assert response.status_code == 201
    assert response.json()["ended_at"] is None
    assert response.json()["outcome"] == ""


@pytest.mark.django_db
def test_a_contact_sets_the_account_of_a_recorded_interaction(agent_api):
    contact = ContactFactory()
    response = agent_api.post(
        f"{API}/interactions/",
        {"channel": "phone", "direction": "outbound", "contact": contact.pk, "outcome": "missed"},
        format="json",
    )
    body = response.json()
    assert body["account"] == contact.account_id
    assert body["outcome"] == "missed"
    assert body["ended_at"] is not None


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"channel": "fax", "direction": "inbound"}, "channel"),
        ({"channel": "email"}, "direction"),
        (
            {
                "channel": "email",
                "direction": "inbound",
                "started_at": "2025-03-01T10:00:00Z",
                "ended_at": "2025-03-01T09:00:00Z",
            },
            "ended_at",
        ),
        ({"channel": "email", "direction": "inbound", "outcome": ""}, "outcome"),
    ],
)
def test_recording_an_interaction_with_bad_input_names_the_field(payload, field, agent_api):
    response = agent_api.post(f"{API}/interactions/", payload, format="json")
    assert field in assert_error_shape(response, 400)["extra"]["fields"]
    assert not Interaction.objects.exists()


@pytest.mark.django_db
def test_a_recorded_interactions_contact_must_belong_to_its_account(agent_api):
    response = agent_api.post(
        f"{API}/interactions/",
        {
            "channel": "phone",
            "direction": "inbound",
            "account": AccountFactory().pk,
            "contact": ContactFactory().pk,
        },
        format="json",
    )
    assert "contact" in assert_error_shape(response, 400)["extra"]["fields"]


@pytest.mark.django_db
def test_only_the_interactions_agent_writes_its_notes_when_recording(agent_api, other_agent):
    response = agent_api.post(
        f"{API}/interactions/",
        {
            "channel": "note",
            "direction": "outbound",
            "agent": other_agent.user.pk,
            "notes": "Im Namen von Jörg",
        },
        format="json",
    )
    assert "notes" in assert_error_shape(response, 400)["extra"]["fields"]
    response = agent_api.post(
        f"{API}/interactions/",
        {"channel": "note", "direction": "outbound", "agent": other_agent.user.pk},
        format="json",
    )
    assert response.status_code == 201
    assert response.json()["agent"] == other_agent.user.pk


@pytest.mark.django_db
def test_a_web_form_email_nobody_handled_is_recorded_with_its_text(agent_api):
    response = agent_api.post(
        f"{API}/interactions/",
        {
            "channel": "email",
            "direction": "inbound",
            "agent": None,
            "address": "kunde@example.org",
            "subject": "Kontaktformular",
            "notes": "Mein Router blinkt rot.",
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["agent"], body["notes"], body["outcome"]) == (None, "Mein Router blinkt rot.", "")
    assert body["notes_updated_at"] is not None


@pytest.mark.django_db
def test_an_interaction_handled_by_nobody_can_be_recorded(agent_api):
    response = agent_api.post(
        f"{API}/interactions/",
        {"channel": "email", "direction": "inbound", "agent": None},
        format="json",
    )
    assert response.status_code == 201
    assert response.json()["agent"] is None


@pytest.mark.django_db
def test_interactions_are_listed_newest_first_and_filtered(agent_api, agent):
    account = AccountFactory()
    now = timezone.now()
    old = InteractionFactory(account=account, started_at=now - timedelta(days=3))
    mail = InteractionFactory(
        account=account, channel="email", agent=agent.user, started_at=now - timedelta(days=1)
    )
    new = InteractionFactory(account=account, direction="outbound", started_at=now)
    InteractionFactory(started_at=now)

    def ids(**params):
        response = agent_api.get(f"{API}/interactions/", {"account": account.pk, **params})
        assert response.status_code == 200, response.content
        return [i["id"] for i in response.json()["results"]]

    assert ids() == [new.pk, mail.pk, old.pk]
    assert ids(channel="email") == [mail.pk]
    assert ids(direction="outbound") == [new.pk]
    assert ids(agent=agent.user.pk) == [mail.pk]
    assert ids(started_after=(now - timedelta(days=2)).isoformat()) == [new.pk, mail.pk]
    assert ids(started_before=(now - timedelta(days=2)).isoformat()) == [old.pk]
    assert ids(ordering="started_at") == [old.pk, mail.pk, new.pk]


@pytest.mark.django_db
def test_a_bad_time_filter_is_a_400(agent_api):
    response = agent_api.get(f"{API}/interactions/", {"started_after": "yesterday"})
    assert "started_after" in assert_error_shape(response, 400)["extra"]["fields"]


@pytest.mark.django_db
def test_an_open_interaction_is_ended_by_patch(agent_api):
    interaction = InteractionFactory(started_at=timezone.now() - timedelta(minutes=3), outcome="")
    response = agent_api.patch(
        f"{API}/interactions/{interaction.pk}/", {"outcome": "abandoned"}, format="json"
    )
    assert response.status_code == 200, response.content
    interaction.refresh_from_db()
    assert interaction.outcome == "abandoned"
    assert interaction.ended_at is not None


@pytest.mark.django_db
def test_an_ended_interaction_keeps_its_end(agent_api):
    started = timezone.now() - timedelta(hours=1)
    interaction = InteractionFactory(started_at=started, ended_at=started + timedelta(minutes=2))
    response = agent_api.patch(
        f"{API}/interactions/{interaction.pk}/",
        {"ended_at": timezone.now().isoformat()},
        format="json",
    )
    assert assert_error_shape(response, 400)["extra"] == {"field": "ended_at"}
    interaction.refresh_from_db()
    assert interaction.ended_at == started + timedelta(minutes=2)


@pytest.mark.django_db
def test_an_interaction_cannot_end_before_it_started(agent_api):
    interaction = InteractionFactory(outcome="")
    response = agent_api.patch(
        f"{API}/interactions/{interaction.pk}/",
        {"ended_at": (interaction.started_at - timedelta(minutes=1)).isoformat()},
        format="json",
    )
    assert "ended_at" in assert_error_shape(response, 400)["extra"]["fields"]


@pytest.mark.django_db
def test_the_agent_writes_notes_to_their_interaction(agent_api, agent):
    interaction = InteractionFactory(agent=agent.user)
    response = agent_api.patch(
        f"{API}/interactions/{interaction.pk}/", {"notes": "Rückruf morgen."}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["notes"] == "Rückruf morgen."
    assert response.json()["notes_updated_at"] is not None


@pytest.mark.django_db
def test_nobody_else_writes_notes_to_an_agents_interaction(agent_api, other_agent):
    interaction = InteractionFactory(agent=other_agent.user, notes="Von Jörg.")
    response = agent_api.patch(
        f"{API}/interactions/{interaction.pk}/", {"notes": "Überschrieben"}, format="json"
    )
    assert_error_shape(response, 403)
    interaction.refresh_from_db()
    assert interaction.notes == "Von Jörg."


@pytest.mark.django_db
def test_any_api_user_writes_notes_to_an_interaction_nobody_handled(supervisor_api):
    interaction = InteractionFactory(agent=None)
    response = supervisor_api.patch(
        f"{API}/interactions/{interaction.pk}/", {"notes": "Rückruf erledigt."}, format="json"
    )
    assert response.status_code == 200, response.content
    interaction.refresh_from_db()
    assert interaction.notes == "Rückruf erledigt."


@pytest.mark.django_db
def test_the_history_of_an_interaction_cannot_be_rewritten(agent_api, agent):
    interaction = InteractionFactory(agent=agent.user, channel="phone")
    response = agent_api.patch(
        f"{API}/interactions/{interaction.pk}/", {"channel": "email", "notes": "x"}, format="json"
    )
    assert "channel" in assert_error_shape(response, 400)["extra"]["fields"]
    interaction.refresh_from_db()
    assert (interaction.channel, interaction.notes) == ("phone", "")


@pytest.mark.django_db
def test_interactions_are_never_deleted_or_replaced(agent_api, manager_api):
    interaction = InteractionFactory()
    url = f"{API}/interactions/{interaction.pk}/"
    assert_error_shape(manager_api.delete(url), 405)
    assert_error_shape(agent_api.delete(url), 403)
    assert_error_shape(agent_api.put(url, {"channel": "email"}, format="json"), 405)
    assert Interaction.objects.filter(pk=interaction.pk).exists()


# -- query counts -------------------------------------------------------------------------------


def make_accounts(count):
    group = CustomerGroupFactory()
    for _ in range(count):
        account = AccountFactory(customer_group=group)
        contact = ContactFactory(account=account)
        PhoneFactory(account=account, contact=contact)
        InteractionFactory(account=account, contact=contact)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "path",
    [
        "/accounts/",
        "/accounts/?q=Weiß&customer_group=privat",
        "/contacts/",
        "/contact-points/",
        "/interactions/",
    ],
)
def test_lists_run_the_same_number_of_queries_for_3_or_30_rows(
    path, agent_api, agent, django_assert_max_num_queries
):
    grant(agent.user, CustomerGroupFactory())
    make_accounts(3)
    agent_api.get(API + path)  # the first request loads the user's roles
    with CaptureQueriesContext(connection) as three:
        assert len(agent_api.get(API + path).json()["results"]) == 3
    make_accounts(27)
    with django_assert_max_num_queries(len(three.captured_queries)):
        assert len(agent_api.get(API + path).json()["results"]) == 30


@pytest.mark.django_db
def test_an_account_with_many_contacts_runs_a_fixed_number_of_queries(
    agent_api, django_assert_max_num_queries
):
    account = AccountFactory()
    for _ in range(20):
        PhoneFactory(account=account, contact=ContactFactory(account=account))
        AddressFactory(account=account)
    agent_api.get(f"{API}/accounts/{account.pk}/")
    with django_assert_max_num_queries(6):
        body = agent_api.get(f"{API}/accounts/{account.pk}/").json()
    assert len(body["contacts"]) == len(body["contact_points"]) == len(body["addresses"]) == 20


# -- schema -------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_openapi_schema_and_its_docs_page_are_served(agent_api):
    response = agent_api.get(f"{API}/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    assert f"{API}/accounts/identify/" in paths
    assert f"{API}/interactions/{{id}}/" in paths
    assert "delete" not in paths[f"{API}/interactions/{{id}}/"]
    assert agent_api.get(f"{API}/docs/").status_code == 200
