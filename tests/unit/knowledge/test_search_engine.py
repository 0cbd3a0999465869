"""The search engine's fast paths: a rebuild, frequent words, long emails, the command."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from accounts.selectors import account_search
from knowledge import indexing, selectors
from knowledge.models import SearchPosting, SearchTerm, Solution
from knowledge.search import engine
from tests.factories import AccountFactory
from tests.unit.knowledge.conftest import make_solution

pytestmark = pytest.mark.django_db

QUERIES = ("Router blinkt rot", "Rechnunk doppelt", "Fritzbox", "Kündigung Handyvertrag")


def ranking(query: str) -> list[tuple[int, float]]:
    return [(hit.solution.pk, hit.score) for hit in selectors.solution_search(query=query).hits]


def index_snapshot(index: str) -> set[tuple[str, int, float]]:
    return set(
        SearchPosting.objects.filter(index=index).values_list("term__text", "doc_id", "weight")
    )


def rebuild(index: str, documents) -> engine.Rebuild:
    builder = engine.Rebuild(index)
    for batch in documents(batch_size=2):
        builder.add(batch)
    builder.finish()
    return builder


def test_a_rebuild_holds_and_finds_what_saving_one_by_one_put_in(knowledge_base):
    make_solution("Handy-Vertrag kündigen", "<p>Kündigung per Formular.</p>")
    saved = index_snapshot(indexing.SOLUTION_INDEX)
    before = {query: ranking(query) for query in QUERIES}
    df_before = dict(
        SearchTerm.objects.filter(index=indexing.SOLUTION_INDEX, df__gt=0).values_list("text", "df")
    )

    builder = rebuild(indexing.SOLUTION_INDEX, indexing.solution_documents)

    assert builder.documents == Solution.objects.count()
    assert index_snapshot(indexing.SOLUTION_INDEX) == saved
    df_after = dict(
        SearchTerm.objects.filter(index=indexing.SOLUTION_INDEX).values_list("text", "df")
    )
    assert df_after == df_before
    assert {query: ranking(query) for query in QUERIES} == before


def test_saving_after_a_rebuild_keeps_the_index_current(knowledge_base):
    rebuild(indexing.SOLUTION_INDEX, indexing.solution_documents)
    solution = knowledge_base["router"]
    solution.title = "Glasfaser Modem leuchtet blau"
    solution.save()

    assert selectors.solution_search(query="Glasfaser blau").solutions[0] == solution
    assert solution not in selectors.solution_search(query="blinkt").solutions


def test_rebuilding_one_index_leaves_the_other_alone(knowledge_base):
    AccountFactory(name="Hans Müller", first_name="Hans", last_name="Müller")
    accounts_before = index_snapshot(indexing.ACCOUNT_INDEX)

    rebuild(indexing.SOLUTION_INDEX, indexing.solution_documents)

    assert index_snapshot(indexing.ACCOUNT_INDEX) == accounts_before
    rebuild(indexing.ACCOUNT_INDEX, indexing.account_documents)
    assert index_snapshot(indexing.ACCOUNT_INDEX) == accounts_before


def test_a_rebuilt_name_index_finds_names_by_sound():
    for first, last in (("Hans", "Meier"), ("Petra", "Maier"), ("Jan", "Schulz")):
        AccountFactory(name=f"{first} {last}", first_name=first, last_name=last)
    rebuild(indexing.ACCOUNT_INDEX, indexing.account_documents)
    user = _manager()

    found = {account.name for account in account_search(query="Mayer", user=user)}

    assert found == {"Hans Meier", "Petra Maier"}


def test_frequent_words_rank_the_documents_that_rare_words_picked(knowledge_base, monkeypatch):
    expected = {query: [pk for pk, _score in ranking(query)][:1] for query in QUERIES}
    # Every word is "frequent" now: the rare ones pick candidates, the others only rank them.
    monkeypatch.setattr(engine, "FULL_READ_POSTINGS", 1)

    for query in QUERIES:
        assert [pk for pk, _score in ranking(query)][:1] == expected[query], query


def test_a_long_email_finds_a_misspelt_key_word_when_it_knows_few_of_the_words(knowledge_base):
    body = (
        "Hallo,\n\nmeine Rechnunb kam zweimal, obwohl mein Nachbar sagt, dass so etwas "
        "gelegentlich passiert, falls jemand umgezogen ist.\n\nGruss\nAnna"
    )

    found = selectors.solution_search_email(body=body).solutions

    assert found[0] == knowledge_base["invoice"]


def test_a_long_email_with_known_words_finds_the_solution(knowledge_base):
    body = (
        "Guten Tag,\n\nder Router blinkt rot, das Internet geht nicht, Kabel sind alle "
        "eingesteckt, Nachbarschaft hat ebenfalls Stoerrungen gemeldet.\n\nDanke"
    )

    assert selectors.solution_search_email(body=body).solutions[0] == knowledge_base["router"]


def test_the_rebuild_command_reports_both_indexes(knowledge_base):
    AccountFactory(name="Hans Müller", first_name="Hans", last_name="Müller")
    out = io.StringIO()

    call_command("rebuild_search_index", "--no-progress", stdout=out)

    assert f"solution: {Solution.objects.count()} documents" in out.getvalue()
    assert "account: 1 documents" in out.getvalue()
    assert selectors.solution_search(query="Ruter blinkt rot").solutions[0].title == (
        "Router blinkt rot"
    )


def _manager():
    from django.contrib.auth import get_user_model

    return get_user_model().objects.create_superuser("search-manager", "m@example.com", "x")
