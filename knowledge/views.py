"""The knowledge panel of the agent desk (htmx partials) and the public self-service pages."""

from __future__ import annotations

from typing import Any

from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.models import Account, ContactPoint
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
    return Account.objects.filter(pk=account_id).prefetch_related("contact_points").first()


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
    return {
        "solution": solution,
        "account": account,
        "emails": emails,
        "query": request.GET.get("q", request.POST.get("q", "")),
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
