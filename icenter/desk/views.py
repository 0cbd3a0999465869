"""The agent desktop: one full page, and htmx partials for every action on it.

Every view is thin: check the agent role, call one service or selector, render.
Actions answer with the re-rendered panels as out-of-band swaps, so the desk
updates even when its WebSocket is down; the push brings the same panels to
the agent's other open desks.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST
from django_htmx.middleware import HtmxDetails

from accounts import selectors as account_selectors
from accounts import services as account_services
from accounts.access import accounts_visible
from accounts.models import Account, Interaction
from icenter import roles
from icenter.desk import selectors
from icenter.desk.rendering import PANELS_BY_KIND, desk_context
from icenter.errors import DomainError
from scripting.desk import workspace_context as script_workspace_context
from telephony import services as telephony_services
from telephony.cti.base import get_adapter
from telephony.models import Agent, Queue, WorkItem

logger = logging.getLogger(__name__)

HISTORY_PAGE_SIZE = 20
WORKSPACE_VIEWS = ("account", "history", "search", "script", "knowledge", "calllists")


class HtmxHttpRequest(HttpRequest):
    htmx: HtmxDetails


def agent_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """The desk is for users with the agent role and an agent profile (extension)."""

    @login_required
    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        user = request.user
        # One query answers both "agent profile?" and "agent role?" on the usual path.
        agent = selectors.agent_get_for_user(user=user)
        if (
            agent is not None
            and user.is_active
            and (getattr(agent, "has_agent_role", False) or user.is_superuser)
        ):
            return view(request, agent, *args, **kwargs)
        if not roles.user_has_role(user, roles.AGENT):
            return render(request, "desk/forbidden.html", status=403)
        return render(request, "desk/no_agent.html", status=403)

    return wrapper


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """Send each role where it works: agents to the desk, supervisors to the wallboard,
    managers to the admin."""
    if roles.user_has_role(request.user, roles.AGENT):
        return redirect("desk:desk")
    if roles.user_has_role(request.user, roles.SUPERVISOR):
        return redirect("wallboard")
    if request.user.is_staff:
        return redirect("admin:index")
    return render(request, "desk/forbidden.html", status=403)


def _state(agent: Agent, account_id: int | None = None) -> selectors.DeskState:
    state = selectors.desk_state_for_agent(agent_id=agent.pk, account_id=account_id)
    assert state is not None
    return state


def panels_response(
    request: HttpRequest,
    agent: Agent,
    kind: str,
    *,
    message: str = "",
    level: str = "info",
    account_id: int | None = None,
) -> HttpResponse:
    state = _state(agent, account_id)
    context = desk_context(
        state,
        panels=PANELS_BY_KIND[kind],
        oob=True,
        with_message=True,
        message=message,
        message_level=level,
    )
    return render(request, "desk/partials/push.html", context)


def _refused(request: HttpRequest, agent: Agent, error: DomainError) -> HttpResponse:
    return panels_response(request, agent, "agent.state", message=error.message, level="error")


@agent_required
@require_GET
def desk(request: HtmxHttpRequest, agent: Agent) -> HttpResponse:
    """The interaction-center desktop; with htmx, just the selected workspace view."""
    if agent.state == Agent.State.LOGGED_OUT:
        agent = telephony_services.agent_login(user=request.user) or agent
    view = request.GET.get("view", "account")
    if view not in WORKSPACE_VIEWS:
        view = "account"
    account_id = _int(request.GET.get("account"))
    if view == "calllists" and account_id is None:
        # The call lists show the customer the agent works on: header and views follow it.
        from campaigns.selectors import entry_account_id_for_agent

        account_id = entry_account_id_for_agent(agent=agent)
    return render_workspace(
        request,
        agent,
        view=view,
        account_id=account_id,
        extra=lambda state: _workspace_extra(request, view, state),
    )


def render_workspace(
    request: HttpRequest,
    agent: Agent,
    *,
    view: str,
    account_id: int | None,
    extra: Callable[[selectors.DeskState], dict[str, Any]] | None = None,
) -> HttpResponse:
    """The desk showing one workspace view: for htmx the workspace alone (loading just what
    that view shows), otherwise the whole page. `extra`: the view's own context, from the
    desk state."""
    htmx = getattr(request, "htmx", None)
    workspace_only = htmx is not None and bool(htmx) and not htmx.history_restore_request
    state = selectors.desk_state_for_agent(
        agent_id=agent.pk,
        account_id=account_id,
        workspace=view if workspace_only else None,
        user=request.user,
    )
    assert state is not None
    context = desk_context(state, view=view, **(extra(state) if extra else {}))
    if workspace_only:
        # The header follows the workspace (an account opened from the search, a call list's
        # customer): it comes along as an out-of-band swap.
        return render(request, "desk/partials/workspace_swap.html", context)
    return render(request, "desk/desk.html", context)


def _workspace_extra(request: HttpRequest, view: str, state: selectors.DeskState) -> dict[str, Any]:
    if view == "history" and state.account is not None:
        history_filter = account_selectors.HistoryFilter.from_query(request.GET)
        paginator = Paginator(
            account_selectors.interaction_list_for_account(
                account_id=state.account.pk, user=request.user, history_filter=history_filter
            ),
            HISTORY_PAGE_SIZE,
        )
        return {
            "history_page": paginator.get_page(request.GET.get("page")),
            "history_filter": history_filter,
        }
    if view == "search":
        query = request.GET.get("q", "")
        return {
            "query": query,
            "results": account_selectors.account_search(query=query, user=request.user),
        }
    if view == "script":
        return script_workspace_context(
            user=request.user, interaction=state.interaction, account=state.account
        )
    if view == "calllists":
        from campaigns.desk import workspace_context as calllists_context

        return calllists_context(agent=state.agent)
    return {}


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


@agent_required
@require_POST
def call_action(request: HttpRequest, agent: Agent, call_pk: int, action: str) -> HttpResponse:
    """Toolbar buttons: accept, reject, hang up, hold, retrieve, complete or end a consultation."""
    commands = {
        "accept": telephony_services.call_accept,
        "reject": telephony_services.call_reject,
        "hangup": telephony_services.call_hangup,
        "hold": telephony_services.call_hold,
        "retrieve": telephony_services.call_retrieve,
        "consult-complete": telephony_services.call_consult_complete,
        "consult-cancel": telephony_services.call_consult_cancel,
    }
    command = commands.get(action)
    if command is None:
        return HttpResponseBadRequest(_("Unknown call action."))
    try:
        command(agent=agent, call_pk=call_pk)
    except DomainError as exc:
        return _refused(request, agent, exc)
    return panels_response(request, agent, "call.updated")


@agent_required
@require_POST
def agent_state(request: HttpRequest, agent: Agent) -> HttpResponse:
    """Ready / not ready (with a reason) / logged out of the queues."""
    state = request.POST.get("state", "")
    allowed = {Agent.State.READY, Agent.State.NOT_READY, Agent.State.LOGGED_OUT}
    if state not in allowed:
        return _refused(request, agent, DomainError(_("Choose ready or not ready.")))
    reason = request.POST.get("reason", "").strip()[:100]
    try:
        telephony_services.agent_set_state(agent=agent, state=state, reason=reason)
    except DomainError as exc:
        return _refused(request, agent, exc)
    return panels_response(request, agent, "call.offered")


def _interaction_of(request: HttpRequest, agent: Agent) -> Interaction | None:
    interaction_id = _int(request.POST.get("interaction"))
    if interaction_id is None:
        return None
    return Interaction.objects.filter(pk=interaction_id, agent=agent.user).first()


@agent_required
@require_POST
def notepad_save(request: HttpRequest, agent: Agent) -> HttpResponse:
    """Autosave of the notepad into its interaction."""
    interaction = _interaction_of(request, agent)
    if interaction is None:
        return render(
            request,
            "desk/partials/notepad_status.html",
            {"error": _("The notes could not be saved: this contact is not yours.")},
        )
    try:
        account_services.interaction_save_notes(
            interaction=interaction, notes=request.POST.get("notes", ""), user=request.user
        )
    except DomainError as exc:
        return render(request, "desk/partials/notepad_status.html", {"error": exc.message})
    return render(request, "desk/partials/notepad_status.html", {"interaction": interaction})


@agent_required
@require_POST
def identify(request: HttpRequest, agent: Agent) -> HttpResponse:
    """The agent says which account is calling (from the candidates or a search)."""
    interaction = _interaction_of(request, agent)
    account_id = _int(request.POST.get("account"))
    account = accounts_visible(request.user).filter(pk=account_id).first() if account_id else None
    if interaction is None or account is None:
        return _refused(request, agent, DomainError(_("That contact or account does not exist.")))
    try:
        account_services.interaction_set_account(
            interaction=interaction, account=account, user=request.user
        )
    except DomainError as exc:
        return _refused(request, agent, exc)
    return panels_response(request, agent, "interaction.updated")


@agent_required
@require_POST
def account_create(request: HttpRequest, agent: Agent) -> HttpResponse:
    """Create an account for an unknown caller, prefilled with the calling number."""
    data = request.POST
    kind = data.get("kind", Account.Kind.PERSON)
    first_name = data.get("first_name", "").strip()
    last_name = data.get("last_name", "").strip()
    name = data.get("name", "").strip()
    if kind == Account.Kind.PERSON:
        name = f"{first_name} {last_name}".strip()
    try:
        account = account_services.account_create(
            kind=kind,
            name=name,
            first_name=first_name,
            last_name=last_name,
            phone=data.get("phone", ""),
            email=data.get("email", ""),
            street=data.get("street", ""),
            postcode=data.get("postcode", ""),
            city=data.get("city", ""),
        )
        interaction = _interaction_of(request, agent)
        if interaction is not None:
            account_services.interaction_set_account(
                interaction=interaction, account=account, user=request.user
            )
    except DomainError as exc:
        return panels_response(
            request, agent, "interaction.updated", message=exc.message, level="error"
        )
    return panels_response(
        request,
        agent,
        "interaction.updated",
        message=_("Account %(number)s created.") % {"number": account.customer_number},
        account_id=account.pk,
    )


@agent_required
@require_POST
def simulate_call(request: HttpRequest, agent: Agent) -> HttpResponse:
    """Demo control: a simulated customer calls this agent (only with the simulated PBX)."""
    if not (settings.ICENTER_DEMO_TOOLS and settings.ICENTER_CTI == "simulator"):
        return HttpResponse(status=404)
    adapter = get_adapter()
    number = request.POST.get("ani", "").strip()[:100]
    target = request.POST.get("dnis", "").strip()[:20] or agent.extension
    if request.POST.get("hangup"):
        call = selectors.desk_state_for_agent(agent_id=agent.pk)
        if call is not None and call.call is not None and call.call.is_live:
            adapter.customer_hangs_up(call_id=call.call.call_id)  # type: ignore[attr-defined]
        return panels_response(request, agent, "call.ended")
    adapter.place_inbound_call(ani=number, dnis=target)  # type: ignore[attr-defined]
    agent.refresh_from_db()
    message = ""
    if agent.state != Agent.State.RINGING:
        message = _("The call waits in the queue until you are ready.")
    return panels_response(request, agent, "call.offered", message=message)


@agent_required
@require_POST
def transfer(request: HttpRequest, agent: Agent, call_pk: int) -> HttpResponse:
    """Transfer the call to a colleague or a queue, at once (blind) or after talking (consult)."""
    target = request.POST.get("target", "")
    mode = request.POST.get("mode", "blind")
    kind, _sep, raw_id = target.partition(":")
    target_id = _int(raw_id) or 0
    target_agent = Agent.objects.filter(pk=target_id).first() if kind == "agent" else None
    queue = Queue.objects.filter(pk=target_id).first() if kind == "queue" else None
    try:
        if target_agent is None and queue is None:
            raise DomainError(_("Choose a colleague or a queue to transfer to."))
        if mode == "consult":
            if target_agent is None:
                raise DomainError(_("A consultation needs a colleague, not a queue."))
            telephony_services.call_consult_start(
                agent=agent, call_pk=call_pk, target_agent=target_agent
            )
        else:
            telephony_services.call_transfer_blind(
                agent=agent, call_pk=call_pk, target_agent=target_agent, queue=queue
            )
    except DomainError as exc:
        return _refused(request, agent, exc)
    return panels_response(request, agent, "call.offered")


@agent_required
@require_POST
def dial(request: HttpRequest, agent: Agent) -> HttpResponse:
    """Click-to-dial: any phone number on the desk, or a callback offered to the agent."""
    number = request.POST.get("number", "").strip()[:40]
    item_id = _int(request.POST.get("work_item"))
    item = WorkItem.objects.filter(pk=item_id, agent=agent).first() if item_id else None
    try:
        if item is not None:
            number = item.number
        if not number:
            raise DomainError(_("Enter a number to dial."))
        telephony_services.call_originate(agent=agent, number=number, work_item=item)
    except DomainError as exc:
        return _refused(request, agent, exc)
    return panels_response(request, agent, "call.dialled")


@agent_required
@require_POST
def work_item_reject(request: HttpRequest, agent: Agent, item_pk: int) -> HttpResponse:
    """Decline an offered callback: it goes to the next agent."""
    try:
        telephony_services.work_item_reject(agent=agent, item_pk=item_pk)
    except DomainError as exc:
        return _refused(request, agent, exc)
    return panels_response(request, agent, "call.offered")


@agent_required
@require_POST
def wrap_up_code(request: HttpRequest, agent: Agent, item_pk: int) -> HttpResponse:
    """Record the result of the contact during wrap-up."""
    try:
        telephony_services.work_item_set_wrap_up_code(
            agent=agent, item_pk=item_pk, code=request.POST.get("code", "")
        )
    except DomainError as exc:
        return _refused(request, agent, exc)
    return panels_response(request, agent, "agent.state", message=_("Wrap-up code saved."))
