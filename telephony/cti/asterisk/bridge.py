"""The CTI bridge: one long AMI session that turns Asterisk's events into CallEvents.

It connects, logs in, reads events and hands each CallEvent to a sink (by default
`telephony.services.call_event_handle`). When the connection drops or the login is
refused it waits (exponential backoff, capped) and connects again; after a reconnect it
asks Asterisk which channels still live and ends the calls that vanished meanwhile.
Malformed frames and events it cannot place are logged and dropped; nothing a PBX sends
can stop it. Run it with `manage.py cti_bridge`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

from telephony.cti.asterisk.client import (
    AmiConnection,
    AmiConnectionLost,
    AmiLoginRefused,
    AmiSettings,
    AmiTimeout,
)
from telephony.cti.asterisk.protocol import MalformedFrame
from telephony.cti.asterisk.translate import Translator
from telephony.cti.base import CallEvent, CtiError

logger = logging.getLogger(__name__)

# The manager event classes the bridge needs (manager.conf: read = call,user,agent,system).
EVENT_CLASSES = "call,user,agent,system"


@dataclass
class Backoff:
    initial: float = 1.0
    maximum: float = 60.0
    factor: float = 2.0

    def __post_init__(self) -> None:
        self.current = self.initial

    def next_delay(self) -> float:
        delay = self.current
        self.current = min(self.current * self.factor, self.maximum)
        return delay

    def reset(self) -> None:
        self.current = self.initial


class AmiBridge:
    def __init__(
        self,
        *,
        ami: AmiSettings,
        sink: Callable[[CallEvent], object],
        translator: Translator | None = None,
        backoff: Backoff | None = None,
        stop: threading.Event | None = None,
    ) -> None:
        self.ami = ami
        self.sink = sink
        self.translator = translator or Translator()
        self.backoff = backoff or Backoff()
        self.stop = stop or threading.Event()
        self.connections = 0  # successful logins, for the log and for tests
        self.dropped_frames = 0
        self.frames_read = 0

    def run(self) -> None:
        """Serve until `stop` is set."""
        while not self.stop.is_set():
            try:
                self._serve_once()
            except AmiLoginRefused as exc:
                logger.error("%s; check ICENTER_ASTERISK_USER/SECRET and manager.conf", exc)
            except AmiConnectionLost as exc:
                logger.warning("Asterisk manager connection lost: %s", exc.message)
            except Exception:
                # A bug must not end the bridge: log it with the traceback and reconnect.
                logger.exception("CTI bridge failed; reconnecting")
            if self.stop.is_set():
                break
            delay = self.backoff.next_delay()
            logger.info("reconnecting to the Asterisk manager in %.1f s", delay)
            self.stop.wait(delay)

    def _serve_once(self) -> None:
        connection = AmiConnection(self.ami)
        connection.connect()
        try:
            connection.login(events=EVENT_CLASSES)
            self.connections += 1
            self.backoff.reset()
            logger.info(
                "connected to the Asterisk manager %s:%s (AMI %s)",
                self.ami.host,
                self.ami.port,
                connection.banner or "?",
            )
            self._reconcile(connection)
            self._read_events(connection)
        finally:
            connection.close()

    def _reconcile(self, connection: AmiConnection) -> None:
        if not self.translator.live_call_ids():
            return
        response, items = connection.request_list("CoreShowChannels")
        if response.response.lower() != "success":
            logger.warning("could not list Asterisk channels: %s", response.get("Message"))
            return
        live = {item.get("Uniqueid") for item in items} | {item.get("Linkedid") for item in items}
        for event in self.translator.reconcile(live_uniqueids=live):
            self._deliver(event)

    def _read_events(self, connection: AmiConnection) -> None:
        idle = 0
        frames = connection.frames()
        while not self.stop.is_set():
            try:
                frame = next(frames)
            except AmiTimeout:
                idle += 1
                if idle > 1:
                    raise AmiConnectionLost("no answer to a keep-alive ping") from None
                connection.send("Ping", [])
                frames = connection.frames()
                continue
            except AmiConnectionLost:
                raise
            idle = 0
            self.frames_read += 1
            if isinstance(frame, MalformedFrame):
                self.dropped_frames += 1
                logger.warning(
                    "dropped a malformed AMI frame (%s): %r", frame.reason, frame.raw[:200]
                )
                continue
            if frame.event == "Shutdown":
                logger.warning("Asterisk is shutting down (%s)", frame.get("Shutdown"))
                continue
            if not frame.event:
                continue  # responses to our pings
            for event in self.translator.translate(frame):
                self._deliver(event)

    def _deliver(self, event: CallEvent) -> None:
        try:
            self.sink(event)
        except CtiError as exc:
            logger.error("call event %s %s refused: %s", event.kind, event.call_id, exc.message)
        except Exception:
            # The database may be down; log the lost event with everything needed to replay it.
            logger.exception("could not apply call event %s", event.to_dict())


def is_queue_number(number: str) -> bool:
    """A number that names an icenter queue (transfers to it go back to the ACD)."""
    from django.conf import settings

    from telephony.models import Queue

    if number in settings.ICENTER_QUEUE_NUMBERS:
        return True
    return Queue.objects.filter(number=number).exists()


def handle_event(event: CallEvent) -> None:
    from telephony import services

    services.call_event_handle(event=event)
