"""Knowledge fixtures: a small released knowledge base."""

from __future__ import annotations

from typing import Any

import pytest

from knowledge.models import Category, Keyword, Problem, Solution


def make_solution(title: str, body: str, **fields: Any) -> Solution:
    fields.setdefault("status", Solution.Status.RELEASED)
    fields.setdefault("is_public", True)
    problems = fields.pop("problems", [])
    keywords = fields.pop("keywords", [])
    solution = Solution.objects.create(title=title, body=body, **fields)
    solution.problems.set(problems)
    solution.keywords.set(keywords)
    return solution


@pytest.fixture
def knowledge_base(db: Any) -> dict[str, Solution]:
    internet = Category.objects.create(name="Internet")
    billing = Category.objects.create(name="Rechnung")
    router_kw = Keyword.objects.create(name="Router", synonyms="Fritzbox, Modem")
    return {
        "router": make_solution(
            "Router blinkt rot",
            "<p>Router neu starten und <strong>Kabel</strong> prüfen.</p>",
            category=internet,
            internal_note="Gewerbe: Entstörung Prio 2",
            problems=[Problem.objects.create(title="Keine Internetverbindung")],
            keywords=[router_kw],
            usage_count=5,
        ),
        "invoice": make_solution(
            "Rechnung doppelt abgebucht",
            "<p>Wir erstatten den zweiten Einzug.</p>",
            category=billing,
            usage_count=9,
        ),
        "internal": make_solution(
            "Kulanzregeln Rechnung",
            "<p>Bis 50 € ohne Rückfrage.</p>",
            category=billing,
            is_public=False,
        ),
        "draft": make_solution(
            "Router Entwurf", "<p>Noch nicht fertig.</p>", status=Solution.Status.DRAFT
        ),
    }
