"""Linking released solutions to tickets: the service rules, the desk, the ticket page, the API."""

from __future__ import annotations

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from accounts.models import CustomerGroupAccess, Ticket, TicketChange
from icenter.errors import DomainError, NotFound, PermissionDenied
from knowledge import selectors, services
from knowledge.models import Solution, SolutionLink, SolutionUsage
from tests.factories import AccountFactory, CustomerGroupFactory, TicketFactory

pytestmark = pytest.mark.django_db
API = "/api/v1/knowledge"


@pytest.fixture
def agent_api(agent):
    api = APIClient()
    api.force_authenticate(agent.user)
    return api


@pytest.fixture
def ticket(db):
    return TicketFactory(subject="Router blinkt rot seit dem Gewitter", number="T0000042")


def _trail(ticket: Ticket) -> list[TicketChange]:
    return list(
        TicketChange.objects.filter(
            ticket=ticket, action__in=["solution_linked", "solution_unlinked"]
        ).order_by("id")
    )


# -- service rules ------------------------------------------------------------------------------


def test_linking_counts_a_use_and_writes_the_ticket_trail(agent, knowledge_base, ticket):
    solution = knowledge_base["router"]
    link = services.solution_link_to_ticket(
        solution=solution, ticket_id=ticket.pk, user=agent.user, queue="Technik"
    )
    assert link.ticket == ticket
    assert link.linked_by == agent.user
    solution.refresh_from_db()
    assert solution.usage_count == 6
    usage = SolutionUsage.objects.get(link=link)
    assert (usage.kind, usage.queue, usage.agent) == ("linked", "Technik", agent.user)
    (entry,) = _trail(ticket)
    assert entry.get_action_display() == "Knowledge solution linked"
    assert entry.actor == agent.user
    assert entry.new_value == f"Router blinkt rot (#{solution.pk})"
    assert entry.old_value == ""


def test_a_solution_is_linked_to_a_ticket_only_once(agent, knowledge_base, ticket):
    solution = knowledge_base["router"]
    services.solution_link_to_ticket(solution=solution, ticket_id=ticket.pk, user=agent.user)
    with pytest.raises(DomainError, match="already linked to ticket T0000042"):
        services.solution_link_to_ticket(solution=solution, ticket_id=ticket.pk, user=agent.user)
    solution.refresh_from_db()
    assert solution.usage_count == 6
    assert SolutionLink.objects.count() == 1


def test_drafts_and_expired_solutions_cannot_be_linked(agent, knowledge_base, ticket):
    with pytest.raises(DomainError, match="Only released, valid solutions"):
        services.solution_link_to_ticket(
            solution=knowledge_base["draft"], ticket_id=ticket.pk, user=agent.user
        )
    assert not SolutionLink.objects.exists()


def test_an_outsider_cannot_link(outsider_user, knowledge_base, ticket):
    with pytest.raises(PermissionDenied):
        services.solution_link_to_ticket(
            solution=knowledge_base["router"], ticket_id=ticket.pk, user=outsider_user
        )


def test_a_ticket_the_agent_may_not_see_cannot_be_linked(agent, knowledge_base):
    hidden = TicketFactory(account=AccountFactory(customer_group=CustomerGroupFactory()))
    with pytest.raises(NotFound):
        services.solution_link_to_ticket(
            solution=knowledge_base["router"], ticket_id=hidden.pk, user=agent.user
        )
    with pytest.raises(NotFound):
        services.solution_link_to_ticket(
            solution=knowledge_base["router"], ticket_id=999999, user=agent.user
        )


def test_unlinking_takes_the_use_back_and_the_trail_keeps_both(agent, knowledge_base, ticket):
    solution = knowledge_base["router"]
    services.solution_link_to_ticket(solution=solution, ticket_id=ticket.pk, user=agent.user)
    services.solution_unlink_from_ticket(solution=solution, ticket_id=ticket.pk, user=agent.user)
    solution.refresh_from_db()
    assert solution.usage_count == 5
    assert not SolutionLink.objects.exists()
    assert not SolutionUsage.objects.filter(kind="linked").exists()
    linked, unlinked = _trail(ticket)
    assert (linked.new_value, unlinked.old_value, unlinked.new_value) == (
        f"Router blinkt rot (#{solution.pk})",
        f"Router blinkt rot (#{solution.pk})",
        "",
    )


def test_unlinking_what_is_not_linked_says_so(agent, knowledge_base, ticket):
    with pytest.raises(NotFound, match="is not linked to ticket T0000042"):
        services.solution_unlink_from_ticket(
            solution=knowledge_base["router"], ticket_id=ticket.pk, user=agent.user
        )


def test_an_archived_solution_can_still_be_unlinked(agent, knowledge_base, ticket):
    solution = knowledge_base["router"]
    services.solution_link_to_ticket(solution=solution, ticket_id=ticket.pk, user=agent.user)
    Solution.objects.filter(pk=solution.pk).update(status=Solution.Status.ARCHIVED)
    services.solution_unlink_from_ticket(solution=solution, ticket_id=ticket.pk, user=agent.user)
    assert not SolutionLink.objects.exists()


def test_links_count_in_the_top_ten_overall_and_per_queue(agent, knowledge_base):
    internal = knowledge_base["internal"]  # used 0 times so far, the others 5 and 9
    for _ in range(10):
        services.solution_link_to_ticket(
            solution=internal, ticket_id=TicketFactory().pk, user=agent.user, queue="Rechnung"
        )
    assert selectors.solution_list_top_used()[0] == internal
    services.solution_link_to_ticket(
        solution=knowledge_base["router"],
        ticket_id=TicketFactory().pk,
        user=agent.user,
        queue="Technik",
    )
    assert selectors.solution_list_top_used(queue="Technik")[0] == knowledge_base["router"]
    assert selectors.solution_list_top_used(queue="Rechnung")[0] == internal


# -- the desk's knowledge panel -------------------------------------------------------------------


def test_the_detail_offers_the_accounts_only_open_ticket_directly(desk_client, knowledge_base):
    ticket = TicketFactory(number="T0000007", subject="Kein Internet")
    TicketFactory(account=ticket.account, status=Ticket.Status.CLOSED)
    solution = knowledge_base["router"]
    html = desk_client.get(
        reverse("knowledge:detail", args=[solution.pk]), {"account": ticket.account_id}
    ).content.decode()
    assert "Link to ticket T0000007" in html
    assert f'name="ticket" value="{ticket.pk}"' in html
    assert '<select name="ticket"' not in html


def test_the_detail_lets_the_agent_pick_one_of_several_open_tickets(
    desk_client, agent, knowledge_base
):
    account = AccountFactory()
    first = TicketFactory(account=account, number="T0000001")
    TicketFactory(account=account, number="T0000002")
    services.solution_link_to_ticket(
        solution=knowledge_base["router"], ticket_id=first.pk, user=agent.user
    )
    html = desk_client.get(
        reverse("knowledge:detail", args=[knowledge_base["router"].pk]), {"account": account.pk}
    ).content.decode()
    assert '<select name="ticket" required>' in html
    assert f'<option value="{first.pk}" disabled>T0000001' in html
    assert "T0000002" in html


def test_the_detail_has_empty_states_for_linking(desk_client, knowledge_base):
    url = reverse("knowledge:detail", args=[knowledge_base["router"].pk])
    assert "Identify the customer's account" in desk_client.get(url).content.decode()
    account = AccountFactory(name="Klaus Berg")
    html = desk_client.get(url, {"account": account.pk}).content.decode()
    assert "Klaus Berg has no open ticket" in html


def test_an_agent_links_from_the_panel(desk_client, agent, knowledge_base):
    ticket = TicketFactory(number="T0000008")
    solution = knowledge_base["router"]
    html = desk_client.post(
        reverse("knowledge:link", args=[solution.pk]),
        {"ticket": ticket.pk, "account": ticket.account_id},
    ).content.decode()
    assert "Linked to ticket T0000008." in html
    assert SolutionLink.objects.filter(solution=solution, ticket=ticket).exists()
    again = desk_client.post(
        reverse("knowledge:link", args=[solution.pk]),
        {"ticket": ticket.pk, "account": ticket.account_id},
    ).content.decode()
    assert "already linked" in again
    none = desk_client.post(reverse("knowledge:link", args=[solution.pk]), {}).content.decode()
    assert "Pick the ticket" in none


def test_linking_needs_csrf_and_the_agent_role(client, outsider_user, agent, knowledge_base):
    ticket = TicketFactory()
    url = reverse("knowledge:link", args=[knowledge_base["router"].pk])
    client.force_login(outsider_user)
    assert client.post(url, {"ticket": ticket.pk}).status_code == 403
    csrf_client = type(client)(enforce_csrf_checks=True)
    csrf_client.force_login(agent.user)
    assert csrf_client.post(url, {"ticket": ticket.pk}).status_code == 403
    assert not SolutionLink.objects.exists()


# -- the ticket page --------------------------------------------------------------------------


def test_the_ticket_page_loads_the_solutions_card(desk_client, ticket):
    html = desk_client.get(reverse("accounts:ticket_detail", args=[ticket.pk])).content.decode()
    assert reverse("knowledge:ticket_solutions", args=[ticket.pk]) in html


def test_the_card_lists_linked_solutions_with_who_and_unlink(
    desk_client, agent, knowledge_base, ticket, django_assert_max_num_queries
):
    for solution in (knowledge_base["router"], knowledge_base["invoice"]):
        services.solution_link_to_ticket(solution=solution, ticket_id=ticket.pk, user=agent.user)
    url = reverse("knowledge:ticket_solutions", args=[ticket.pk])
    with django_assert_max_num_queries(8):
        html = desk_client.get(url, HTTP_HX_REQUEST="true").content.decode()
    assert "Router blinkt rot" in html and "Rechnung doppelt abgebucht" in html
    assert "Anna Schäfer" in html
    assert reverse("knowledge:ticket_unlink", args=[ticket.pk]) in html
    assert reverse("knowledge:detail", args=[knowledge_base["router"].pk]) in html


def test_the_card_has_an_empty_state(desk_client, ticket):
    html = desk_client.get(reverse("knowledge:ticket_solutions", args=[ticket.pk])).content.decode()
    assert "No solution is linked to this ticket yet." in html
    assert "Once the ticket is resolved or closed" in html


def test_the_card_suggests_solutions_from_the_ticket_and_searches(
    desk_client, knowledge_base, ticket
):
    url = reverse("knowledge:ticket_suggest", args=[ticket.pk])
    suggested = desk_client.get(url).content.decode()
    assert "Suggested for this ticket" in suggested
    assert "<mark>Router</mark>" in suggested
    assert reverse("knowledge:ticket_link", args=[ticket.pk]) in suggested
    found = desk_client.get(url, {"q": "Rechnunk doppelt"}).content.decode()
    assert "doppelt" in found
    nothing = desk_client.get(url, {"q": "Zzyzx Qwxv"}).content.decode()
    assert "No solution matches" in nothing
    escaped = desk_client.get(url, {"q": "<script>x</script>"}).content.decode()
    assert "<script>x" not in escaped


def test_an_agent_links_and_unlinks_on_the_ticket_page(desk_client, knowledge_base, ticket):
    solution = knowledge_base["invoice"]
    html = desk_client.post(
        reverse("knowledge:ticket_link", args=[ticket.pk]), {"solution": solution.pk}
    ).content.decode()
    assert "“Rechnung doppelt abgebucht” linked." in html
    assert 'id="ticket-solutions"' in html
    html = desk_client.post(
        reverse("knowledge:ticket_unlink", args=[ticket.pk]), {"solution": solution.pk}
    ).content.decode()
    assert "“Rechnung doppelt abgebucht” unlinked." in html
    assert "No solution is linked" in html
    draft = desk_client.post(
        reverse("knowledge:ticket_link", args=[ticket.pk]), {"solution": knowledge_base["draft"].pk}
    ).content.decode()
    assert "not available any more" in draft
    assert not SolutionLink.objects.exists()


def test_the_ticket_page_refuses_outsiders_and_hidden_tickets(client, outsider_user, agent):
    ticket = TicketFactory()
    hidden = TicketFactory(account=AccountFactory(customer_group=CustomerGroupFactory()))
    client.force_login(outsider_user)
    assert client.get(reverse("knowledge:ticket_solutions", args=[ticket.pk])).status_code == 403
    client.force_login(agent.user)
    response = client.get(reverse("knowledge:ticket_solutions", args=[hidden.pk]))
    assert response.status_code == 404
    assert "not yours to see" in response.content.decode()
    response = client.post(reverse("knowledge:ticket_link", args=[hidden.pk]), {"solution": 1})
    assert response.status_code == 404


# -- REST -------------------------------------------------------------------------------------


def test_the_api_links_lists_and_unlinks(agent_api, knowledge_base, ticket):
    solution = knowledge_base["router"]
    url = f"{API}/solutions/{solution.pk}/links/"
    created = agent_api.post(url, {"ticket": ticket.pk}, format="json")
    assert created.status_code == 201
    assert created.json()["ticket_number"] == "T0000042"
    assert [link["ticket"] for link in agent_api.get(url).json()] == [ticket.pk]
    by_ticket = agent_api.get(f"{API}/solutions/linked/", {"ticket": ticket.pk}).json()
    assert [link["solution_title"] for link in by_ticket] == ["Router blinkt rot"]
    again = agent_api.post(url, {"ticket": ticket.pk}, format="json")
    assert again.status_code == 400
    assert "already linked" in again.json()["message"]
    assert agent_api.delete(f"{url}?ticket={ticket.pk}").status_code == 204
    assert agent_api.get(url).json() == []
    assert agent_api.delete(f"{url}?ticket={ticket.pk}").status_code == 404


def test_the_api_refuses_outsiders_and_bad_input(agent_api, outsider_user, knowledge_base, ticket):
    url = f"{API}/solutions/{knowledge_base['router'].pk}/links/"
    assert agent_api.post(url, {"ticket": "x"}, format="json").status_code == 400
    assert agent_api.post(url, {"ticket": 999999}, format="json").status_code == 404
    assert agent_api.get(f"{API}/solutions/linked/", {"ticket": 999999}).status_code == 404
    outsider = APIClient()
    outsider.force_authenticate(outsider_user)
    assert outsider.post(url, {"ticket": ticket.pk}, format="json").status_code == 403
    assert outsider.delete(f"{url}?ticket={ticket.pk}").status_code == 403
    assert not SolutionLink.objects.exists()


def test_read_only_access_shows_links_but_refuses_changes(desk_client, agent, knowledge_base):
    group = CustomerGroupFactory()
    CustomerGroupAccess.objects.create(user=agent.user, customer_group=group, read_only=True)
    ticket = TicketFactory(account=AccountFactory(customer_group=group))
    SolutionLink.objects.create(solution=knowledge_base["router"], ticket=ticket)
    html = desk_client.get(reverse("knowledge:ticket_solutions", args=[ticket.pk])).content.decode()
    assert "Router blinkt rot" in html
    assert reverse("knowledge:ticket_unlink", args=[ticket.pk]) not in html
    assert reverse("knowledge:ticket_suggest", args=[ticket.pk]) not in html
    with pytest.raises(PermissionDenied, match="read-only"):
        services.solution_link_to_ticket(
            solution=knowledge_base["invoice"], ticket_id=ticket.pk, user=agent.user
        )
