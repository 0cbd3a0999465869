"""The Kamailio adapter's JSON-RPC client and commands, against a local HTTP test server."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from telephony.cti.base import CtiError
from telephony.cti.kamailio import JsonRpcClient, KamailioAdapter, RouteRequest
from tests.pg_cluster import free_port


class FakeKamailio:
    """Records JSON-RPC requests; answers each method from `answers` (status, body)."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.answers: dict[str, tuple[int, Any]] = {}
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                fake.requests.append(body)
                fake.headers.append(dict(self.headers))
                status, answer = fake.answers.get(body["method"], (200, {"result": None}))
                data = (
                    answer
                    if isinstance(answer, bytes)
                    else json.dumps({"jsonrpc": "2.0", "id": body["id"], **answer}).encode()
                )
                self.send_response(status)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/RPC"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def methods(self) -> list[tuple[str, Any]]:
        return [(r["method"], r["params"]) for r in self.requests]


@pytest.fixture
def fake() -> Iterator[FakeKamailio]:
    server = FakeKamailio()
    yield server
    server.server.shutdown()
    server.server.server_close()


@pytest.fixture
def adapter(fake: FakeKamailio) -> KamailioAdapter:
    client = JsonRpcClient(url=fake.url, token="secret", timeout=2)
    return KamailioAdapter(client, sip_domain="127.0.0.1:5060")


def test_the_client_sends_json_rpc_with_the_bearer_token(fake: FakeKamailio) -> None:
    fake.answers["core.version"] = (200, {"result": "kamailio 5.6.3"})
    client = JsonRpcClient(url=fake.url, token="secret", timeout=2)
    assert client.call("core.version") == "kamailio 5.6.3"
    assert fake.requests[0]["jsonrpc"] == "2.0"
    assert fake.headers[0]["Authorization"] == "Bearer secret"


def test_a_json_rpc_error_is_a_permanent_cti_error(fake: FakeKamailio) -> None:
    fake.answers["dlg.end_dlg"] = (200, {"error": {"code": 500, "message": "Dialog not found"}})
    client = JsonRpcClient(url=fake.url, token="secret", timeout=2)
    with pytest.raises(CtiError, match="Dialog not found") as caught:
        client.call("dlg.end_dlg", [1, 2])
    assert caught.value.permanent


def test_a_refused_token_is_permanent(fake: FakeKamailio) -> None:
    fake.answers["core.version"] = (401, b"missing or wrong bearer token")
    client = JsonRpcClient(url=fake.url, token="wrong", timeout=2)
    with pytest.raises(CtiError, match="HTTP 401") as caught:
        client.call("core.version")
    assert caught.value.permanent


def test_an_unreachable_kamailio_is_a_temporary_error() -> None:
    client = JsonRpcClient(url=f"http://127.0.0.1:{free_port()}/RPC", token="t", timeout=2)
    with pytest.raises(CtiError, match="unreachable") as caught:
        client.call("core.version")
    assert not caught.value.permanent


def test_an_answer_that_is_not_json_is_a_cti_error(fake: FakeKamailio) -> None:
    fake.answers["core.version"] = (200, b"<html>proxy error</html>")
    client = JsonRpcClient(url=fake.url, token="t", timeout=2)
    with pytest.raises(CtiError, match="invalid JSON"):
        client.call("core.version")


def test_a_slow_kamailio_times_out_as_a_temporary_error() -> None:
    with __import__("socket").socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)  # accepts the connection, never answers
        url = f"http://127.0.0.1:{listener.getsockname()[1]}/RPC"
        client = JsonRpcClient(url=url, token="t", timeout=0.3)
        with pytest.raises(CtiError) as caught:
            client.call("core.version")
    assert not caught.value.permanent


def test_hangup_ends_a_connected_dialog_by_its_handle_and_records_the_end(
    fake: FakeKamailio, adapter: KamailioAdapter, db: Any
) -> None:
    from telephony.models import CallEventRecord

    fake.answers["dlg.list_match"] = (
        200,
        {"result": [{"call-id": "c1", "state": 4, "h_entry": 7, "h_id": 99}]},
    )
    adapter.hangup(call_id="c1")
    assert fake.methods() == [
        ("dlg.list_match", ["callid", "eq", "c1"]),
        ("dlg.end_dlg", [7, 99]),
    ]
    # Kamailio's dialog:end does not always follow dlg.end_dlg: icenter records it too
    assert CallEventRecord.objects.filter(call_id="c1", kind="ended").exists()


def test_hangup_cancels_a_dialog_that_still_rings(
    fake: FakeKamailio, adapter: KamailioAdapter
) -> None:
    fake.answers["dlg.list_match"] = (
        200,
        {"result": [{"call-id": "c1", "state": 2, "caller": {"cseq": "3"}}]},
    )
    adapter.hangup(call_id="c1")
    assert fake.methods()[-1] == ("tm.cancel", ["c1", "3"])


def test_deliver_and_reject_use_icenters_own_methods(
    fake: FakeKamailio, adapter: KamailioAdapter
) -> None:
    adapter.deliver(call_id="c1", extension="2001")
    adapter.reject(call_id="c1", extension="2001")
    assert fake.methods() == [
        ("icenter.deliver", {"call_id": "c1", "extension": "2001"}),
        ("icenter.reject", {"call_id": "c1", "extension": "2001"}),
    ]


def test_deliver_of_a_call_that_no_longer_waits_fails_clearly(
    fake: FakeKamailio, adapter: KamailioAdapter
) -> None:
    fake.answers["icenter.deliver"] = (
        200,
        {"error": {"code": 404, "message": "no waiting call with this id"}},
    )
    with pytest.raises(CtiError, match="no waiting call"):
        adapter.deliver(call_id="gone", extension="2001")


def test_originate_refers_the_agents_registered_phone_to_the_number(
    fake: FakeKamailio, adapter: KamailioAdapter
) -> None:
    fake.answers["ul.lookup"] = (
        200,
        {
            "result": {
                "AoR": "2001",
                "Contacts": [{"Contact": {"Address": "sip:2001@10.0.0.5:5062"}}],
            }
        },
    )
    fake.answers["tm.t_uac_wait_block"] = (200, {"result": {"code": 202, "reason": "Accepted"}})
    call_id = adapter.originate(extension="2001", number="+49301234567")
    assert call_id.startswith("kamailio-originate-")
    method, params = fake.methods()[-1]
    assert method == "tm.t_uac_wait_block"
    assert params[:2] == ["REFER", "sip:2001@10.0.0.5:5062"]
    assert "Refer-To: <sip:+49301234567@127.0.0.1:5060>" in params[4]


def test_originate_to_an_unregistered_phone_fails_clearly(
    fake: FakeKamailio, adapter: KamailioAdapter
) -> None:
    fake.answers["ul.lookup"] = (200, {"error": {"code": 404, "message": "AOR not found"}})
    with pytest.raises(CtiError, match="2001 is not registered"):
        adapter.originate(extension="2001", number="+49301234567")


@pytest.mark.parametrize("command", ["answer", "hold", "retrieve", "transfer_blind"])
def test_what_only_the_phone_can_do_is_refused_with_a_reason(
    adapter: KamailioAdapter, command: str
) -> None:
    arguments = {
        "answer": {"call_id": "c1", "extension": "2001"},
        "hold": {"call_id": "c1"},
        "retrieve": {"call_id": "c1"},
        "transfer_blind": {"call_id": "c1", "target": "2002"},
    }[command]
    with pytest.raises(CtiError, match="cannot") as caught:
        getattr(adapter, command)(**arguments)
    assert caught.value.permanent


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ([], "JSON object"),
        ({"dnis": "7000"}, "call_id"),
        ({"call_id": "c1"}, "dnis"),
        ({"call_id": "c1", "dnis": "7000", "attempt": -1}, "attempt"),
        ({"call_id": "c1", "dnis": {"x": 1}}, "dnis"),
    ],
)
def test_bad_route_requests_are_refused_with_a_reason(body: Any, message: str) -> None:
    with pytest.raises(CtiError, match=message):
        RouteRequest.from_dict(body)


def test_hangup_of_a_call_answered_a_moment_ago_waits_for_the_ack_before_ending_it(
    fake: FakeKamailio, adapter: KamailioAdapter, db: Any
) -> None:
    answers = iter(
        [
            {"result": [{"call-id": "c1", "state": 3, "h_entry": 7, "h_id": 99}]},
            {"result": [{"call-id": "c1", "state": 3, "h_entry": 7, "h_id": 99}]},
            {"result": [{"call-id": "c1", "state": 4, "h_entry": 7, "h_id": 99}]},
        ]
    )

    class Answers(dict[str, tuple[int, Any]]):
        def get(self, key: str, default: Any = None) -> Any:
            if key == "dlg.list_match":
                return 200, next(answers)
            return super().get(key, default)

    fake.answers = Answers()
    adapter.hangup(call_id="c1")
    assert [method for method, _ in fake.methods()] == [
        "dlg.list_match",
        "dlg.list_match",
        "dlg.list_match",
        "dlg.end_dlg",
    ]
