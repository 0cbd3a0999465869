"""The one way services publish live events to desks: small events, sent after commit.

Only ids and event kinds travel; the consumer that owns the socket renders what
the agent sees. Sending after commit means a desk never renders data that was
rolled back, and never renders before the data is visible.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Literal, TypedDict

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


def publish(*, kind: DeskEventKind, id: int, groups: Iterable[str]) -> None:
    """Send the event to every group once the current transaction commits."""
    event: DeskEvent = {"type": "desk.event", "kind": kind, "id": id}
    targets = list(groups)

    def send() -> None:
        layer = get_channel_layer()
        if layer is None:
            return
        for group in targets:
            try:
                async_to_sync(layer.group_send)(group, dict(event))
            except Exception:
                # A full or unreachable layer must not undo a committed call; the
                # desk re-syncs its state when its socket (re)connects.
                logger.exception("could not push %s %s to %s", kind, id, group)

    transaction.on_commit(send)
