"""The workspace screens bench/history.py times — the 360° view and the history pages, as htmx
swaps them in — run a small, fixed number of queries whatever the account's data, also for an
agent who sees only some customer groups; and they still show what they show."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import Interaction
from tests.factories import (
    AccountFactory,
    AddressFactory,
    ContactFactory,
    CustomerGroupFactory,
    PhoneFactory,
    TicketFactory,
    grant,
)

pytestmark = pytest.mark.django_db

# Session, user, roles, agent; the desk state's agent, access and account; the page's count
# and rows; the account header's address (the header comes along with every workspace swap).
HISTORY_PAGE_QUERIES = 10
# The same without the page, plus the account's addresses, contacts and their numbers, own
# numbers, appointments, recent contacts, open tickets, outages, and the three queries of the
# predicted contact reasons.
VIEW_360_QUERIES = 18


@pytest.fixture
def account(agent):
    """An account of the agent's customer group, so every query runs the access filter."""
    privat = CustomerGroupFactory(code="privat", name="Privatkunden")
    grant(agent.user, privat)
    grant(agent.user, CustomerGroupFactory(code="gewerbe", name="Geschäftskunden"), read_only=True)
    account = AccountFactory(name="Karl Meier", customer_group=privat)
    AddressFactory(account=account)
    PhoneFactory(account=account, value="030 1234567")
    return account


def add_history(account, agent, count, *, offset=0):
    start = timezone.now() - dt.timedelta(hours=1)
    Interaction.objects.bulk_create(
        Interaction(
            account=account,
            agent=agent.user,
            channel=["phone", "email", "chat", "note"][n % 4],
            direction="inbound",
            started_at=start - dt.timedelta(minutes=offset + n),
            subject=f"Kontakt {offset + n}",
        )
        for n in range(count)
    )


def queries_of(desk_client, url):
    with CaptureQueriesContext(connection) as queries:
        response = desk_client.get(url, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    return len(queries.captured_queries), response.content.decode()


def test_a_history_page_costs_the_same_few_queries_on_every_page_and_at_every_size(
    desk_client, agent, account
):
    add_history(account, agent, 40)
    small, _html = queries_of(desk_client, f"/desk/?view=history&account={account.pk}&page=1")
    add_history(account, agent, 400, offset=40)
    AccountFactory.create_batch(5)
    first, _html = queries_of(desk_client, f"/desk/?view=history&account={account.pk}&page=1")
    deep, html = queries_of(desk_client, f"/desk/?view=history&account={account.pk}&page=20")
    assert small == first == deep
    assert deep <= HISTORY_PAGE_QUERIES
    assert "Kontakt 380" in html
    assert "Page 20 of 22" in html


def test_the_360_view_costs_the_same_queries_with_more_contacts_tickets_and_history(
    desk_client, agent, account
):
    ContactFactory(account=account)
    TicketFactory(account=account)
    add_history(account, agent, 3)
    small, _html = queries_of(desk_client, f"/desk/?account={account.pk}")
    ContactFactory.create_batch(6, account=account)
    TicketFactory.create_batch(12, account=account)
    TicketFactory(account=account, subject="Router defekt")  # the newest: shown first
    add_history(account, agent, 300, offset=3)
    large, html = queries_of(desk_client, f"/desk/?account={account.pk}")
    assert small == large
    assert large <= VIEW_360_QUERIES
    assert "Karl Meier" in html
    assert "Router defekt" in html
    assert "Kontakt 0" in html


def test_the_htmx_workspace_shows_nothing_of_an_account_of_another_customer_group(
    desk_client, agent
):
    hidden = AccountFactory(
        name="Petra Meier", customer_group=CustomerGroupFactory(code="premium", name="Premium")
    )
    add_history(hidden, agent, 3)
    for url in (f"/desk/?view=history&account={hidden.pk}", f"/desk/?account={hidden.pk}"):
        _count, html = queries_of(desk_client, url)
        assert "Petra Meier" not in html
        assert "Kontakt 1" not in html


def test_a_full_page_load_of_the_history_still_brings_the_whole_desk(desk_client, agent, account):
    add_history(account, agent, 3)
    html = desk_client.get(f"/desk/?view=history&account={account.pk}").content.decode()
    assert 'id="toolbar"' in html or 'id="comm-info"' in html
    assert "Kontakt 2" in html
