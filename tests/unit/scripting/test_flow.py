# ruff: noqa: E501
"""The engine: every step kind's answers, branching on answers and conditions, placeholders."""

from __future__ import annotations

import pytest

from icenter.errors import DomainError
from scripting.flow import (
    Flow,
    FlowAnswer,
    FlowBranch,
    FlowStep,
    RunContext,
    answer_parse,
    next_key,
    progress,
)
from scripting.placeholders import render_html, render_text


def question(answer_type: str, *, required: bool = True, answers=None) -> FlowStep:
    return FlowStep(
        key="q", kind="question", answer_type=answer_type, is_required=required,
        answers=answers or [], next_key="end",
    )  # fmt: skip


CHOICES = [FlowAnswer("a", "Alpha"), FlowAnswer("b", "Beta"), FlowAnswer("c", "Gamma")]


@pytest.mark.parametrize(
    ("answer_type", "raw", "value", "display"),
    [
        ("text", "  Router blinkt rot  ", "Router blinkt rot", "Router blinkt rot"),
        ("single", "b", "b", "Beta"),
        ("multiple", ["c", "a"], ["a", "c"], "Alpha, Gamma"),
        ("yes_no", "yes", "yes", "Yes"),
        ("number", "12,50", "12.50", "12.50"),
        ("number", "7", "7", "7"),
        ("date", "2026-12-24", "2026-12-24", "2026-12-24"),
        ("phone", "030 1234567", "+49301234567", "+49301234567"),
        ("email", "Kaethe@Example.DE", "kaethe@example.de", "kaethe@example.de"),
    ],
)
def test_every_answer_type_accepts_a_good_answer(answer_type, raw, value, display):
    answers = CHOICES if answer_type in ("single", "multiple") else None
    parsed = answer_parse(question(answer_type, answers=answers), raw)
    assert (parsed.value, parsed.display) == (value, display)


@pytest.mark.parametrize(
    ("answer_type", "raw", "message"),
    [
        ("single", "x", "Choose one of the offered answers."),
        ("single", ["a", "b"], "Give one answer only."),
        ("multiple", ["a", "zz"], "Choose one of the offered answers."),
        ("yes_no", "maybe", "Choose one of the offered answers."),
        ("number", "zwölf", "“zwölf” is not a number."),
        ("date", "24.12.2026", "“24.12.2026” is not a date (YYYY-MM-DD)."),
        ("phone", "12", "“12” is not a valid phone number."),
        ("email", "kein@", "“kein@” is not a valid email address."),
        ("text", "x" * 2001, "An answer can be at most 2000 characters long."),
    ],
)
def test_every_answer_type_refuses_a_bad_answer_with_a_clear_message(answer_type, raw, message):
    answers = CHOICES if answer_type in ("single", "multiple") else None
    with pytest.raises(DomainError) as error:
        answer_parse(question(answer_type, answers=answers), raw)
    assert error.value.message == message


def test_a_required_question_refuses_no_answer_and_an_optional_one_takes_it():
    with pytest.raises(DomainError, match="needs an answer"):
        answer_parse(question("text"), "   ")
    assert answer_parse(question("text", required=False), "").value is None


def test_info_and_end_steps_take_no_answer():
    assert answer_parse(FlowStep(key="i", kind="info", next_key="e"), "anything").value is None


def branching_step() -> FlowStep:
    return FlowStep(
        key="q",
        kind="question",
        answer_type="single",
        answers=[FlowAnswer("a", "A", "to_a"), FlowAnswer("b", "B", None)],
        next_key="default",
    )


def test_the_answer_chooses_the_next_step_and_an_answer_without_target_takes_next():
    step = branching_step()
    assert next_key(step, RunContext(answers={"q": "a"})) == "to_a"
    assert next_key(step, RunContext(answers={"q": "b"})) == "default"


@pytest.mark.parametrize(
    ("branch", "context", "expected"),
    [
        (FlowBranch("answer", "gt", "vip", "budget", "100"), RunContext(answers={"budget": "250"}), "vip"),
        (FlowBranch("answer", "gt", "vip", "budget", "100"), RunContext(answers={"budget": "99.5"}), "to_a"),
        (FlowBranch("answer", "lt", "vip", "when", "2026-01-01"), RunContext(answers={"when": "2025-12-31"}), "vip"),
        (FlowBranch("answer", "contains", "vip", "ch", "chat"), RunContext(answers={"ch": ["mail", "chat"]}), "vip"),
        (FlowBranch("answer", "equals", "vip", "txt", "ja"), RunContext(answers={"txt": "JA"}), "vip"),
        (FlowBranch("answer", "not_empty", "vip", "complaint"), RunContext(answers={"complaint": "laut"}), "vip"),
        (FlowBranch("answer", "is_empty", "vip", "complaint"), RunContext(answers={}), "vip"),
        (FlowBranch("account.is_vip", "is_true", "vip"), RunContext(account={"is_vip": True}), "vip"),
        (FlowBranch("account.is_vip", "is_true", "vip"), RunContext(account={"is_vip": False}), "to_a"),
        (FlowBranch("account.customer_group", "equals", "vip", value="gewerbe"), RunContext(account={"customer_group_code": "gewerbe"}), "vip"),
        (FlowBranch("account.customer_group", "equals", "vip", value="gewerbe"), RunContext(account={}), "to_a"),
        (FlowBranch("campaign", "equals", "vip", value="herbst"), RunContext(campaign={"code": "herbst"}), "vip"),
        (FlowBranch("campaign", "not_equals", "vip", value="herbst"), RunContext(campaign={"code": "winter"}), "vip"),
    ],
)  # fmt: skip
def test_conditions_on_answers_account_and_campaign_choose_the_next_step(branch, context, expected):
    step = branching_step()
    step.branches = [branch]
    context.answers.setdefault("q", "a")
    assert next_key(step, context) == expected


def test_the_first_condition_that_holds_wins():
    step = branching_step()
    step.branches = [
        FlowBranch("account.is_vip", "is_true", "first"),
        FlowBranch("account.is_vip", "is_true", "second"),
    ]
    assert next_key(step, RunContext(account={"is_vip": True}, answers={"q": "a"})) == "first"


def test_progress_counts_the_shortest_way_to_the_end():
    flow = Flow(
        steps=[
            FlowStep(key="a", kind="info", next_key="b"),
            FlowStep(key="b", kind="info", next_key="c"),
            FlowStep(key="c", kind="end", outcome="done"),
        ]
    )
    assert (progress(flow, ["a"]).done, progress(flow, ["a"]).total) == (0, 3)
    assert (progress(flow, ["a", "b"]).done, progress(flow, ["a", "b"]).total) == (1, 3)
    assert progress(flow, ["a", "b", "c"]).percent == 100


def test_placeholders_are_filled_and_everything_is_html_escaped():
    context = RunContext(
        account={"name": "Müller <GmbH> & Co"}, answer_texts={"budget": "<b>500</b>"}
    )
    html = render_html("<script>alert(1)</script> {account.name}: {answers.budget}", context)
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert '<span class="ph">Müller &lt;GmbH&gt; &amp; Co</span>' in html
    assert "&lt;b&gt;500&lt;/b&gt;" in html


def test_a_placeholder_without_data_shows_an_empty_visible_marker_instead_of_failing():
    html = render_html("Hallo {contact.full_name}, {unknown.thing}!", RunContext())
    assert html.count('class="ph-missing"') == 2
    assert "No data for {contact.full_name}" in html
    assert render_text("Ticket für {account.name}", RunContext()) == "Ticket für "
