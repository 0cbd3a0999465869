"""The script runner in the desk's workspace (htmx partials); every view is one service call."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from accounts.access import accounts_visible
from accounts.models import Interaction
from icenter.desk.views import agent_required
from icenter.errors import DomainError, NotFound
from scripting import services
from scripting.desk import runner_context, workspace_context
from scripting.models import ScriptRun, ScriptVersion
from scripting.selectors import run_get_for_agent
from telephony.models import Agent

TEMPLATE = "scripting/partials/workspace.html"


def _int(value: Any) -> int:
    """The number, or 0 (which no row has) for anything else."""
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def _render(request: HttpRequest, context: dict[str, Any], status: int = 200) -> HttpResponse:
    if not getattr(request, "htmx", False):
        return redirect("/desk/?view=script")
    return render(request, TEMPLATE, {"script": context}, status=status)


def _run(request: HttpRequest, run_id: int) -> ScriptRun | None:
    try:
        return run_get_for_agent(run_id=run_id, user=request.user)
    except NotFound:
        return None


def _list(
    request: HttpRequest, agent: Agent, *, message: str = "", error: str = ""
) -> HttpResponse:
    interaction = agent.current_interaction
    account = interaction.account if interaction is not None else None
    context = workspace_context(user=request.user, interaction=interaction, account=account)
    context["script"].update(message=message, error=error)
    return _render(request, context["script"])


@agent_required
@require_GET
def workspace(request: HttpRequest, agent: Agent) -> HttpResponse:
    """The script workspace: the open run of the current contact, or the scripts to start."""
    return _list(request, agent)


@agent_required
@require_POST
def run_start(request: HttpRequest, agent: Agent) -> HttpResponse:
    """Open a published script for the current contact (or the chosen account)."""
    version = (
        ScriptVersion.objects.select_related("script")
        .filter(pk=_int(request.POST.get("version")))
        .first()
    )
    interaction = Interaction.objects.filter(
        pk=_int(request.POST.get("interaction")), agent=agent.user
    ).first()
    account = accounts_visible(request.user).filter(pk=_int(request.POST.get("account"))).first()
    if version is None:
        return _list(request, agent, error=_("That script does not exist."))
    try:
        run = services.script_run_start(
            script_version=version,
            agent_user=request.user,
            interaction=interaction,
            account=account,
        )
    except DomainError as exc:
        return _list(request, agent, error=exc.message)
    full = run_get_for_agent(run_id=run.pk, user=request.user)
    return _render(request, runner_context(full, user=request.user))


@agent_required
@require_GET
def run_show(request: HttpRequest, agent: Agent, run_id: int) -> HttpResponse:
    run = _run(request, run_id)
    if run is None:
        return _list(request, agent, error=_("That script run does not exist."))
    return _render(request, runner_context(run, user=request.user))


def _act(
    request: HttpRequest, agent: Agent, run_id: int, command: Any, **kwargs: Any
) -> HttpResponse:
    run = _run(request, run_id)
    if run is None:
        return _list(request, agent, error=_("That script run does not exist."))
    try:
        run = command(run=run, user=request.user, **kwargs)
    except DomainError as exc:
        fresh = run_get_for_agent(run_id=run.pk, user=request.user)
        given = kwargs.get("answer") if fresh.current_key == kwargs.get("step_key") else None
        return _render(
            request, runner_context(fresh, error=exc.message, given=given, user=request.user)
        )
    return _render(request, runner_context(run, user=request.user))


@agent_required
@require_POST
def run_answer(request: HttpRequest, agent: Agent, run_id: int) -> HttpResponse:
    """Save the answer of the current step and show the next one."""
    answers = request.POST.getlist("answer")
    return _act(
        request,
        agent,
        run_id,
        services.script_run_answer,
        step_key=request.POST.get("step", ""),
        answer=answers if len(answers) != 1 else answers[0],
    )


@agent_required
@require_POST
def run_back(request: HttpRequest, agent: Agent, run_id: int) -> HttpResponse:
    """Back one step; the answers stay."""
    return _act(
        request, agent, run_id, services.script_run_back, step_key=request.POST.get("step", "")
    )


@agent_required
@require_POST
def run_finish(request: HttpRequest, agent: Agent, run_id: int) -> HttpResponse:
    """Finish on the end step: the outcome's actions run."""
    return _act(request, agent, run_id, services.script_run_finish)


@agent_required
@require_POST
def run_abandon(request: HttpRequest, agent: Agent, run_id: int) -> HttpResponse:
    """Close the run unfinished."""
    run = _run(request, run_id)
    if run is None:
        return _list(request, agent, error=_("That script run does not exist."))
    try:
        services.script_run_abandon(run=run, user=request.user)
    except DomainError as exc:
        return _list(request, agent, error=exc.message)
    return _list(request, agent, message=_("The script was closed unfinished."))
