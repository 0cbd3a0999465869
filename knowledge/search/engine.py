"""The search engine: an inverted index in two tables, and a ranked, typo-tolerant query.

Documents are indexed as weighted terms (SearchPosting) over a vocabulary of
distinct words with their stems and phonetic codes (SearchTerm). A query looks its
words up in the vocabulary once — exactly, by stem, by prefix, by phonetic code
and by edit distance (on PostgreSQL through a pg_trgm index) — and then reads the
postings of the matched words. Each document's score adds up, per query word, the
best match level times the field weight times the word's rarity:

    exact 1.0 > stem 0.85 > prefix 0.7 > phonetic 0.55 > fuzzy ≤ 0.4

Frequent words ("Berlin" among a million addresses) are not read in full: the
rare words of a query pick the candidates and the frequent ones only rank them.
"""

from __future__ import annotations

import logging
import math
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import F, QuerySet
from rapidfuzz.distance import OSA

from knowledge.models import SearchPosting, SearchTerm
from knowledge.search.analysis import (
    MIN_TERM_LENGTH,
    TermForms,
    digraph_twin,
    field_terms,
    term_forms,
)

logger = logging.getLogger(__name__)

EXACT, STEM, PREFIX, PHONETIC, FUZZY = 1.0, 0.85, 0.7, 0.55, 0.4
SYNONYM_FACTOR = 0.9
MAX_QUERY_TOKENS = 32
TERMS_PER_TOKEN = 12
MAX_STRONG_TERMS = 200
# A query word whose postings exceed this is "frequent": it ranks candidates, it does not pick them.
FULL_READ_POSTINGS = 1500
MAX_CANDIDATES = 400
TF_BONUS = 0.03


@dataclass(frozen=True)
class Document:
    """What one document puts into an index: weighted text fields and exact identifiers."""

    doc_id: int
    fields: Sequence[tuple[str, float]]
    identifiers: Sequence[tuple[str, float]] = ()


@dataclass
class Hit:
    doc_id: int
    score: float
    tokens_matched: int
    matched_terms: set[str] = field(default_factory=set)


@dataclass
class SearchResult:
    hits: list[Hit]
    tokens: list[str]
    matched_terms: set[str]

    @property
    def doc_ids(self) -> list[int]:
        return [hit.doc_id for hit in self.hits]


@dataclass
class _Alternative:
    forms: TermForms
    factor: float
    allow_stem: bool


@dataclass
class _QueryToken:
    text: str
    alternatives: list[_Alternative]
    prefix: bool
    fuzzy: bool


# -- indexing -------------------------------------------------------------------------------


def document_terms(document: Document) -> dict[str, float]:
    """The document's terms with their weight: best field, plus a little per repetition."""
    weights: dict[str, float] = {}
    counts: Counter[str] = Counter()
    for text, weight in document.fields:
        if not text:
            continue
        for term in field_terms(text):
            counts[term] += 1
            if weight > weights.get(term, 0.0):
                weights[term] = weight
    for term, count in counts.items():
        weights[term] += TF_BONUS * min(count - 1, 4)
    for identifier, weight in document.identifiers:
        identifier = identifier.strip().lower()[:100]
        if identifier:
            weights[identifier] = max(weights.get(identifier, 0.0), weight)
    return weights


def _term_ids(
    index: str, texts: Iterable[str], known: dict[str, int] | None = None
) -> dict[str, int]:
    """Ids of the vocabulary words, creating the missing ones."""
    known = known if known is not None else {}
    wanted = {text for text in texts if text not in known}
    if not wanted:
        return known
    found = dict(SearchTerm.objects.filter(index=index, text__in=wanted).values_list("text", "id"))
    known.update(found)
    missing = wanted - set(found)
    if missing:
        SearchTerm.objects.bulk_create(
            (_new_term(index, text) for text in missing), ignore_conflicts=True, batch_size=2000
        )
        known.update(
            SearchTerm.objects.filter(index=index, text__in=missing).values_list("text", "id")
        )
    return known


def _new_term(index: str, text: str) -> SearchTerm:
    forms = term_forms(text)
    return SearchTerm(
        index=index,
        text=text,
        length=len(text),
        stem_de=forms.stem_de[:100],
        stem_en=forms.stem_en[:100],
        cologne=forms.cologne,
        metaphone=forms.metaphone,
        metaphone_alt=forms.metaphone_alt,
        df=0,
    )


def _adjust_df(changes: Counter[int]) -> None:
    by_delta: dict[int, list[int]] = defaultdict(list)
    for term_id, delta in changes.items():
        if delta:
            by_delta[delta].append(term_id)
    for delta, ids in by_delta.items():
        SearchTerm.objects.filter(id__in=ids).update(df=F("df") + delta)


@transaction.atomic
def index_documents(index: str, documents: Sequence[Document]) -> None:
    """Put the documents into the index, replacing what it held for them."""
    if not documents:
        return
    doc_ids = [document.doc_id for document in documents]
    old = list(
        SearchPosting.objects.filter(index=index, doc_id__in=doc_ids).values_list(
            "doc_id", "term_id"
        )
    )
    df_changes: Counter[int] = Counter(term_id for _doc, term_id in old)
    df_changes = Counter({term_id: -count for term_id, count in df_changes.items()})
    SearchPosting.objects.filter(index=index, doc_id__in=doc_ids).delete()
    per_document = [(document.doc_id, document_terms(document)) for document in documents]
    ids = _term_ids(index, {text for _doc, terms in per_document for text in terms})
    postings = []
    for doc_id, terms in per_document:
        for text, weight in terms.items():
            term_id = ids[text]
            df_changes[term_id] += 1
            postings.append(
                SearchPosting(index=index, term_id=term_id, doc_id=doc_id, weight=weight)
            )
    SearchPosting.objects.bulk_create(postings, batch_size=2000)
    _adjust_df(df_changes)


@transaction.atomic
def delete_documents(index: str, doc_ids: Sequence[int]) -> None:
    """Take the documents out of the index."""
    old = SearchPosting.objects.filter(index=index, doc_id__in=list(doc_ids))
    changes = Counter(old.values_list("term_id", flat=True))
    old.delete()
    _adjust_df(Counter({term_id: -count for term_id, count in changes.items()}))


class Rebuild:
    """Refill an index from scratch in batches (rebuild_search_index, the benchmarks).

    Faster than index_documents: no old postings to read, document frequencies
    counted in memory and written once at the end, postings sent with COPY on
    PostgreSQL.
    """

    def __init__(self, index: str) -> None:
        self.index = index
        self.term_ids: dict[str, int] = {}
        self.df: Counter[int] = Counter()
        self.documents = 0
        SearchPosting.objects.filter(index=index).delete()
        SearchTerm.objects.filter(index=index).delete()

    def add(self, documents: Sequence[Document]) -> None:
        per_document = [(document.doc_id, document_terms(document)) for document in documents]
        new = {t for _d, terms in per_document for t in terms if t not in self.term_ids}
        # The index was emptied in this transaction: every new word is new to the table too,
        # and bulk_create returns the ids (RETURNING) on PostgreSQL and SQLite.
        created = SearchTerm.objects.bulk_create(
            [_new_term(self.index, text) for text in sorted(new)], batch_size=2000
        )
        self.term_ids.update((term.text, term.pk) for term in created)
        rows = []
        for doc_id, terms in per_document:
            for text, weight in terms.items():
                term_id = self.term_ids[text]
                self.df[term_id] += 1
                rows.append((self.index, term_id, doc_id, weight))
        _insert_postings(rows)
        self.documents += len(documents)

    def finish(self) -> None:
        by_df: dict[int, list[int]] = defaultdict(list)
        for term_id, count in self.df.items():
            by_df[count].append(term_id)
        for count, ids in by_df.items():
            for start in range(0, len(ids), 5000):
                SearchTerm.objects.filter(id__in=ids[start : start + 5000]).update(df=count)
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(f"ANALYZE {SearchTerm._meta.db_table}")
                cursor.execute(f"ANALYZE {SearchPosting._meta.db_table}")


def _insert_postings(rows: list[tuple[str, int, int, float]]) -> None:
    if connection.vendor == "postgresql":
        table = SearchPosting._meta.db_table
        with connection.cursor() as cursor:
            raw = cursor.cursor  # psycopg 3 cursor: COPY is ten times faster than INSERT
            with raw.copy(f"COPY {table} (index, term_id, doc_id, weight) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        return
    SearchPosting.objects.bulk_create(
        (SearchPosting(index=i, term_id=t, doc_id=d, weight=w) for i, t, d, w in rows),
        batch_size=2000,
    )


# -- searching ------------------------------------------------------------------------------


def _has_trigram_index() -> bool:
    """pg_trgm is there (the migration creates it where the database allows)."""
    if connection.vendor != "postgresql":
        return False
    key = f"knowledge.search.trgm:{connection.settings_dict.get('NAME')}"
    cached = cache.get(key)
    if cached is None:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'")
            cached = cursor.fetchone() is not None
        cache.set(key, cached, 600)
    return bool(cached)


def _fuzzy_distance(length: int) -> int:
    if length < 4:
        return 0
    return 1 if length < 7 else 2


def _query_tokens(
    words: Sequence[str], synonyms: dict[str, list[str]] | None, prefix_all: bool
) -> list[_QueryToken]:
    result = []
    for position, word in enumerate(words[:MAX_QUERY_TOKENS]):
        alternatives = [_Alternative(term_forms(word), 1.0, True)]
        twin = digraph_twin(word)
        if twin is not None:
            alternatives.append(_Alternative(term_forms(twin), 1.0, True))
        for synonym in (synonyms or {}).get(word, ()):
            if synonym != word:
                alternatives.append(_Alternative(term_forms(synonym), SYNONYM_FACTOR, True))
        is_last = position == len(words) - 1
        result.append(
            _QueryToken(
                text=word,
                alternatives=alternatives,
                prefix=len(word) >= 3 and (prefix_all or is_last) and not word.isdigit(),
                fuzzy=_fuzzy_distance(len(word)) > 0 and not word.isdigit(),
            )
        )
    return result


def _vocabulary(
    index: str, tokens: list[_QueryToken], identifiers: Sequence[str], *, fuzzy: bool
) -> list[tuple]:
    """Vocabulary words a query word could match: exactly, by stem or sound, or (fuzzy=True)
    by prefix and edit distance. One UNION query whose branches each use their own index."""
    branches: list[tuple[str, list[Any]]] = []

    def any_of(column: str, values: set[str]) -> None:
        if values:
            placeholders = ", ".join(["%s"] * len(values))
            branches.append((f"{column} IN ({placeholders})", sorted(values)))

    if not fuzzy:
        texts: set[str] = set(identifiers)
        stems_de: set[str] = set()
        stems_en: set[str] = set()
        colognes: set[str] = set()
        metaphones: set[str] = set()
        for token in tokens:
            for alt in token.alternatives:
                texts.add(alt.forms.text)
                if len(alt.forms.text) >= 3 and alt.allow_stem:
                    stems_de.add(alt.forms.stem_de)
                    stems_en.add(alt.forms.stem_en)
                if len(alt.forms.cologne) >= 2:
                    colognes.add(alt.forms.cologne)
                metaphones.update(c for c in (alt.forms.metaphone, alt.forms.metaphone_alt) if c)
        any_of("text", texts)
        any_of("stem_de", stems_de)
        any_of("stem_en", stems_en)
        any_of("cologne", colognes)
        any_of("metaphone", metaphones)
        any_of("metaphone_alt", metaphones)
    else:
        trigram = _has_trigram_index()
        for token in tokens:
            if token.prefix:
                branches.append(("text LIKE %s", [token.text + "%"]))
            if token.fuzzy:
                spread = _fuzzy_distance(len(token.text))
                bounds = [len(token.text) - spread, len(token.text) + spread]
                if trigram:
                    branches.append(
                        ("text %% %s AND length BETWEEN %s AND %s", [token.text, *bounds])
                    )
                else:
                    branches.append(("length BETWEEN %s AND %s", bounds))
    if not branches:
        return []
    table = SearchTerm._meta.db_table
    column = connection.ops.quote_name("index")
    # Only column names and placeholders are put into the text; every value is a parameter.
    select = (
        f"SELECT id, text, stem_de, stem_en, cologne, metaphone, metaphone_alt, df "  # noqa: S608
        f"FROM {table} WHERE {column} = %s AND "
    )
    sql = " UNION ".join(f"{select}{condition}" for condition, _params in branches)
    params: list[Any] = []
    for _condition, values in branches:
        params.extend([index, *values])
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return list(cursor.fetchall())


def _level(token: _QueryToken, row: tuple) -> float:
    """How well one vocabulary word matches one query word (0: not at all)."""
    _id, text, stem_de, stem_en, cologne, metaphone, metaphone_alt, _df = row
    best = 0.0
    row_codes = {f"k:{cologne}"} if len(cologne) >= 2 else set()
    row_codes.update(f"m:{code}" for code in (metaphone, metaphone_alt) if code)
    for alt in token.alternatives:
        forms = alt.forms
        if text == forms.text:
            return EXACT * alt.factor
        level = 0.0
        if (
            alt.allow_stem
            and len(forms.text) >= 3
            and (stem_de == forms.stem_de or stem_en == forms.stem_en)
        ):
            level = STEM
        elif token.prefix and alt.factor == 1.0 and text.startswith(token.text):
            level = PREFIX
        else:
            shared = row_codes & forms.phonetic
            kinds = {code[0] for code in shared}
            if shared and (len(kinds) == 2 or text[:1] == forms.text[:1]):
                level = PHONETIC if len(kinds) == 2 else PHONETIC - 0.05
            elif token.fuzzy and alt.factor == 1.0:
                allowed = _fuzzy_distance(len(forms.text))
                distance = OSA.distance(forms.text, text, score_cutoff=allowed)
                if distance <= allowed:
                    level = FUZZY * (1 - distance / (len(forms.text) + 1))
        best = max(best, level * alt.factor)
    return best


def search(
    index: str,
    *,
    words: Sequence[str],
    limit: int,
    restrict: QuerySet[Any] | None = None,
    identifiers: Sequence[str] = (),
    synonyms: dict[str, list[str]] | None = None,
    document_count: Callable[[], int] | None = None,
    prefix_all: bool = True,
) -> SearchResult:
    """The best `limit` documents for the folded query words (see analysis.content_tokens).

    `restrict` is a queryset of the document ids allowed (released solutions,
    one category); `identifiers` are exact-only terms (a phone number in E.164).
    """
    words = [w for w in words if len(w) >= MIN_TERM_LENGTH][:MAX_QUERY_TOKENS]
    identifiers = [i.strip().lower()[:100] for i in identifiers if i.strip()]
    if not words and not identifiers:
        return SearchResult(hits=[], tokens=[], matched_terms=set())
    tokens = _query_tokens(words, synonyms, prefix_all)
    rows = _vocabulary(index, tokens, identifiers, fuzzy=False)
    # Prefixes and typos only for the words that the vocabulary has no exact or stem match for.
    unmatched = [
        token
        for token in tokens
        if (token.prefix or token.fuzzy)
        and not any(_level(token, row) >= STEM * SYNONYM_FACTOR for row in rows)
    ]
    if unmatched:
        seen = {row[0] for row in rows}
        rows += [r for r in _vocabulary(index, unmatched, (), fuzzy=True) if r[0] not in seen]
    # Per query word (and one pseudo-word for the identifiers): term id -> level.
    matches: list[dict[int, float]] = []
    token_df: list[int] = []
    texts: dict[int, str] = {}
    dfs: dict[int, int] = {}
    for row in rows:
        texts[row[0]] = row[1]
        dfs[row[0]] = row[7]
    for token in tokens:
        levels = {row[0]: level for row in rows if (level := _level(token, row)) > 0}
        if any(level >= STEM * SYNONYM_FACTOR for level in levels.values()):
            levels = {t: lv for t, lv in levels.items() if lv > FUZZY}
        ranked = sorted(levels, key=lambda t: (-levels[t], -dfs[t]))
        # Exact, stem and prefix matches all count; sound-alikes and typos only the best few.
        best = [t for t in ranked if levels[t] >= PREFIX][:MAX_STRONG_TERMS]
        best += [t for t in ranked if levels[t] < PREFIX][:TERMS_PER_TOKEN]
        matches.append({t: levels[t] for t in best})
    if identifiers:
        matches.append({row[0]: EXACT for row in rows if row[1] in identifiers})
    for level_map in matches:
        top = max(level_map.values(), default=0)
        token_df.append(sum(dfs[t] for t, lv in level_map.items() if lv >= top - 0.01))
    total = document_count() if document_count is not None else 0
    total = max(total, max(token_df, default=0), 1)
    idf = [math.log(1 + total / (1 + df)) + 0.1 for df in token_df]
    postings = _read_postings(index, matches, dfs, restrict)
    scores: dict[int, list[float]] = defaultdict(lambda: [0.0] * len(matches))
    matched_terms: dict[int, set[str]] = defaultdict(set)
    term_tokens: dict[int, list[tuple[int, float]]] = defaultdict(list)
    for position, level_map in enumerate(matches):
        for term_id, level in level_map.items():
            term_tokens[term_id].append((position, level))
    for doc_id, term_id, weight in postings:
        per_token = scores[doc_id]
        for position, level in term_tokens[term_id]:
            value = level * weight
            if value > per_token[position]:
                per_token[position] = value
        matched_terms[doc_id].add(texts[term_id])
    hits = []
    count = len(matches)
    for doc_id, per_token in scores.items():
        matched = sum(1 for value in per_token if value > 0)
        score = sum(value * idf[i] for i, value in enumerate(per_token))
        score *= 1 + matched / count
        hits.append(Hit(doc_id, score, matched, matched_terms[doc_id]))
    hits.sort(key=lambda hit: (-hit.score, hit.doc_id))
    hits = hits[:limit]
    used = set().union(*(hit.matched_terms for hit in hits)) if hits else set()
    return SearchResult(hits=hits, tokens=list(words), matched_terms=used)


def _read_postings(
    index: str,
    matches: list[dict[int, float]],
    dfs: dict[int, int],
    restrict: QuerySet[Any] | None,
) -> list[tuple[int, int, float]]:
    """(doc, term, weight) of the candidates: all postings of rare words, frequent ones checked."""
    sizes = [sum(dfs[t] for t in level_map) for level_map in matches]
    rare = [m for m, size in zip(matches, sizes, strict=True) if m and size <= FULL_READ_POSTINGS]
    frequent = [
        m for m, size in zip(matches, sizes, strict=True) if m and size > FULL_READ_POSTINGS
    ]
    base = SearchPosting.objects.filter(index=index)
    if restrict is not None:
        base = base.filter(doc_id__in=restrict)
    postings: list[tuple[int, int, float]] = []
    if rare:
        rare_terms = sorted({t for m in rare for t in m})
        postings = list(
            base.filter(term_id__in=rare_terms).values_list("doc_id", "term_id", "weight")
        )
        candidates = _best_candidates(postings, rare)
    elif frequent:
        candidates = _frequent_candidates(base, frequent)
    else:
        return []
    if frequent and candidates:
        frequent_terms = sorted({t for m in frequent for t in m})
        postings.extend(
            base.filter(term_id__in=frequent_terms, doc_id__in=candidates).values_list(
                "doc_id", "term_id", "weight"
            )
        )
    return postings


def _best_candidates(
    postings: list[tuple[int, int, float]], rare: list[dict[int, float]]
) -> list[int]:
    """The documents the rare words match best (all of them when they are few)."""
    docs: dict[int, float] = defaultdict(float)
    for doc_id, term_id, weight in postings:
        docs[doc_id] += max((m.get(term_id, 0.0) for m in rare), default=0.0) * weight
    if len(docs) <= MAX_CANDIDATES:
        return list(docs)
    return sorted(docs, key=lambda d: -docs[d])[:MAX_CANDIDATES]


def _frequent_candidates(base: QuerySet[Any], frequent: list[dict[int, float]]) -> list[int]:
    """Only frequent words: documents that have all of them, else some with the best match."""
    strongest = [{t for t, lv in m.items() if lv >= max(m.values()) - 0.01} for m in frequent]
    if len(strongest) > 1:
        sets = [
            base.filter(term_id__in=sorted(terms)).values_list("doc_id", flat=True)
            for terms in strongest
        ]
        both = list(sets[0].intersection(*sets[1:])[:MAX_CANDIDATES])
        if both:
            return both
    smallest = min(strongest, key=len)
    return list(
        base.filter(term_id__in=sorted(smallest)).values_list("doc_id", flat=True)[:MAX_CANDIDATES]
    )
