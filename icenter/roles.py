"""The three staff roles. Each is a Django group created by a data migration."""

from __future__ import annotations

from typing import Any

AGENT = "agent"
SUPERVISOR = "supervisor"
MANAGER = "manager"
ALL = (AGENT, SUPERVISOR, MANAGER)


def user_has_role(user: Any, *roles: str) -> bool:
    """True when the user is active and in one of the roles (superusers have all)."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    if user.is_superuser:
        return True
    names = getattr(user, "_icenter_roles", None)
    if names is None:
        names = set(user.groups.values_list("name", flat=True))
        user._icenter_roles = names
    return bool(names.intersection(roles))
