"""Placeholders in message templates ({account.name}), validated at save and filled safely.

Only the fields listed here can be read: a template cannot reach anything else of an
object, and what it brings in is plain text (control characters removed), never markup.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

PLACEHOLDER_RE = re.compile(r"\{([a-z]+)\.([a-z_]+)\}")
CONTROL_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")

FIELDS: dict[str, tuple[str, ...]] = {
    "account": ("name", "customer_number", "first_name", "last_name"),
    "contact": ("first_name", "last_name", "full_name"),
    "agent": ("name", "first_name"),
    "ticket": ("number", "subject"),
    "appointment": ("date", "time", "technician"),
}
SMS_MAX_LENGTH = 640  # four concatenated SMS


@dataclass
class MessageContext:
    """The objects a message may mention; any of them may be missing."""

    account: Any = None
    contact: Any = None
    agent: Any = None
    ticket: Any = None
    appointment: Any = None


def template_problems(text: str) -> list[str]:
    """Why a template text cannot be used: unknown placeholders (empty when fine)."""
    problems = []
    for namespace, name in PLACEHOLDER_RE.findall(text or ""):
        if name not in FIELDS.get(namespace, ()):
            problems.append(
                _("{%(namespace)s.%(name)s} is not a known placeholder.")
                % {"namespace": namespace, "name": name}
            )
    return problems


def _value(context: MessageContext, namespace: str, name: str) -> str:
    source = getattr(context, namespace, None)
    if source is None or name not in FIELDS.get(namespace, ()):
        return ""
    if namespace == "agent":
        value: Any = (
            (source.get_full_name() or source.get_username())
            if name == "name"
            else source.first_name
        )
    elif namespace == "appointment":
        starts = timezone.localtime(source.starts_at)
        value = {
            "date": starts.strftime("%d.%m.%Y"),
            "time": starts.strftime("%H:%M"),
            "technician": str(getattr(source, "technician", "") or ""),
        }[name]
    else:
        value = getattr(source, name, "")
    return CONTROL_RE.sub("", str(value or ""))


def render_text(text: str, context: MessageContext) -> str:
    """The text with every known placeholder filled in (missing data: empty)."""
    return PLACEHOLDER_RE.sub(lambda match: _value(context, *match.groups()), text or "")
