"""The one way services publish live events to desks: small events, sent after commit.

Only ids and event kinds travel; the consumer that owns the socket renders what
the agent sees. Sending after commit means a desk never renders data that was
rolled back, and never renders before the data is visible.
"""

from __future__ import annotations

import asyncio
import atexit
import logging
import os
import queue
import threading
from collections.abc import Iterable
from typing import Any, Literal, TypedDict

from asgiref.sync import async_to_sync
from channels.layers import InMemoryChannelLayer, get_channel_layer
from django.db import transaction

logger = logging.getLogger(__name__)

DeskEventKind = Literal[
    "call.offered",
    # The agent dialled out: like call.offered, but the workspace stays as it is.
    "call.dialled",
    "call.updated",
    "call.ended",
    "agent.state",
    "interaction.updated",
    "ticket.updated",
    "work_item.offered",
    "work_item.updated",
    # Who else has an account or ticket open changed; the id is the account's or ticket's.
    "presence.account",
    "presence.ticket",
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


Batch = list[tuple[DeskEvent, list[str]]]


async def _send(layer: Any, events: Batch) -> None:
    for event, groups in events:
        for group in groups:
            try:
                await layer.group_send(group, dict(event))
            except Exception:
                # A full or unreachable layer must not undo a committed call; the
                # desk re-syncs its state when its socket (re)connects.
                logger.exception("could not push %s %s to %s", event["kind"], event["id"], group)


class _Sender:
    """One thread per process, with one long-lived event loop, that sends batches in order.

    `async_to_sync` from plain sync code (a routing worker, Celery, the ACD tick, a view on a
    worker thread) starts a thread and an event loop per call, and channels-redis opens its
    connections per event loop: a new Redis connection for every transaction. Handing the batch
    to this thread costs the committing thread a queue put; the thread keeps its loop and its
    connections, and the one queue keeps the commit order of the process, so each agent's
    events arrive in order.
    """

    MAX_WAITING = 10_000  # batches; more means the layer is not keeping up: drop and log

    def __init__(self) -> None:
        self._pid = os.getpid()
        self._queue: queue.SimpleQueue[tuple[Any, Batch] | threading.Event] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="desk-push", daemon=True)
        self._thread.start()

    @property
    def is_usable(self) -> bool:
        # A forked child (a Celery prefork worker) inherits this object but not the thread.
        return self._pid == os.getpid() and self._thread.is_alive()

    def submit(self, layer: Any, events: Batch) -> None:
        if self._queue.qsize() >= self.MAX_WAITING:
            logger.error("desk push queue full: %d events dropped", len(events))
            return
        self._queue.put((layer, events))

    def flush(self, timeout: float) -> bool:
        """Wait until every batch handed over before this call has been sent."""
        done = threading.Event()
        self._queue.put(done)
        return done.wait(timeout)

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        while True:
            item = self._queue.get()
            if isinstance(item, threading.Event):
                item.set()
                continue
            layer, events = item
            try:
                loop.run_until_complete(_send(layer, events))
            except Exception:
                logger.exception("desk push sender failed on %d events", len(events))


_sender: _Sender | None = None
_sender_lock = threading.Lock()


def _background_sender() -> _Sender:
    global _sender
    with _sender_lock:
        if _sender is None or not _sender.is_usable:
            _sender = _Sender()
        return _sender


def flush(timeout: float = 5.0) -> bool:
    """Wait until the pushes committed so far have left this process; False on timeout.

    For process shutdown and tests; services never need it.
    """
    sender = _sender
    if sender is None or not sender.is_usable:
        return True
    return sender.flush(timeout)


atexit.register(flush, 2.0)


class _Outbox:
    """The events of one transaction (or savepoint), sent together after it commits.

    The in-memory layer (tests, single-process development) is sent to at once, on the loop
    that serves the sockets when there is one, so tests see every push when the service
    returns. Any other layer (channels-redis) gets the batch through the background sender.
    """

    def __init__(self) -> None:
        self.events: Batch = []

    def __call__(self) -> None:
        layer = get_channel_layer()
        if layer is None or not self.events:
            return
        if isinstance(layer, InMemoryChannelLayer):
            async_to_sync(_send)(layer, self.events)
        else:
            _background_sender().submit(layer, self.events)


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
