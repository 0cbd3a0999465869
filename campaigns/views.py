"""The desk's call lists (htmx): take the next customer, call them, close with a result.

Every view is one service call; the answer is the desk showing the call-lists workspace,
opened on the customer being worked (so header, history and script follow that customer).
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from campaigns import services
from campaigns.desk import workspace_context
from campaigns.models import CallList
from campaigns.selectors import entry_get_for_agent, entry_in_work_for_agent
from icenter.desk.views import agent_required, panels_response, render_workspace
from icenter.errors import DomainError
from telephony.models import Agent


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def _show(
    request: HttpRequest, agent: Agent, *, message: str = "", error: str = ""
) -> HttpResponse:
    entry = entry_in_work_for_agent(agent=agent)
    return render_workspace(
        request,
        agent,
        view="calllists",
        account_id=entry.account_id if entry is not None else None,
        extra=lambda _state: workspace_context(agent=agent, message=message, error=error),
    )


@agent_required
@require_POST
def entry_take(request: HttpRequest, agent: Agent) -> HttpResponse:
    """The next customer of the chosen list, with the campaign's script opened."""
    call_list = CallList.objects.filter(pk=_int(request.POST.get("call_list"))).first()
    if call_list is None:
        return _show(request, agent, error=_("That call list does not exist."))
    try:
        services.call_list_entry_take(agent=agent, call_list=call_list)
    except DomainError as exc:
        return _show(request, agent, error=exc.message)
    return _show(request, agent)


@agent_required
@require_POST
def entry_dial(request: HttpRequest, agent: Agent, entry_id: int) -> HttpResponse:
    """Call the customer being worked; the toolbar and call info follow the call."""
    entry = entry_get_for_agent(agent=agent, entry_id=entry_id)
    try:
        if entry is None:
            raise DomainError(_("This customer is no longer yours to work on."))
        services.call_list_entry_dial(agent=agent, entry=entry)
    except DomainError as exc:
        return panels_response(request, agent, "agent.state", message=exc.message, level="error")
    return panels_response(request, agent, "call.dialled")


@agent_required
@require_POST
def entry_close(request: HttpRequest, agent: Agent, entry_id: int) -> HttpResponse:
    """Close the customer with the result of the call, or put them back untried."""
    entry = entry_get_for_agent(agent=agent, entry_id=entry_id)
    result = request.POST.get("result", "")
    try:
        if entry is None:
            raise DomainError(_("This customer is no longer yours to work on."))
        if result == "release":
            services.call_list_entry_release(agent=agent, entry=entry)
            message = _("The customer is back on the list for the next agent.")
        else:
            closed = services.call_list_entry_close(agent=agent, entry=entry, result=result)
            message = _("Saved: %(result)s.") % {"result": closed.get_result_display()}
    except DomainError as exc:
        return _show(request, agent, error=exc.message)
    return _show(request, agent, message=str(message))
