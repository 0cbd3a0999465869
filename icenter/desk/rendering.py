"""Rendering of desk panels, shared by the views (HTTP answers) and the consumer (pushes)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import trans_real

from accounts import selectors as accounts_selectors
from icenter.desk import selectors

# Which panels each event re-renders; "sync" is everything.
PANELS_BY_KIND: dict[str, tuple[str, ...]] = {
    "sync": ("comm_info", "toolbar", "header", "alerts", "workspace", "notepad"),
    "call.offered": ("comm_info", "toolbar", "header", "alerts", "workspace", "notepad"),
    # The agent dialled out: the workspace stays on what they were looking at (a call list's
    # customer and script, a ticket, the account they dialled from).
    "call.dialled": ("comm_info", "toolbar", "header", "alerts", "notepad"),
    "call.updated": ("comm_info", "toolbar"),
    "call.ended": ("comm_info", "toolbar", "workspace_history"),
    "agent.state": ("comm_info", "toolbar"),
    "interaction.updated": ("header", "alerts", "workspace"),
    # A ticket of this agent changed (SLA warning, escalation, assignment): alerts only,
    # so that the view the agent is working in stays as it is.
    "ticket.updated": ("alerts",),
    # A callback or other work item was offered to the agent or changed.
    "work_item.offered": ("comm_info", "toolbar", "header", "alerts", "workspace", "notepad"),
    "work_item.updated": ("comm_info", "toolbar"),
}

# Presence events carry the account's or ticket's id and re-render only that object's list of
# colleagues (`render_presence`), not desk panels.
PRESENCE_KINDS: dict[str, str] = {"presence.account": "account", "presence.ticket": "ticket"}


def desk_context(state: selectors.DeskState, **extra: Any) -> dict[str, Any]:
    """The template context every desk panel may use."""
    return {
        "state": state,
        "demo_tools": settings.ICENTER_DEMO_TOOLS and settings.ICENTER_CTI == "simulator",
        "queue_numbers": settings.ICENTER_QUEUE_NUMBERS,
        **extra,
    }


def render_panels(*, agent_id: int, panels: tuple[str, ...], language: str | None) -> str:
    """Render the chosen desk panels as out-of-band htmx fragments ("" for an unknown agent)."""
    state = selectors.desk_state_for_agent(agent_id=agent_id)
    if state is None:
        return ""
    with translation.override(language):
        return render_to_string(
            "desk/partials/push.html", desk_context(state, panels=panels, oob=True)
        )


def render_presence(*, user_id: int, kind: str, object_id: int, language: str | None) -> str:
    """Who else has the account or ticket open, as an out-of-band swap into its presence line.

    "" when the user may not see the object (access is checked afresh for every push), so a
    desk never learns anything about an account or ticket hidden from its user.
    """
    others = accounts_selectors.presence_for_viewer(user_id=user_id, kind=kind, object_id=object_id)
    if others is None:
        return ""
    with translation.override(language):
        return render_to_string(
            "accounts/partials/presence.html",
            {"others": others, "kind": kind, "object_id": object_id, "oob": True},
        )


def language_from_scope(scope: dict[str, Any]) -> str:
    """The language of a WebSocket's page, chosen the way LocaleMiddleware chooses it."""
    supported = dict(settings.LANGUAGES)
    cookie = (scope.get("cookies") or {}).get(settings.LANGUAGE_COOKIE_NAME)
    if cookie in supported:
        return str(cookie)
    headers = dict(scope.get("headers") or [])
    accept = headers.get(b"accept-language", b"").decode("latin-1")
    for code, _quality in trans_real.parse_accept_lang_header(accept):
        if code == "*":
            break
        try:
            return translation.get_supported_language_variant(code)
        except LookupError:
            continue
    return str(settings.LANGUAGE_CODE)
