"""manage.py seed_demo: the German demo data that the README and the demo rely on."""

from __future__ import annotations

import io
from collections import Counter
from datetime import date
from typing import Any

import pytest
from django.contrib.auth import authenticate, get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.core.management.base import CommandError

from accounts.models import Account, Address, Contact, ContactPoint, CustomerGroup, Interaction
from accounts.selectors import account_list_by_phone
from accounts.services import contact_point_normalize
from icenter.management.commands.seed_demo import DemoPlan
from telephony.models import Agent

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def demo_settings(settings: Any) -> None:
    """A development setup (pytest-django turns DEBUG off) with a fast password hasher."""
    settings.DEBUG = True
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def seed(*args: str) -> str:
    out = io.StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


def row_counts() -> dict[str, int]:
    models = (Account, Address, Contact, ContactPoint, CustomerGroup, Interaction, Agent, Group)
    counts = {model.__name__: model.objects.count() for model in models}
    counts["User"] = get_user_model().objects.count()
    return counts


def test_running_it_twice_creates_nothing_twice():
    seed()
    first = row_counts()
    output = seed()
    assert row_counts() == first
    assert "0 new accounts" in output
    assert first["Account"] == 300
    assert first["User"] == 5


def test_it_creates_a_realistic_customer_base():
    seed()
    assert Account.objects.filter(kind=Account.Kind.ORGANISATION).count() >= 40
    vips = Account.objects.filter(is_vip=True)
    assert vips.count() == 15
    assert not vips.filter(assigned_agent__isnull=True).exists()
    assert set(vips.values_list("assigned_agent__groups__name", flat=True)) == {"agent"}
    assert Interaction.objects.count() > 1000
    assert not Interaction.objects.filter(account__isnull=True).exists()
    emails = ContactPoint.objects.filter(kind=ContactPoint.Kind.EMAIL)
    assert emails.count() >= 250
    for email in emails.values_list("value", flat=True):
        assert email.endswith(("@example.de", "@example.com")), email
        assert email.isascii(), email


def test_a_second_run_keeps_changed_passwords():
    seed()
    user = get_user_model().objects.get(username="agent")
    user.set_password("a-better-secret")
    user.save()
    seed()
    assert authenticate(username="agent", password="a-better-secret") is not None
    assert authenticate(username="agent", password="agent") is None


def test_mueller_gmbh_is_a_vip_of_agent_anna():
    seed()
    account = Account.objects.get(customer_number="100234")
    assert account.name == "Müller GmbH"
    assert account.kind == Account.Kind.ORGANISATION
    assert account.is_vip
    assert account.assigned_agent.username == "agent"
    assert account.customer_group.name == "Geschäftskunden"
    assert [str(a) for a in account.addresses.all()] == ["Friedrichstraße 123, 10117 Berlin"]
    [switchboard] = account.contact_points.filter(kind=ContactPoint.Kind.PHONE)
    assert switchboard.value == "+49 30 1234567"
    assert switchboard.normalized == "+49301234567"
    assert switchboard.is_switchboard
    assert switchboard.label == "Zentrale"
    contacts = [(c.full_name, c.position, c.is_primary) for c in account.contacts.all()]
    assert contacts == [
        ("Hans Müller", "Geschäftsführer", True),
        ("Käthe Schröder", "Einkauf", False),
    ]
    assert account.interactions.count() == 25


def test_two_firms_share_one_switchboard_in_munich():
    seed()
    for number, name in (("100235", "Hausverwaltung Böhm"), ("100236", "Immobilien Zöller KG")):
        account = Account.objects.get(customer_number=number)
        assert account.name == name
        assert account.kind == Account.Kind.ORGANISATION
        assert account.addresses.get().city == "München"
        point = account.contact_points.get(kind=ContactPoint.Kind.PHONE)
        assert (point.value, point.normalized) == ("+49 89 5555000", "+49895555000")
        assert point.is_switchboard


def test_juergen_weiss_is_a_private_customer_in_cologne():
    seed()
    account = Account.objects.get(customer_number="100237")
    assert (account.name, account.first_name, account.last_name) == (
        "Jürgen Weiß",
        "Jürgen",
        "Weiß",
    )
    assert account.kind == Account.Kind.PERSON
    assert account.customer_group.name == "Privatkunden"
    assert [str(a) for a in account.addresses.all()] == ["Lindenweg 4, 50667 Köln"]
    points = {(p.kind, p.value, p.normalized) for p in account.contact_points.all()}
    assert points == {
        (ContactPoint.Kind.PHONE, "+49 171 2345678", "+491712345678"),
        (ContactPoint.Kind.EMAIL, "juergen.weiss@example.de", "juergen.weiss@example.de"),
    }


def test_calling_numbers_identify_the_demo_accounts():
    seed()
    assert [a.name for a in account_list_by_phone(raw="+49 30 1234567").accounts] == ["Müller GmbH"]
    assert [a.name for a in account_list_by_phone(raw="089 5555000").accounts] == [
        "Hausverwaltung Böhm",
        "Immobilien Zöller KG",
    ]
    assert [a.name for a in account_list_by_phone(raw="0171 2345678").accounts] == ["Jürgen Weiß"]


def test_every_phone_number_is_stored_valid_and_in_e164():
    seed()
    phones = list(ContactPoint.objects.filter(kind=ContactPoint.Kind.PHONE))
    assert len(phones) > 300
    for point in phones:
        assert point.normalized.startswith("+49"), point.value
        assert contact_point_normalize(kind="phone", value=point.value) == point.normalized
    used_twice = {n for n, count in Counter(p.normalized for p in phones).items() if count > 1}
    assert used_twice == {"+49895555000"}


def test_agent_anna_can_log_in_and_take_calls_on_2001():
    seed()
    user = authenticate(username="agent", password="agent")
    assert user is not None
    assert user.get_full_name() == "Anna Schäfer"
    assert user.groups.filter(name="agent").exists()
    agent = Agent.objects.get(user=user)
    assert agent.extension == "2001"
    assert agent.state == Agent.State.LOGGED_OUT


def test_the_supervisor_also_takes_calls_and_the_manager_is_staff():
    seed()
    users = get_user_model().objects
    supervisor = users.get(username="supervisor")
    assert set(supervisor.groups.values_list("name", flat=True)) == {"agent", "supervisor"}
    assert supervisor.agent.extension == "2010"
    manager = users.get(username="manager")
    assert manager.is_staff
    assert manager.get_full_name() == "Max Müller-Lüdenscheidt"
    assert list(manager.groups.values_list("name", flat=True)) == ["manager"]
    assert not Agent.objects.filter(user=manager).exists()


def test_it_refuses_to_run_with_debug_off_unless_forced(settings: Any):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="--force"):
        seed()
    assert not Account.objects.exists()
    seed("--force")
    assert Account.objects.filter(customer_number="100234").exists()


def test_the_plan_is_the_same_on_every_run():
    today = date(2026, 11, 24)
    assert DemoPlan(today=today).build() == DemoPlan(today=today).build()
