"""Domain errors: raised by services, with a message an agent or manager can read."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """A use case was refused; `message` is shown to the user as it is."""

    def __init__(self, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.message = message
        self.extra = extra


class NotFound(DomainError):
    """The thing asked for does not exist or is not visible to this user."""


class PermissionDenied(DomainError):
    """The user may not do this."""
