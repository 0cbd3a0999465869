"""A small blocking AMI client over a TCP socket: connect, log in, send actions, read frames.

The adapter opens one short session per command (connect, login, action, logoff), so any
number of web and worker processes can control calls without sharing a connection; the
bridge process keeps one long session open and reads the event stream.
"""

from __future__ import annotations

import itertools
import logging
import os
import socket
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from telephony.cti.asterisk.protocol import (
    Banner,
    Frame,
    FrameParser,
    MalformedFrame,
    encode_action,
)
from telephony.cti.base import CtiError

logger = logging.getLogger(__name__)

Fields = Iterable[tuple[str, str]]


class AmiConnectionLost(CtiError):
    """The socket closed or timed out; retrying (after a pause) can help."""

    def __init__(self, message: str) -> None:
        super().__init__(message, permanent=False)


class AmiTimeout(AmiConnectionLost):
    """Nothing arrived within the read timeout (the bridge then pings to check the line)."""


class AmiLoginRefused(CtiError):
    """Asterisk refused the manager user or secret; fix the configuration."""


@dataclass(frozen=True)
class AmiSettings:
    host: str
    port: int
    username: str
    secret: str
    connect_timeout: float = 3.0
    read_timeout: float = 10.0


_counter = itertools.count(1)


def _next_action_id() -> str:
    return f"icenter-{os.getpid()}-{next(_counter)}"


class AmiConnection:
    """One manager session. Events read while waiting for a response are kept in `events`."""

    def __init__(self, settings: AmiSettings) -> None:
        self.settings = settings
        self.sock: socket.socket | None = None
        self.parser = FrameParser()
        self.ready: deque[Frame | MalformedFrame] = deque()
        self.events: deque[Frame] = deque()
        self.banner = ""
        self._last_action_id = ""

    # -- connection -------------------------------------------------------------------------

    def connect(self) -> None:
        address = (self.settings.host, self.settings.port)
        try:
            self.sock = socket.create_connection(address, timeout=self.settings.connect_timeout)
        except OSError as exc:
            raise AmiConnectionLost(
                f"cannot reach the Asterisk manager at {address[0]}:{address[1]}: {exc}"
            ) from exc
        self.sock.settimeout(self.settings.read_timeout)

    def login(self, *, events: str = "off") -> None:
        """Log in; `events` is "off" for command sessions or a class list for the bridge."""
        response = self.request(
            "Login",
            [
                ("Username", self.settings.username),
                ("Secret", self.settings.secret),
                ("Events", events),
            ],
        )
        if response.response.lower() != "success":
            message = response.get("Message") or "authentication failed"
            raise AmiLoginRefused(
                f"Asterisk refused the manager login of {self.settings.username!r}: {message}"
            )

    def close(self) -> None:
        if self.sock is not None:
            try:
                self.sock.close()
            finally:
                self.sock = None

    def logoff(self) -> None:
        """Say goodbye politely; a session that is already gone is fine."""
        try:
            self.send("Logoff", [])
            self.read_response_to_last(timeout_is_ok=True)
        except CtiError:
            pass
        finally:
            self.close()

    # -- sending ----------------------------------------------------------------------------

    def send(self, action: str, fields: Fields) -> str:
        if self.sock is None:
            raise AmiConnectionLost("not connected to the Asterisk manager")
        action_id = _next_action_id()
        data = encode_action(action, fields, action_id)
        try:
            self.sock.sendall(data)
        except OSError as exc:
            raise AmiConnectionLost(f"lost the Asterisk manager connection: {exc}") from exc
        self._last_action_id = action_id
        return action_id

    def request(self, action: str, fields: Fields = ()) -> Frame:
        """Send an action and wait for its response (events meanwhile are kept)."""
        action_id = self.send(action, fields)
        return self._wait_response(action_id, action)

    def request_list(self, action: str, fields: Fields = ()) -> tuple[Frame, list[Frame]]:
        """Send an action whose answer is an event list (`EventList: start … Complete`)."""
        action_id = self.send(action, fields)
        response = self._wait_response(action_id, action)
        if response.response.lower() != "success":
            return response, []
        items: list[Frame] = []
        while True:
            frame = self.read_frame()
            if isinstance(frame, MalformedFrame):
                logger.warning("dropped a malformed AMI frame (%s)", frame.reason)
                continue
            if frame.action_id != action_id:
                if frame.event:
                    self.events.append(frame)
                continue
            if frame.get("EventList").lower() == "complete":
                return response, items
            items.append(frame)

    def read_response_to_last(self, *, timeout_is_ok: bool = False) -> Frame | None:
        try:
            return self._wait_response(self._last_action_id, "Logoff")
        except AmiConnectionLost:
            if timeout_is_ok:
                return None
            raise

    def _wait_response(self, action_id: str, action: str) -> Frame:
        while True:
            frame = self.read_frame()
            if isinstance(frame, MalformedFrame):
                logger.warning("dropped a malformed AMI frame (%s)", frame.reason)
                continue
            if frame.response and frame.action_id in (action_id, ""):
                # Asterisk always echoes ActionID; an answer without one is to us, too.
                return frame
            if frame.event:
                self.events.append(frame)

    # -- reading ----------------------------------------------------------------------------

    def read_frame(self) -> Frame | MalformedFrame:
        """The next frame; raises AmiConnectionLost on EOF or when nothing arrives in time."""
        while not self.ready:
            if self.sock is None:
                raise AmiConnectionLost("not connected to the Asterisk manager")
            try:
                data = self.sock.recv(65536)
            except TimeoutError as exc:
                raise AmiTimeout("the Asterisk manager did not answer in time") from exc
            except OSError as exc:
                raise AmiConnectionLost(f"lost the Asterisk manager connection: {exc}") from exc
            if not data:
                raise AmiConnectionLost("the Asterisk manager closed the connection")
            for parsed in self.parser.feed(data):
                if isinstance(parsed, Banner):
                    self.banner = parsed.version
                else:
                    self.ready.append(parsed)
        return self.ready.popleft()

    def frames(self) -> Iterator[Frame | MalformedFrame]:
        """Buffered events first, then whatever arrives; ends by raising AmiConnectionLost."""
        while True:
            while self.events:
                yield self.events.popleft()
            yield self.read_frame()


def check_success(response: Frame, action: str) -> Frame:
    """Raise a permanent CtiError carrying Asterisk's message when an action failed."""
    if response.response.lower() not in {"success", "goodbye"}:
        message = response.get("Message") or "no reason given"
        raise CtiError(f"Asterisk refused {action}: {message}")
    return response
