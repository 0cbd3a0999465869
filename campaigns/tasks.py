"""Celery tasks of the campaigns: thin, idempotent wrappers around services."""

from __future__ import annotations

from datetime import timedelta

from celery import shared_task

from campaigns import services

# A customer taken by an agent who then logged out goes back to the list after this long.
STALE_AFTER = timedelta(minutes=30)


@shared_task(name="campaigns.entries_release_stale", acks_late=True)
def entries_release_stale() -> int:
    """Put back customers held by agents who logged out (idempotent housekeeping)."""
    return services.call_list_entries_release_stale(older_than=STALE_AFTER)
