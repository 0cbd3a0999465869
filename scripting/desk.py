"""What the desk's "script" workspace shows; rendered by icenter.desk and scripting.views."""

from __future__ import annotations

from typing import Any

from accounts.models import Account, Interaction
from scripting.flow import progress
from scripting.models import ScriptRun
from scripting.placeholders import render_html, step_needs, text_needs
from scripting.selectors import (
    flow_for_version,
    offer_list_top,
    run_active_for_desk,
    run_answers,
    run_context_for_step,
    run_list_for_interaction,
    script_version_list_published,
)


def runner_context(
    run: ScriptRun,
    *,
    error: str = "",
    given: Any = None,
    message: str = "",
    user: Any = None,
) -> dict[str, Any]:
    """The current step of a run, rendered with its placeholders, answers and progress.

    `user` is the agent working the run (read with the request already).
    """
    flow = flow_for_version(version=run.version)
    step = flow.get(run.current_key)
    answers = run_answers(run=run, flow=flow)
    shown = [past for past in map(flow.get, run.path) if past is not None and past.is_question]
    # The answers list shows the questions' titles, which may hold placeholders too.
    needs = step_needs(step).union(*(text_needs(past.title) for past in shown))
    context = run_context_for_step(run=run, answers=answers, needs=needs, agent=user)
    offers: list[Any] = []
    if step is not None and step.offer_list and run.is_active:
        offers = offer_list_top(
            code=step.offer_list, account=context.account, limit=step.offer_count
        )
    shown_answers = [
        (render_html(past.title, context) or past.key, context.answer_texts.get(past.key, ""))
        for past in shown
    ]
    return {
        "run": run,
        "flow": flow,
        "step": step,
        "step_title": render_html(step.title, context) if step else "",
        "text": render_html(step.text, context) if step else "",
        "given": given if given is not None else (context.answers.get(step.key) if step else None),
        "progress": progress(flow, run.path),
        "can_go_back": len(run.path) > 1 and run.is_active,
        "offers": offers,
        "error": error,
        "message": message,
        "answered": shown_answers,
    }


def workspace_context(
    *, user: Any, interaction: Interaction | None, account: Account | None
) -> dict[str, Any]:
    """The open run of this contact (to resume), or the scripts the agent can start."""
    run = run_active_for_desk(
        user=user,
        interaction_id=interaction.pk if interaction is not None else None,
        account_id=account.pk if account is not None else None,
    )
    if run is not None:
        return {"script": runner_context(run, user=user)}
    return {
        "script": {
            "versions": script_version_list_published(),
            "past_runs": run_list_for_interaction(interaction_id=interaction.pk)
            if interaction is not None
            else [],
            "interaction": interaction,
            "account": account,
        }
    }
