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

import bisect
import logging
import math
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import F, QuerySet
from rapidfuzz import process
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
# A query of more words than this (an email) skips the typo lookup of its unknown words when
# at least KNOWN_ENOUGH of its words are in the vocabulary.
LONG_QUERY_TOKENS = 6
KNOWN_ENOUGH = 3
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
    counted in memory. On PostgreSQL the words get their ids from the sequence and
    are written once at the end with COPY; the postings are sent with COPY to a
    temporary table and moved into place sorted by word, so that the postings of
    one word lie together on disk (a search reads a frequent word's postings from a
    few pages instead of one page per document: "Rechnung" in 10,000 of 50,000
    solutions, 30 ms unsorted, 2 ms sorted). Postings that saves add one by one land
    wherever there is room; a rebuild after a large load puts them in order again.
    """

    def __init__(self, index: str) -> None:
        self.index = index
        self.term_ids: dict[str, int] = {}
        self.df: Counter[int] = Counter()
        self.documents = 0
        self.postgres = connection.vendor == "postgresql"
        with connection.cursor() as cursor:
            # Plain DELETEs: the ORM's delete would load every word to cascade to its postings.
            for model in (SearchPosting, SearchTerm):
                table = model._meta.db_table
                cursor.execute(f'DELETE FROM {table} WHERE "index" = %s', [index])  # noqa: S608
            if self.postgres:
                cursor.execute(f"DROP TABLE IF EXISTS {_REBUILD_TABLE}")
                cursor.execute(
                    f"CREATE TEMPORARY TABLE {_REBUILD_TABLE} "
                    "(term_id bigint, doc_id bigint, weight double precision)"
                )

    def add(self, documents: Sequence[Document]) -> None:
        per_document = [(document.doc_id, document_terms(document)) for document in documents]
        new = sorted({t for _d, terms in per_document for t in terms if t not in self.term_ids})
        if new and self.postgres:
            self.term_ids.update(zip(new, _next_term_ids(len(new)), strict=True))
        elif new:
            # The index was emptied in this transaction: every new word is new to the table
            # too, and bulk_create returns the ids (RETURNING).
            created = SearchTerm.objects.bulk_create(
                [_new_term(self.index, text) for text in new], batch_size=2000
            )
            self.term_ids.update((term.text, term.pk) for term in created)
        rows = []
        for doc_id, terms in per_document:
            for text, weight in terms.items():
                term_id = self.term_ids[text]
                self.df[term_id] += 1
                rows.append((term_id, doc_id, weight))
        if self.postgres:
            _copy(_REBUILD_TABLE, ("term_id", "doc_id", "weight"), rows)
        else:
            SearchPosting.objects.bulk_create(
                (
                    SearchPosting(index=self.index, term_id=t, doc_id=d, weight=w)
                    for t, d, w in rows
                ),
                batch_size=2000,
            )
        self.documents += len(documents)

    def finish(self) -> None:
        if self.postgres:
            self._finish_postgres()
            return
        by_df: dict[int, list[int]] = defaultdict(list)
        for term_id, count in self.df.items():
            by_df[count].append(term_id)
        for count, ids in by_df.items():
            for start in range(0, len(ids), 5000):
                SearchTerm.objects.filter(id__in=ids[start : start + 5000]).update(df=count)

    def _finish_postgres(self) -> None:
        columns = [
            "id",
            "index",
            "text",
            "length",
            "stem_de",
            "stem_en",
            "cologne",
            "metaphone",
            "metaphone_alt",
            "df",
        ]
        _copy(
            SearchTerm._meta.db_table,
            columns,
            (
                _term_row(self.index, text, term_id, self.df[term_id])
                for text, term_id in self.term_ids.items()
            ),
        )
        terms, postings = SearchTerm._meta.db_table, SearchPosting._meta.db_table
        with connection.cursor() as cursor:
            if connection.in_atomic_block:  # sort the postings in memory
                cursor.execute("SET LOCAL work_mem = '256MB'")
            cursor.execute(
                f'INSERT INTO {postings} ("index", term_id, doc_id, weight) '  # noqa: S608
                f"SELECT %s, term_id, doc_id, weight FROM {_REBUILD_TABLE} "
                "ORDER BY term_id, doc_id",
                [self.index],
            )
            cursor.execute(f"DROP TABLE {_REBUILD_TABLE}")
            cursor.execute(f"ANALYZE {terms}")
            cursor.execute(f"ANALYZE {postings}")


_REBUILD_TABLE = "knowledge_rebuild_postings"


def _next_term_ids(count: int) -> list[int]:
    """Ids for new vocabulary words from SearchTerm's own sequence (PostgreSQL)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
            [SearchTerm._meta.db_table, count],
        )
        return [row[0] for row in cursor.fetchall()]


def _term_row(index: str, text: str, term_id: int, df: int) -> tuple[Any, ...]:
    forms = term_forms(text)
    return (
        term_id,
        index,
        text,
        len(text),
        forms.stem_de[:100],
        forms.stem_en[:100],
        forms.cologne,
        forms.metaphone,
        forms.metaphone_alt,
        df,
    )


def _copy(table: str, columns: Sequence[str], rows: Iterable[tuple[Any, ...]]) -> None:
    """COPY rows into a table (PostgreSQL): ten times faster than INSERT."""
    names = ", ".join(connection.ops.quote_name(column) for column in columns)
    with connection.cursor() as cursor:
        raw = cursor.cursor  # the psycopg 3 cursor under Django's wrapper
        with raw.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)


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


# The condition of the partial prefix and trigram indexes (migration 0004), word for word.
_WORDS_ONLY = "text !~ '^[0-9]+$'"


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
        # On PostgreSQL the prefix and trigram indexes leave out the words of only digits
        # (customer numbers, postcodes): a query word with a letter never matches them.
        words = f" AND {_WORDS_ONLY}" if connection.vendor == "postgresql" else ""
        for token in tokens:
            if token.prefix:
                branches.append((f"text LIKE %s{words}", [token.text + "%"]))
            if token.fuzzy:
                spread = _fuzzy_distance(len(token.text))
                bounds = [len(token.text) - spread, len(token.text) + spread]
                if trigram:
                    branches.append(
                        (
                            f"text %% %s AND length BETWEEN %s AND %s{words}",
                            [token.text, *bounds],
                        )
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


class _Rows:
    """Vocabulary rows looked up by text, stem and sound: a query word is compared (by
    _level) only with the rows it can match at all, not with every row the query found."""

    def __init__(self, rows: Sequence[tuple]) -> None:
        self.rows = list(rows)
        self.by_key: dict[str, list[int]] = defaultdict(list)
        for position, row in enumerate(self.rows):
            _id, text, stem_de, stem_en, cologne, metaphone, metaphone_alt, _df = row
            keys = {f"t:{text}", f"d:{stem_de}", f"e:{stem_en}"}
            if len(cologne) >= 2:
                keys.add(f"k:{cologne}")
            keys.update(f"m:{code}" for code in (metaphone, metaphone_alt) if code)
            for key in keys:
                self.by_key[key].append(position)
        self.sorted_texts = sorted((row[1], position) for position, row in enumerate(self.rows))
        self.texts = [row[1] for row in self.rows]

    def levels(self, token: _QueryToken) -> dict[int, float]:
        """Term id -> level (> 0) of the rows that match the query word."""
        candidates: set[int] = set()
        for alt in token.alternatives:
            forms = alt.forms
            keys = [f"t:{forms.text}", *forms.phonetic]
            if alt.allow_stem and len(forms.text) >= 3:
                keys += [f"d:{forms.stem_de}", f"e:{forms.stem_en}"]
            for key in keys:
                candidates.update(self.by_key.get(key, ()))
            if token.fuzzy and alt.factor == 1.0:
                allowed = _fuzzy_distance(len(forms.text))
                for _text, _distance, position in process.extract(
                    forms.text,
                    self.texts,
                    scorer=OSA.distance,
                    score_cutoff=allowed,
                    limit=None,
                ):
                    candidates.add(position)
        if token.prefix:
            start = bisect.bisect_left(self.sorted_texts, (token.text,))
            for text, position in self.sorted_texts[start:]:
                if not text.startswith(token.text):
                    break
                candidates.add(position)
        result = {}
        for position in candidates:
            row = self.rows[position]
            level = _level(token, row)
            if level > 0:
                result[row[0]] = level
        return result


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
    found = _Rows(rows)
    known = [
        any(level >= STEM * SYNONYM_FACTOR for level in found.levels(token).values())
        for token in tokens
    ]
    unmatched = [
        token
        for token, is_known in zip(tokens, known, strict=True)
        if (token.prefix or token.fuzzy) and not is_known
    ]
    if len(tokens) > LONG_QUERY_TOKENS and sum(known) >= KNOWN_ENOUGH:
        # A long text (an email) with enough known words: its unknown words are mostly words
        # the knowledge base does not use, each an expensive edit-distance lookup. Their
        # prefixes are still looked up, and sound-alikes were found with the known words.
        unmatched = [replace(token, fuzzy=False) for token in unmatched if token.prefix]
    if unmatched:
        seen = {row[0] for row in rows}
        rows += [r for r in _vocabulary(index, unmatched, (), fuzzy=True) if r[0] not in seen]
        found = _Rows(rows)
    # Per query word (and one pseudo-word for the identifiers): term id -> level.
    matches: list[dict[int, float]] = []
    token_df: list[int] = []
    texts: dict[int, str] = {}
    dfs: dict[int, int] = {}
    for row in rows:
        texts[row[0]] = row[1]
        dfs[row[0]] = row[7]
    for token in tokens:
        levels = found.levels(token)
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
    count = len(matches)
    scores: dict[int, list[float]] = {}
    term_tokens: dict[int, list[tuple[int, float]]] = defaultdict(list)
    for position, level_map in enumerate(matches):
        for term_id, level in level_map.items():
            term_tokens[term_id].append((position, level))
    for doc_id, term_id, weight in postings:
        per_token = scores.get(doc_id)
        if per_token is None:
            per_token = scores[doc_id] = [0.0] * count
        for position, level in term_tokens[term_id]:
            value = level * weight
            if value > per_token[position]:
                per_token[position] = value
    ordered: list[tuple[float, int, int]] = []
    for doc_id, per_token in scores.items():
        matched = sum(1 for value in per_token if value > 0)
        score = sum(value * weight for value, weight in zip(per_token, idf, strict=True))
        ordered.append((score * (1 + matched / count), doc_id, matched))
    ordered.sort(key=lambda item: (-item[0], item[1]))
    # The matched words (for highlighting) only of the documents shown.
    hits = [Hit(doc_id, score, matched) for score, doc_id, matched in ordered[:limit]]
    by_doc = {hit.doc_id: hit for hit in hits}
    for doc_id, term_id, _weight in postings:
        hit = by_doc.get(doc_id)
        if hit is not None:
            hit.matched_terms.add(texts[term_id])
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
    postings_of = _Postings(index, restrict)
    postings: list[tuple[int, int, float]] = []
    if rare:
        postings = postings_of.read(sorted({t for m in rare for t in m}))
        candidates = _best_candidates(postings, rare)
    elif frequent:
        candidates = _frequent_candidates(postings_of, frequent)
    else:
        return []
    if frequent and candidates:
        frequent_terms = sorted({t for m in frequent for t in m})
        postings.extend(postings_of.read(frequent_terms, sorted(candidates)))
    return postings


class _Postings:
    """Reads postings: on PostgreSQL with the ids as two array parameters (one statement
    whatever the number of ids), elsewhere (and for a restricting queryset) with the ORM."""

    def __init__(self, index: str, restrict: QuerySet[Any] | None) -> None:
        self.raw = connection.vendor == "postgresql" and restrict is None
        self.index = index
        self.base = SearchPosting.objects.filter(index=index)
        if restrict is not None:
            self.base = self.base.filter(doc_id__in=restrict)

    def _sql(self, columns: str, doc_ids: Sequence[int] | None) -> str:
        # Only the table name is put into the text; the index name and ids are parameters.
        # The index name is needed: without it the (index, doc_id) B-tree is not used at all.
        sql = (
            f"SELECT {columns} FROM {SearchPosting._meta.db_table} "  # noqa: S608
            'WHERE "index" = %s AND term_id = ANY(%s)'
        )
        return sql + (" AND doc_id = ANY(%s)" if doc_ids is not None else "")

    def read(
        self, term_ids: Sequence[int], doc_ids: Sequence[int] | None = None
    ) -> list[tuple[int, int, float]]:
        if self.raw:
            params: list[Any] = [self.index, list(term_ids)]
            if doc_ids is not None:
                params.append(list(doc_ids))
            with connection.cursor() as cursor:
                cursor.execute(self._sql("doc_id, term_id, weight", doc_ids), params)
                return list(cursor.fetchall())
        queryset = self.base.filter(term_id__in=term_ids)
        if doc_ids is not None:
            queryset = queryset.filter(doc_id__in=doc_ids)
        return list(queryset.values_list("doc_id", "term_id", "weight"))

    def docs_with_all(self, groups: Sequence[Sequence[int]], limit: int) -> list[int]:
        """Documents that have a word of every group (at most `limit`)."""
        if self.raw:
            sql = " INTERSECT ".join(f"({self._sql('doc_id', None)})" for _group in groups)
            with connection.cursor() as cursor:
                params = [value for group in groups for value in (self.index, list(group))]
                cursor.execute(f"{sql} LIMIT %s", [*params, limit])
                return [row[0] for row in cursor.fetchall()]
        sets = [
            self.base.filter(term_id__in=group).values_list("doc_id", flat=True) for group in groups
        ]
        return list(sets[0].intersection(*sets[1:])[:limit])

    def docs_with_any(self, term_ids: Sequence[int], limit: int) -> list[int]:
        if self.raw:
            with connection.cursor() as cursor:
                sql = f"{self._sql('doc_id', None)} LIMIT %s"
                cursor.execute(sql, [self.index, list(term_ids), limit])
                return [row[0] for row in cursor.fetchall()]
        return list(self.base.filter(term_id__in=term_ids).values_list("doc_id", flat=True)[:limit])


def _best_candidates(
    postings: list[tuple[int, int, float]], rare: list[dict[int, float]]
) -> list[int]:
    """The documents the rare words match best (all of them when they are few)."""
    best_level: dict[int, float] = {}
    for level_map in rare:
        for term_id, level in level_map.items():
            if level > best_level.get(term_id, 0.0):
                best_level[term_id] = level
    docs: dict[int, float] = defaultdict(float)
    for doc_id, term_id, weight in postings:
        docs[doc_id] += best_level.get(term_id, 0.0) * weight
    if len(docs) <= MAX_CANDIDATES:
        return list(docs)
    return sorted(docs, key=lambda d: -docs[d])[:MAX_CANDIDATES]


def _frequent_candidates(postings_of: _Postings, frequent: list[dict[int, float]]) -> list[int]:
    """Only frequent words: documents that have all of them, else some with the best match."""
    strongest = [{t for t, lv in m.items() if lv >= max(m.values()) - 0.01} for m in frequent]
    if len(strongest) > 1:
        both = postings_of.docs_with_all([sorted(terms) for terms in strongest], MAX_CANDIDATES)
        if both:
            return both
    smallest = min(strongest, key=len)
    return postings_of.docs_with_any(sorted(smallest), MAX_CANDIDATES)
