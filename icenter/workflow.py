"""Workflows declared as data: one check that refuses a status change the model does not allow."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db import models

from icenter.errors import DomainError


def transition_check(
    *,
    transitions: Mapping[str, frozenset[str]],
    choices: type[models.TextChoices],
    old: str,
    new: str,
    message: str,
    **extra: Any,
) -> None:
    """Raise a DomainError naming both states when `old` → `new` is not a declared transition.

    `message` is the translated text with `%(old)s` and `%(new)s`; `extra` goes to the error.
    """
    if new not in transitions[old]:
        raise DomainError(message % {"old": choices(old).label, "new": choices(new).label}, **extra)
