"""Template filters of the knowledge base."""

from __future__ import annotations

from django import template
from django.utils.safestring import SafeString, mark_safe

from knowledge.services import solution_body_clean

register = template.Library()


@register.filter
def solution_html(body: str) -> SafeString:
    """A solution's rich text, sanitised again on the way out (the admin is not the only writer)."""
    return mark_safe(solution_body_clean(body or ""))  # noqa: S308 - nh3 output is safe HTML
