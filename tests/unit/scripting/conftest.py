"""Fixtures for the scripting tests: scripts built through the JSON import, published."""

from __future__ import annotations

import json
from typing import Any

import pytest

from scripting.demo import CROSS_SELL, SURVEY, demo_scripts_seed
from scripting.interchange import FORMAT, FORMAT_VERSION, script_import
from scripting.selectors import _PUBLISHED_FLOWS
from scripting.services import script_version_publish


def script_doc(
    steps: list[dict[str, Any]], *, code: str = "test-script", name: str = "Test"
) -> str:
    """An import file with these steps."""
    return json.dumps(
        {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "script": {"code": code, "name": name},
            "steps": steps,
        },
        indent=2,
    )


def publish(steps: list[dict[str, Any]], **kwargs: Any) -> Any:
    version, problems = script_import(text=script_doc(steps, **kwargs))
    assert problems == [], problems
    return script_version_publish(version=version)


@pytest.fixture(autouse=True)
def _fresh_flow_cache() -> Any:
    """Published flows are cached per process by version id; each test starts without them."""
    _PUBLISHED_FLOWS.clear()
    yield
    _PUBLISHED_FLOWS.clear()


@pytest.fixture
def demo_versions(db: Any) -> dict[str, Any]:
    survey, cross_sell = demo_scripts_seed()
    return {"survey": survey, "cross_sell": cross_sell}


__all__ = ["CROSS_SELL", "SURVEY", "publish", "script_doc"]
