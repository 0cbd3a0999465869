"""The knowledge panel of the agent desk (htmx partials) and the public self-service pages."""

from __future__ import annotations

from typing import Any

from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts import selectors as account_selectors
from accounts.access import account_can_write, accounts_visible
from accounts.models import Account, ContactPoint, Ticket
from icenter.desk.views import agent_required
from icenter.errors import DomainError
from knowledge import selectors, services
from knowledge.models import Solution, SolutionFeedback
from telephony.models import Agent

# Self-service limits per client address: searches and feedback per minute, requests per hour.
PUBLIC_SEARCHES_PER_MINUTE = 30
PUBLIC_REQUESTS_PER_HOUR = 5


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


# -- desk -----------------------------------------------------------------------------------


def _current_call_queue(agent: Agent) -> str:
    interaction = agent.current_interaction
    call = getattr(interaction, "call", None) if interaction is not None else None
    return str(getattr(call, "queue", "") or "")


def _account(request: HttpRequest, agent: Agent) -> Account | None:
    account_id = _int(request.GET.get("account") or request.POST.get("account"))
    if account_id is None and agent.current_interaction is not None:
        account_id = agent.current_interaction.account_id
    if account_id is None:
        return None
    return (
        accounts_visible(request.user)
        .filter(pk=account_id)
        .prefetch_related("contact_points")
        .first()
    )


def _results_context(request: HttpRequest, agent: Agent) -> dict[str, Any]:
    query = request.GET.get("q", "")
    category_id = _int(request.GET.get("category"))
    account_id = _int(request.GET.get("account"))
    context: dict[str, Any] = {"query": query, "category_id": category_id, "account_id": account_id}
    if query.strip():
        context["search"] = selectors.solution_search(query=query, category_id=category_id)
    else:
        queue = _current_call_queue(agent)
        context["queue"] = queue
        context["top_used"] = selectors.solution_list_top_used(queue=queue)
    return context


@agent_required
@require_GET
def panel(request: HttpRequest, agent: Agent) -> HttpResponse:
    """The knowledge panel: search box, category filter, results (top 10 before a search)."""
    context = _results_context(request, agent)
    context["categories"] = selectors.category_list()
    return render(request, "knowledge/partials/panel.html", context)


@agent_required
@require_GET
def results(request: HttpRequest, agent: Agent) -> HttpResponse:
    """Instant results while the agent types (debounced by htmx)."""
    return render(request, "knowledge/partials/results.html", _results_context(request, agent))


@agent_required
@require_POST
def email_search(request: HttpRequest, agent: Agent) -> HttpResponse:
    """Search with a customer's whole email (the agent may trim it first)."""
    body = request.POST.get("text", "")
    category_id = _int(request.POST.get("category"))
    search = selectors.solution_search_email(body=body, category_id=category_id)
    context = {
        "search": search,
        "query": body,
        "from_email": True,
        "account_id": _int(request.POST.get("account")),
    }
    return render(request, "knowledge/partials/results.html", context)


def _detail_context(request: HttpRequest, agent: Agent, solution: Solution) -> dict[str, Any]:
    account = _account(request, agent)
    emails = []
    if account is not None:
        emails = [
            p.value for p in account.contact_points.all() if p.kind == ContactPoint.Kind.EMAIL
        ]
    tickets: list[Ticket] = []
    linked: set[int] = set()
    if account is not None:
        tickets = account_selectors.ticket_list_open_for_account(
            account_id=account.pk, user=request.user
        )
        linked = selectors.solution_linked_ticket_ids(
            solution_id=solution.pk, ticket_ids=[t.pk for t in tickets]
        )
    return {
        "solution": solution,
        "account": account,
        "emails": emails,
        "query": request.GET.get("q", request.POST.get("q", "")),
        "open_tickets": tickets,
        "linked_ticket_ids": linked,
    }


@agent_required
@require_GET
def detail(request: HttpRequest, agent: Agent, pk: int) -> HttpResponse:
    """A solution with its problems, attachments and the actions on it."""
    solution = selectors.solution_get_visible(solution_id=pk)
    if solution is None:
        return render(request, "knowledge/partials/gone.html", status=404)
    return render(
        request, "knowledge/partials/detail.html", _detail_context(request, agent, solution)
    )


@agent_required
@require_POST
def send(request: HttpRequest, agent: Agent, pk: int) -> HttpResponse:
    """Email the solution to the customer; it is logged in the customer's history."""
    solution = selectors.solution_get_visible(solution_id=pk)
    if solution is None:
        return render(request, "knowledge/partials/gone.html", status=404)
    context = _detail_context(request, agent, solution)
    try:
        services.solution_send_to_customer(
            solution=solution,
            agent=request.user,
            to=request.POST.get("to", ""),
            account=context["account"],
            queue=_current_call_queue(agent),
            message=request.POST.get("message", ""),
        )
    except DomainError as error:
        context["error"] = error.message
    else:
        context["notice"] = _("Sent to %(to)s and logged in the history.") % {
            "to": request.POST.get("to", "").strip()
        }
    return render(request, "knowledge/partials/detail.html", context)


@agent_required
@require_POST
def link(request: HttpRequest, agent: Agent, pk: int) -> HttpResponse:
    """Link the solution to one of the account's open tickets (from the panel's detail)."""
    solution = selectors.solution_get_visible(solution_id=pk)
    if solution is None:
        return render(request, "knowledge/partials/gone.html", status=404)
    ticket_id = _int(request.POST.get("ticket"))
    error = notice = ""
    if ticket_id is None:
        error = _("Pick the ticket to link the solution to.")
    else:
        try:
            link = services.solution_link_to_ticket(
                solution=solution,
                ticket_id=ticket_id,
                user=request.user,
                queue=_current_call_queue(agent),
                interaction=agent.current_interaction,
            )
        except DomainError as refused:
            error = refused.message
        else:
            notice = _("Linked to ticket %(number)s.") % {"number": link.ticket.number}
    context = _detail_context(request, agent, solution)
    context.update(error=error, notice=notice)
    return render(request, "knowledge/partials/detail.html", context)


@agent_required
@require_POST
def feedback(request: HttpRequest, agent: Agent, pk: int) -> HttpResponse:
    """The agent says whether the solution helped; it feeds the ranking."""
    solution = selectors.solution_get_visible(solution_id=pk)
    if solution is None:
        return render(request, "knowledge/partials/gone.html", status=404)
    services.solution_feedback_add(
        solution=solution,
        helped=request.POST.get("helped") == "1",
        source=SolutionFeedback.Source.AGENT,
        user=request.user,
        query=request.POST.get("q", ""),
    )
    return render(request, "knowledge/partials/feedback_thanks.html", {"solution": solution})


# -- solutions on a ticket's page ------------------------------------------------------------


def _ticket(request: HttpRequest, ticket_pk: int) -> Ticket | None:
    """The ticket if this user may see it (the accounts selector applies the access rules)."""
    return (
        account_selectors.ticket_list(user=request.user)
        .filter(pk=ticket_pk)
        .select_related(None)
        .select_related("account")
        .first()
    )


def _ticket_gone(request: HttpRequest) -> HttpResponse:
    return render(request, "knowledge/partials/ticket_gone.html", status=404)


def _ticket_card(
    request: HttpRequest, ticket: Ticket, *, notice: str = "", error: str = ""
) -> HttpResponse:
    context = {
        "ticket": ticket,
        "links": selectors.solution_link_list_for_ticket(ticket_id=ticket.pk),
        "pending": selectors.solution_proposal_pending(ticket_id=ticket.pk),
        "can_propose": ticket.status in Ticket.DONE_STATUSES,
        "writable": account_can_write(request.user, ticket.account),
        "notice": notice,
        "error": error,
    }
    return render(request, "knowledge/partials/ticket_solutions.html", context)


@agent_required
@require_GET
def ticket_solutions(request: HttpRequest, agent: Agent, ticket_pk: int) -> HttpResponse:
    """The ticket page's solutions card: linked solutions, a search to link more, a proposal."""
    ticket = _ticket(request, ticket_pk)
    if ticket is None:
        return _ticket_gone(request)
    return _ticket_card(request, ticket)


@agent_required
@require_GET
def ticket_suggest(request: HttpRequest, agent: Agent, ticket_pk: int) -> HttpResponse:
    """Solutions to link: what the agent searches for, else what the ticket suggests."""
    ticket = _ticket(request, ticket_pk)
    if ticket is None:
        return _ticket_gone(request)
    query = request.GET.get("q", "")
    search = selectors.solution_suggestions_for_ticket(ticket=ticket, query=query)
    linked_ids = {
        link.solution_id for link in selectors.solution_link_list_for_ticket(ticket_id=ticket.pk)
    }
    context = {
        "ticket": ticket,
        "search": search,
        "query": query,
        "linked_solution_ids": linked_ids,
    }
    return render(request, "knowledge/partials/ticket_suggestions.html", context)


@agent_required
@require_POST
def ticket_link(request: HttpRequest, agent: Agent, ticket_pk: int) -> HttpResponse:
    """Link a solution from the ticket's page."""
    ticket = _ticket(request, ticket_pk)
    if ticket is None:
        return _ticket_gone(request)
    solution_id = _int(request.POST.get("solution"))
    solution = selectors.solution_get_visible(solution_id=solution_id) if solution_id else None
    if solution is None:
        return _ticket_card(request, ticket, error=_("This solution is not available any more."))
    try:
        services.solution_link_to_ticket(
            solution=solution,
            ticket_id=ticket.pk,
            user=request.user,
            queue=_current_call_queue(agent),
            interaction=agent.current_interaction,
        )
    except DomainError as error:
        return _ticket_card(request, ticket, error=error.message)
    return _ticket_card(
        request, ticket, notice=_("“%(title)s” linked.") % {"title": solution.title}
    )


@agent_required
@require_POST
def ticket_unlink(request: HttpRequest, agent: Agent, ticket_pk: int) -> HttpResponse:
    """Take a linked solution off the ticket."""
    ticket = _ticket(request, ticket_pk)
    if ticket is None:
        return _ticket_gone(request)
    solution_id = _int(request.POST.get("solution"))
    solution = Solution.objects.filter(pk=solution_id).first() if solution_id else None
    if solution is None:
        return _ticket_card(request, ticket, error=_("This solution is not available any more."))
    try:
        services.solution_unlink_from_ticket(
            solution=solution, ticket_id=ticket.pk, user=request.user
        )
    except DomainError as error:
        return _ticket_card(request, ticket, error=error.message)
    return _ticket_card(
        request, ticket, notice=_("“%(title)s” unlinked.") % {"title": solution.title}
    )


@agent_required
@require_http_methods(["GET", "POST"])
def ticket_propose(request: HttpRequest, agent: Agent, ticket_pk: int) -> HttpResponse:
    """ "Propose as solution": a form prefilled from the resolved ticket; it sends a draft to
    the managers for review."""
    ticket = _ticket(request, ticket_pk)
    if ticket is None:
        return _ticket_gone(request)
    if ticket.status not in Ticket.DONE_STATUSES:
        return _ticket_card(
            request,
            ticket,
            error=_("Only a resolved or closed ticket can be proposed as a solution."),
        )
    pending = selectors.solution_proposal_pending(ticket_id=ticket.pk)
    if pending is not None:
        return _ticket_card(request, ticket)
    if request.method == "GET":
        initial = selectors.solution_proposal_initial(ticket=ticket)
        form = {
            "title": initial.title,
            "problem_title": initial.problem_title,
            "problem_description": initial.problem_description,
            "body": initial.body,
            "language": request.LANGUAGE_CODE[:2] if request.LANGUAGE_CODE else "de",
        }
        return _proposal_form(request, ticket, form)
    data = request.POST
    try:
        solution = services.solution_propose_from_ticket(
            ticket_id=ticket.pk,
            user=request.user,
            title=data.get("title", ""),
            body=data.get("body", ""),
            problem_title=data.get("problem_title", ""),
            problem_description=data.get("problem_description", ""),
            language=data.get("language", Solution.Language.GERMAN),
        )
    except DomainError as error:
        if "solution" in error.extra:
            return _ticket_card(request, ticket, error=error.message)
        # 200, so that htmx shows the form again with the message and what the agent wrote.
        return _proposal_form(request, ticket, data, error=error.message)
    return _ticket_card(
        request,
        ticket,
        notice=_("Thank you: “%(title)s” waits for a manager's review.")
        % {"title": solution.title},
    )


def _proposal_form(
    request: HttpRequest, ticket: Ticket, form: Any, *, error: str = ""
) -> HttpResponse:
    context = {
        "ticket": ticket,
        "form": form,
        "error": error,
        "languages": Solution.Language.choices,
    }
    return render(request, "knowledge/partials/proposal_form.html", context)


@agent_required
@require_GET
def proposal(request: HttpRequest, agent: Agent, pk: int) -> HttpResponse:
    """A proposed draft, for the agents of its ticket (it is not released yet)."""
    solution = selectors.solution_proposal_get(solution_id=pk)
    if solution is None or solution.source_ticket_id is None:
        return render(request, "knowledge/partials/gone.html", status=404)
    if _ticket(request, solution.source_ticket_id) is None:
        return render(request, "knowledge/partials/gone.html", status=404)
    return render(request, "knowledge/partials/proposal.html", {"solution": solution})


# -- public self-service --------------------------------------------------------------------


def _client_address(request: HttpRequest) -> str:
    return str(request.META.get("REMOTE_ADDR", "unknown"))


def _rate_limited(request: HttpRequest, bucket: str, limit: int, seconds: int) -> bool:
    """True once this client has used up `limit` requests of the bucket in the window."""
    key = f"help-rate:{bucket}:{_client_address(request)}"
    if cache.add(key, 1, seconds):
        return False
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, seconds)
        return False
    return count > limit


def _too_many(request: HttpRequest) -> HttpResponse:
    response = render(request, "knowledge/public/too_many.html", status=429)
    response["Retry-After"] = "60"
    return response


@require_GET
def public_search(request: HttpRequest) -> HttpResponse:
    """Self-service: customers search the public solutions without logging in."""
    if _rate_limited(request, "search", PUBLIC_SEARCHES_PER_MINUTE, 60):
        return _too_many(request)
    query = request.GET.get("q", "")
    context: dict[str, Any] = {"query": query}
    if query.strip():
        context["search"] = selectors.solution_search(query=query, public=True)
    else:
        context["top_used"] = selectors.solution_list_top_used(public=True)
    is_partial = getattr(request, "htmx", False) and not request.htmx.history_restore_request  # type: ignore[attr-defined]
    template = "knowledge/public/results.html" if is_partial else "knowledge/public/search.html"
    return render(request, template, context)


@require_GET
def public_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One public solution, without anything internal."""
    if _rate_limited(request, "search", PUBLIC_SEARCHES_PER_MINUTE, 60):
        return _too_many(request)
    solution = selectors.solution_get_visible(solution_id=pk, public=True)
    if solution is None:
        return render(request, "knowledge/public/not_found.html", status=404)
    attachments = [a for a in solution.attachments.all() if a.is_public]
    return render(
        request,
        "knowledge/public/detail.html",
        {"solution": solution, "attachments": attachments, "query": request.GET.get("q", "")},
    )


@require_POST
def public_feedback(request: HttpRequest, pk: int) -> HttpResponse:
    """ "Did this help?" from a customer."""
    if _rate_limited(request, "feedback", PUBLIC_SEARCHES_PER_MINUTE, 60):
        return _too_many(request)
    solution = selectors.solution_get_visible(solution_id=pk, public=True)
    if solution is None:
        return render(request, "knowledge/public/not_found.html", status=404)
    helped = request.POST.get("helped") == "1"
    services.solution_feedback_add(
        solution=solution,
        helped=helped,
        source=SolutionFeedback.Source.PUBLIC,
        query=request.POST.get("q", ""),
    )
    context = {"solution": solution, "helped": helped, "query": request.POST.get("q", "")}
    template = "feedback_thanks" if getattr(request, "htmx", False) else "feedback_page"
    return render(request, f"knowledge/public/{template}.html", context)


@require_http_methods(["GET", "POST"])
def public_contact(request: HttpRequest) -> HttpResponse:
    """ "Still need help": the customer sends a request that the agents answer."""
    solution_id = _int(request.GET.get("solution") or request.POST.get("solution"))
    solution = (
        selectors.solution_get_visible(solution_id=solution_id, public=True)
        if solution_id
        else None
    )
    query = (request.GET.get("q") or request.POST.get("q") or "")[:200]
    context: dict[str, Any] = {"solution": solution, "query": query, "form": request.POST}
    if request.method == "POST":
        if _rate_limited(request, "contact", PUBLIC_REQUESTS_PER_HOUR, 3600):
            return _too_many(request)
        try:
            services.help_request_create(
                name=request.POST.get("name", ""),
                email=request.POST.get("email", ""),
                phone=request.POST.get("phone", ""),
                message=request.POST.get("message", ""),
                solution=solution,
                query=query,
            )
        except DomainError as error:
            context["error"] = error.message
            return render(request, "knowledge/public/contact.html", context, status=400)
        context["callback"] = bool(request.POST.get("phone", "").strip())
        return render(request, "knowledge/public/contact_sent.html", context)
    context["back_url"] = reverse("help:search")
    return render(request, "knowledge/public/contact.html", context)
