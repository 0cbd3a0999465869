"""The one way services publish live events to desks: small events, sent after commit.

Only ids and event kinds travel; the consumer that owns the socket renders what
the agent sees. Sending after commit means a desk never renders data that was
rolled back, and never renders before the data is visible.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any, Literal, TypedDict

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

logger = logging.getLogger(__name__)

DeskEventKind = Literal[
    "call.offered",
    "call.updated",
    "call.ended",
    "agent.state",
    "interaction.updated",
    "ticket.updated",
    "work_item.offered",
    "work_item.updated",
]

# Every supervisor's wallboard listens here; agents' own groups are `agent.<id>`.
SUPERVISORS = "supervisors"


class DeskEvent(TypedDict):
    """What travels over the channel layer to a desk consumer."""

    type: Literal["desk.event"]
    kind: DeskEventKind
    id: int


def agent_group(agent_id: int) -> str:
    return f"agent.{agent_id}"


class _Outbox:
    """The events of one transaction (or savepoint), sent together after it commits.

    Every `async_to_sync` call from plain sync code starts a thread and an event loop; one
    call per transaction instead of one per event and group keeps routing decisions fast.
    """

    def __init__(self) -> None:
        self.events: list[tuple[DeskEvent, list[str]]] = []

    def __call__(self) -> None:
        layer = get_channel_layer()
        if layer is None or not self.events:
            return
        async_to_sync(self._send)(layer)

    async def _send(self, layer: Any) -> None:
        for event, groups in self.events:
            for group in groups:
                try:
                    await layer.group_send(group, dict(event))
                except Exception:
                    # A full or unreachable layer must not undo a committed call; the
                    # desk re-syncs its state when its socket (re)connects.
                    logger.exception(
                        "could not push %s %s to %s", event["kind"], event["id"], group
                    )


def publish(*, kind: DeskEventKind, id: int, groups: Iterable[str]) -> None:
    """Send the event to every group once the current transaction commits, in order."""
    event: DeskEvent = {"type": "desk.event", "kind": kind, "id": id}
    targets = list(groups)
    connection = transaction.get_connection()
    if connection.in_atomic_block:
        # Join this transaction's outbox if it belongs to the same savepoints, so that a
        # rolled-back savepoint still drops exactly its own events (Django keeps each
        # on-commit callback with the savepoint ids it was registered under).
        current = set(connection.savepoint_ids)
        for savepoints, callback, _robust in reversed(connection.run_on_commit):
            if isinstance(callback, _Outbox) and savepoints == current:
                callback.events.append((event, targets))
                return
    outbox = _Outbox()
    outbox.events.append((event, targets))
    transaction.on_commit(outbox)
