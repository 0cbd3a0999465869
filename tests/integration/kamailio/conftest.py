"""Kamailio integration fixtures: the project's config, sipp phones, and icenter as a live server.

Kamailio asks the real application (pytest-django's live server on the test database) which
extension rings and reports events to it; the adapter talks to Kamailio's JSON-RPC.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from telephony.cti import base
from tests.conftest import need_program
from tests.integration.kamailio.harness import Kamailio, Rtpengine, make_media

TOKEN = "kamailio-integration-token"


@pytest.fixture
def kamailio_programs() -> None:
    need_program("kamailio", "the Kamailio integration tests run the real SIP proxy")
    need_program("sipp", "the Kamailio integration tests use sipp as phones and callers")


@pytest.fixture
def icenter(live_server: Any, settings: Any, transactional_db: Any) -> Iterator[str]:
    """icenter's URL, with the Kamailio adapter selected and the CTI token set."""
    settings.ICENTER_CTI = "kamailio"
    settings.ICENTER_CTI_TOKEN = TOKEN
    settings.ICENTER_KAMAILIO_RPC_TOKEN = TOKEN
    base._load.cache_clear()
    yield str(live_server.url)
    base._load.cache_clear()


def _start(workdir: Path, app_url: str, settings: Any, **options: Any) -> Kamailio:
    kamailio = Kamailio(workdir=workdir, app_url=app_url, token=TOKEN, **options)
    kamailio.start()
    settings.ICENTER_KAMAILIO_RPC_URL = kamailio.rpc_url
    settings.ICENTER_KAMAILIO_SIP_DOMAIN = kamailio.sip_target
    base._load.cache_clear()
    return kamailio


@pytest.fixture
def kamailio(
    kamailio_programs: None, icenter: str, tmp_path: Path, settings: Any, request: Any
) -> Iterator[Kamailio]:
    """Kamailio on free loopback ports, asking the live icenter; stopped after the test."""
    kamailio = _start(tmp_path, icenter, settings, ring_timeout_ms=2000)
    yield kamailio
    kamailio.stop()
    _report_on_failure(request, kamailio, tmp_path)


@pytest.fixture
def kamailio_factory(
    kamailio_programs: None, icenter: str, tmp_path: Path, settings: Any, request: Any
) -> Iterator[Any]:
    """Start a Kamailio with other options (app URL, token, timers)."""
    started: list[Kamailio] = []

    def start(**options: Any) -> Kamailio:
        options.setdefault("app_url", icenter)
        workdir = tmp_path / f"kamailio-{len(started)}"
        kamailio = _start(workdir, options.pop("app_url"), settings, **options)
        started.append(kamailio)
        return kamailio

    yield start
    for kamailio in started:
        kamailio.stop()
        _report_on_failure(request, kamailio, tmp_path)


@pytest.fixture
def rtpengine(kamailio_programs: None, tmp_path: Path, request: Any) -> Iterator[Rtpengine]:
    """rtpengine-daemon in userspace mode on loopback (its own ng and media ports)."""
    need_program("rtpengine", "waiting callers hear announcements through rtpengine")
    engine = Rtpengine(workdir=tmp_path / "rtpengine")
    engine.start()
    yield engine
    engine.stop()
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        print(f"\n----- rtpengine log -----\n{engine.log()[-4000:]}")


@pytest.fixture
def kamailio_media(
    rtpengine: Rtpengine, icenter: str, tmp_path: Path, settings: Any, request: Any
) -> Iterator[Kamailio]:
    """Kamailio with WITH_RTPENGINE, driving `rtpengine`, with generated audio files."""
    media = make_media(tmp_path / "media", positions=3)
    kamailio = _start(
        tmp_path,
        icenter,
        settings,
        ring_timeout_ms=2000,
        extra={"RTPENGINE_SOCK": rtpengine.sock, "MEDIA_DIR": str(media)},
        extra_defines={"WITH_RTPENGINE": "1", "QUEUE_POSITION_FILES": "3"},
    )
    yield kamailio
    kamailio.stop()
    _report_on_failure(request, kamailio, tmp_path)


def _report_on_failure(request: Any, kamailio: Kamailio, tmp_path: Path) -> None:
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        print(f"\n----- kamailio log -----\n{kamailio.log()[-6000:]}")
        for path in sorted(tmp_path.rglob("*_messages.log")):
            print(f"----- {path.name} -----\n{path.read_text(errors='replace')[-3000:]}")


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report
