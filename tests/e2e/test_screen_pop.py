"""The screen pop, end to end: a real browser, the real ASGI server, a simulated PBX.

An agent logs in and goes ready; a customer calls the queue; the desk pops the
caller's account without a reload; the agent's notes survive a reload; the agent
accepts and hangs up from the toolbar and the interaction is stored complete.
And a desk whose WebSocket drops shows, once it is back, the call that popped
while it was away.

Selectors use ids, classes and data attributes only: the UI is German by default.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

import pytest

from tests.e2e.conftest import (
    ACCOUNT_NAME,
    AGENT_EXTENSION,
    AGENT_PASSWORD,
    AGENT_USERNAME,
    TIMEOUT_MS,
    CuttableProxy,
    Server,
)

pytestmark = pytest.mark.e2e

POP_SCREENSHOT = "/tmp/e2e-pop.png"
NOTE = "Rückruf erbeten: Rechnung 4711 prüfen – Ansprechpartnerin Frau Weiß."
# The ws extension waits a random 0…1 s, 0…2 s, 0…4 s, … (full jitter) between
# reconnect attempts; a desk that was refused a few times needs this long at worst.
RECONNECT_TIMEOUT_MS = 30_000


def expect(*args: Any, **kwargs: Any) -> Any:
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(*args, **kwargs)


def eventually(check: Callable[[], Any], *, what: str, timeout_s: float = TIMEOUT_MS / 1000) -> Any:
    """Poll `check` until it returns something truthy (for state outside the browser)."""
    deadline = time.monotonic() + timeout_s
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout_s} s waiting for {what}", pytrace=False)
        time.sleep(0.1)


def log_in(page: Any, base_url: str) -> None:
    page.goto(base_url + "/login/")
    page.locator("#id_username").fill(AGENT_USERNAME)
    page.locator("#id_password").fill(AGENT_PASSWORD)
    page.locator(".login-box button[type=submit]").click()
    page.wait_for_url(base_url + "/desk/")


def ws_messages(page: Any) -> int:
    return int(page.evaluate("window.__e2e.wsMessages"))


def wait_for_live_desk(page: Any, *, more_than: int = 0, timeout: int = TIMEOUT_MS) -> None:
    """The desk's socket is open and its sync message (sent on every connect) is applied."""
    expect(page.locator("html")).to_have_attribute("data-ws", "open", timeout=timeout)
    expect(page.locator("#ws-status")).to_have_class(re.compile(r"\bon\b"))
    page.wait_for_function("n => window.__e2e.wsMessages > n", arg=more_than, timeout=timeout)


def agent_state(page: Any) -> Any:
    return page.locator("#comm-info [data-agent-state]")


def go_ready(page: Any) -> None:
    expect(agent_state(page)).to_have_attribute("data-agent-state", "not_ready")
    page.locator("#toolbar .tb.ready").click()
    expect(agent_state(page)).to_have_attribute("data-agent-state", "ready")


def call_id_from(output: str) -> str:
    match = re.search(r"Call (sim-[0-9a-f]+) rings at agent (\d+)", output)
    assert match, f"simulate_call did not ring an agent: {output!r}"
    assert match.group(2) == AGENT_EXTENSION
    return match.group(1)


def expect_pop(page: Any, call_id: str) -> None:
    comm_info = page.locator("#comm-info")
    expect(comm_info).to_have_attribute("data-call-id", call_id)
    expect(comm_info).to_have_attribute("data-call-status", "ringing")
    expect(comm_info.locator(".ci-ani")).to_have_text("+49 30 1234567")
    expect(agent_state(page)).to_have_attribute("data-agent-state", "ringing")
    expect(page.locator("#account-header .ah-name")).to_have_text(ACCOUNT_NAME)
    expect(page.locator("#workspace .kv")).to_contain_text(ACCOUNT_NAME)
    expect(page.locator("#toolbar .tb.accept")).to_be_enabled()
    expect(page.locator("#notepad-text")).to_be_editable()


def stored_call(server: Server, call_id: str) -> Any:
    rows = server.query(
        """
        SELECT c.status, c.answered_at, c.ended_at AS call_ended_at,
               i.id AS interaction_id, i.ended_at, i.outcome, i.notes, i.notes_updated_at,
               i.account_id, i.agent_id
        FROM telephony_call c JOIN accounts_interaction i ON i.id = c.interaction_id
        WHERE c.call_id = ?
        """,
        call_id,
    )
    return rows[0] if rows else None


def test_pop_notes_survive_reload_and_call_is_stored(e2e_server: Server, e2e_page: Any) -> None:
    page = e2e_page
    log_in(page, e2e_server.base_url)
    wait_for_live_desk(page)
    expect(page.locator("#comm-info[data-call-id]")).to_have_count(0)
    go_ready(page)

    # A customer calls the queue; the desk must pop without a reload.
    page.evaluate("window.__e2e.samePage = true")
    call_id = call_id_from(e2e_server.simulate_call())
    expect_pop(page, call_id)
    assert page.evaluate("window.__e2e.samePage") is True, "the desk reloaded for the pop"
    page.screenshot(path=POP_SCREENSHOT)

    # The agent types a note; the notepad saves it by itself.
    notepad = page.locator("#notepad-text")
    notepad.click()
    notepad.press_sequentially(NOTE)
    eventually(
        lambda: (row := stored_call(e2e_server, call_id)) is not None and row["notes"] == NOTE,
        what="the notepad's autosave",
    )
    expect(page.locator("#notepad-status")).not_to_be_empty()
    expect(page.locator("#notepad-status .error")).to_have_count(0)

    # After a reload the note (and the ringing call) are still there.
    page.reload()
    wait_for_live_desk(page)
    expect(page.locator("#notepad-text")).to_have_value(NOTE)
    expect_pop(page, call_id)

    # Accept and hang up from the toolbar.
    page.locator("#toolbar .tb.accept").click()
    expect(page.locator("#comm-info")).to_have_attribute("data-call-status", "talking")
    expect(agent_state(page)).to_have_attribute("data-agent-state", "talking")
    expect(page.locator("#toolbar .tb.hangup")).to_be_enabled()
    page.locator("#toolbar .tb.hangup").click()
    expect(page.locator("#comm-info")).to_have_attribute("data-call-status", "ended")
    expect(agent_state(page)).to_have_attribute("data-agent-state", "wrap_up")
    expect(page.locator("#toolbar .tb.accept")).to_be_disabled()
    expect(page.locator("#toolbar .tb.hangup")).to_be_disabled()

    row = stored_call(e2e_server, call_id)
    assert row["status"] == "ended"
    assert row["answered_at"] is not None
    assert row["call_ended_at"] is not None
    assert row["ended_at"] is not None, "the interaction has no end"
    assert row["outcome"] == "completed"
    assert row["notes"] == NOTE
    assert row["notes_updated_at"] is not None
    assert row["account_id"] == e2e_server.seed.account_id
    agent_user = e2e_server.query(
        "SELECT user_id FROM telephony_agent WHERE id = ?", e2e_server.seed.agent_id
    )[0]["user_id"]
    assert row["agent_id"] == agent_user


def test_desk_reconnects_and_shows_call_that_popped_meanwhile(
    e2e_server: Server, cuttable_proxy: CuttableProxy, e2e_page: Any
) -> None:
    page = e2e_page
    # The browser reaches the server only through the proxy, so the test can cut the line.
    log_in(page, cuttable_proxy.base_url)
    wait_for_live_desk(page)
    go_ready(page)
    page.evaluate("window.__e2e.samePage = true")
    before = ws_messages(page)

    cuttable_proxy.cut()
    expect(page.locator("html")).to_have_attribute("data-ws", "closed")
    expect(page.locator("#ws-status")).to_have_class(re.compile(r"\boff\b"))

    # The call rings at the agent while their desk is offline: no push can reach it.
    call_id = call_id_from(e2e_server.simulate_call())
    assert stored_call(e2e_server, call_id)["status"] == "ringing"
    expect(page.locator("#comm-info[data-call-id]")).to_have_count(0)

    # The line comes back: the ws extension reconnects by itself and the sync pops the call.
    cuttable_proxy.restore()
    wait_for_live_desk(page, more_than=before, timeout=RECONNECT_TIMEOUT_MS)
    expect_pop(page, call_id)
    assert page.evaluate("window.__e2e.samePage") is True, "the desk reloaded, not reconnected"


def test_an_account_opened_by_hand_stays_when_the_socket_syncs(
    e2e_server: Server, e2e_page: Any
) -> None:
    """A full-page load of an account (from a bookmark, a ticket link) is followed by the
    socket's sync, which knows no chosen account: header and workspace must keep it."""
    page = e2e_page
    log_in(page, e2e_server.base_url)
    page.goto(f"{e2e_server.base_url}/desk/?account={e2e_server.seed.account_id}")
    expect(page.locator("#account-header .ah-name")).to_have_text(ACCOUNT_NAME)
    wait_for_live_desk(page)  # the sync after the socket connected has been applied
    expect(page.locator("#account-header .ah-name")).to_have_text(ACCOUNT_NAME)
    expect(page.locator("#workspace")).to_have_attribute(
        "data-account", str(e2e_server.seed.account_id)
    )


def test_the_navigation_keeps_an_account_opened_by_hand(e2e_server: Server, e2e_page: Any) -> None:
    """With no live contact, history, script and the other views show the account the agent
    opened, not "no customer selected"."""
    page = e2e_page
    log_in(page, e2e_server.base_url)
    page.goto(f"{e2e_server.base_url}/desk/?account={e2e_server.seed.account_id}")
    wait_for_live_desk(page)
    for view in ("history", "script", "account"):
        page.locator(f'nav.navbar a[href$="?view={view}"]').click()
        expect(page.locator("#workspace")).to_have_attribute("data-view", view)
        expect(page.locator("nav.navbar a.active")).to_have_attribute("data-nav", view)
        expect(page.locator("#workspace")).to_have_attribute(
            "data-account", str(e2e_server.seed.account_id)
        )
    expect(page.locator("#account-header .ah-name")).to_have_text(ACCOUNT_NAME)
