"""The 360° view's interaction history: across channels, searchable, paginated, constant cost."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import Interaction
from accounts.selectors import HistoryFilter, interaction_list_for_account
from tests.factories import AccountFactory, ContactFactory, InteractionFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def history():
    account = AccountFactory(name="Müller GmbH")
    now = timezone.now()
    InteractionFactory(
        account=account, channel="phone", subject="Router blinkt rot", started_at=now
    )
    InteractionFactory(
        account=account,
        channel="email",
        subject="Rechnung",
        notes="Bitte Gutschrift für März",
        started_at=now - dt.timedelta(days=1),
    )
    InteractionFactory(
        account=account,
        channel="chat",
        direction="outbound",
        subject="Router getauscht",
        started_at=now - dt.timedelta(days=2),
    )
    InteractionFactory(channel="phone", subject="Router bei jemand anderem")
    return account


def subjects(account, **filters):
    manager = UserFactory(username="history-reader", roles=["manager"])
    return [
        i.subject
        for i in interaction_list_for_account(
            account_id=account.pk, user=manager, history_filter=HistoryFilter(**filters)
        )
    ]


def test_the_history_holds_every_channel_of_the_account_newest_first(history):
    assert subjects(history) == ["Router blinkt rot", "Rechnung", "Router getauscht"]


def test_the_history_is_searched_by_words_in_subject_and_notes(history):
    assert subjects(history, query="router") == ["Router blinkt rot", "Router getauscht"]
    assert subjects(history, query="gutschrift märz") == ["Rechnung"]
    assert subjects(history, query="router rot") == ["Router blinkt rot"]


def test_the_history_is_filtered_by_channel_and_direction(history):
    assert subjects(history, channel="email") == ["Rechnung"]
    assert subjects(history, direction="outbound") == ["Router getauscht"]


def test_unknown_filter_values_from_the_url_are_ignored():
    params = {"hq": "  Router   rot ", "channel": "fax", "direction": "sideways"}
    assert HistoryFilter.from_query(params) == HistoryFilter(query="Router rot")
    assert HistoryFilter(query="a b", channel="email").querystring == "hq=a+b&channel=email"


def test_the_desk_history_searches_and_its_pager_keeps_the_search(desk_client, history):
    for n in range(25):
        InteractionFactory(account=history, channel="email", subject=f"Mail {n}")
    url = f"/desk/?view=history&account={history.pk}&channel=email"
    html = desk_client.get(url, HTTP_HX_REQUEST="true").content.decode()
    assert "26 matches" in html
    assert "Router blinkt rot" not in html
    assert "channel=email&page=2" in html


def test_search_text_is_shown_escaped(desk_client, history):
    html = desk_client.get(
        f"/desk/?view=history&account={history.pk}&hq=<script>x</script>", HTTP_HX_REQUEST="true"
    ).content.decode()
    assert "<script>x</script>" not in html
    assert "&lt;script&gt;x&lt;/script&gt;" in html


def test_every_history_page_costs_the_same_queries(desk_client, agent):
    account = AccountFactory()
    contacts = ContactFactory.create_batch(3, account=account)
    start = timezone.now()
    Interaction.objects.bulk_create(
        Interaction(
            account=account,
            contact=contacts[n % 3],
            agent=agent.user,
            channel=["phone", "email", "chat", "note"][n % 4],
            direction="inbound",
            started_at=start - dt.timedelta(minutes=n),
            subject=f"Kontakt {n}",
        )
        for n in range(300)
    )
    counts = []
    for page in (1, 7, 15):
        with CaptureQueriesContext(connection) as queries:
            response = desk_client.get(
                f"/desk/?view=history&account={account.pk}&page={page}", HTTP_HX_REQUEST="true"
            )
        assert response.status_code == 200
        counts.append(len(queries.captured_queries))
    assert counts[0] == counts[1] == counts[2]


def test_the_api_searches_the_history_too(agent, history):
    api = APIClient()
    api.force_authenticate(agent.user)
    body = api.get(f"/api/v1/interactions/?account={history.pk}&q=router").json()
    assert [i["subject"] for i in body["results"]] == ["Router blinkt rot", "Router getauscht"]
