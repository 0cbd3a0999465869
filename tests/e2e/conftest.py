"""End-to-end fixtures: the real ASGI server (daphne) and Debian's Chromium through Playwright.

Each test gets its own daphne process on a free loopback port, with its own SQLite
file copied from a template that is migrated and seeded once per session. The
server runs exactly as in development: in-memory channel layer (one process, no
Redis), the simulated PBX, static files served by WhiteNoise's finders (DEBUG=1).
Calls are injected the way an operator does it: `manage.py simulate_call --url`.

The test process never touches Django's test database: it reads the server's
SQLite file with the sqlite3 module to check what was stored.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import sqlite3
import struct
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.pg_cluster import free_port

BASE_DIR = Path(__file__).resolve().parents[2]
PYTHON = sys.executable
DAPHNE = str(Path(sys.executable).with_name("daphne"))
CHROMIUM = os.environ.get("ICENTER_E2E_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
IN_CI = os.environ.get("CI") == "true"
TIMEOUT_MS = 10_000

AGENT_USERNAME = "agent"
AGENT_PASSWORD = "e2e-agent-password"  # only ever lives in a throwaway database
AGENT_EXTENSION = "2001"
ACCOUNT_NAME = "Müller GmbH"
ACCOUNT_PHONE = "+49 30 1234567"
QUEUE = "7000"

# Everything the server needs, and nothing from the developer's shell that would
# point it elsewhere (tests.pg_cluster exports DATABASE_URL for the unit tests).
_DROPPED_ENV = (
    "DATABASE_URL",
    "REDIS_URL",
    "ALLOWED_HOSTS",
    "CSRF_TRUSTED_ORIGINS",
    "ICENTER_CTI",
    "ICENTER_CTI_ALLOWED_NETWORKS",
    "ICENTER_QUEUE_NUMBERS",
    "ICENTER_DEMO_TOOLS",
    "LANGUAGE_CODE",
    "TIME_ZONE",
)

SEED = f"""
import json
from django.contrib.auth.models import Group, User
from accounts import services
from telephony.models import Agent

user = User.objects.create_user(
    {AGENT_USERNAME!r}, password={AGENT_PASSWORD!r}, first_name="Anna", last_name="Schäfer"
)
user.groups.add(Group.objects.get(name="agent"))
agent = Agent.objects.create(user=user, extension={AGENT_EXTENSION!r})
account = services.account_create(
    kind="organisation", name={ACCOUNT_NAME!r}, phone={ACCOUNT_PHONE!r},
    street="Friedrichstraße 12", postcode="10117", city="Berlin",
)
print("SEED " + json.dumps({{"agent": agent.pk, "account": account.pk}}))
"""


def require(condition: bool, reason: str) -> None:
    """Skip the e2e tests when something is missing, except in CI where that is a failure."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: the e2e tests must run)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session", autouse=True)
def _e2e_prerequisites() -> None:
    require(
        Path(CHROMIUM).is_file() and os.access(CHROMIUM, os.X_OK),
        f"{CHROMIUM} is missing: install Debian's chromium (apt-get install chromium)",
    )
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        require(False, "the playwright Python package is not installed (pip install -e '.[dev]')")
    require(Path(DAPHNE).is_file(), f"daphne is not installed next to {PYTHON}")


def _server_env(db_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _DROPPED_ENV}
    env.update(
        DJANGO_SETTINGS_MODULE="icenter.settings",
        DEBUG="1",
        SECRET_KEY="e2e-secret-key-not-for-production",
        ICENTER_CTI_TOKEN="e2e-cti-token",
        SQLITE_PATH=str(db_path),
        PYTHONUNBUFFERED="1",
        LOG_LEVEL="INFO",
        ICENTER_TICKER="thread",
    )
    return env


def _manage(env: dict[str, str], *args: str, timeout: float = 60) -> str:
    result = subprocess.run(
        [PYTHON, "manage.py", *args],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if result.returncode != 0:
        pytest.fail(
            f"manage.py {' '.join(args[:1])} failed ({result.returncode}):\n"
            f"{result.stdout}\n{result.stderr}",
            pytrace=False,
        )
    return result.stdout


@dataclass(frozen=True)
class SeedData:
    db_path: Path
    agent_id: int
    account_id: int


@pytest.fixture(scope="session")
def e2e_template(tmp_path_factory: pytest.TempPathFactory) -> SeedData:
    """A migrated and seeded SQLite file, copied for each test's server."""
    db_path = tmp_path_factory.mktemp("e2e-template") / "template.sqlite3"
    env = _server_env(db_path)
    _manage(env, "migrate", "--noinput")
    out = _manage(env, "shell", "-c", SEED)
    line = next(line for line in out.splitlines() if line.startswith("SEED "))
    ids = json.loads(line.removeprefix("SEED "))
    return SeedData(db_path=db_path, agent_id=ids["agent"], account_id=ids["account"])


@dataclass
class Server:
    """A running daphne with its own database."""

    base_url: str
    port: int
    env: dict[str, str]
    db_path: Path
    log_path: Path
    seed: SeedData
    process: subprocess.Popen[bytes] | None = None

    def simulate_call(self, *, ani: str = ACCOUNT_PHONE, to: str = QUEUE) -> str:
        """A customer calls, exactly as `manage.py simulate_call` does it for an operator."""
        return _manage(
            self.env, "simulate_call", "--from", ani, "--to", to, "--url", self.base_url
        ).strip()

    def query(self, sql: str, *params: Any) -> list[sqlite3.Row]:
        """Read the server's database (read-only, so the server's writes are never blocked)."""
        connection = sqlite3.connect(f"file:{self.db_path}?mode=ro", uri=True, timeout=10)
        connection.row_factory = sqlite3.Row
        try:
            return connection.execute(sql, params).fetchall()
        finally:
            connection.close()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def _wait_until_serving(server: Server, deadline_s: float = 30) -> None:
    deadline = time.monotonic() + deadline_s
    assert server.process is not None
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            pytest.fail(f"daphne exited with {server.process.returncode}:\n{server.log()}")
        try:
            with urllib.request.urlopen(server.base_url + "/login/", timeout=2) as response:  # noqa: S310
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.1)
    pytest.fail(f"daphne did not answer within {deadline_s} s:\n{server.log()}")


@pytest.fixture
def e2e_server(
    e2e_template: SeedData, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[Server]:
    """A fresh daphne (icenter.asgi) on a free port, on a copy of the seeded database."""
    db_path = tmp_path / "icenter.sqlite3"
    shutil.copyfile(e2e_template.db_path, db_path)
    port = free_port()
    server = Server(
        base_url=f"http://127.0.0.1:{port}",
        port=port,
        env=_server_env(db_path),
        db_path=db_path,
        log_path=tmp_path / "daphne.log",
        seed=e2e_template,
    )
    with server.log_path.open("wb") as log:
        server.process = subprocess.Popen(
            [DAPHNE, "-b", "127.0.0.1", "-p", str(port), "icenter.asgi:application"],
            cwd=BASE_DIR,
            env=server.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_until_serving(server)
        yield server
    finally:
        server.process.terminate()
        try:
            server.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait(timeout=10)
        report = getattr(request.node, "rep_call", None)
        if report is not None and report.failed:
            print(f"\n----- daphne log ({server.log_path}) -----\n{server.log()[-8000:]}")


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """Remember each phase's report on the test, so fixtures can tell a failure."""
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


# -- a cuttable TCP connection ----------------------------------------------------------------


@dataclass
class CuttableProxy:
    """A loopback TCP proxy in front of the server whose connections the test can cut.

    `cut()` drops every open connection (the browser sees its WebSocket close
    abnormally, code 1006, as on a network drop) and refuses new ones until
    `restore()`, so the desk cannot reconnect before the test lets it.
    """

    upstream_port: int
    port: int = 0
    online: bool = True
    _listener: socket.socket | None = None
    _sockets: set[socket.socket] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _closing: bool = False
    refused: int = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self._listener = socket.socket()
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(64)
        self.port = self._listener.getsockname()[1]
        threading.Thread(target=self._accept_loop, name="e2e-proxy", daemon=True).start()

    def cut(self) -> None:
        with self._lock:
            self.online = False
            sockets, self._sockets = self._sockets, set()
        for sock in sockets:
            _abort(sock)

    def restore(self) -> None:
        with self._lock:
            self.online = True

    def close(self) -> None:
        self._closing = True
        self.cut()
        if self._listener is not None:
            self._listener.close()

    def _accept_loop(self) -> None:
        assert self._listener is not None
        while not self._closing:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                online = self.online
            if not online:
                self.refused += 1
                _abort(client)
                continue
            try:
                upstream = socket.create_connection(("127.0.0.1", self.upstream_port), timeout=5)
                upstream.settimeout(None)
            except OSError:
                _abort(client)
                continue
            with self._lock:
                self._sockets.update((client, upstream))
            for source, target in ((client, upstream), (upstream, client)):
                threading.Thread(
                    target=self._pump, args=(source, target), name="e2e-proxy-pump", daemon=True
                ).start()

    def _pump(self, source: socket.socket, target: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                target.sendall(data)
        except OSError:
            pass
        finally:
            with self._lock:
                self._sockets.discard(source)
                self._sockets.discard(target)
            _abort(source)
            _abort(target)


def _abort(sock: socket.socket) -> None:
    """Close with a reset, as a dropped network would, rather than an orderly goodbye."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()


@pytest.fixture
def cuttable_proxy(e2e_server: Server) -> Iterator[CuttableProxy]:
    proxy = CuttableProxy(upstream_port=e2e_server.port)
    proxy.start()
    try:
        yield proxy
    finally:
        proxy.close()


# -- the browser ------------------------------------------------------------------------------

# Counts the WebSocket messages htmx has applied, so a test can wait for the
# sync that follows every (re)connect before it clicks anything.
WS_PROBE = """
window.__e2e = {wsMessages: 0};
document.addEventListener("htmx:wsAfterMessage", function () { window.__e2e.wsMessages += 1; });
"""


@pytest.fixture(scope="session")
def e2e_browser() -> Iterator[Any]:
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=TIMEOUT_MS)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def e2e_page(e2e_browser: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A fresh browser context (no cookies) at 1280×720, in the product's language (German)."""
    context = e2e_browser.new_context(
        viewport={"width": 1280, "height": 720}, locale="de-DE", timezone_id="Europe/Berlin"
    )
    context.add_init_script(WS_PROBE)
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    console: list[str] = []
    page.on("console", lambda message: console.append(f"{message.type}: {message.text}"))
    page.on("pageerror", lambda error: console.append(f"pageerror: {error}"))
    page.e2e_console = console  # type: ignore[attr-defined]
    try:
        yield page
    finally:
        report = getattr(request.node, "rep_call", None)
        if report is not None and report.failed:
            failure_shot = Path("/tmp") / f"e2e-failure-{request.node.name}.png"
            try:
                page.screenshot(path=str(failure_shot))
                print(f"\nscreenshot of the failure: {failure_shot}")
            except Exception as exc:  # the page may be gone
                print(f"\nno failure screenshot: {exc}")
            print("----- browser console -----\n" + "\n".join(console[-50:]))
        context.close()
