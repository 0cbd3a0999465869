"""Demo knowledge base: the evaluation articles (German and English) as released solutions.

Used by `manage.py seed_demo` and by the quality benchmark; running it again adds
nothing twice (solutions are matched by title).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction

from knowledge import indexing
from knowledge.models import Category, Keyword, Problem, Solution
from knowledge.search.engine import Rebuild

ARTICLES = Path(settings.BASE_DIR) / "tests" / "data" / "knowledge_articles.json"


def articles_read(path: Path = ARTICLES) -> dict[str, Any]:
    with open(path, encoding="utf-8") as handle:
        data: dict[str, Any] = json.load(handle)
    return data


@transaction.atomic
def knowledge_demo_load(*, path: Path = ARTICLES, author: Any = None) -> dict[str, int]:
    """Create the demo categories, keywords, problems and released solutions that are missing.

    Returns how many solutions were created. Also rebuilds the name search index,
    since the demo accounts are bulk-created without save signals.
    """
    if not path.exists():
        return {"solutions": 0, "accounts_indexed": 0}
    data = articles_read(path)
    keywords = {}
    for item in data["keywords"]:
        keyword, _created = Keyword.objects.get_or_create(
            name=item["name"], defaults={"synonyms": item["synonyms"]}
        )
        keywords[keyword.name] = keyword
    existing = set(Solution.objects.values_list("title", flat=True))
    created = 0
    for usage, article in enumerate(data["articles"]):
        if article["title"] in existing:
            continue
        category, _created = Category.objects.get_or_create(name=article["category"])
        solution = Solution.objects.create(
            title=article["title"],
            body=article["body"],
            internal_note=article.get("internal_note", ""),
            language=article["language"],
            category=category,
            status=Solution.Status.RELEASED,
            is_public=article.get("is_public", True),
            # A plausible spread of usage for the top-10 lists.
            usage_count=(len(data["articles"]) - usage) * 7 % 53,
            created_by=author,
            updated_by=author,
        )
        problems = [
            Problem.objects.get_or_create(title=title, defaults={"category": category})[0]
            for title in article["problems"]
        ]
        solution.problems.set(problems)
        solution.keywords.set([keywords[name] for name in article["keywords"] if name in keywords])
        created += 1
    rebuild = Rebuild(indexing.ACCOUNT_INDEX)
    for batch in indexing.account_documents():
        rebuild.add(batch)
    rebuild.finish()
    return {"solutions": created, "accounts_indexed": rebuild.documents}
