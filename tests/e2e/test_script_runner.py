"""A 10-step satisfaction survey with branching, end to end in a real browser.

The agent takes a call, opens the survey in the workspace, answers step by step
(the unhappy-customer branch, a required answer refused, a reload in the middle that
resumes where the agent was, a step back that keeps the answers), and finishes on the
ending that a condition on an earlier answer chose. The test then reads the server's
database: the run belongs to the call's interaction and holds the answers of the way taken.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from tests.e2e.conftest import Server, _manage
from tests.e2e.test_screen_pop import (
    call_id_from,
    expect,
    go_ready,
    log_in,
    stored_call,
    wait_for_live_desk,
)

pytestmark = pytest.mark.e2e
SCREENSHOT = "/tmp/e2e-script.png"
CALLBACK_DAY = (date.today() + timedelta(days=10)).isoformat()


def current_step(page: Any) -> Any:
    return page.locator("#script-runner .script-run")


def answer_and_next(page: Any, step: str, fill: Any = None) -> None:
    expect(current_step(page)).to_have_attribute("data-step", step)
    if fill is not None:
        fill(page.locator("#script-step-form"))
    page.locator("#script-step-form .script-next").click()


def test_an_agent_runs_the_satisfaction_survey_with_branching_and_resume(
    e2e_server: Server, e2e_page: Any
) -> None:
    _manage(
        e2e_server.env,
        "shell",
        "-c",
        "from scripting.demo import demo_scripts_seed; demo_scripts_seed()",
    )
    page = e2e_page
    log_in(page, e2e_server.base_url)
    wait_for_live_desk(page)
    go_ready(page)
    call_id = call_id_from(e2e_server.simulate_call())
    expect(page.locator("#comm-info")).to_have_attribute("data-call-status", "ringing")
    page.locator("#toolbar .tb.accept").click()
    expect(page.locator("#comm-info")).to_have_attribute("data-call-status", "talking")

    page.locator('.navbar a[data-view="script"]').click()
    page.locator('button.start-script[data-script="kundenzufriedenheit"]').click()
    expect(current_step(page)).to_have_attribute("data-step", "consent")
    # The account's name is filled into the text, escaped.
    expect(page.locator("#script-step-form .script-text")).to_contain_text("Müller GmbH")

    answer_and_next(page, "consent", lambda f: f.locator('input[value="yes"]').check())
    answer_and_next(page, "overall", lambda f: f.locator('input[value="unzufrieden"]').check())
    answer_and_next(
        page, "complaint", lambda f: f.locator("textarea").fill("Internet fällt abends aus")
    )
    answer_and_next(
        page, "callback_date", lambda f: f.locator('input[type="date"]').fill(CALLBACK_DAY)
    )
    # A required answer left empty is refused with a message, and the step stays.
    answer_and_next(page, "recommend")
    expect(page.locator("#script-error")).to_be_visible()
    expect(current_step(page)).to_have_attribute("data-step", "recommend")
    answer_and_next(page, "recommend", lambda f: f.locator("input[name=answer]").fill("4"))

    def channels(form: Any) -> None:
        form.locator('input[value="telefon"]').check()
        form.locator('input[value="chat"]').check()

    answer_and_next(page, "channels", channels)
    expect(current_step(page)).to_have_attribute("data-step", "email")

    # A reload in the middle of the script resumes where the agent was.
    page.reload()
    wait_for_live_desk(page)
    with page.expect_response(lambda response: "view=script" in response.url):
        page.locator('.navbar a[data-view="script"]').click()
    expect(current_step(page)).to_have_attribute("data-step", "email")
    progress = page.locator("#script-runner .script-progress")
    expect(progress).to_have_attribute("data-done", "6")

    # Back keeps the answers: the channels are still ticked.
    page.locator("#script-step-form .script-back").click()
    expect(current_step(page)).to_have_attribute("data-step", "channels")
    expect(page.locator('#script-step-form input[value="chat"]')).to_be_checked()
    expect(page.locator('#script-step-form input[value="email"]')).not_to_be_checked()
    answer_and_next(page, "channels")

    # The optional email stays empty; the condition on the earlier complaint picks the ending.
    answer_and_next(page, "email")
    expect(current_step(page)).to_have_attribute("data-step", "end_complaint")
    expect(page.locator("#script-step-form .script-text")).to_contain_text(CALLBACK_DAY)
    page.locator("#script-step-form .script-finish").click()
    expect(page.locator("#script-summary")).to_be_visible()
    expect(page.locator("#script-summary .script-outcome")).to_have_text("complaint")
    # The outcome's actions ran: a ticket and a callback, no failures.
    expect(page.locator("#script-summary .script-actions li")).to_have_count(3)
    expect(page.locator("#script-summary .script-actions li.error")).to_have_count(0)
    page.screenshot(path=SCREENSHOT)

    call = stored_call(e2e_server, call_id)
    [run] = e2e_server.query(
        "SELECT id, status, outcome, disposition, interaction_id, path FROM scripting_scriptrun"
    )
    assert (run["status"], run["outcome"], run["disposition"]) == (
        "finished", "complaint", "survey_complaint",
    )  # fmt: skip
    assert run["interaction_id"] == call["interaction_id"]
    answers = {
        row["key"]: row["display"]
        for row in e2e_server.query(
            "SELECT s.key, a.display FROM scripting_runanswer a "
            "JOIN scripting_step s ON s.id = a.step_id WHERE a.run_id = ?",
            run["id"],
        )
    }
    assert answers == {
        "consent": "Ja",
        "overall": "Unzufrieden",
        "complaint": "Internet fällt abends aus",
        "callback_date": CALLBACK_DAY,
        "recommend": "4",
        "channels": "Telefon, Chat",
    }
