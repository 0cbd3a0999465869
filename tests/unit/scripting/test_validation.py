# ruff: noqa: E501
"""Validation on publish: every rule, with a message that names the step."""

from __future__ import annotations

import pytest

from scripting.flow import Flow, FlowAction, FlowAnswer, FlowBranch, FlowStep
from scripting.validation import flow_validate


def end(key: str = "end", **kwargs) -> FlowStep:
    return FlowStep(key=key, kind="end", outcome=kwargs.pop("outcome", "done"), **kwargs)


def codes(flow: Flow, **kwargs) -> set[tuple[str, str]]:
    return {(p.step, p.code) for p in flow_validate(flow, **kwargs)}


def test_a_correct_script_has_no_problems():
    flow = Flow(
        steps=[
            FlowStep(key="hello", kind="info", text="Hallo {account.name}", next_key="ask"),
            FlowStep(
                key="ask",
                kind="question",
                answer_type="yes_no",
                answers=[FlowAnswer("yes", "Ja", "end"), FlowAnswer("no", "Nein", "bye")],
            ),
            end(text="Danke, {answers.ask}"),
            end("bye"),
        ]
    )
    assert flow_validate(flow, offer_lists=set()) == []


def test_an_empty_script_cannot_be_published():
    assert codes(Flow(steps=[])) == {("", "empty")}


def test_every_branch_target_must_exist():
    flow = Flow(
        steps=[
            FlowStep(
                key="a",
                kind="question",
                answer_type="single",
                answers=[FlowAnswer("x", "X", "nowhere"), FlowAnswer("y", "Y", "end")],
                branches=[FlowBranch("account.is_vip", "is_true", "ghost")],
            ),
            end(),
        ]
    )
    problems = flow_validate(flow)
    messages = [p.message for p in problems if p.code == "target_missing"]
    assert messages == [
        "Step “a” leads to step “nowhere”, which does not exist.",
        "Step “a” leads to step “ghost”, which does not exist.",
    ]


def test_every_step_must_be_reachable_from_the_first():
    flow = Flow(
        steps=[
            FlowStep(key="a", kind="info", next_key="end"),
            FlowStep(key="lost", kind="info", title="Vergessen", next_key="end"),
            end(),
        ]
    )
    problems = [p for p in flow_validate(flow) if p.code == "unreachable"]
    assert [p.message for p in problems] == [
        "Step “lost” (Vergessen) cannot be reached from the first step “a”."
    ]


def test_every_path_must_end_a_step_without_a_way_on_is_named():
    flow = Flow(
        steps=[FlowStep(key="a", kind="info", next_key="b"), FlowStep(key="b", kind="info"), end()]
    )
    assert ("b", "dead_end") in codes(flow)


def test_answers_that_lead_nowhere_are_named_when_others_do():
    flow = Flow(
        steps=[
            FlowStep(
                key="a",
                kind="question",
                answer_type="single",
                answers=[FlowAnswer("x", "Gut", "end"), FlowAnswer("y", "Schlecht")],
            ),
            end(),
        ]
    )
    [problem] = [p for p in flow_validate(flow) if p.code == "dead_end"]
    assert "the answers “Schlecht” lead nowhere" in problem.message


def test_conditions_alone_are_no_way_on_because_none_may_hold():
    flow = Flow(
        steps=[
            FlowStep(
                key="a", kind="info", branches=[FlowBranch("account.is_vip", "is_true", "end")]
            ),
            end(),
        ]
    )
    assert ("a", "dead_end") in codes(flow)


def test_a_loop_without_an_exit_is_refused_but_a_loop_with_one_is_fine():
    looping = Flow(
        steps=[
            FlowStep(key="a", kind="info", next_key="b"),
            FlowStep(key="b", kind="info", next_key="a"),
            end(),
        ]
    )
    assert {("a", "no_exit"), ("b", "no_exit")} <= codes(looping)
    with_exit = Flow(
        steps=[
            FlowStep(
                key="a",
                kind="question",
                answer_type="yes_no",
                answers=[FlowAnswer("yes", "Noch mal", "a"), FlowAnswer("no", "Fertig", "end")],
            ),
            end(),
        ]
    )
    assert flow_validate(with_exit) == []


def test_there_must_be_an_end_step_with_an_outcome_that_does_not_continue():
    flow = Flow(
        steps=[
            FlowStep(key="a", kind="info", next_key="z"),
            FlowStep(key="z", kind="end", next_key="a"),
        ]
    )
    found = codes(flow)
    assert ("z", "end_outcome") in found
    assert ("z", "end_continues") in found
    assert ("", "no_end") in codes(Flow(steps=[FlowStep(key="a", kind="info", next_key="a")]))


@pytest.mark.parametrize(
    ("step", "expected"),
    [
        (FlowStep(key="q", kind="question", answer_type="single", answers=[FlowAnswer("a", "A")], next_key="end"), "needs at least two answers"),
        (FlowStep(key="q", kind="question", answer_type="multiple", answers=[FlowAnswer("a", "A"), FlowAnswer("a", "B")], next_key="end"), "offers the same answer twice"),
        (FlowStep(key="q", kind="question", answer_type="single", answers=[FlowAnswer("a", ""), FlowAnswer("b", "B")], next_key="end"), "an answer without a value or label"),
        (FlowStep(key="q", kind="question", answer_type="yes_no", answers=[FlowAnswer("ja", "Ja"), FlowAnswer("no", "Nein")], next_key="end"), "exactly the answers “yes” and “no”"),
        (FlowStep(key="q", kind="question", answer_type="number", answers=[FlowAnswer("a", "A")], next_key="end"), "cannot have answers to choose from"),
        (FlowStep(key="q", kind="question", answer_type="", next_key="end"), "needs an answer type"),
        (FlowStep(key="q", kind="info", answer_type="text", next_key="end"), "is not a question but has an answer type"),
    ],
)  # fmt: skip
def test_choice_answers_must_be_complete(step, expected):
    problems = flow_validate(Flow(steps=[step, end()]))
    assert any(expected in p.message and p.step == "q" for p in problems), problems


def test_placeholders_must_be_known():
    flow = Flow(
        steps=[
            FlowStep(
                key="a",
                kind="info",
                text="{account.name} {account.shoe_size} {answers.nope} {foo.bar}",
                next_key="end",
            ),
            end(),
        ]
    )
    messages = [p.message for p in flow_validate(flow) if p.code == "placeholder"]
    assert messages == [
        "Step “a”: {account.shoe_size} is not a known placeholder.",
        "Step “a”: {answers.nope} refers to no question of this script.",
        "Step “a”: {foo.bar} is not a known placeholder.",
    ]


def test_conditions_must_fit_their_subject_and_name_a_question():
    flow = Flow(
        steps=[
            FlowStep(
                key="a",
                kind="info",
                next_key="end",
                branches=[
                    FlowBranch("account.is_vip", "gt", "end", value="3"),
                    FlowBranch("answer", "equals", "end", answer_key="missing", value="x"),
                    FlowBranch("campaign", "equals", "end"),
                ],
            ),
            end(),
        ]
    )
    messages = [p.message for p in flow_validate(flow) if p.code == "condition"]
    assert messages == [
        "Step “a”, condition 1: this comparison does not fit its subject.",
        "Step “a”, condition 2 checks the answer of “missing”, which is not a question of this script.",
        "Step “a”, condition 3 needs a value to compare with.",
    ]


def test_actions_are_checked_by_their_handler_and_only_end_steps_run_actions():
    flow = Flow(
        steps=[
            FlowStep(
                key="a", kind="info", next_key="end", actions=[FlowAction("set_disposition", "x")]
            ),
            end(
                actions=[
                    FlowAction("set_disposition", ""),
                    FlowAction("schedule_callback", "a"),
                    FlowAction("mark_lead_qualified", "vielleicht"),
                    FlowAction("offer_products", offer_list="gibtsnicht"),
                    FlowAction("create_ticket", "Ticket {answers.none}"),
                ]
            ),
        ]
    )
    messages = [
        p.message for p in flow_validate(flow, offer_lists={"zusatz"}) if p.code == "action"
    ]
    assert messages == [
        "Step “a” has actions, but only end steps run actions.",
        "Step “end”: the disposition action needs a disposition code.",
        "Step “end”: the callback action needs the key of a date question or a number of hours.",
        "Step “end”: the lead action takes “yes”, “no” or nothing.",
        "Step “end”: the offer action needs an existing offer list.",
        "Step “end”, ticket subject: {answers.none} refers to no question of this script.",
    ]


def test_a_500_step_script_is_validated():
    steps = [FlowStep(key=f"s{i}", kind="info", next_key=f"s{i + 1}") for i in range(499)]
    steps.append(end("s499"))
    assert flow_validate(Flow(steps=steps)) == []
