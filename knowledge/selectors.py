"""Read paths of the knowledge base: solution search, top lists, details; the name search."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.core.cache import cache
from django.db.models import Count, Q, QuerySet
from django.utils import timezone
from django.utils.safestring import SafeString

from accounts.models import Account, Ticket, TicketMessage
from accounts.phone import phone_parse
from accounts.selectors import ticket_list
from knowledge.indexing import ACCOUNT_INDEX, SOLUTION_INDEX, synonyms_for
from knowledge.models import Category, Solution, SolutionLink, SolutionUsage
from knowledge.search import engine
from knowledge.search.analysis import content_tokens
from knowledge.search.email import email_key_terms
from knowledge.search.highlight import excerpt, highlight, plain_text

MAX_QUERY_CHARS = 10000
TOP_USED = 10


@dataclass
class SolutionHit:
    solution: Solution
    score: float
    title_html: SafeString
    excerpt_html: SafeString


@dataclass
class SolutionSearch:
    """One search: what was searched for and the ranked, highlighted solutions."""

    query: str
    words: list[str]
    hits: list[SolutionHit] = field(default_factory=list)

    @property
    def solutions(self) -> list[Solution]:
        return [hit.solution for hit in self.hits]


def _count(key: str, queryset: QuerySet[Solution] | QuerySet[Account]) -> int:
    """A table's size for the ranking; it may be minutes old."""
    value = cache.get(key)
    if value is None:
        value = queryset.count()
        cache.set(key, value, 600)
    return int(value)


def solution_visible(*, public: bool = False, category_id: int | None = None) -> QuerySet[Solution]:
    """Released solutions valid today; only public ones for self-service; one category."""
    today = timezone.localdate()
    queryset = Solution.objects.filter(status=Solution.Status.RELEASED).filter(
        Q(valid_from__isnull=True) | Q(valid_from__lte=today),
        Q(valid_until__isnull=True) | Q(valid_until__gte=today),
    )
    if public:
        queryset = queryset.filter(is_public=True)
    if category_id is not None:
        queryset = queryset.filter(Q(category_id=category_id) | Q(category__parent_id=category_id))
    return queryset


def _popularity(solution: Solution) -> float:
    """Used and helpful solutions rank a little higher ("feedback feeds the ranking")."""
    helped, not_helped = solution.helped_count, solution.not_helped_count
    ratio = (helped + 1) / (helped + not_helped + 2)
    return 1 + 0.05 * math.log1p(solution.usage_count) + 0.3 * (ratio - 0.5)


def _search(
    query: str, words: list[str], *, limit: int, public: bool, category_id: int | None
) -> SolutionSearch:
    page = SolutionSearch(query=query, words=words)
    if not words:
        return page
    result = engine.search(
        SOLUTION_INDEX,
        words=words,
        limit=limit * 3,
        # Nearly every solution is visible: filtering after the ranking is cheaper, except
        # for a category, which can be a small part of the knowledge base.
        restrict=None
        if category_id is None
        else solution_visible(public=public, category_id=category_id).values("pk"),
        synonyms=synonyms_for(words),
        document_count=lambda: _count("knowledge.count.solutions", Solution.objects.all()),
        prefix_all=len(words) <= 4,
    )
    if not result.hits:
        return page
    visible = solution_visible(public=public, category_id=category_id)
    solutions = visible.select_related("category").in_bulk(result.doc_ids)
    ranked = [
        (hit.score * _popularity(solutions[hit.doc_id]), hit)
        for hit in result.hits
        if hit.doc_id in solutions
    ]
    ranked.sort(key=lambda pair: (-pair[0], pair[1].doc_id))
    for score, hit in ranked[:limit]:
        solution = solutions[hit.doc_id]
        page.hits.append(
            SolutionHit(
                solution=solution,
                score=round(score, 4),
                title_html=highlight(solution.title, hit.matched_terms),
                excerpt_html=excerpt(plain_text(solution.body), hit.matched_terms),
            )
        )
    return page


def solution_search(
    *, query: str, limit: int = 10, public: bool = False, category_id: int | None = None
) -> SolutionSearch:
    """The solutions that best answer a problem description, best first, highlighted."""
    query = (query or "")[:MAX_QUERY_CHARS]
    return _search(
        query, content_tokens(query), limit=limit, public=public, category_id=category_id
    )


def solution_search_email(
    *, body: str, limit: int = 10, public: bool = False, category_id: int | None = None
) -> SolutionSearch:
    """The best solutions for a customer's whole email (quotes and signature left out)."""
    body = (body or "")[: MAX_QUERY_CHARS * 2]
    return _search(body, email_key_terms(body), limit=limit, public=public, category_id=category_id)


def solution_list_top_used(
    *, queue: str = "", limit: int = TOP_USED, public: bool = False
) -> list[Solution]:
    """The most used solutions: of this queue first, then of all queues."""
    visible = solution_visible(public=public)
    ids: list[int] = []
    if queue:
        ids = list(
            SolutionUsage.objects.filter(queue=queue, solution__in=visible.values("pk"))
            .values("solution")
            .annotate(uses=Count("id"))
            .order_by("-uses", "solution")
            .values_list("solution", flat=True)[:limit]
        )
    top = list(visible.select_related("category").order_by("-usage_count", "title")[: limit * 2])
    by_id = {s.pk: s for s in top}
    missing = [i for i in ids if i not in by_id]
    if missing:
        by_id.update(Solution.objects.select_related("category").in_bulk(missing))
    ordered = [by_id[i] for i in ids if i in by_id]
    ordered += [s for s in top if s.pk not in ids]
    return ordered[:limit]


def solution_get_visible(*, solution_id: int, public: bool = False) -> Solution | None:
    """A released, valid solution with its problems and attachments (public ones only: public)."""
    return (
        solution_visible(public=public)
        .filter(pk=solution_id)
        .select_related("category")
        .prefetch_related("problems", "keywords", "attachments")
        .first()
    )


def solution_link_list_for_ticket(*, ticket_id: int) -> list[SolutionLink]:
    """The solutions linked to a ticket, newest link first, with who linked them (one query).

    The caller has fetched the ticket through the accounts selectors, which decide who may
    see it.
    """
    return list(
        SolutionLink.objects.filter(ticket_id=ticket_id)
        .select_related("solution", "linked_by")
        .order_by("-linked_at", "-id")
    )


def solution_link_list_for_ticket_of_user(
    *, ticket_id: int, user: Any
) -> list[SolutionLink] | None:
    """The solutions linked to a ticket; None when the user may not see the ticket."""
    if not ticket_list(user=user).filter(pk=ticket_id).exists():
        return None
    return solution_link_list_for_ticket(ticket_id=ticket_id)


def solution_link_list_for_solution(*, solution_id: int, user: Any) -> list[SolutionLink]:
    """The tickets a solution is linked to, those the user may see, newest first."""
    return list(
        SolutionLink.objects.filter(
            solution_id=solution_id, ticket__in=ticket_list(user=user).values("pk")
        )
        .select_related("solution", "ticket", "linked_by")
        .order_by("-linked_at", "-id")
    )


def solution_linked_ticket_ids(*, solution_id: int, ticket_ids: Sequence[int]) -> set[int]:
    """Which of these tickets the solution is already linked to (one query)."""
    if not ticket_ids:
        return set()
    return set(
        SolutionLink.objects.filter(
            solution_id=solution_id, ticket_id__in=list(ticket_ids)
        ).values_list("ticket_id", flat=True)
    )


def solution_proposal_pending(*, ticket_id: int) -> Solution | None:
    """The draft proposed from this ticket that still waits for a manager's review."""
    return (
        Solution.objects.filter(source_ticket_id=ticket_id, status=Solution.Status.DRAFT)
        .select_related("created_by")
        .first()
    )


def solution_proposal_get(*, solution_id: int) -> Solution | None:
    """A solution that was proposed from a ticket, with its source ticket and author."""
    return (
        Solution.objects.filter(pk=solution_id, source_ticket__isnull=False)
        .select_related("source_ticket", "created_by", "category")
        .prefetch_related("problems")
        .first()
    )


@dataclass(frozen=True)
class ProposalInitial:
    """What the "propose as solution" form starts with."""

    title: str
    problem_title: str
    problem_description: str
    body: str


def solution_proposal_initial(*, ticket: Ticket) -> ProposalInitial:
    """The proposal form prefilled from a ticket: its subject and description describe the
    problem; the last message the customer saw (else the last note) says how it was solved."""
    messages = TicketMessage.objects.filter(ticket_id=ticket.pk).order_by("-created_at", "-id")
    last = messages.filter(is_internal=False).first() or messages.first()
    return ProposalInitial(
        title=ticket.subject,
        problem_title=ticket.subject,
        problem_description=ticket.description,
        body=last.body if last is not None else "",
    )


def solution_suggestions_for_ticket(
    *, ticket: Ticket, query: str = "", limit: int = 5
) -> SolutionSearch:
    """Solutions for a ticket: what the agent typed, else what the ticket's subject and
    description suggest."""
    if query.strip():
        return solution_search(query=query, limit=limit)
    text = f"{ticket.subject}\n\n{ticket.description[:2000]}"
    return solution_search_email(body=text, limit=limit)


def category_list() -> list[Category]:
    """Categories that have released solutions, for the filter."""
    return list(
        Category.objects.filter(solutions__status=Solution.Status.RELEASED)
        .distinct()
        .order_by("name")
    )


# -- customer name search ---------------------------------------------------------------------


def account_scores_by_name(*, query: str, limit: int) -> list[tuple[int, float]]:
    """Accounts whose names, contacts, cities or streets sound like or nearly match the query.

    Exact identifiers match too: customer number, a phone number in any format, an
    email address. Best first: (account id, score).
    """
    query = (query or "").strip()[:200]
    if not query:
        return []
    identifiers: list[str] = []
    phone = phone_parse(query)
    if phone.is_valid:
        identifiers.append(phone.e164)
    if "@" in query:
        identifiers.append(query.lower())
    result = engine.search(
        ACCOUNT_INDEX,
        words=content_tokens(query),
        limit=limit,
        identifiers=identifiers,
        document_count=lambda: _count("knowledge.count.accounts", Account.objects.all()),
    )
    return [(hit.doc_id, hit.score) for hit in result.hits]


def account_order_by_score(
    accounts: Sequence[Account], scores: Sequence[tuple[int, float]]
) -> list[Account]:
    """Best match first; equally good matches by name."""
    score = {doc_id: round(value, 4) for doc_id, value in scores}
    return sorted(accounts, key=lambda a: (-score.get(a.pk, 0.0), a.name, a.pk))
