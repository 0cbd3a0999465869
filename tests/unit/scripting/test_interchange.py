# ruff: noqa: E501
"""JSON import and export: round trip, the documented schema, strict errors, all or nothing."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from scripting.demo import CROSS_SELL, SURVEY
from scripting.interchange import ImportFailed, script_export, script_import
from scripting.models import Script, ScriptVersion, Step
from tests.unit.scripting.conftest import script_doc

pytestmark = pytest.mark.django_db

SCHEMA = json.loads(
    (Path(__file__).resolve().parents[3] / "docs" / "scripting" / "script.schema.json").read_text()
)


def test_the_demo_scripts_and_their_export_follow_the_documented_schema(demo_versions):
    for document in (SURVEY, CROSS_SELL):
        jsonschema.validate(document, SCHEMA)
    for version in demo_versions.values():
        jsonschema.validate(script_export(version=version), SCHEMA)


def test_an_export_imports_as_the_next_draft_version_with_the_same_flow(demo_versions):
    survey = demo_versions["survey"]
    exported = script_export(version=survey)
    draft, problems = script_import(text=json.dumps(exported))
    assert problems == []
    assert draft.script == survey.script
    assert (draft.number, draft.status) == (2, ScriptVersion.Status.DRAFT)
    again = script_export(version=draft)
    assert again["steps"] == exported["steps"]


def refused(text: str) -> list[tuple[int, str, str]]:
    with pytest.raises(ImportFailed) as error:
        script_import(text=text)
    return [(p.line, p.field, p.message) for p in error.value.problems]


def test_malformed_json_names_the_line():
    assert refused('{\n  "format": "icenter-script",\n  "steps": [\n    {"key": "a",}\n  ]\n}') == [
        (4, "", "Expected a field name in double quotes.")
    ]


def test_field_errors_name_line_and_field_and_nothing_is_stored():
    text = script_doc(
        [
            {"key": "start", "kind": "question", "answer_type": "single",
             "answers": [{"value": "a", "label": "A", "next": "missing"}, {"value": "b", "label": "B"}]},
            {"key": "bad key!", "kind": "end"},
            {"key": "x", "kind": "loop", "colour": "red"},
            {"key": "y", "kind": "info", "required": "yes"},
        ]
    )  # fmt: skip
    lines = text.splitlines()

    def line_of(fragment: str, start: int = 0) -> int:
        return next(i for i, line in enumerate(lines, 1) if i > start and fragment in line)

    problems = refused(text)
    assert (line_of('"key": "bad key!"'), "steps[1].key",
            "must be a key of letters, digits, “-” and “_” (at most 60).") in problems  # fmt: skip
    assert (line_of('"kind": "loop"'), "steps[2].kind",
            "must be one of “info”, “question”, “end”.") in problems  # fmt: skip
    assert (line_of('"colour"'), "steps[2].colour", "is not a known field.") in problems
    assert (line_of('"required": "yes"'), "steps[3].required", "must be true or false.") in problems
    assert (line_of('"next": "missing"'), "steps[0].answers[0].next",
            "no step has the key “missing”.") in problems  # fmt: skip
    assert Script.objects.count() == 0
    assert Step.objects.count() == 0


def test_a_duplicate_field_or_step_key_is_refused():
    assert (
        refused('{"format": "icenter-script", "format": "x"}')[0][2] == "This field appears twice."
    )
    text = script_doc(
        [{"key": "a", "kind": "end", "outcome": "x"}, {"key": "a", "kind": "end", "outcome": "y"}]
    )
    assert [p[1:] for p in refused(text)] == [
        ("steps[1].key", "the key “a” is used by another step already.")
    ]


def test_the_format_and_an_unknown_offer_list_are_checked():
    assert refused(json.dumps({"format": "other", "format_version": 1, "script": {"code": "a", "name": "A"}, "steps": []}))[0][1:] == (
        "format", "must be one of “icenter-script”."
    )  # fmt: skip
    text = script_doc(
        [
            {"key": "a", "kind": "info", "next": "z", "offers": {"list": "nope"}},
            {"key": "z", "kind": "end"},
        ]
    )
    assert ("steps[0]", "the offer list “nope” does not exist.") in [p[1:] for p in refused(text)]


def test_a_draft_with_flow_problems_imports_and_reports_them_as_warnings():
    version, problems = script_import(
        text=script_doc([{"key": "a", "kind": "info", "next": "z"}, {"key": "lost", "kind": "info", "next": "z"}, {"key": "z", "kind": "end"}])
    )  # fmt: skip
    assert version.steps.count() == 3
    assert {p.code for p in problems} == {"unreachable", "end_outcome"}


def test_a_file_that_is_not_json_at_all_is_refused_clearly():
    assert refused("")[0][2] == "The file is empty."
    assert refused("[1, ")[0][2] == "The file ends too early."
    assert (
        refused('{"format": 1} trailing')[0][2]
        == "Unexpected text after the end of the JSON document."
    )
