"""JSON import and export of script versions (schema: docs/scripting/script.schema.json).

The import is strict: an unknown field, a wrong type, a duplicate key or a step that
leads nowhere is refused with the line and the field named, and nothing is stored
unless everything is right. Flow problems that only matter for publishing (an
unreachable step, say) do not stop an import into a draft; they come back as warnings.
"""

from __future__ import annotations

import bisect
import json
import json.decoder
import json.scanner
import re
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from icenter.errors import DomainError
from scripting.flow import (
    ANSWER_TYPES,
    KINDS,
    OPERATORS,
    SUBJECTS,
    Flow,
    FlowAction,
    FlowAnswer,
    FlowBranch,
    FlowStep,
)
from scripting.models import (
    Answer,
    Branch,
    OfferList,
    Script,
    ScriptVersion,
    Step,
    StepAction,
)
from scripting.selectors import flow_for_version, offer_list_codes
from scripting.validation import Problem, flow_validate

FORMAT = "icenter-script"
FORMAT_VERSION = 1
ACTION_KINDS = (
    "create_ticket",
    "set_disposition",
    "schedule_callback",
    "mark_lead_qualified",
    "offer_products",
)
SLUG_RE = re.compile(r"^[-a-zA-Z0-9_]+$")
MAX_STEPS = 2000


@dataclass(frozen=True)
class ImportProblem:
    line: int
    field: str
    message: str

    def __str__(self) -> str:
        return _("Line %(line)d, %(field)s: %(message)s") % {
            "line": self.line,
            "field": self.field or _("file"),
            "message": self.message,
        }


class ImportFailed(DomainError):
    """The file was refused; nothing was stored. `problems` names line and field of each."""

    def __init__(self, problems: list[ImportProblem]) -> None:
        message = _("Nothing was imported. %(first)s") % {"first": problems[0]}
        if len(problems) > 1:
            message += " " + _("(%(count)d problems in all)") % {"count": len(problems)}
        super().__init__(
            message,
            problems=[{"line": p.line, "field": p.field, "message": p.message} for p in problems],
        )
        self.problems = problems


# -- a JSON reader that remembers where each value stands --------------------------------------


class LDict(dict[str, Any]):
    line: int = 1
    lines: dict[str, int]


class LList(list[Any]):
    line: int = 1
    lines: list[int]


class _Reader:
    """Plain JSON, but objects and arrays remember the line of each member; no duplicate keys."""

    WHITESPACE = re.compile(r"[ \t\n\r]*")

    def __init__(self, text: str) -> None:
        self.text = text
        self.newlines = [i for i, ch in enumerate(text) if ch == "\n"]

    def line(self, pos: int) -> int:
        return bisect.bisect_left(self.newlines, pos) + 1

    def fail(self, pos: int, message: str) -> ImportFailed:
        return ImportFailed([ImportProblem(self.line(pos), "", message)])

    def skip(self, pos: int) -> int:
        match = self.WHITESPACE.match(self.text, pos)
        assert match is not None
        return match.end()

    def read(self) -> Any:
        pos = self.skip(0)
        if pos >= len(self.text):
            raise self.fail(pos, _("The file is empty."))
        value, pos = self.value(pos)
        pos = self.skip(pos)
        if pos != len(self.text):
            raise self.fail(pos, _("Unexpected text after the end of the JSON document."))
        return value

    def value(self, pos: int) -> tuple[Any, int]:
        text = self.text
        if pos >= len(text):
            raise self.fail(pos, _("The file ends too early."))
        char = text[pos]
        if char == "{":
            return self.object(pos)
        if char == "[":
            return self.array(pos)
        if char == '"':
            try:
                return json.decoder.scanstring(text, pos + 1)  # type: ignore[attr-defined]
            except json.JSONDecodeError as exc:
                raise self.fail(
                    exc.pos, _("Invalid text string: %(error)s") % {"error": exc.msg}
                ) from None
        for literal, result in (("null", None), ("true", True), ("false", False)):
            if text.startswith(literal, pos):
                return result, pos + len(literal)
        match = json.scanner.NUMBER_RE.match(text, pos)
        if match is not None and match.group(0):
            integer, fraction, exponent = match.groups()
            number: Any = (
                float(integer + (fraction or "") + (exponent or ""))
                if fraction or exponent
                else int(integer)
            )
            return number, match.end()
        raise self.fail(
            pos, _("Expected a value (text, number, object, list, true, false or null).")
        )

    def object(self, pos: int) -> tuple[LDict, int]:
        result = LDict()
        result.line, result.lines = self.line(pos), {}
        pos = self.skip(pos + 1)
        if self.text.startswith("}", pos):
            return result, pos + 1
        while True:
            if not self.text.startswith('"', pos):
                raise self.fail(pos, _("Expected a field name in double quotes."))
            key_line = self.line(pos)
            key, pos = self.value(pos)
            if key in result:
                raise ImportFailed([ImportProblem(key_line, key, _("This field appears twice."))])
            pos = self.skip(pos)
            if not self.text.startswith(":", pos):
                raise self.fail(pos, _("Expected “:” after the field name."))
            pos = self.skip(pos + 1)
            value, pos = self.value(pos)
            result[key], result.lines[key] = value, key_line
            pos = self.skip(pos)
            if self.text.startswith(",", pos):
                pos = self.skip(pos + 1)
                continue
            if self.text.startswith("}", pos):
                return result, pos + 1
            raise self.fail(pos, _("Expected “,” or “}”."))

    def array(self, pos: int) -> tuple[LList, int]:
        result = LList()
        result.line, result.lines = self.line(pos), []
        pos = self.skip(pos + 1)
        if self.text.startswith("]", pos):
            return result, pos + 1
        while True:
            line = self.line(pos)
            value, pos = self.value(pos)
            result.append(value)
            result.lines.append(line)
            pos = self.skip(pos)
            if self.text.startswith(",", pos):
                pos = self.skip(pos + 1)
                continue
            if self.text.startswith("]", pos):
                return result, pos + 1
            raise self.fail(pos, _("Expected “,” or “]”."))


# -- the schema, checked field by field -------------------------------------------------------


class _Checker:
    def __init__(self) -> None:
        self.problems: list[ImportProblem] = []

    def add(self, line: int, field: str, message: str) -> None:
        self.problems.append(ImportProblem(line, field, message))

    def obj(
        self,
        value: Any,
        path: str,
        line: int,
        *,
        required: dict[str, Any],
        optional: dict[str, Any],
    ) -> dict[str, Any] | None:
        """Check an object's fields: types are a type, a tuple of allowed values, or "slug"."""
        if not isinstance(value, LDict):
            self.add(line, path, _("must be an object."))
            return None
        prefix = f"{path}." if path else ""
        for name in value:
            if name not in required and name not in optional:
                self.add(value.lines[name], f"{prefix}{name}", _("is not a known field."))
        for name in required:
            if name not in value:
                self.add(value.line, f"{prefix}{name}", _("is missing."))
        out: dict[str, Any] = {}
        for name, expected in {**required, **optional}.items():
            if name not in value:
                continue
            item, item_line, item_path = value[name], value.lines[name], f"{prefix}{name}"
            if self.type_ok(item, expected, item_line, item_path):
                out[name] = item
        return out

    def type_ok(self, item: Any, expected: Any, line: int, path: str) -> bool:
        if expected == "slug":
            if not isinstance(item, str) or not SLUG_RE.match(item) or len(item) > 60:
                self.add(
                    line, path, _("must be a key of letters, digits, “-” and “_” (at most 60).")
                )
                return False
            return True
        if expected == "target":
            if item is not None and (not isinstance(item, str) or not item):
                self.add(line, path, _("must be the key of a step, or null."))
                return False
            return True
        if isinstance(expected, tuple):
            if item not in expected:
                self.add(
                    line,
                    path,
                    _("must be one of %(values)s.")
                    % {"values": ", ".join(f"“{v}”" for v in expected)},
                )
                return False
            return True
        if expected is int:
            if not isinstance(item, int) or isinstance(item, bool):
                self.add(line, path, _("must be a whole number."))
                return False
            return True
        if expected is str:
            if not isinstance(item, str):
                self.add(line, path, _("must be a text."))
                return False
            if len(item) > 5000:
                self.add(line, path, _("is too long."))
                return False
            return True
        if expected is bool:
            if not isinstance(item, bool):
                self.add(line, path, _("must be true or false."))
                return False
            return True
        if expected is list:
            if not isinstance(item, LList):
                self.add(line, path, _("must be a list."))
                return False
            return True
        if expected is dict:
            if not isinstance(item, LDict):
                self.add(line, path, _("must be an object."))
                return False
            return True
        raise AssertionError(expected)


STEP_FIELDS = {
    "title": str,
    "text": str,
    "answer_type": ("", *ANSWER_TYPES),
    "required": bool,
    "next": "target",
    "outcome": str,
    "answers": list,
    "conditions": list,
    "actions": list,
    "offers": dict,
}


def _parse_steps(data: LDict, check: _Checker) -> tuple[list[FlowStep], dict[str, int]]:
    """FlowSteps from the file, and the line of every reference to a step (for errors)."""
    steps: list[FlowStep] = []
    references: dict[str, int] = {}
    raw_steps = data.get("steps")
    if not isinstance(raw_steps, LList):
        return steps, references
    if len(raw_steps) > MAX_STEPS:
        check.add(raw_steps.line, "steps", _("has more than %(max)d steps.") % {"max": MAX_STEPS})
        return steps, references
    for index, raw in enumerate(raw_steps):
        path, line = f"steps[{index}]", raw_steps.lines[index]
        fields = check.obj(
            raw, path, line, required={"key": "slug", "kind": KINDS}, optional=STEP_FIELDS
        )
        if fields is None or "key" not in fields or "kind" not in fields:
            continue
        assert isinstance(raw, LDict)
        step = FlowStep(
            key=fields["key"],
            kind=fields["kind"],
            title=fields.get("title", ""),
            text=fields.get("text", ""),
            answer_type=fields.get("answer_type", ""),
            is_required=fields.get("required", True),
            next_key=fields.get("next"),
            outcome=fields.get("outcome", ""),
        )
        if step.next_key:
            references[f"{path}.next"] = raw.lines["next"]
        if len(step.title) > 200:
            check.add(raw.lines["title"], f"{path}.title", _("is longer than 200 characters."))
        if step.outcome and not SLUG_RE.match(step.outcome):
            check.add(
                raw.lines["outcome"],
                f"{path}.outcome",
                _("must be a key of letters, digits, “-” and “_”."),
            )
        for a_index, raw_answer in enumerate(fields.get("answers", [])):
            a_path = f"{path}.answers[{a_index}]"
            a_line = raw["answers"].lines[a_index]
            answer = check.obj(
                raw_answer,
                a_path,
                a_line,
                required={"value": "slug", "label": str},
                optional={"next": "target"},
            )
            if answer is None or "value" not in answer or "label" not in answer:
                continue
            step.answers.append(FlowAnswer(answer["value"], answer["label"], answer.get("next")))
            if answer.get("next"):
                references[f"{a_path}.next"] = raw_answer.lines["next"]
        for c_index, raw_condition in enumerate(fields.get("conditions", [])):
            c_path = f"{path}.conditions[{c_index}]"
            condition = check.obj(
                raw_condition,
                c_path,
                raw["conditions"].lines[c_index],
                required={"if": SUBJECTS, "operator": OPERATORS, "next": "target"},
                optional={"answer": str, "value": str},
            )
            if condition is None or not {"if", "operator", "next"} <= set(condition):
                continue
            if not condition["next"]:
                check.add(
                    raw_condition.lines["next"], f"{c_path}.next", _("must be the key of a step.")
                )
                continue
            step.branches.append(
                FlowBranch(
                    subject=condition["if"],
                    operator=condition["operator"],
                    answer_key=condition.get("answer", ""),
                    value=condition.get("value", ""),
                    next_key=condition["next"],
                )
            )
            references[f"{c_path}.next"] = raw_condition.lines["next"]
        for x_index, raw_action in enumerate(fields.get("actions", [])):
            action = check.obj(
                raw_action,
                f"{path}.actions[{x_index}]",
                raw["actions"].lines[x_index],
                required={"type": ACTION_KINDS},
                optional={"value": str, "offer_list": str, "top_n": int},
            )
            if action is None or "type" not in action:
                continue
            step.actions.append(
                FlowAction(
                    kind=action["type"],
                    value=action.get("value", ""),
                    offer_list=action.get("offer_list", ""),
                    top_n=action.get("top_n", 3),
                )
            )
        if "offers" in fields:
            offers = check.obj(
                fields["offers"],
                f"{path}.offers",
                raw.lines["offers"],
                required={"list": str},
                optional={"count": int},
            )
            if offers is not None and "list" in offers:
                step.offer_list = offers["list"]
                step.offer_count = offers.get("count", 3)
        steps.append(step)
    return steps, references


def _check_references(
    raw_steps: Any, steps: list[FlowStep], references: dict[str, int], check: _Checker
) -> None:
    keys: dict[str, int] = {}
    for index, step in enumerate(steps):
        line = raw_steps.lines[index] if isinstance(raw_steps, LList) else 1
        if step.key in keys:
            check.add(
                line,
                f"steps[{index}].key",
                _("the key “%(key)s” is used by another step already.") % {"key": step.key},
            )
        keys[step.key] = index
    flow_targets = {f"steps[{i}].next": s.next_key for i, s in enumerate(steps) if s.next_key}
    for i, s in enumerate(steps):
        for a_index, answer in enumerate(s.answers):
            if answer.next_key:
                flow_targets[f"steps[{i}].answers[{a_index}].next"] = answer.next_key
        for c_index, branch in enumerate(s.branches):
            flow_targets[f"steps[{i}].conditions[{c_index}].next"] = branch.next_key
    for field_path, target in flow_targets.items():
        if target not in keys:
            check.add(
                references.get(field_path, 1),
                field_path,
                _("no step has the key “%(key)s”.") % {"key": target},
            )


def script_parse(text: str) -> tuple[dict[str, Any], Flow]:
    """Read and check an export file; ImportFailed names every problem by line and field."""
    data = _Reader(text).read()
    check = _Checker()
    top = check.obj(
        data,
        "",
        1,
        required={
            "format": (FORMAT,),
            "format_version": (FORMAT_VERSION,),
            "script": dict,
            "steps": list,
        },
        optional={"version_notes": str},
    )
    if top is None:
        raise ImportFailed(check.problems)
    assert isinstance(data, LDict)
    script: dict[str, Any] = {}
    if "script" in top:
        script = (
            check.obj(
                data["script"],
                "script",
                data.lines["script"],
                required={"code": "slug", "name": str},
                optional={"description": str},
            )
            or {}
        )
        if len(script.get("name", "")) > 200:
            check.add(
                data["script"].lines["name"], "script.name", _("is longer than 200 characters.")
            )
        if "name" in script and not script["name"].strip():
            check.add(data["script"].lines["name"], "script.name", _("must not be empty."))
    steps, references = _parse_steps(data, check)
    if "steps" in top and not data["steps"]:
        check.add(data.lines["steps"], "steps", _("must have at least one step."))
    _check_references(data.get("steps"), steps, references, check)
    known_lists = offer_list_codes()
    for index, step in enumerate(steps):
        lists = [step.offer_list] if step.offer_list else []
        lists += [a.offer_list for a in step.actions if a.offer_list]
        for code in lists:
            if code not in known_lists:
                check.add(
                    data["steps"].lines[index],
                    f"steps[{index}]",
                    _("the offer list “%(code)s” does not exist.") % {"code": code},
                )
    if check.problems:
        raise ImportFailed(check.problems)
    meta = {**script, "version_notes": top.get("version_notes", "")}
    return meta, Flow(steps=steps, name=script.get("name", ""))


@transaction.atomic
def script_import(*, text: str, created_by: Any = None) -> tuple[ScriptVersion, list[Problem]]:
    """Store an export file as a new draft (a new script, or a new version of the same code).

    All or nothing; returns the draft and the problems that would still stop publishing.
    """
    meta, flow = script_parse(text)
    script = Script.objects.select_for_update().filter(code=meta["code"]).first()
    if script is None:
        script = Script.objects.create(
            code=meta["code"], name=meta["name"].strip(), description=meta.get("description", "")
        )
    top = script.versions.order_by("-number").values_list("number", flat=True).first() or 0
    version = ScriptVersion.objects.create(
        script=script,
        number=top + 1,
        created_by=created_by,
        notes=(meta.get("version_notes") or _("Imported"))[:300],
    )
    flow_store(version=version, flow=flow)
    return version, flow_validate(flow_for_version(version=version), offer_lists=offer_list_codes())


def flow_store(*, version: ScriptVersion, flow: Flow) -> None:
    """Write a checked flow's steps into an empty draft version."""
    lists = {o.code: o for o in OfferList.objects.all()}
    created = Step.objects.bulk_create(
        Step(
            version=version,
            key=step.key,
            position=(index + 1) * 10,
            kind=step.kind,
            answer_type=step.answer_type,
            title=step.title[:200],
            text=step.text,
            is_required=step.is_required,
            outcome=step.outcome[:60],
            offer_list=lists.get(step.offer_list),
            offer_count=step.offer_count,
        )
        for index, step in enumerate(flow.steps)
    )
    if any(step.pk is None for step in created):
        created = list(Step.objects.filter(version=version).order_by("position"))
    by_key = {step.key: step for step in created}
    for flow_step, step in zip(flow.steps, created, strict=True):
        if flow_step.next_key:
            step.next_step = by_key[flow_step.next_key]
    Step.objects.bulk_update([s for s in created if s.next_step_id], ["next_step"])
    Answer.objects.bulk_create(
        Answer(
            step=by_key[s.key],
            position=i,
            value=a.value,
            label=a.label[:200],
            next_step=by_key.get(a.next_key) if a.next_key else None,
        )
        for s in flow.steps
        for i, a in enumerate(s.answers)
    )
    Branch.objects.bulk_create(
        Branch(
            step=by_key[s.key],
            position=i,
            subject=b.subject,
            answer_key=b.answer_key[:60],
            operator=b.operator,
            value=b.value[:200],
            next_step=by_key[b.next_key],
        )
        for s in flow.steps
        for i, b in enumerate(s.branches)
    )
    StepAction.objects.bulk_create(
        StepAction(
            step=by_key[s.key],
            position=i,
            kind=a.kind,
            value=a.value[:200],
            offer_list=lists.get(a.offer_list),
            top_n=a.top_n,
        )
        for s in flow.steps
        for i, a in enumerate(s.actions)
    )


def script_export(*, version: ScriptVersion) -> dict[str, Any]:
    """The version as an export document (the same shape the import reads)."""
    flow = flow_for_version(version=version)
    script = version.script
    steps: list[dict[str, Any]] = []
    for step in flow.steps:
        item: dict[str, Any] = {"key": step.key, "kind": step.kind}
        if step.title:
            item["title"] = step.title
        item["text"] = step.text
        if step.answer_type:
            item["answer_type"] = step.answer_type
        if step.is_question:
            item["required"] = step.is_required
        if step.next_key:
            item["next"] = step.next_key
        if step.outcome:
            item["outcome"] = step.outcome
        if step.answers:
            item["answers"] = [
                {"value": a.value, "label": a.label, **({"next": a.next_key} if a.next_key else {})}
                for a in step.answers
            ]
        if step.branches:
            item["conditions"] = [
                {
                    "if": b.subject,
                    **({"answer": b.answer_key} if b.subject == "answer" else {}),
                    "operator": b.operator,
                    **({"value": b.value} if b.value else {}),
                    "next": b.next_key,
                }
                for b in step.branches
            ]
        if step.actions:
            item["actions"] = [
                {
                    "type": a.kind,
                    **({"value": a.value} if a.value else {}),
                    **({"offer_list": a.offer_list, "top_n": a.top_n} if a.offer_list else {}),
                }
                for a in step.actions
            ]
        if step.offer_list:
            item["offers"] = {"list": step.offer_list, "count": step.offer_count}
        steps.append(item)
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "script": {"code": script.code, "name": script.name, "description": script.description},
        "version_notes": version.notes,
        "steps": steps,
    }


def script_export_json(*, version: ScriptVersion) -> str:
    return json.dumps(script_export(version=version), indent=2, ensure_ascii=False) + "\n"
