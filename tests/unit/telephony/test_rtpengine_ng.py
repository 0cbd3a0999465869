"""rtpengine's ng protocol client: encoding, and what a refusal or silence becomes.

The real rtpengine is exercised in tests/integration/kamailio/test_media.py; here a UDP socket
plays rtpengine so that the error paths can be forced.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest

from telephony.cti.base import CtiError
from telephony.cti.rtpengine import NgClient, bdecode, bencode


def test_bencode_round_trips_the_dictionaries_rtpengine_speaks() -> None:
    message = {"command": "play media", "call-id": "c1", "repeat-times": 3, "flags": ["a", "b"]}
    encoded = bencode(message)
    assert encoded.startswith(b"d7:call-id2:c17:command")  # keys sorted, as the protocol wants
    decoded, end = bdecode(encoded)
    assert end == len(encoded)
    assert decoded == {
        "call-id": b"c1",
        "command": b"play media",
        "flags": [b"a", b"b"],
        "repeat-times": 3,
    }


@pytest.fixture
def fake_rtpengine() -> Iterator[tuple[str, list[dict[str, object]], list[bytes]]]:
    """A UDP socket answering each ng request with the next queued raw answer."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(0.2)
    received: list[dict[str, object]] = []
    answers: list[bytes] = []
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                data, source = sock.recvfrom(65535)
            except TimeoutError:
                continue
            cookie, _, body = data.partition(b" ")
            received.append(bdecode(body)[0])
            if answers:
                sock.sendto(cookie + b" " + answers.pop(0), source)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"127.0.0.1:{sock.getsockname()[1]}", received, answers
    stop.set()
    thread.join(timeout=2)
    sock.close()


def test_hold_mutes_both_parties_and_plays_the_music_to_the_customer(fake_rtpengine) -> None:
    address, received, answers = fake_rtpengine
    answers.extend([bencode({"result": "ok"})] * 3)
    NgClient(address).hold(call_id="c1", customer_tag="cust", agent_tag="agent", music="/m.wav")
    assert [(r["command"], r["from-tag"]) for r in received] == [
        (b"block media", b"agent"),
        (b"block media", b"cust"),
        (b"play media", b"cust"),
    ]
    assert received[2]["file"] == b"/m.wav"


def test_a_refusal_from_rtpengine_is_a_permanent_error_with_its_reason(fake_rtpengine) -> None:
    address, _, answers = fake_rtpengine
    answers.append(bencode({"result": "error", "error-reason": "Unknown call-id"}))
    with pytest.raises(CtiError) as caught:
        NgClient(address).command("block media", **{"call-id": "gone", "from-tag": "x"})
    assert caught.value.permanent
    assert "Unknown call-id" in caught.value.message


def test_an_rtpengine_that_does_not_answer_is_a_temporary_error(fake_rtpengine) -> None:
    address, _, _ = fake_rtpengine  # no answers queued: it stays silent
    with pytest.raises(CtiError) as caught:
        NgClient(address, timeout=0.3).command("ping")
    assert not caught.value.permanent


def test_retrieve_tolerates_music_that_already_ended(fake_rtpengine) -> None:
    address, received, answers = fake_rtpengine
    answers.append(bencode({"result": "error", "error-reason": "No media playing"}))
    answers.extend([bencode({"result": "ok"})] * 2)
    NgClient(address).retrieve(call_id="c1", customer_tag="cust", agent_tag="agent")
    assert [r["command"] for r in received] == [b"stop media", b"unblock media", b"unblock media"]


def test_an_address_without_a_port_is_refused() -> None:
    with pytest.raises(CtiError, match="host:port"):
        NgClient("localhost").command("ping")
