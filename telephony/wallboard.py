"""The supervisor wallboard: one page, its live partials, and the force-state actions.

Rendering is shared by the views (HTTP answers) and telephony.consumers.WallboardConsumer
(pushes); every figure comes from telephony.selectors.wallboard_get.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from icenter import roles
from icenter.errors import DomainError
from telephony import selectors
from telephony import services as telephony_services
from telephony.models import Agent

WALLBOARD_ROLES = (roles.SUPERVISOR, roles.MANAGER)
FORCEABLE_STATES = (Agent.State.NOT_READY, Agent.State.LOGGED_OUT)


def user_may_watch(user: Any) -> bool:
    """Supervisors and managers watch the wallboard and may override agents' states."""
    return roles.user_has_role(user, *WALLBOARD_ROLES)


def supervisor_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    @login_required
    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not user_may_watch(request.user):
            return render(request, "telephony/wallboard_forbidden.html", status=403)
        return view(request, *args, **kwargs)

    return wrapper


def wallboard_context(*, oob: bool = False, **extra: Any) -> dict[str, Any]:
    board = selectors.wallboard_get()
    return {"board": board, "chart_data": board.chart_data(), "oob": oob, **extra}


def render_wallboard(*, language: str | None) -> str:
    """The wallboard's live parts as htmx out-of-band fragments, for a push."""
    with translation.override(language):
        return render_to_string(
            "telephony/partials/wallboard_push.html", wallboard_context(oob=True)
        )


@supervisor_required
@require_GET
def wallboard(request: HttpRequest) -> HttpResponse:
    """Live per-queue figures and every agent's state, for supervisors and managers."""
    return render(request, "telephony/wallboard.html", wallboard_context())


@supervisor_required
@require_POST
def wallboard_agent_state(request: HttpRequest, agent_pk: int) -> HttpResponse:
    """Set an agent not ready or log them out; refused while the agent's call is live."""
    agent = get_object_or_404(Agent.objects.select_related("user"), pk=agent_pk)
    state = request.POST.get("state", "")
    message, level, status = "", "info", 200
    if state not in FORCEABLE_STATES:
        message, level, status = _("Choose “not ready” or “log out”."), "error", 400
    else:
        try:
            telephony_services.agent_force_state(agent=agent, state=state, by=request.user)
        except DomainError as error:
            message, level, status = error.message, "error", 400
        else:
            message = _("%(agent)s: %(state)s.") % {
                "agent": agent,
                "state": Agent.State(state).label,
            }
    if not getattr(request, "htmx", False):
        if status == 200:
            return redirect("wallboard")
        context = wallboard_context(message=message, message_level=level)
        return render(request, "telephony/wallboard.html", context, status=status)
    context = wallboard_context(oob=True, message=message, message_level=level, with_message=True)
    # htmx swaps only 2xx answers by default; the refusal still has to show.
    return render(request, "telephony/partials/wallboard_push.html", context)
