"""A fake Asterisk manager: replays recorded AMI transcripts over a real TCP socket.

A transcript (tests/data/ami/*.ami) is a list of paragraphs separated by blank lines;
`#` lines are comments. Each paragraph starts with a directive line:

    === session            the script of the next accepted connection starts here
    <<< banner             send the next line as the greeting ("Asterisk Call Manager/…")
    <<<                    send the header lines below as one frame; `$ACTIONID` is the
                           ActionID of the action this connection received last
    <<< raw                send the lines below byte for byte, then an empty line
                           (malformed input)
    >>>                    the client must send this action next: compared header by
                           header, ActionID ignored, a value `*` matches anything
    === wait <Action>      pause until any connection received that action
    === close              close the connection

After its script a connection stays open: it answers Ping and Logoff, records every
action, and answers anything else with an error.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from telephony.cti.asterisk.protocol import Frame, FrameParser, MalformedFrame

DATA = Path(__file__).resolve().parents[3] / "data" / "ami"


@dataclass
class Step:
    kind: str  # banner, send, raw, expect, wait, close
    lines: list[str] = field(default_factory=list)
    arg: str = ""


def load(name: str) -> list[list[Step]]:
    """The sessions of a transcript file."""
    text = (DATA / name).read_text(encoding="utf-8")
    sessions: list[list[Step]] = []
    current: list[Step] | None = None
    for paragraph in _paragraphs(text):
        head, body = paragraph[0], paragraph[1:]
        if head == "=== session":
            current = []
            sessions.append(current)
            continue
        if current is None:
            current = []
            sessions.append(current)
        if head == "<<< banner":
            current.append(Step("banner", body))
        elif head == "<<<":
            current.append(Step("send", body))
        elif head == "<<< raw":
            current.append(Step("raw", body))
        elif head == ">>>":
            current.append(Step("expect", body))
        elif head.startswith("=== wait "):
            current.append(Step("wait", arg=head.removeprefix("=== wait ").strip()))
        elif head == "=== close":
            current.append(Step("close"))
        else:
            raise ValueError(f"{name}: unknown directive {head!r}")
    return sessions


def _paragraphs(text: str) -> list[list[str]]:
    paragraphs: list[list[str]] = []
    block: list[str] = []
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        if not line.strip():
            if block:
                paragraphs.append(block)
                block = []
            continue
        block.append(line)
    if block:
        paragraphs.append(block)
    return paragraphs


class FakeAmi:
    """Serves the sessions of one or more transcripts, one per accepted connection."""

    def __init__(self, sessions: list[list[Step]]) -> None:
        self.sessions = list(sessions)
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(8)
        self.listener.settimeout(0.2)
        self.port = self.listener.getsockname()[1]
        self.received: list[Frame] = []  # every action from every connection, in order
        self.mismatches: list[str] = []
        self.accepted = 0
        self.finished_scripts = 0
        self.changed = threading.Condition()
        self.stopping = threading.Event()
        self.threads: list[threading.Thread] = []
        self.connections: list[socket.socket] = []
        acceptor = threading.Thread(target=self._accept, daemon=True)
        acceptor.start()
        self.threads.append(acceptor)

    # -- test helpers --------------------------------------------------------------------

    def actions(self, name: str | None = None) -> list[Frame]:
        with self.changed:
            return [f for f in self.received if name is None or f.get("Action") == name]

    def wait_for(self, predicate: Callable[[], bool], timeout: float = 10.0) -> bool:
        deadline = time.monotonic() + timeout
        with self.changed:
            while not predicate():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self.changed.wait(remaining)
        return True

    def close(self) -> None:
        self.stopping.set()
        for connection in list(self.connections):
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
            connection.close()
        self.listener.close()
        for thread in self.threads:
            thread.join(timeout=5)

    # -- serving -------------------------------------------------------------------------

    def _accept(self) -> None:
        while not self.stopping.is_set():
            try:
                connection, _ = self.listener.accept()
            except (TimeoutError, OSError):
                continue
            with self.changed:
                script = self.sessions.pop(0) if self.sessions else []
                self.accepted += 1
                self.changed.notify_all()
            self.connections.append(connection)
            worker = threading.Thread(target=self._serve, args=(connection, script), daemon=True)
            worker.start()
            self.threads.append(worker)

    def _serve(self, connection: socket.socket, script: list[Step]) -> None:
        parser = FrameParser(expect_banner=False)
        pending: list[Frame | MalformedFrame] = []
        last_action_id = ""
        connection.settimeout(0.2)

        def next_frame() -> Frame | None:
            while not pending:
                if self.stopping.is_set():
                    return None
                try:
                    data = connection.recv(65536)
                except TimeoutError:
                    continue
                except OSError:
                    return None
                if not data:
                    return None
                pending.extend(parser.feed(data))
            parsed = pending.pop(0)
            if isinstance(parsed, MalformedFrame):
                self._mismatch(f"client sent a malformed frame: {parsed.reason}")
                return next_frame()
            with self.changed:
                self.received.append(parsed)
                self.changed.notify_all()
            return parsed

        def send(text: str) -> None:
            connection.sendall(text.encode("utf-8"))

        try:
            for step in script:
                if step.kind == "banner":
                    send(step.lines[0] + "\r\n")
                elif step.kind == "send":
                    lines = [line.replace("$ACTIONID", last_action_id) for line in step.lines]
                    send("\r\n".join(lines) + "\r\n\r\n")
                elif step.kind == "raw":
                    send("\r\n".join(step.lines) + "\r\n\r\n")
                elif step.kind == "expect":
                    frame = next_frame()
                    if frame is None:
                        self._mismatch(f"connection ended; expected {step.lines[0]}")
                        return
                    last_action_id = frame.action_id
                    self._compare(step.lines, frame)
                elif step.kind == "wait":
                    if not self.wait_for(lambda step=step: bool(self.actions(step.arg))):
                        self._mismatch(f"no {step.arg} action arrived")
                        return
                elif step.kind == "close":
                    return
            with self.changed:
                self.finished_scripts += 1
                self.changed.notify_all()
            while (frame := next_frame()) is not None:
                action = frame.get("Action").lower()
                if action == "ping":
                    send(f"Response: Success\r\nActionID: {frame.action_id}\r\nPing: Pong\r\n\r\n")
                elif action == "logoff":
                    send(
                        f"Response: Goodbye\r\nActionID: {frame.action_id}\r\n"
                        "Message: Thanks for all the fish.\r\n\r\n"
                    )
                    return
                else:
                    self._mismatch(f"unexpected action after the script: {frame.as_dict()}")
                    send(
                        f"Response: Error\r\nActionID: {frame.action_id}\r\n"
                        "Message: not in the transcript\r\n\r\n"
                    )
        except OSError:
            return
        finally:
            with contextlib.suppress(OSError):
                connection.close()

    def _compare(self, expected_lines: list[str], frame: Frame) -> None:
        expected = []
        for line in expected_lines:
            name, _, value = line.partition(":")
            expected.append((name.strip(), value.strip()))
        actual = [(name, value) for name, value in frame.pairs if name.lower() != "actionid"]
        if len(actual) != len(expected) or any(
            a_name.lower() != e_name.lower() or (e_value != "*" and a_value != e_value)
            for (a_name, a_value), (e_name, e_value) in zip(actual, expected, strict=False)
        ):
            self._mismatch(f"expected {expected}, got {actual}")

    def _mismatch(self, message: str) -> None:
        with self.changed:
            self.mismatches.append(message)
            self.changed.notify_all()
