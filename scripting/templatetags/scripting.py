"""Template filters for the script runner."""

from __future__ import annotations

from django import template

register = template.Library()

INPUT_TYPES = {"number": "text", "date": "date", "phone": "tel", "email": "email"}


@register.filter
def input_type(answer_type: str) -> str:
    """The HTML input type for an answer type (numbers take text, so "3,5" works)."""
    return INPUT_TYPES.get(answer_type, "text")
