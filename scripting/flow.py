"""A script version as plain data, and the rules that move a run through it.

The same `Flow` is built from the database (selectors.flow_for_version), from an
import file (interchange.py) and in benchmarks, so validation, the desk runner and
the admin's "try it" preview all share one engine that touches no database.
"""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext as _

from accounts.phone import phone_parse
from icenter.errors import DomainError

INFO, QUESTION, END = "info", "question", "end"
KINDS = (INFO, QUESTION, END)
TEXT, SINGLE, MULTIPLE, YES_NO = "text", "single", "multiple", "yes_no"
NUMBER, DATE, PHONE, EMAIL = "number", "date", "phone", "email"
ANSWER_TYPES = (TEXT, SINGLE, MULTIPLE, YES_NO, NUMBER, DATE, PHONE, EMAIL)
CHOICE_TYPES = (SINGLE, MULTIPLE, YES_NO)
YES, NO = "yes", "no"
TEXT_MAX_LENGTH = 2000

SUBJECTS = ("answer", "account.is_vip", "account.customer_group", "campaign")
OPERATORS = (
    "equals",
    "not_equals",
    "contains",
    "gt",
    "lt",
    "is_true",
    "is_false",
    "is_empty",
    "not_empty",
)
# Which operators make sense for each subject.
SUBJECT_OPERATORS: dict[str, tuple[str, ...]] = {
    "answer": (
        "equals",
        "not_equals",
        "contains",
        "gt",
        "lt",
        "is_true",
        "is_false",
        "is_empty",
        "not_empty",
    ),
    "account.is_vip": ("is_true", "is_false"),
    "account.customer_group": ("equals", "not_equals", "is_empty", "not_empty"),
    "campaign": ("equals", "not_equals", "is_empty", "not_empty"),
}
NEEDS_VALUE = ("equals", "not_equals", "contains", "gt", "lt")

KEY_RE = re.compile(r"^[-a-zA-Z0-9_]+$")


@dataclass
class FlowAnswer:
    value: str
    label: str
    next_key: str | None = None


@dataclass
class FlowBranch:
    subject: str
    operator: str
    next_key: str
    answer_key: str = ""
    value: str = ""


@dataclass
class FlowAction:
    kind: str
    value: str = ""
    offer_list: str = ""  # the offer list's code
    top_n: int = 3


@dataclass
class FlowStep:
    key: str
    kind: str
    text: str = ""
    title: str = ""
    answer_type: str = ""
    is_required: bool = True
    next_key: str | None = None
    outcome: str = ""
    answers: list[FlowAnswer] = field(default_factory=list)
    branches: list[FlowBranch] = field(default_factory=list)
    actions: list[FlowAction] = field(default_factory=list)
    offer_list: str = ""
    offer_count: int = 3
    id: int | None = None

    @property
    def is_question(self) -> bool:
        return self.kind == QUESTION

    @property
    def is_end(self) -> bool:
        return self.kind == END

    def choices(self) -> list[FlowAnswer]:
        """The answers to pick from; a yes/no question without own answers offers yes and no."""
        if self.answer_type == YES_NO and not self.answers:
            return [FlowAnswer(YES, _("Yes")), FlowAnswer(NO, _("No"))]
        return self.answers

    def targets(self) -> list[tuple[str, str]]:
        """(description, key) of every step this one can lead to."""
        out: list[tuple[str, str]] = []
        if self.next_key:
            out.append(("next", self.next_key))
        out.extend((f"answer:{a.value}", a.next_key) for a in self.answers if a.next_key)
        out.extend((f"branch:{i}", b.next_key) for i, b in enumerate(self.branches) if b.next_key)
        return out


@dataclass
class Flow:
    """The steps of one script version, first step first."""

    steps: list[FlowStep]
    name: str = ""
    version_id: int | None = None
    _by_key: dict[str, FlowStep] = field(default_factory=dict, repr=False)
    _by_id: dict[int, FlowStep] = field(default_factory=dict, repr=False)
    _to_end: dict[str, int] | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self._by_key = {step.key: step for step in self.steps}
        self._by_id = {step.id: step for step in self.steps if step.id is not None}

    @property
    def start(self) -> FlowStep | None:
        return self.steps[0] if self.steps else None

    def get(self, key: str | None) -> FlowStep | None:
        return self._by_key.get(key) if key else None

    def get_by_id(self, step_id: int) -> FlowStep | None:
        """The step stored with this id (flows loaded from the database)."""
        return self._by_id.get(step_id)

    def distance_to_end(self, key: str) -> int:
        """How many steps the shortest way from this step to an end takes (0 on an end)."""
        if self._to_end is None:
            self._to_end = _distances_to_end(self)
        return self._to_end.get(key, 0)


def _distances_to_end(flow: Flow) -> dict[str, int]:
    incoming: dict[str, list[str]] = {step.key: [] for step in flow.steps}
    for step in flow.steps:
        for _kind, target in step.targets():
            if target in incoming:
                incoming[target].append(step.key)
    distance = {step.key: 0 for step in flow.steps if step.is_end}
    queue = deque(distance)
    while queue:
        key = queue.popleft()
        for source in incoming[key]:
            if source not in distance:
                distance[source] = distance[key] + 1
                queue.append(source)
    return distance


# -- the context a run sees ------------------------------------------------------------------


@dataclass
class RunContext:
    """What placeholders and conditions read: the customer, the campaign and the answers."""

    account: dict[str, Any] = field(default_factory=dict)
    contact: dict[str, Any] = field(default_factory=dict)
    campaign: dict[str, Any] = field(default_factory=dict)
    agent: dict[str, Any] = field(default_factory=dict)
    answers: dict[str, Any] = field(default_factory=dict)  # step key -> stored value
    answer_texts: dict[str, str] = field(default_factory=dict)  # step key -> display text


# -- answers -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ParsedAnswer:
    value: Any  # str, list[str] or None (no answer)
    display: str


def answer_parse(step: FlowStep, raw: str | list[str] | None) -> ParsedAnswer:
    """Check an agent's input against the question; a DomainError says what is wrong."""
    values = [v for v in (raw if isinstance(raw, list) else [raw or ""]) if v is not None]
    values = [str(v).strip() for v in values if str(v).strip()]
    if not step.is_question:
        return ParsedAnswer(None, "")
    if not values:
        if step.is_required:
            raise DomainError(_("This question needs an answer."), field="answer")
        return ParsedAnswer(None, "")
    kind = step.answer_type
    if kind == MULTIPLE:
        labels = {a.value: a.label for a in step.choices()}
        unknown = [v for v in values if v not in labels]
        if unknown:
            raise DomainError(_("Choose one of the offered answers."), field="answer")
        chosen = [a.value for a in step.choices() if a.value in values]
        return ParsedAnswer(chosen, ", ".join(labels[v] for v in chosen))
    if len(values) > 1:
        raise DomainError(_("Give one answer only."), field="answer")
    value = values[0]
    if kind in (SINGLE, YES_NO):
        for choice in step.choices():
            if choice.value == value:
                return ParsedAnswer(value, choice.label)
        raise DomainError(_("Choose one of the offered answers."), field="answer")
    if kind == NUMBER:
        try:
            number = Decimal(value.replace(" ", "").replace(",", "."))
        except InvalidOperation:
            number = None
        if number is None or not number.is_finite():
            raise DomainError(_("“%(value)s” is not a number.") % {"value": value}, field="answer")
        text = format(number.normalize(), "f") if number == number.to_integral() else str(number)
        return ParsedAnswer(text, text)
    if kind == DATE:
        try:
            parsed = date.fromisoformat(value)
        except ValueError:
            raise DomainError(
                _("“%(value)s” is not a date (YYYY-MM-DD).") % {"value": value}, field="answer"
            ) from None
        return ParsedAnswer(parsed.isoformat(), parsed.isoformat())
    if kind == PHONE:
        number_parsed = phone_parse(value)
        if not number_parsed.is_valid:
            raise DomainError(
                _("“%(value)s” is not a valid phone number.") % {"value": value}, field="answer"
            )
        return ParsedAnswer(number_parsed.e164, number_parsed.e164)
    if kind == EMAIL:
        try:
            validate_email(value)
        except ValidationError:
            raise DomainError(
                _("“%(value)s” is not a valid email address.") % {"value": value}, field="answer"
            ) from None
        return ParsedAnswer(value.lower(), value.lower())
    if len(value) > TEXT_MAX_LENGTH:
        raise DomainError(
            _("An answer can be at most %(max)d characters long.") % {"max": TEXT_MAX_LENGTH},
            field="answer",
        )
    return ParsedAnswer(value, value)


# -- where to go next --------------------------------------------------------------------------


def _number(value: Any) -> Decimal | None:
    try:
        return Decimal(str(value).replace(",", "."))
    except (InvalidOperation, ValueError):
        return None


def _compare(actual: Any, operator: str, expected: str) -> bool:
    """Apply a condition's operator; lists (multiple choice) contain, numbers compare as numbers."""
    if operator == "is_empty":
        return actual in (None, "", [])
    if operator == "not_empty":
        return actual not in (None, "", [])
    if operator == "is_true":
        return actual in (True, YES, "true", "1")
    if operator == "is_false":
        return actual not in (True, YES, "true", "1")
    if actual is None:
        return operator == "not_equals"
    if operator in ("gt", "lt"):
        left, right = _number(actual), _number(expected)
        if left is None or right is None:
            # Dates (YYYY-MM-DD) compare as text.
            left_text, right_text = str(actual), expected
            return left_text > right_text if operator == "gt" else left_text < right_text
        return left > right if operator == "gt" else left < right
    if isinstance(actual, list):
        found = expected in actual
        if operator == "not_equals":
            return not found
        return found
    text = str(actual)
    if operator == "equals":
        return text.casefold() == expected.casefold()
    if operator == "not_equals":
        return text.casefold() != expected.casefold()
    if operator == "contains":
        return expected.casefold() in text.casefold()
    return False


def condition_holds(branch: FlowBranch, context: RunContext) -> bool:
    """Whether a step's condition holds for this run."""
    if branch.subject == "answer":
        actual = context.answers.get(branch.answer_key)
    elif branch.subject == "account.is_vip":
        actual = bool(context.account.get("is_vip"))
    elif branch.subject == "account.customer_group":
        actual = context.account.get("customer_group_code") or ""
    elif branch.subject == "campaign":
        actual = context.campaign.get("code") or ""
    else:
        return False
    return _compare(actual, branch.operator, branch.value)


def next_key(step: FlowStep, context: RunContext) -> str | None:
    """The step after this one: the first condition that holds, else the answer's, else next."""
    for branch in step.branches:
        if condition_holds(branch, context):
            return branch.next_key
    value = context.answers.get(step.key)
    if step.answer_type in (SINGLE, YES_NO) and isinstance(value, str):
        for answer in step.answers:
            if answer.value == value and answer.next_key:
                return answer.next_key
    return step.next_key


@dataclass(frozen=True)
class Progress:
    done: int
    total: int

    @property
    def percent(self) -> int:
        return round(100 * self.done / self.total) if self.total else 100


def progress(flow: Flow, path: list[str]) -> Progress:
    """Steps behind the agent, and the fewest steps to the end counting the current one."""
    current = flow.get(path[-1]) if path else None
    done = max(len(path) - 1, 0)
    if current is None:
        return Progress(done=done, total=done)
    if current.is_end:
        return Progress(done=done + 1, total=done + 1)
    return Progress(done=done, total=done + flow.distance_to_end(current.key) + 1)
