"""The Asterisk Manager Interface (AMI) wire format: frames of `Key: Value` lines.

A frame is a block of header lines ended by an empty line (CRLF, bare LF is tolerated).
Keys may repeat (`Variable`, `ChanVariable`), so a frame keeps its pairs in order and
answers lookups with the first value. The parser never raises on bad input: whatever
cannot be a frame comes out as a `MalformedFrame` for the caller to log and drop.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from telephony.cti.base import CtiError

# A frame larger than this is not AMI; it is dropped instead of eating memory.
MAX_FRAME_BYTES = 64 * 1024
BANNER_PREFIX = "Asterisk Call Manager/"
OVERSIZED = "\x00oversized"


@dataclass(frozen=True)
class Frame:
    """One AMI message: an action, a response or an event."""

    pairs: tuple[tuple[str, str], ...]

    def get(self, key: str, default: str = "") -> str:
        lowered = key.lower()
        for name, value in self.pairs:
            if name.lower() == lowered:
                return value
        return default

    def get_all(self, key: str) -> list[str]:
        lowered = key.lower()
        return [value for name, value in self.pairs if name.lower() == lowered]

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and any(name.lower() == key.lower() for name, _ in self.pairs)

    @property
    def event(self) -> str:
        return self.get("Event")

    @property
    def response(self) -> str:
        return self.get("Response")

    @property
    def action_id(self) -> str:
        return self.get("ActionID")

    def as_dict(self) -> dict[str, str]:
        """First value per key; for logs and tests."""
        result: dict[str, str] = {}
        for name, value in self.pairs:
            result.setdefault(name, value)
        return result


@dataclass(frozen=True)
class MalformedFrame:
    """Bytes that are not a valid AMI frame, with the reason; logged and dropped."""

    reason: str
    raw: str


@dataclass(frozen=True)
class Banner:
    """The greeting line Asterisk sends first: `Asterisk Call Manager/7.0.3`."""

    version: str


Parsed = Frame | MalformedFrame | Banner


def _check_value(name: str, value: str) -> str:
    # A CR or LF inside a value would let a caller inject headers or whole actions.
    if "\r" in value or "\n" in value:
        raise CtiError(f"AMI header {name} must not contain line breaks")
    return value


def encode_action(action: str, fields: Iterable[tuple[str, str]], action_id: str) -> bytes:
    """Serialise an action; refuses values that would break the framing."""
    lines = [f"Action: {_check_value('Action', action)}", f"ActionID: {action_id}"]
    for name, value in fields:
        if not name or ":" in name or name.strip() != name:
            raise CtiError(f"bad AMI header name {name!r}")
        lines.append(f"{_check_value(name, name)}: {_check_value(name, str(value))}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8")


@dataclass
class FrameParser:
    """Incremental parser: feed it bytes as they arrive, take out complete frames."""

    buffer: bytearray = field(default_factory=bytearray)
    expect_banner: bool = True

    def feed(self, data: bytes) -> Iterator[Parsed]:
        self.buffer.extend(data)
        while True:
            if self.expect_banner:
                end = self.buffer.find(b"\n")
                if end < 0:
                    if len(self.buffer) > MAX_FRAME_BYTES:
                        yield self._overflow()
                    return
                line = self.buffer[:end].decode("utf-8", "replace").strip()
                del self.buffer[: end + 1]
                self.expect_banner = False
                if line.startswith(BANNER_PREFIX):
                    yield Banner(version=line.removeprefix(BANNER_PREFIX))
                    continue
                # No banner: treat the line as the start of the first frame.
                self.buffer[:0] = (line + "\r\n").encode()
            block = self._take_block()
            if block is None:
                if len(self.buffer) > MAX_FRAME_BYTES:
                    yield self._overflow()
                return
            if block.strip():
                yield parse_block(block)

    def _take_block(self) -> str | None:
        # The earliest end of frame, whichever line ending the sender used.
        candidates = [
            (index, len(separator))
            for separator in (b"\r\n\r\n", b"\n\n", b"\n\r\n")
            if (index := self.buffer.find(separator)) >= 0
        ]
        if not candidates:
            return None
        index, length = min(candidates)
        raw = bytes(self.buffer[:index])
        del self.buffer[: index + length]
        if len(raw) > MAX_FRAME_BYTES:
            return OVERSIZED
        return raw.decode("utf-8", "replace")

    def _overflow(self) -> MalformedFrame:
        raw = bytes(self.buffer[:200]).decode("utf-8", "replace")
        self.buffer.clear()
        return MalformedFrame(reason=f"frame larger than {MAX_FRAME_BYTES} bytes", raw=raw)


def parse_block(block: str) -> Frame | MalformedFrame:
    """Parse the lines of one frame (without the terminating empty line)."""
    if block == OVERSIZED:
        return MalformedFrame(reason=f"frame larger than {MAX_FRAME_BYTES} bytes", raw="")
    pairs: list[tuple[str, str]] = []
    for line in block.replace("\r\n", "\n").split("\n"):
        line = line.rstrip("\r")
        if not line:
            continue
        name, colon, value = line.partition(":")
        name = name.strip()
        if not colon or not name or " " in name:
            return MalformedFrame(reason=f"line without a header name: {line[:80]!r}", raw=block)
        pairs.append((name, value.strip()))
    frame = Frame(pairs=tuple(pairs))
    if not (frame.event or frame.response or "Action" in frame):
        return MalformedFrame(reason="frame has neither Event nor Response", raw=block)
    return frame
