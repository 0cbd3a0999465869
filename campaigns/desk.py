"""What the desk's "call lists" workspace shows; rendered by icenter.desk and campaigns.views."""

from __future__ import annotations

from typing import Any

from campaigns.models import CallListEntry
from campaigns.selectors import call_list_list_for_agent, entry_in_work_for_agent
from scripting.desk import runner_context
from scripting.selectors import run_get_for_agent
from telephony.models import Agent


def workspace_context(*, agent: Agent, message: str = "", error: str = "") -> dict[str, Any]:
    """The customer the agent works on (with the campaign's script), or the lists to work."""
    entry = entry_in_work_for_agent(agent=agent)
    script: dict[str, Any] | None = None
    if entry is not None and entry.script_run_id is not None:
        run = run_get_for_agent(run_id=entry.script_run_id, user=agent.user)
        script = runner_context(run, user=agent.user)
    return {
        "calllists": {
            "entry": entry,
            "script": script,
            "lists": call_list_list_for_agent(agent=agent) if entry is None else [],
            "results": CallListEntry.Result.choices,
            "message": message,
            "error": error,
        }
    }
