"""Colleagues on the same account, end to end: two agents in two browsers on the real server.

Anna has an account open; Jörg opens it too and Anna's desk shows him at once, pushed over
her WebSocket — her desk asks the server nothing in between (its heartbeat is every 20 s).
When Jörg switches to another view, or closes his desk, Anna's desk drops him at once too.
On a ticket, Jörg typing in its forms shows him as editing it until he saves.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.conftest import (
    AGENT_PASSWORD,
    AGENT_USERNAME,
    TIMEOUT_MS,
    WS_PROBE,
    Server,
    _manage,
)
from tests.e2e.test_screen_pop import eventually, expect, wait_for_live_desk

pytestmark = pytest.mark.e2e

COLLEAGUE_USERNAME = "joerg"
COLLEAGUE_PASSWORD = "e2e-colleague-password"  # only ever lives in a throwaway database
COLLEAGUE = f"""
from django.contrib.auth.models import Group, User
from telephony.models import Agent

user = User.objects.create_user(
    {COLLEAGUE_USERNAME!r}, password={COLLEAGUE_PASSWORD!r}, first_name="Jörg", last_name="Weiß"
)
user.groups.add(Group.objects.get(name="agent"))
Agent.objects.create(user=user, extension="2002")
"""
# Well below the 20 s heartbeat: seeing a change this soon means it was pushed.
PUSHED_WITHIN_MS = 5_000
PRESENCE_POST = re.compile(r"/presence/account/\d+/$")


def log_in(page: Any, base_url: str, username: str, password: str) -> None:
    page.goto(base_url + "/login/")
    page.locator("#id_username").fill(username)
    page.locator("#id_password").fill(password)
    page.locator(".login-box button[type=submit]").click()
    page.wait_for_url(base_url + "/desk/")


@pytest.fixture
def colleague_page(e2e_browser: Any, e2e_server: Server) -> Iterator[Any]:
    """Jörg, a second agent, in a browser context of his own."""
    _manage(e2e_server.env, "shell", "-c", COLLEAGUE)
    context = e2e_browser.new_context(
        viewport={"width": 1280, "height": 720}, locale="de-DE", timezone_id="Europe/Berlin"
    )
    context.add_init_script(WS_PROBE)
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    try:
        yield page
    finally:
        context.close()


def joerg_present(server: Server) -> bool:
    rows = server.query(
        "SELECT 1 FROM accounts_presence p JOIN auth_user u ON u.id = p.user_id"
        " WHERE u.username = ? AND p.kind = 'account' AND p.object_id = ?",
        COLLEAGUE_USERNAME,
        server.seed.account_id,
    )
    return bool(rows)


def test_a_colleague_on_the_same_account_is_shown_and_dropped_at_once(
    e2e_server: Server, e2e_page: Any, colleague_page: Any
) -> None:
    base, account_id = e2e_server.base_url, e2e_server.seed.account_id
    anna, joerg = e2e_page, colleague_page
    annas_heartbeats: list[str] = []
    anna.on(
        "request",
        lambda request: (
            annas_heartbeats.append(request.url)
            if request.method == "POST" and PRESENCE_POST.search(request.url)
            else None
        ),
    )
    log_in(anna, base, AGENT_USERNAME, AGENT_PASSWORD)
    anna.goto(f"{base}/desk/?account={account_id}")
    wait_for_live_desk(anna)
    presence = anna.locator(f"#presence-account-{account_id}")
    eventually(lambda: annas_heartbeats, what="Anna's first heartbeat")
    expect(presence).to_have_text("")

    log_in(joerg, base, COLLEAGUE_USERNAME, COLLEAGUE_PASSWORD)
    joerg.goto(f"{base}/desk/?account={account_id}")
    wait_for_live_desk(joerg)
    expect(presence).to_contain_text("Jörg Weiß", timeout=PUSHED_WITHIN_MS)
    expect(joerg.locator(f"#presence-account-{account_id}")).to_contain_text("Anna Schäfer")

    # A swap that only re-renders the same account (as a push or a link to it does) is no
    # departure; switching to the ticket list is exactly one.
    joergs_leaves: list[str] = []
    joerg.on(
        "request",
        lambda request: (
            joergs_leaves.append(request.url) if request.url.endswith("/leave/") else None
        ),
    )
    joerg.evaluate(
        "url => htmx.ajax('GET', url, {target: '#workspace', swap: 'outerHTML'})",
        f"/desk/?view=account&account={account_id}",
    )
    expect(joerg.locator(f"#presence-account-{account_id}")).to_contain_text("Anna Schäfer")
    joerg.locator('nav a[accesskey="4"]').click()
    expect(joerg.locator("#workspace")).to_have_attribute("data-view", "tickets")
    expect(presence).to_have_text("", timeout=PUSHED_WITHIN_MS)
    assert not joerg_present(e2e_server)
    assert len(joergs_leaves) == 1, joergs_leaves

    # Back on the account, then he closes his desk: the page's beacon says goodbye.
    joerg.go_back()
    expect(presence).to_contain_text("Jörg Weiß", timeout=PUSHED_WITHIN_MS)
    joerg.close(run_before_unload=True)
    expect(presence).to_have_text("", timeout=PUSHED_WITHIN_MS)
    eventually(lambda: not joerg_present(e2e_server), what="Jörg's presence to be removed")

    assert len(annas_heartbeats) == 1, "Anna's desk polled instead of being pushed to"


TICKET = """
from accounts.models import Account
from accounts.services import ticket_create

ticket = ticket_create(
    account=Account.objects.get(pk={account_id}), subject="Router blinkt rot", created_by=None
)
print("TICKET", ticket.pk)
"""


def test_a_colleague_typing_in_a_ticket_is_shown_as_editing_until_they_save(
    e2e_server: Server, e2e_page: Any, colleague_page: Any
) -> None:
    base = e2e_server.base_url
    out = _manage(
        e2e_server.env, "shell", "-c", TICKET.format(account_id=e2e_server.seed.account_id)
    )
    ticket_id = int(out.split("TICKET ")[1].split()[0])
    anna, joerg = e2e_page, colleague_page
    for page, user, password in (
        (anna, AGENT_USERNAME, AGENT_PASSWORD),
        (joerg, COLLEAGUE_USERNAME, COLLEAGUE_PASSWORD),
    ):
        log_in(page, base, user, password)
        page.goto(f"{base}/desk/tickets/{ticket_id}/")
        wait_for_live_desk(page)
    presence = anna.locator(f"#presence-ticket-{ticket_id}")
    expect(presence).to_contain_text("Jörg Weiß", timeout=PUSHED_WITHIN_MS)
    expect(presence).not_to_contain_text("bearbeitet")

    joerg.locator("details.card summary").filter(has_text="Details bearbeiten").click()
    joerg.locator('form input[name="subject"]').fill("Router blinkt rot – seit gestern")
    expect(presence).to_contain_text("Jörg Weiß bearbeitet dieses Ticket", timeout=PUSHED_WITHIN_MS)

    joerg.locator('form input[name="subject"]').press("Enter")
    expect(presence).to_contain_text(
        "Jörg Weiß hat dieses Ticket auch geöffnet", timeout=PUSHED_WITHIN_MS
    )
