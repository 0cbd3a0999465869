"""icenter delivers a call in the moment between answering "wait" and Kamailio parking it.

The window is a few microseconds with the real application, so a small stand-in for icenter
forces it: while Kamailio's route request is still open, the stand-in calls
`icenter.deliver` and only then answers "wait". Kamailio must ring the delivered extension
instead of parking the call for good (before the lock in kamailio.cfg it answered 404 and the
caller waited until MAX_WAIT_MS).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.integration.kamailio import harness

TOKEN = "race-token"


class StandIn:
    """icenter's two endpoints; the route answer waits until a deliver RPC was answered."""

    def __init__(self) -> None:
        self.kamailio: harness.Kamailio | None = None
        self.deliver_answers: list[Any] = []
        self.events: list[dict[str, Any]] = []
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])) or b"{}")
                if self.path.endswith("/route/"):
                    answer = stand_in.route(body)
                else:
                    stand_in.events.append(body)
                    answer = {}
                data = json.dumps(answer).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def route(self, question: dict[str, Any]) -> dict[str, Any]:
        assert self.kamailio is not None
        if question.get("attempt", 0) == 0:
            # an agent became ready just now: deliver before Kamailio hears "wait"
            status, answer = harness.http_json(
                self.kamailio.rpc_url,
                {
                    "jsonrpc": "2.0",
                    "method": "icenter.deliver",
                    "params": {"call_id": question["call_id"], "extension": "2001"},
                    "id": 1,
                },
                token=TOKEN,
            )
            self.deliver_answers.append((status, answer))
        return {"action": "wait", "position": 1, "extension": ""}

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def stand_in() -> Iterator[StandIn]:
    server = StandIn()
    yield server
    server.close()


def test_a_call_delivered_before_kamailio_parked_it_rings_the_agent(
    kamailio_programs: None, stand_in: StandIn, tmp_path: Path
) -> None:
    kamailio = harness.Kamailio(workdir=tmp_path, app_url=stand_in.url, token=TOKEN)
    stand_in.kamailio = kamailio
    kamailio.start()
    try:
        phone = harness.phone(kamailio, extension="2001", workdir=tmp_path)
        caller = harness.call(kamailio, to="7000", ani="+4930123456", workdir=tmp_path, hold_ms=300)
        assert caller.wait(40) == 0, caller.diagnostics()
        assert phone.ua is not None and phone.ua.wait(20) == 0, phone.ua.diagnostics()
    finally:
        kamailio.stop()
    assert stand_in.deliver_answers == [
        (200, {"jsonrpc": "2.0", "id": 1, "result": {"delivered": True, "pending": True}})
    ]
    assert "delivered the call to 2001 before it was parked" in kamailio.log()
    kinds = [event.get("kind") for event in stand_in.events]
    assert "answered" in kinds
    assert "ended" in kinds


def test_delivering_a_call_kamailio_does_not_know_is_refused(
    kamailio_programs: None, stand_in: StandIn, tmp_path: Path
) -> None:
    kamailio = harness.Kamailio(workdir=tmp_path, app_url=stand_in.url, token=TOKEN)
    kamailio.start()
    try:
        status, answer = harness.http_json(
            kamailio.rpc_url,
            {
                "jsonrpc": "2.0",
                "method": "icenter.deliver",
                "params": {"call_id": "nobody-knows-me", "extension": "2001"},
                "id": 7,
            },
            token=TOKEN,
        )
    finally:
        kamailio.stop()
    assert status == 200
    assert answer["error"]["code"] == 404
