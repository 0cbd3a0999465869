"""Checks a script version must pass before it is published (and an import before it is stored).

Every problem names the step and says what is wrong in a manager's words.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from django.utils.translation import gettext as _

from scripting import actions
from scripting.flow import (
    ANSWER_TYPES,
    CHOICE_TYPES,
    KINDS,
    MULTIPLE,
    NEEDS_VALUE,
    NO,
    SINGLE,
    SUBJECT_OPERATORS,
    YES,
    YES_NO,
    Flow,
    FlowStep,
)
from scripting.placeholders import placeholder_problem, placeholders_in


@dataclass(frozen=True)
class Problem:
    step: str  # the step's key, "" for the script as a whole
    code: str
    message: str

    def __str__(self) -> str:
        return self.message


def _name(step: FlowStep) -> str:
    return f"“{step.key}”" + (f" ({step.title})" if step.title else "")


def flow_validate(flow: Flow, *, offer_lists: set[str] | None = None) -> list[Problem]:
    """Every reason the version cannot be published; empty when it can."""
    problems: list[Problem] = []

    def add(step: FlowStep | None, code: str, message: str) -> None:
        problems.append(Problem(step.key if step else "", code, message))

    if not flow.steps:
        add(None, "empty", _("The script has no steps yet."))
        return problems
    keys: set[str] = set()
    for step in flow.steps:
        if step.key in keys:
            add(step, "duplicate_key", _("Two steps use the key “%(key)s”.") % {"key": step.key})
        keys.add(step.key)
    question_keys = {s.key for s in flow.steps if s.is_question}

    for step in flow.steps:
        where = {"step": _name(step)}
        if step.kind not in KINDS:
            add(step, "kind", _("Step %(step)s has an unknown kind.") % where)
            continue
        _check_targets(flow, step, add)
        _check_answers(step, add)
        _check_placeholders(step, question_keys, add)
        _check_branches(step, question_keys, add)
        _check_actions(step, flow, offer_lists, add)
        if step.offer_list and offer_lists is not None and step.offer_list not in offer_lists:
            add(
                step,
                "offer_list",
                _("Step %(step)s shows offers from a list that does not exist.") % where,
            )
        if step.is_end:
            if step.next_key or step.answers or step.branches:
                add(
                    step,
                    "end_continues",
                    _("Step %(step)s ends the script but also leads to another step.") % where,
                )
            if not step.outcome:
                add(
                    step,
                    "end_outcome",
                    _("End step %(step)s needs an outcome (for example “completed”).") % where,
                )
        elif not _has_fallback(step):
            add(step, "dead_end", _dead_end_message(step))
    if not any(step.is_end for step in flow.steps):
        add(None, "no_end", _("The script has no end step."))
    _check_graph(flow, add)
    return problems


def _has_fallback(step: FlowStep) -> bool:
    """Whether the step always knows where to go, whatever the conditions say."""
    if step.next_key:
        return True
    if step.answer_type in (SINGLE, YES_NO):
        choices = step.choices()
        return bool(choices) and all(answer.next_key for answer in choices)
    return False


def _dead_end_message(step: FlowStep) -> str:
    loose = [a.label for a in step.choices() if not a.next_key]
    if step.answer_type in (SINGLE, YES_NO) and loose and len(loose) < len(step.choices()):
        return _(
            "Step %(step)s: the answers %(answers)s lead nowhere. Give them a step to go to, "
            "or give the step a next step."
        ) % {"step": _name(step), "answers": ", ".join(f"“{label}”" for label in loose)}
    return _(
        "Step %(step)s does not say where to go next. Give it a next step, or end the script "
        "with an end step."
    ) % {"step": _name(step)}


def _check_targets(flow: Flow, step: FlowStep, add: actions.AddProblem) -> None:
    for _kind, target in step.targets():
        if flow.get(target) is None:
            add(
                step,
                "target_missing",
                _("Step %(step)s leads to step “%(target)s”, which does not exist.")
                % {"step": _name(step), "target": target},
            )


def _check_answers(step: FlowStep, add: actions.AddProblem) -> None:
    where = {"step": _name(step)}
    if not step.is_question:
        if step.answer_type:
            add(
                step,
                "answer_type",
                _("Step %(step)s is not a question but has an answer type.") % where,
            )
        if step.answers:
            add(step, "choices", _("Step %(step)s is not a question but has answers.") % where)
        return
    if step.answer_type not in ANSWER_TYPES:
        add(step, "answer_type", _("Question %(step)s needs an answer type.") % where)
        return
    if step.answer_type not in CHOICE_TYPES:
        if step.answers:
            add(
                step,
                "choices",
                _("Question %(step)s asks for %(type)s, so it cannot have answers to choose from.")
                % {**where, "type": step.answer_type},
            )
        return
    values = [a.value for a in step.answers]
    if any(not a.label.strip() or not a.value.strip() for a in step.answers):
        add(step, "choices", _("Question %(step)s has an answer without a value or label.") % where)
    if len(values) != len(set(values)):
        add(step, "choices", _("Question %(step)s offers the same answer twice.") % where)
    if step.answer_type in (SINGLE, MULTIPLE) and len(step.answers) < 2:
        add(
            step,
            "choices",
            _("Question %(step)s needs at least two answers to choose from.") % where,
        )
    if step.answer_type == YES_NO and step.answers and sorted(values) != [NO, YES]:
        add(
            step,
            "choices",
            _("Yes/no question %(step)s needs exactly the answers “yes” and “no”.") % where,
        )


def _check_placeholders(step: FlowStep, question_keys: set[str], add: actions.AddProblem) -> None:
    for namespace, name in placeholders_in(f"{step.title}\n{step.text}"):
        problem = placeholder_problem(namespace, name, answer_keys=question_keys)
        if problem:
            add(
                step,
                "placeholder",
                _("Step %(step)s: %(problem)s") % {"step": _name(step), "problem": problem},
            )


def _check_branches(step: FlowStep, question_keys: set[str], add: actions.AddProblem) -> None:
    for number, branch in enumerate(step.branches, start=1):
        where = {"step": _name(step), "number": number}
        operators = SUBJECT_OPERATORS.get(branch.subject)
        if operators is None:
            add(
                step,
                "condition",
                _("Step %(step)s, condition %(number)d: unknown subject.") % where,
            )
            continue
        if branch.operator not in operators:
            add(
                step,
                "condition",
                _("Step %(step)s, condition %(number)d: this comparison does not fit its subject.")
                % where,
            )
        if branch.subject == "answer" and branch.answer_key not in question_keys:
            add(
                step,
                "condition",
                _(
                    "Step %(step)s, condition %(number)d checks the answer of “%(key)s”, "
                    "which is not a question of this script."
                )
                % {**where, "key": branch.answer_key},
            )
        if branch.operator in NEEDS_VALUE and not branch.value.strip():
            add(
                step,
                "condition",
                _("Step %(step)s, condition %(number)d needs a value to compare with.") % where,
            )


def _check_actions(
    step: FlowStep, flow: Flow, offer_lists: set[str] | None, add: actions.AddProblem
) -> None:
    if step.actions and not step.is_end:
        add(
            step,
            "action",
            _("Step %(step)s has actions, but only end steps run actions.") % {"step": _name(step)},
        )
    for action in step.actions:
        handler = actions.REGISTRY.get(action.kind)
        if handler is None:
            add(step, "action", _("Step %(step)s has an unknown action.") % {"step": _name(step)})
            continue
        handler.check(step=step, action=action, flow=flow, offer_lists=offer_lists, add=add)


def _check_graph(flow: Flow, add: actions.AddProblem) -> None:
    start = flow.start
    assert start is not None
    reachable = {start.key}
    queue = deque([start.key])
    while queue:
        step = flow.get(queue.popleft())
        assert step is not None
        for _kind, target in step.targets():
            if target not in reachable and flow.get(target) is not None:
                reachable.add(target)
                queue.append(target)
    for step in flow.steps:
        if step.key not in reachable:
            add(
                step,
                "unreachable",
                _("Step %(step)s cannot be reached from the first step “%(start)s”.")
                % {"step": _name(step), "start": start.key},
            )
    # Steps that cannot reach an end step and come back to themselves loop for ever
    # (a chain that just runs into a dead end is reported as that dead end).
    stuck = {
        step.key
        for step in flow.steps
        if step.key in reachable and not step.is_end and flow.distance_to_end(step.key) == 0
    }
    for step in flow.steps:
        if step.key in stuck and _returns_to_itself(flow, step.key, stuck):
            add(
                step,
                "no_exit",
                _("Step %(step)s is in a loop that never reaches an end step.")
                % {"step": _name(step)},
            )


def _returns_to_itself(flow: Flow, key: str, within: set[str]) -> bool:
    seen: set[str] = set()
    stack = [key]
    while stack:
        step = flow.get(stack.pop())
        assert step is not None
        for _kind, target in step.targets():
            if target == key:
                return True
            if target in within and target not in seen:
                seen.add(target)
                stack.append(target)
    return False
