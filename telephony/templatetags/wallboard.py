from __future__ import annotations

from typing import Any

from django import template

from telephony.wallboard import user_may_watch

register = template.Library()


@register.filter
def may_watch_wallboard(user: Any) -> bool:
    """Whether the navigation offers this user the wallboard."""
    return user_may_watch(user)
