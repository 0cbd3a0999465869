"""SMS gateway backends: console, file and a real HTTP gateway on loopback."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from django.core.exceptions import ImproperlyConfigured

from accounts.sms import SmsError, SmsMessage, get_backend
from accounts.sms.console import ConsoleBackend

MESSAGE = SmsMessage(
    to="+491712345678", text="Ihr Techniker kommt morgen um 9 Uhr.", sender="icenter"
)


def test_the_console_backend_is_the_default_and_logs_the_message(settings, caplog):
    settings.ICENTER_SMS_BACKEND = "console"
    backend = get_backend()
    assert isinstance(backend, ConsoleBackend)
    with caplog.at_level("INFO", logger="icenter.sms"):
        message_id = backend.send(MESSAGE)
    assert message_id.startswith("console-")
    assert "+491712345678" in caplog.text


def test_the_file_backend_appends_one_json_line_per_message(settings, tmp_path):
    settings.ICENTER_SMS_FILE = str(tmp_path / "out.jsonl")
    backend = get_backend("file")
    backend.send(MESSAGE)
    backend.send(MESSAGE)
    lines = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert [line["to"] for line in lines] == ["+491712345678", "+491712345678"]
    assert lines[0]["text"] == MESSAGE.text


def test_an_unknown_backend_fails_loudly():
    with pytest.raises(ImproperlyConfigured):
        get_backend("carrier.pigeon.Backend")


class Gateway(BaseHTTPRequestHandler):
    answers: list[tuple[int, bytes]] = []
    received: list[dict] = []

    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        Gateway.received.append(
            {"body": json.loads(self.rfile.read(length)), "auth": self.headers.get("Authorization")}
        )
        status, body = Gateway.answers.pop(0)
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def gateway(settings):
    server = HTTPServer(("127.0.0.1", 0), Gateway)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    Gateway.answers, Gateway.received = [], []
    settings.ICENTER_SMS_HTTP_URL = f"http://127.0.0.1:{server.server_port}/sms"
    settings.ICENTER_SMS_HTTP_TOKEN = "geheim"
    yield Gateway
    server.shutdown()
    server.server_close()


def test_the_http_backend_posts_json_with_the_token_and_returns_the_gateway_id(gateway):
    gateway.answers.append((202, b'{"id": "gw-42"}'))
    assert get_backend("http").send(MESSAGE) == "gw-42"
    assert gateway.received == [
        {
            "body": {"to": "+491712345678", "from": "icenter", "text": MESSAGE.text},
            "auth": "Bearer geheim",
        }
    ]


@pytest.mark.parametrize(
    ("status", "body", "permanent"),
    [
        (400, b'{"error": "bad number"}', True),
        (503, b"busy", False),
        (429, b"{}", False),
        (200, b"<html>", False),
    ],
)
def test_http_failures_say_whether_trying_again_helps(gateway, status, body, permanent):
    gateway.answers.append((status, body))
    with pytest.raises(SmsError) as error:
        get_backend("http").send(MESSAGE)
    assert error.value.permanent is permanent


def test_an_unreachable_gateway_is_a_temporary_failure(settings):
    from tests.pg_cluster import free_port

    settings.ICENTER_SMS_HTTP_URL = f"http://127.0.0.1:{free_port()}/sms"
    with pytest.raises(SmsError) as error:
        get_backend("http").send(MESSAGE)
    assert error.value.permanent is False


def test_the_http_backend_needs_a_url(settings):
    settings.ICENTER_SMS_HTTP_URL = ""
    with pytest.raises(SmsError) as error:
        get_backend("http")
    assert error.value.permanent
