"""HTTP under ASGI: the whole middleware stack and the view run in one hop to a thread."""

from pathlib import Path

import pytest
from asgiref import sync
from asgiref.testing import ApplicationCommunicator
from django.core.handlers.asgi import ASGIHandler
from django.db import connections
from django.test import Client, override_settings

from icenter.handlers import SyncStackASGIHandler

ROOT = Path(__file__).resolve().parents[2]
DESK_JS = (ROOT / "static" / "js" / "desk.js").read_bytes()

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _close_request_thread_connections():
    """Requests run in asgiref's thread for thread-sensitive code; its database connection
    is closed after each test (else the test database cannot be dropped at the end)."""
    yield
    sync.SyncToAsync.single_thread_executor.submit(connections.close_all).result(timeout=10)


async def get(handler, path, headers=()):
    """One GET through the ASGI application: status, headers and the whole body."""
    communicator = ApplicationCommunicator(
        handler,
        {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": b"",
            "root_path": "",
            "headers": [(b"host", b"localhost"), *headers],
            "client": ("127.0.0.1", 50000),
            "server": ("127.0.0.1", 80),
        },
    )
    await communicator.send_input({"type": "http.request", "body": b""})
    start = await communicator.receive_output(10)
    body, more = b"", True
    while more:
        chunk = await communicator.receive_output(10)
        body += chunk.get("body", b"")
        more = chunk.get("more_body", False)
    await communicator.wait(10)
    return {"status": start["status"], "headers": start["headers"], "body": body}


@pytest.fixture
def hand_overs(monkeypatch):
    """Every hand-over between the event loop and a thread while a request runs."""
    seen = []
    to_thread, to_loop = sync.SyncToAsync.__call__, sync.AsyncToSync.__call__

    def counting_to_thread(self, *args, **kwargs):
        seen.append(("to thread", getattr(self.func, "__qualname__", repr(self.func))))
        return to_thread(self, *args, **kwargs)

    def counting_to_loop(self, *args, **kwargs):
        seen.append(("to loop", repr(self.awaitable)))
        return to_loop(self, *args, **kwargs)

    monkeypatch.setattr(sync.SyncToAsync, "__call__", counting_to_thread)
    monkeypatch.setattr(sync.AsyncToSync, "__call__", counting_to_loop)
    return seen


def _in_stack(seen):
    """The hand-overs of middleware and view (not the handler's signals and closing)."""
    return [hop for hop in seen if "signal" not in hop[1].lower() and "close" not in hop[1]]


async def test_a_page_runs_its_middleware_and_view_in_one_hop(hand_overs):
    response = await get(SyncStackASGIHandler(), "/login/")
    assert response["status"] == 200
    assert b'name="username"' in response["body"]
    assert _in_stack(hand_overs) == [("to thread", "BaseHandler.get_response")]


async def test_djangos_own_handler_hands_over_many_times(hand_overs):
    """The comparison that shows what the handler saves (and that the count above is real)."""
    response = await get(ASGIHandler(), "/login/")
    assert response["status"] == 200
    assert len(_in_stack(hand_overs)) > 5


def session_cookie(user):
    client = Client()
    client.force_login(user)
    return f"sessionid={client.cookies['sessionid'].value}".encode()


async def test_a_logged_in_desk_request_and_refusals_pass_through_the_stack(agent):
    cookie = await sync.sync_to_async(session_cookie)(agent.user)
    handler = SyncStackASGIHandler()
    desk = await get(handler, "/desk/", headers=[(b"cookie", cookie)])
    assert desk["status"] == 200
    assert b'id="workspace"' in desk["body"]
    anonymous = await get(handler, "/desk/")
    assert anonymous["status"] == 302
    missing = await get(handler, "/no-such-page/", headers=[(b"cookie", cookie)])
    assert missing["status"] == 404
    headers = {name.lower(): value for name, value in desk["headers"]}
    assert headers[b"x-frame-options"] == b"DENY"  # set by the last middleware
    assert headers[b"x-content-type-options"] == b"nosniff"  # set by the first


# WhiteNoise answers with a file iterator, which Django's ASGI handler reads whole (and warns).
@pytest.mark.filterwarnings("ignore:StreamingHttpResponse must consume synchronous iterators")
@pytest.mark.parametrize("autorefresh", [False, True], ids=["files-at-start", "autorefresh"])
async def test_static_files_come_from_whitenoise_under_asgi_and_wsgi(autorefresh):
    with override_settings(WHITENOISE_USE_FINDERS=True, WHITENOISE_AUTOREFRESH=autorefresh):
        response = await get(SyncStackASGIHandler(), "/static/js/desk.js")
        assert response["status"] == 200
        assert response["body"] == DESK_JS
        assert (await get(SyncStackASGIHandler(), "/static/js/nope.js"))["status"] == 404
        wsgi = await sync.sync_to_async(Client().get)("/static/js/desk.js")
        assert wsgi.status_code == 200
