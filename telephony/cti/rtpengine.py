"""rtpengine's ng control protocol (bencoded dictionaries over UDP), for hold music from the desk.

Kamailio anchors every call's media in rtpengine (deploy/kamailio/kamailio.cfg, WITH_RTPENGINE).
Kamailio's rtpengine module cannot be driven from a JSON-RPC request (its functions need a SIP
message with a Call-ID), so icenter speaks ng to rtpengine itself to put a customer on hold:
block both directions, play the hold music to the customer; and the reverse to take them back.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from typing import Any

from telephony.cti.base import CtiError


def bencode(value: Any) -> bytes:
    """Encode str/bytes/int/list/dict (keys sorted) as bencode."""
    if isinstance(value, bool):
        raise TypeError("bencode has no booleans")
    if isinstance(value, int):
        return b"i%de" % value
    if isinstance(value, str):
        value = value.encode()
    if isinstance(value, bytes):
        return b"%d:%s" % (len(value), value)
    if isinstance(value, list):
        return b"l" + b"".join(bencode(v) for v in value) + b"e"
    if isinstance(value, dict):
        items = sorted((k.encode() if isinstance(k, str) else k, v) for k, v in value.items())
        return b"d" + b"".join(bencode(k) + bencode(v) for k, v in items) + b"e"
    raise TypeError(f"cannot bencode {type(value).__name__}")


def bdecode(data: bytes, at: int = 0) -> tuple[Any, int]:
    """Decode one bencoded value starting at `at`; (value, index after it). Strings stay bytes."""
    head = data[at : at + 1]
    if head == b"i":
        end = data.index(b"e", at)
        return int(data[at + 1 : end]), end + 1
    if head in (b"l", b"d"):
        at += 1
        items: list[Any] = []
        while data[at : at + 1] != b"e":
            if at >= len(data):
                raise ValueError("truncated bencode")
            item, at = bdecode(data, at)
            items.append(item)
        if head == b"l":
            return items, at + 1
        pairs = iter(items)
        return {bytes(k).decode(): v for k, v in zip(pairs, pairs, strict=True)}, at + 1
    colon = data.index(b":", at)
    length = int(data[at:colon])
    return data[colon + 1 : colon + 1 + length], colon + 1 + length


@dataclass(frozen=True)
class NgClient:
    """One rtpengine ng control socket, e.g. `127.0.0.1:2223` (rtpengine --listen-ng)."""

    address: str
    timeout: float = 2.0

    def command(self, name: str, **params: Any) -> dict[str, Any]:
        """Send `name` with `params`; the answer, or CtiError (temporary when unreachable)."""
        host, _, port = self.address.rpartition(":")
        if not host or not port.isdigit():
            raise CtiError(f"rtpengine address {self.address!r} is not host:port")
        cookie = os.urandom(6).hex().encode()
        payload = cookie + b" " + bencode({"command": name, **params})
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
                sock.settimeout(self.timeout)
                sock.sendto(payload, (host, int(port)))
                while True:
                    data = sock.recv(65535)
                    if data.startswith(cookie + b" "):
                        break
        except OSError as exc:
            raise CtiError(
                f"rtpengine at {self.address} did not answer: {exc}", permanent=False
            ) from None
        answer, _ = bdecode(data, len(cookie) + 1)
        if not isinstance(answer, dict):
            raise CtiError("rtpengine sent an answer that is not a dictionary")
        if answer.get("result") == b"error":
            reason = bytes(answer.get("error-reason", b"")).decode(errors="replace")
            raise CtiError(f"rtpengine refused {name}: {reason}")
        return answer

    def hold(self, *, call_id: str, customer_tag: str, agent_tag: str, music: str) -> None:
        """Mute both directions and play `music` (a file on rtpengine's host) to the customer."""
        self.command("block media", **{"call-id": call_id, "from-tag": agent_tag})
        self.command("block media", **{"call-id": call_id, "from-tag": customer_tag})
        self.command(
            "play media",
            **{"call-id": call_id, "from-tag": customer_tag, "file": music, "repeat-times": 10000},
        )

    def retrieve(self, *, call_id: str, customer_tag: str, agent_tag: str) -> None:
        """Stop the music and let both directions through again."""
        try:
            self.command("stop media", **{"call-id": call_id, "from-tag": customer_tag})
        except CtiError as exc:
            if not exc.permanent:
                raise  # the music stops by itself when the file ends: not an error
        self.command("unblock media", **{"call-id": call_id, "from-tag": customer_tag})
        self.command("unblock media", **{"call-id": call_id, "from-tag": agent_tag})
