"""What goes into the two search indexes, and keeping them current on every save.

- "solution": a solution with its problems, keywords (and their synonyms) and category.
- "account": an account's names, its contacts' names, cities, streets and postcodes,
  and its customer number, phone numbers (E.164) and email addresses as exact terms.

Signals (connected in KnowledgeConfig.ready) reindex a document whenever one of
its parts is saved or deleted, whatever path saved it: services, the admin, the
API. Bulk loads (bulk_create, QuerySet.update) send no signals: they call
account_index_refresh / solution_index_refresh, or `manage.py rebuild_search_index`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from django.core.cache import cache
from django.db import transaction
from django.db.models import Prefetch

from accounts.models import Account, Address, Contact, ContactPoint
from knowledge.models import Category, Keyword, Problem, Solution
from knowledge.search import engine
from knowledge.search.analysis import content_tokens, term_forms
from knowledge.search.highlight import plain_text

SOLUTION_INDEX = "solution"
ACCOUNT_INDEX = "account"
SYNONYMS_CACHE_KEY = "knowledge.synonyms.v1"


# -- solutions ------------------------------------------------------------------------------


def _solution_queryset() -> Any:
    return Solution.objects.select_related("category").prefetch_related(
        Prefetch("problems", queryset=Problem.objects.prefetch_related("keywords")),
        "keywords",
    )


def solution_document(solution: Solution) -> engine.Document:
    """The weighted fields of a solution (fetched with _solution_queryset)."""
    fields: list[tuple[str, float]] = [(solution.title, 1.6)]
    keywords = list(solution.keywords.all())
    for problem in solution.problems.all():
        fields.append((problem.title, 1.5))
        fields.append((problem.description, 1.05))
        keywords.extend(problem.keywords.all())
    for keyword in keywords:
        fields.append((keyword.name, 1.4))
        fields.append((" ".join(keyword.synonym_list), 1.25))
    if solution.category is not None:
        fields.append((solution.category.name, 1.1))
    fields.append((plain_text(solution.body), 1.0))
    return engine.Document(doc_id=solution.pk, fields=fields)


def solution_index_refresh(*, solution_ids: Sequence[int]) -> None:
    """Reindex these solutions (a deleted one leaves the index)."""
    ids = sorted(set(solution_ids))
    if not ids:
        return
    solutions = list(_solution_queryset().filter(pk__in=ids))
    engine.index_documents(SOLUTION_INDEX, [solution_document(s) for s in solutions])
    gone = set(ids) - {s.pk for s in solutions}
    if gone:
        engine.delete_documents(SOLUTION_INDEX, sorted(gone))


def solution_documents(batch_size: int = 500) -> Iterator[list[engine.Document]]:
    """Every solution's document, in batches (for a rebuild)."""
    last = 0
    while True:
        batch = list(_solution_queryset().filter(pk__gt=last).order_by("pk")[:batch_size])
        if not batch:
            return
        last = batch[-1].pk
        yield [solution_document(solution) for solution in batch]


# -- accounts -------------------------------------------------------------------------------


def _account_queryset() -> Any:
    return Account.objects.prefetch_related("contacts", "addresses", "contact_points")


def account_document(account: Account) -> engine.Document:
    """The names, places and identifiers of an account (fetched with _account_queryset)."""
    fields: list[tuple[str, float]] = [
        (account.name, 1.6),
        (account.last_name, 1.6),
        (account.first_name, 1.3),
    ]
    for contact in account.contacts.all():
        fields.append((contact.last_name, 1.4))
        fields.append((contact.first_name, 1.1))
    for address in account.addresses.all():
        fields.append((address.city, 1.0))
        fields.append((address.street, 0.9))
        fields.append((address.postcode, 0.9))
    identifiers = [(account.customer_number, 2.0)]
    identifiers.extend((point.normalized, 2.0) for point in account.contact_points.all())
    return engine.Document(doc_id=account.pk, fields=fields, identifiers=identifiers)


def account_index_refresh(*, account_ids: Sequence[int]) -> None:
    """Reindex these accounts for the name search (a deleted one leaves the index)."""
    ids = sorted({i for i in account_ids if i is not None})
    if not ids:
        return
    accounts = list(_account_queryset().filter(pk__in=ids))
    engine.index_documents(ACCOUNT_INDEX, [account_document(a) for a in accounts])
    gone = set(ids) - {a.pk for a in accounts}
    if gone:
        engine.delete_documents(ACCOUNT_INDEX, sorted(gone))


def account_documents(batch_size: int = 5000) -> Iterator[list[engine.Document]]:
    """Every account's document, in batches (for a rebuild; plain rows, no model instances)."""
    last = 0
    while True:
        rows = list(
            Account.objects.filter(pk__gt=last)
            .order_by("pk")
            .values_list("pk", "name", "last_name", "first_name", "customer_number")[:batch_size]
        )
        if not rows:
            return
        last = rows[-1][0]
        ids = [row[0] for row in rows]
        # The batch is every account between its first and last id: a range, not a list.
        batch = {"account_id__gte": ids[0], "account_id__lte": last}
        fields: dict[int, list[tuple[str, float]]] = {
            pk: [(name, 1.6), (last_name, 1.6), (first_name, 1.3)]
            for pk, name, last_name, first_name, _number in rows
        }
        identifiers: dict[int, list[tuple[str, float]]] = {
            pk: [(number, 2.0)] for pk, _n, _l, _f, number in rows
        }
        for account_id, first, last_name in Contact.objects.filter(**batch).values_list(
            "account_id", "first_name", "last_name"
        ):
            if account_id in fields:  # not an account committed since the batch was read
                fields[account_id] += [(last_name, 1.4), (first, 1.1)]
        for account_id, city, street, postcode in Address.objects.filter(**batch).values_list(
            "account_id", "city", "street", "postcode"
        ):
            if account_id in fields:
                fields[account_id] += [(city, 1.0), (street, 0.9), (postcode, 0.9)]
        for account_id, normalized in ContactPoint.objects.filter(**batch).values_list(
            "account_id", "normalized"
        ):
            if account_id in identifiers:
                identifiers[account_id].append((normalized, 2.0))
        yield [
            engine.Document(doc_id=pk, fields=fields[pk], identifiers=identifiers[pk]) for pk in ids
        ]


# -- synonyms -------------------------------------------------------------------------------


def synonym_groups() -> list[list[str]]:
    """The folded words of every keyword with its synonyms (cached until a keyword changes)."""
    groups = cache.get(SYNONYMS_CACHE_KEY)
    if groups is None:
        groups = []
        for keyword in Keyword.objects.all():
            words = content_tokens(" ".join([keyword.name, *keyword.synonym_list]))
            if len(words) > 1:
                groups.append(words)
        cache.set(SYNONYMS_CACHE_KEY, groups, 3600)
    return list(groups)


def synonyms_for(words: Sequence[str]) -> dict[str, list[str]]:
    """For each query word, the synonyms of its keyword group (matched by word or stem)."""
    groups = synonym_groups()
    if not groups:
        return {}
    by_key: dict[str, set[str]] = {}
    for group in groups:
        for word in group:
            forms = term_forms(word)
            for key in (word, f"§{forms.stem_de}", f"§{forms.stem_en}"):
                by_key.setdefault(key, set()).update(group)
    result: dict[str, list[str]] = {}
    for word in words:
        forms = term_forms(word)
        found: set[str] = set()
        for key in (word, f"§{forms.stem_de}", f"§{forms.stem_en}"):
            found |= by_key.get(key, set())
        found.discard(word)
        if found:
            result[word] = sorted(found)
    return result


# -- signal receivers -----------------------------------------------------------------------


def _on_solution_change(sender: Any, instance: Solution, **kwargs: Any) -> None:
    solution_index_refresh(solution_ids=[instance.pk])


def _on_solution_m2m(sender: Any, instance: Any, action: str, **kwargs: Any) -> None:
    if not action.startswith("post_"):
        return
    if isinstance(instance, Solution):
        solution_index_refresh(solution_ids=[instance.pk])
    else:  # the reverse side: problem.solutions.add(...)
        solution_index_refresh(solution_ids=list(kwargs.get("pk_set") or []))


def _on_problem_change(sender: Any, instance: Problem, **kwargs: Any) -> None:
    if instance.pk is not None:
        solution_index_refresh(solution_ids=list(instance.solutions.values_list("pk", flat=True)))


def _on_problem_delete(sender: Any, instance: Problem, **kwargs: Any) -> None:
    ids = list(instance.solutions.values_list("pk", flat=True))
    transaction.on_commit(lambda: solution_index_refresh(solution_ids=ids))


def _on_problem_keywords(sender: Any, instance: Any, action: str, **kwargs: Any) -> None:
    if action.startswith("post_") and isinstance(instance, Problem):
        _on_problem_change(sender, instance)


def _on_keyword_change(sender: Any, instance: Keyword, **kwargs: Any) -> None:
    cache.delete(SYNONYMS_CACHE_KEY)
    if instance.pk is None:
        return
    ids = set(instance.solutions.values_list("pk", flat=True))
    ids |= set(Solution.objects.filter(problems__keywords=instance).values_list("pk", flat=True))
    solution_index_refresh(solution_ids=sorted(ids))


def _on_category_change(sender: Any, instance: Category, **kwargs: Any) -> None:
    if instance.pk is not None:
        solution_index_refresh(solution_ids=list(instance.solutions.values_list("pk", flat=True)))


def _on_account_change(sender: Any, instance: Account, **kwargs: Any) -> None:
    account_index_refresh(account_ids=[instance.pk])


def _on_account_part_change(sender: Any, instance: Any, **kwargs: Any) -> None:
    account_index_refresh(account_ids=[instance.account_id])


def connect_signals() -> None:
    from django.db.models.signals import m2m_changed, post_delete, post_save, pre_delete

    uid = "knowledge.indexing"
    post_save.connect(_on_solution_change, sender=Solution, dispatch_uid=f"{uid}.solution.save")
    post_delete.connect(_on_solution_change, sender=Solution, dispatch_uid=f"{uid}.solution.del")
    for through, name in ((Solution.problems.through, "p"), (Solution.keywords.through, "k")):
        m2m_changed.connect(_on_solution_m2m, sender=through, dispatch_uid=f"{uid}.m2m.{name}")
    m2m_changed.connect(
        _on_problem_keywords, sender=Problem.keywords.through, dispatch_uid=f"{uid}.problem.k"
    )
    post_save.connect(_on_problem_change, sender=Problem, dispatch_uid=f"{uid}.problem.save")
    pre_delete.connect(_on_problem_delete, sender=Problem, dispatch_uid=f"{uid}.problem.del")
    post_save.connect(_on_keyword_change, sender=Keyword, dispatch_uid=f"{uid}.keyword.save")
    post_delete.connect(_on_keyword_change, sender=Keyword, dispatch_uid=f"{uid}.keyword.del")
    post_save.connect(_on_category_change, sender=Category, dispatch_uid=f"{uid}.category.save")
    post_save.connect(_on_account_change, sender=Account, dispatch_uid=f"{uid}.account.save")
    post_delete.connect(_on_account_change, sender=Account, dispatch_uid=f"{uid}.account.del")
    for model in (Contact, Address, ContactPoint):
        name = model.__name__.lower()
        post_save.connect(_on_account_part_change, sender=model, dispatch_uid=f"{uid}.{name}.save")
        post_delete.connect(_on_account_part_change, sender=model, dispatch_uid=f"{uid}.{name}.del")
