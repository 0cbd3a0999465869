"""Issue 4 end to end: a real SIP call through Kamailio pops the desk; the toolbar hangs up.

A sipp customer calls the queue number 7000 through Kamailio (deploy/kamailio/kamailio.cfg).
Two agents have registered sipp phones and are ready; Anna works in a real Chromium desk and
has waited longest. Her phone rings and her desk pops the caller's account; her phone
answers; she hangs up from the toolbar — icenter's Kamailio adapter ends the dialog over
JSON-RPC, both SIP parties get a BYE — and the interaction is stored with its talk time while
Anna goes to wrap-up.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import (
    ACCOUNT_NAME,
    BASE_DIR,
    DAPHNE,
    SeedData,
    Server,
    _manage,
    _server_env,
    _wait_until_serving,
    require,
)
from tests.e2e.test_screen_pop import (
    agent_state,
    eventually,
    expect,
    go_ready,
    log_in,
    stored_call,
    wait_for_live_desk,
)
from tests.integration.kamailio import harness
from tests.pg_cluster import free_port

pytestmark = pytest.mark.e2e

CALLER = "+49301234567"  # the seeded account's number, as a SIP user part
SECOND_AGENT = """
from django.contrib.auth.models import Group, User
from telephony.models import Agent
user = User.objects.create_user("jonas", password="e2e-second-agent", first_name="Jonas")
user.groups.add(Group.objects.get(name="agent"))
Agent.objects.create(user=user, extension="2002")
"""
SECOND_AGENT_READY = """
from telephony import services
from telephony.models import Agent
agent = Agent.objects.get(extension="2002")
services.agent_set_state(agent=agent, state="ready")
"""


@pytest.fixture
def sip_stack(
    e2e_template: SeedData, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[tuple[Server, harness.Kamailio]]:
    """daphne with ICENTER_CTI=kamailio, and Kamailio asking it; both on free loopback ports."""
    for program in ("kamailio", "sipp"):
        require(shutil.which(program) is not None, f"{program} is missing (see .ci/run)")
    db_path = tmp_path / "icenter.sqlite3"
    shutil.copyfile(e2e_template.db_path, db_path)
    port = free_port()
    env = _server_env(db_path)
    _manage(env, "shell", "-c", SECOND_AGENT)
    kamailio = harness.Kamailio(
        workdir=tmp_path / "kamailio",
        app_url=f"http://127.0.0.1:{port}",
        token=env["ICENTER_CTI_TOKEN"],
        ring_timeout_ms=15000,
    )
    env.update(
        ICENTER_CTI="kamailio",
        ICENTER_KAMAILIO_RPC_URL=kamailio.rpc_url,
        ICENTER_KAMAILIO_SIP_DOMAIN=kamailio.sip_target,
    )
    server = Server(
        base_url=f"http://127.0.0.1:{port}",
        port=port,
        env=env,
        db_path=db_path,
        log_path=tmp_path / "daphne.log",
        seed=e2e_template,
    )
    with server.log_path.open("wb") as log:
        server.process = subprocess.Popen(
            [DAPHNE, "-b", "127.0.0.1", "-p", str(port), "icenter.asgi:application"],
            cwd=BASE_DIR,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_until_serving(server)
        kamailio.start()
        yield server, kamailio
    finally:
        kamailio.stop()
        server.process.terminate()
        try:
            server.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.process.kill()
        report = getattr(request.node, "rep_call", None)
        if report is not None and report.failed:
            print(f"\n----- daphne log -----\n{server.log()[-6000:]}")
            print(f"\n----- kamailio log -----\n{kamailio.log()[-6000:]}")
            for path in sorted(tmp_path.rglob("*_messages.log")):
                print(f"----- {path.name} -----\n{path.read_text(errors='replace')[-3000:]}")


def test_a_sip_call_pops_the_longest_idle_agents_desk_and_the_toolbar_hangs_up(
    sip_stack: tuple[Server, harness.Kamailio], e2e_page: Any, tmp_path: Path
) -> None:
    server, kamailio = sip_stack
    workdir = tmp_path / "sip"
    workdir.mkdir()
    anna_phone = harness.phone(
        kamailio, extension="2001", workdir=workdir, answer_ms=3000, hold_ms=60000
    )
    jonas_phone = harness.phone(kamailio, extension="2002", workdir=workdir, hold_ms=60000)

    # Anna logs in and goes ready first; Jonas after her, so Anna has waited longest.
    page = e2e_page
    log_in(page, server.base_url)
    wait_for_live_desk(page)
    go_ready(page)
    _manage(server.env, "shell", "-c", SECOND_AGENT_READY)

    caller = harness.call(kamailio, to="7000", ani=CALLER, workdir=workdir, hold_ms=60000)

    # Anna's desk pops the identified account while her phone rings.
    comm_info = page.locator("#comm-info")
    expect(comm_info).to_have_attribute("data-call-status", "ringing")
    expect(page.locator("#account-header .ah-name")).to_have_text(ACCOUNT_NAME)
    call_id = comm_info.get_attribute("data-call-id")
    assert call_id and "@" in call_id, f"not a SIP Call-ID: {call_id!r}"

    # Her phone answers: Kamailio reports the answer, the desk shows the conversation.
    expect(comm_info).to_have_attribute("data-call-status", "talking")
    expect(agent_state(page)).to_have_attribute("data-agent-state", "talking")

    # She hangs up from the toolbar: the adapter ends the dialog over JSON-RPC.
    page.locator("#toolbar .tb.hangup").click()
    expect(comm_info).to_have_attribute("data-call-status", "ended")
    expect(agent_state(page)).to_have_attribute("data-agent-state", "wrap_up")
    assert caller.wait(20) == 0, caller.diagnostics()  # the customer got a BYE and confirmed
    assert anna_phone.ua.wait(20) == 0, anna_phone.ua.diagnostics()  # type: ignore[union-attr]

    row = eventually(lambda: stored_call(server, call_id), what="the stored call")
    assert row["status"] == "ended"
    assert row["outcome"] == "completed"
    assert row["account_id"] == server.seed.account_id
    answered = datetime.fromisoformat(str(row["answered_at"]))
    ended = datetime.fromisoformat(str(row["call_ended_at"]))
    assert ended > answered, "no talk time stored"
    end_reason = server.query("SELECT end_reason FROM telephony_call WHERE call_id = ?", call_id)
    assert end_reason[0]["end_reason"] == "ended by icenter or timeout"

    # Jonas's phone never rang.
    jonas_phone.ua.kill()  # type: ignore[union-attr]
    assert "INVITE sip:" not in jonas_phone.ua.messages()  # type: ignore[union-attr]
