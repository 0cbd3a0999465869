"""Placeholders in script texts ({account.name}, {answers.budget}), filled safely.

Everything the manager wrote and everything a placeholder brings in is HTML-escaped;
a placeholder without data shows as an empty marker the agent can see, never an error.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from scripting.flow import FlowStep, RunContext

PLACEHOLDER_RE = re.compile(r"\{([a-z]+)\.([-a-zA-Z0-9_]+)\}")

KNOWN_FIELDS: dict[str, tuple[str, ...]] = {
    "account": (
        "name",
        "customer_number",
        "first_name",
        "last_name",
        "customer_group",
        "is_vip",
        "city",
    ),
    "contact": ("first_name", "last_name", "full_name", "position"),
    "campaign": ("name", "code"),
    "agent": ("name", "first_name"),
}


def placeholders_in(text: str) -> list[tuple[str, str]]:
    """(namespace, field) of every placeholder in the text, in order."""
    return PLACEHOLDER_RE.findall(text or "")


def text_needs(text: str) -> frozenset[str]:
    """What the placeholders of a text (a title) read beyond the run row and its answers."""
    needs: set[str] = set()
    for namespace, name in placeholders_in(text):
        if namespace in ("account", "contact"):
            needs.add(namespace)
        if namespace == "account" and name == "city":
            needs.add("city")
    return frozenset(needs)


def step_needs(step: FlowStep | None, *, for_answer: bool = False) -> frozenset[str]:
    """What a step reads beyond the run row and its answers: "account", "city", "contact".

    Showing a step reads its title's and text's placeholders and, for offers, the account;
    answering it (`for_answer`) reads the account when a condition looks at it.
    """
    if step is None:
        return frozenset()
    needs: set[str] = set()
    if for_answer:
        if any(b.subject.startswith("account.") for b in step.branches):
            needs.add("account")
    else:
        needs |= text_needs(step.title) | text_needs(step.text)
        if step.offer_list:
            needs.add("account")
    return frozenset(needs)


def placeholder_problem(namespace: str, name: str, *, answer_keys: Iterable[str]) -> str:
    """Why a placeholder is unknown, or "" when it is known."""
    placeholder = "{%s.%s}" % (namespace, name)  # noqa: UP031
    if namespace == "answers":
        if name in set(answer_keys):
            return ""
        return _("%(placeholder)s refers to no question of this script.") % {
            "placeholder": placeholder
        }
    fields = KNOWN_FIELDS.get(namespace)
    if fields is None or name not in fields:
        return _("%(placeholder)s is not a known placeholder.") % {"placeholder": placeholder}
    return ""


def _lookup(context: RunContext, namespace: str, name: str) -> str:
    if namespace == "answers":
        return context.answer_texts.get(name, "")
    source = {
        "account": context.account,
        "contact": context.contact,
        "campaign": context.campaign,
        "agent": context.agent,
    }.get(namespace)
    if source is None:
        return ""
    value = source.get(name)
    if value is None or value is False:
        return ""
    if value is True:
        return _("yes")
    return str(value)


def render_html(text: str, context: RunContext) -> SafeString:
    """The text as HTML: escaped, line breaks kept, placeholders filled or marked empty."""
    parts: list[str] = []
    position = 0
    for match in PLACEHOLDER_RE.finditer(text or ""):
        parts.append(escape(text[position : match.start()]))
        value = _lookup(context, match.group(1), match.group(2))
        if value:
            parts.append(format_html('<span class="ph">{}</span>', value))
        else:
            parts.append(
                format_html(
                    '<span class="ph-missing" title="{}">{}</span>',
                    _("No data for %(placeholder)s") % {"placeholder": match.group(0)},
                    "\u2009?\u2009",
                )
            )
        position = match.end()
    parts.append(escape((text or "")[position:]))
    return mark_safe("".join(parts).replace("\n", "<br>"))  # noqa: S308 - every part escaped


def render_text(text: str, context: RunContext) -> str:
    """The text as plain text (ticket subjects): placeholders filled, missing ones empty."""
    return PLACEHOLDER_RE.sub(lambda m: _lookup(context, m.group(1), m.group(2)), text or "")
