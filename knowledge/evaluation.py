"""Search quality against the evaluation set in tests/data (bench/knowledge_quality.py, tests)."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

from django.conf import settings

from knowledge import selectors
from knowledge.models import Solution

EVALUATION = Path(settings.BASE_DIR) / "tests" / "data" / "knowledge_eval.json"


def evaluation_read(path: Path = EVALUATION) -> dict[str, Any]:
    with open(path, encoding="utf-8") as handle:
        data: dict[str, Any] = json.load(handle)
    return data


def evaluate(queries: list[dict[str, str]], titles: dict[str, str]) -> dict[str, dict[str, Any]]:
    """recall@1, recall@5 and MRR per query kind; `titles` maps article keys to titles."""
    ids = dict(Solution.objects.values_list("title", "pk"))
    ranks: dict[str, list[int | None]] = defaultdict(list)
    misses: dict[str, list[str]] = defaultdict(list)
    for item in queries:
        expected = ids[titles[item["expected"]]]
        if item["kind"] == "emails":
            page = selectors.solution_search_email(body=item["query"], limit=10)
        else:
            page = selectors.solution_search(query=item["query"], limit=10)
        found = [solution.pk for solution in page.solutions]
        rank = found.index(expected) + 1 if expected in found else None
        ranks[item["kind"]].append(rank)
        if rank is None or rank > 5:
            misses[item["kind"]].append(item["query"][:60])
    report = {}
    for kind, values in ranks.items():
        count = len(values)
        report[kind] = {
            "queries": count,
            "recall_at_1": round(sum(1 for r in values if r == 1) / count, 3),
            "recall_at_5": round(sum(1 for r in values if r is not None and r <= 5) / count, 3),
            "mrr": round(sum(1 / r for r in values if r is not None) / count, 3),
            "misses": misses[kind],
        }
    return report
