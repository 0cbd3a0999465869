"""The evaluation set: every kind of query finds its article among the first five."""

from __future__ import annotations

import pytest

from knowledge.demo import articles_read, knowledge_demo_load
from knowledge.evaluation import evaluate, evaluation_read

pytestmark = pytest.mark.django_db


def test_the_evaluation_set_is_big_enough():
    articles = articles_read()["articles"]
    queries = evaluation_read()["queries"]
    assert len(articles) >= 60
    assert len(queries) >= 150
    kinds = {q["kind"] for q in queries}
    assert kinds == {"exact", "typos", "sounds-alike", "umlaut-folded", "synonyms", "emails"}
    keys = {a["key"] for a in articles}
    assert {q["expected"] for q in queries} <= keys


def test_recall_at_5_is_at_least_95_percent_for_every_kind():
    knowledge_demo_load()
    titles = {a["key"]: a["title"] for a in articles_read()["articles"]}
    report = evaluate(evaluation_read()["queries"], titles)
    for kind, figures in report.items():
        assert figures["recall_at_5"] >= 0.95, (kind, figures)
