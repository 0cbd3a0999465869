"""A call list end to end in a real browser: the campaign's script opens from the list.

The agent opens "Call lists", takes the next customer (the customer's account fills the
header, the campaign's survey opens with the customer's name filled in), dials from the
card (the toolbar follows the call while the list's customer and script stay in the
workspace), answers a step, reloads (customer and step come back), and closes the customer
as reached. The database then holds a finished entry whose script run belongs to the call.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.e2e.conftest import ACCOUNT_NAME, Server, _manage
from tests.e2e.test_screen_pop import expect, log_in, wait_for_live_desk

pytestmark = pytest.mark.e2e
SCREENSHOT = "/tmp/e2e-call-list.png"

SETUP = """
from accounts.models import Account
from campaigns.models import Campaign, CallList, CallListEntry
from campaigns.services import call_list_entries_add
from scripting.demo import demo_scripts_seed
from scripting.models import Script
from telephony.models import Agent, AgentGroup

demo_scripts_seed()
team = AgentGroup.objects.create(name="Outbound")
team.members.add(*Agent.objects.all())
campaign = Campaign.objects.create(
    code="umfrage-2026", name="Umfrage 2026",
    script=Script.objects.get(code="kundenzufriedenheit"),
)
call_list = CallList.objects.create(campaign=campaign, name="Berlin")
call_list.agent_groups.add(team)
call_list_entries_add(
    call_list=call_list, accounts=list(Account.objects.all()), by=Agent.objects.first().user
)
print("ENTRIES", CallListEntry.objects.count())
"""


def test_an_agent_works_a_call_list_with_the_campaign_script(
    e2e_server: Server, e2e_page: Any
) -> None:
    out = _manage(e2e_server.env, "shell", "-c", SETUP)
    assert "ENTRIES 1" in out, out
    page = e2e_page
    log_in(page, e2e_server.base_url)
    wait_for_live_desk(page)

    page.locator('.navbar a[data-nav="calllists"]').click()
    row = page.locator("#calllists tr[data-call-list]")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("Umfrage 2026")
    row.locator(".calllist-next").click()

    card = page.locator("#calllists .calllist-entry")
    expect(card).to_be_visible()
    expect(card).to_contain_text(ACCOUNT_NAME)
    expect(page.locator("#account-header")).to_contain_text(ACCOUNT_NAME)
    step = page.locator("#script-runner .script-run")
    expect(step).to_have_attribute("data-step", "consent")
    expect(page.locator("#script-step-form .script-text")).to_contain_text(ACCOUNT_NAME)

    # Dialling: the toolbar follows the outbound call, the workspace stays on the customer.
    page.locator("#calllists .calllist-dial").click()
    # (the simulated customer answers at once: ringing may already have turned to talking)
    expect(page.locator("#comm-info")).to_have_attribute(
        "data-call-status", re.compile("ringing|talking"), timeout=10_000
    )
    expect(card).to_be_visible()
    expect(step).to_have_attribute("data-step", "consent")

    page.locator('#script-step-form input[value="yes"]').check()
    page.locator("#script-step-form .script-next").click()
    expect(step).to_have_attribute("data-step", "overall")

    # A reload brings back the customer and the step.
    page.goto(e2e_server.base_url + "/desk/?view=calllists")
    wait_for_live_desk(page)
    expect(page.locator("#calllists .calllist-entry")).to_be_visible()
    expect(page.locator("#script-runner .script-run")).to_have_attribute("data-step", "overall")
    expect(page.locator('.navbar a[data-nav="calllists"]')).to_have_class("active")
    page.screenshot(path=SCREENSHOT)

    page.locator('#calllists .calllist-result[data-result="reached"]').click()
    expect(page.locator("#calllists .msg-info")).to_be_visible()
    expect(page.locator("#calllists tr[data-call-list] .calllist-next")).to_be_disabled()

    [entry] = e2e_server.query(
        "SELECT status, result, attempts, interaction_id, script_run_id "
        "FROM campaigns_calllistentry"
    )
    assert (entry["status"], entry["result"], entry["attempts"]) == ("done", "reached", 1)
    [run] = e2e_server.query(
        "SELECT source, campaign, interaction_id, status FROM scripting_scriptrun WHERE id = ?",
        entry["script_run_id"],
    )
    assert run["source"] == "call_list"
    assert '"umfrage-2026"' in run["campaign"]
    assert run["interaction_id"] == entry["interaction_id"] is not None
    [call] = e2e_server.query(
        "SELECT direction, interaction_id FROM telephony_call ORDER BY id DESC LIMIT 1"
    )
    assert (call["direction"], call["interaction_id"]) == ("outbound", entry["interaction_id"])
