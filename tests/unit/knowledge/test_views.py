"""The desk's knowledge panel and the public self-service pages."""

from __future__ import annotations

import pytest
from django.core import mail
from django.core.cache import cache
from django.urls import reverse

from accounts.models import Interaction
from knowledge.models import SolutionFeedback, SolutionUsage
from tests.factories import AccountFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh_rate_limits():
    cache.clear()


def test_the_desk_has_a_knowledge_view_that_loads_the_panel(desk_client, knowledge_base):
    html = desk_client.get(reverse("desk:desk"), {"view": "knowledge"}).content.decode()
    assert reverse("knowledge:panel") in html
    panel = desk_client.get(reverse("knowledge:panel"), HTTP_HX_REQUEST="true").content.decode()
    assert "Most used solutions" in panel
    top = panel[panel.index('class="kb-top"') :]
    assert top.index("Rechnung doppelt abgebucht") < top.index("Router blinkt rot")


def test_instant_results_are_highlighted_and_escaped(desk_client, knowledge_base):
    html = desk_client.get(reverse("knowledge:results"), {"q": "Ruter <i>x</i>"}).content.decode()
    assert "<mark>Router</mark>" in html
    assert "<i>x</i>" not in html
    empty = desk_client.get(reverse("knowledge:results"), {"q": "der die das"}).content.decode()
    assert "Type a few words" in empty
    none = desk_client.get(reverse("knowledge:results"), {"q": "Zzyzx Qwxv"}).content.decode()
    assert "No solution matches" in none


def test_the_category_filter_narrows_the_results(desk_client, knowledge_base):
    category = knowledge_base["invoice"].category_id
    html = desk_client.get(
        reverse("knowledge:results"), {"q": "Router Rechnung", "category": category}
    ).content.decode()
    assert "Router blinkt rot" not in html
    assert "doppelt" in html


def test_an_agent_searches_with_a_whole_email(desk_client, knowledge_base):
    html = desk_client.post(
        reverse("knowledge:email_search"),
        {"text": "Hallo,\nder Router blinkt rot.\nGruß\nHans"},
    ).content.decode()
    assert "Searched for: router, blinkt, rot" in html
    assert "<mark>Router</mark> <mark>blinkt</mark> <mark>rot</mark>" in html


def test_the_detail_shows_the_internal_note_and_sanitised_text(desk_client, knowledge_base):
    solution = knowledge_base["router"]
    type(solution).objects.filter(pk=solution.pk).update(
        body="<p onclick='x()'>Hallo<script>alert(1)</script></p>"
    )
    html = desk_client.get(reverse("knowledge:detail", args=[solution.pk])).content.decode()
    assert "Gewerbe: Entstörung Prio 2" in html
    assert "<script>" not in html
    assert "onclick" not in html


def test_sending_to_the_customer_mails_logs_and_counts(
    desk_client, agent, knowledge_base, django_capture_on_commit_callbacks
):
    account = AccountFactory(name="Klaus Berg")
    solution = knowledge_base["router"]
    with django_capture_on_commit_callbacks(execute=True):
        response = desk_client.post(
            reverse("knowledge:send", args=[solution.pk]),
            {"to": "klaus@example.de", "account": account.pk, "message": "Wie besprochen:"},
        )
    assert "Sent to klaus@example.de" in response.content.decode()
    assert len(mail.outbox) == 1
    assert mail.outbox[0].subject == "Router blinkt rot"
    assert "Kabel" in mail.outbox[0].body
    interaction = Interaction.objects.get(account=account)
    assert interaction.channel == "email"
    assert interaction.direction == "outbound"
    assert interaction.agent == agent.user
    solution.refresh_from_db()
    assert solution.usage_count == 6
    assert SolutionUsage.objects.filter(solution=solution, kind="sent").count() == 1


def test_a_bad_address_sends_nothing(desk_client, knowledge_base):
    html = desk_client.post(
        reverse("knowledge:send", args=[knowledge_base["router"].pk]), {"to": "nobody"}
    ).content.decode()
    assert "not a valid email address" in html
    assert not mail.outbox
    assert not Interaction.objects.exists()


def test_agent_feedback_is_counted(desk_client, knowledge_base):
    solution = knowledge_base["router"]
    desk_client.post(reverse("knowledge:feedback", args=[solution.pk]), {"helped": "0"})
    solution.refresh_from_db()
    assert solution.not_helped_count == 1
    assert SolutionFeedback.objects.get().source == "agent"


def test_drafts_are_not_shown_to_agents(desk_client, knowledge_base):
    response = desk_client.get(reverse("knowledge:detail", args=[knowledge_base["draft"].pk]))
    assert response.status_code == 404


def test_people_without_the_agent_role_get_no_panel(client, outsider_user, knowledge_base):
    assert client.get(reverse("knowledge:panel")).status_code == 302
    client.force_login(outsider_user)
    assert client.get(reverse("knowledge:panel")).status_code == 403
    assert client.post(reverse("knowledge:feedback", args=[1])).status_code == 403


# -- self-service ------------------------------------------------------------------------------


def test_customers_search_public_solutions_without_logging_in(client, knowledge_base):
    html = client.get(reverse("help:search"), {"q": "Rechnunk"}).content.decode()
    assert "<mark>Rechnung</mark> doppelt abgebucht" in html
    assert "Kulanzregeln" not in html
    assert "Still need help?" in html


def test_the_public_page_shows_no_internal_fields(client, knowledge_base):
    solution = knowledge_base["router"]
    html = client.get(reverse("help:detail", args=[solution.pk])).content.decode()
    assert "Router blinkt rot" in html
    assert "Entstörung Prio 2" not in html
    internal = reverse("help:detail", args=[knowledge_base["internal"].pk])
    assert client.get(internal).status_code == 404


def test_did_this_help_is_recorded(client, knowledge_base):
    solution = knowledge_base["router"]
    response = client.post(reverse("help:feedback", args=[solution.pk]), {"helped": "1"})
    assert "Glad we could help" in response.content.decode()
    solution.refresh_from_db()
    assert solution.helped_count == 1


def test_still_need_help_logs_an_email_request_and_a_callback(client, knowledge_base):
    from telephony.models import WorkItem

    solution = knowledge_base["router"]
    response = client.post(
        reverse("help:contact"),
        {
            "name": "Eva Lang",
            "email": "eva@example.de",
            "phone": "030 1234567",
            "message": "Router immer noch rot",
            "solution": solution.pk,
            "q": "router rot",
        },
    )
    assert "We have your request" in response.content.decode()
    interaction = Interaction.objects.get()
    assert (interaction.channel, interaction.direction) == ("email", "inbound")
    assert interaction.agent is None
    assert "Router immer noch rot" in interaction.notes
    assert "Router blinkt rot" in interaction.notes
    assert WorkItem.objects.filter(channel="callback").count() == 1


def test_a_help_request_without_email_is_refused_and_keeps_the_text(client):
    response = client.post(reverse("help:contact"), {"email": "x", "message": "Hilfe"})
    assert response.status_code == 400
    assert "valid email address" in response.content.decode()
    assert "Hilfe" in response.content.decode()
    assert not Interaction.objects.exists()


def test_the_public_search_is_rate_limited(client, knowledge_base, settings):
    for _ in range(30):
        assert client.get(reverse("help:search"), {"q": "Router"}).status_code == 200
    response = client.get(reverse("help:search"), {"q": "Router"})
    assert response.status_code == 429
    assert "try again in a minute" in response.content.decode()


@pytest.mark.parametrize("query", ["<script>alert(1)</script>", "x" * 10000, "😀", "' OR 1=1 --"])
def test_bad_public_queries_never_error_or_inject(client, knowledge_base, query):
    response = client.get(reverse("help:search"), {"q": query})
    assert response.status_code == 200
    assert "<script>alert(1)</script>" not in response.content.decode()
