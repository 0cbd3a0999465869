"""Text analysis for the search: folding, tokens, Snowball stems and phonetic codes.

Every word of a document and of a query goes through the same steps, so both
sides meet on the same forms:

- folded text: lower case, umlauts and accents stripped, ß as ss ("Müller" → "muller");
  the spelling with ae/oe/ue ("Mueller", "Kuendigung") also gets its folded twin;
- stems: the German and the English Snowball stemmer (PyStemmer);
- phonetic codes: Kölner Phonetik (cologne-phonetics) and Double Metaphone
  (doublemetaphone), so "Meier", "Mayer" and "Maier" share a code.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass

import cologne_phonetics
import Stemmer
from doublemetaphone import doublemetaphone

MAX_TERM_LENGTH = 60
MIN_TERM_LENGTH = 2

# Snowball's German and English stop word lists, trimmed to the words that carry no
# meaning in a problem description ("nicht" and "kein" stay out: they are noise too).
STOP_WORDS = frozenset(
    """
    aber alle allem allen aller alles als also am an ander andere anderem anderen anderer
    anderes anderm andern anders auch auf aus bei bin bis bist da dadurch daher damit dann
    darum das dass dasselbe dazu dein deine deinem deinen deiner deines dem demselben den denn
    denselben der derer derselbe derselben des deshalb desselben dessen dich die dies diese
    dieselbe dieselben diesem diesen dieser dieses dir doch dort du durch ein eine einem einen
    einer eines einig einige einigem einigen einiger einiges einmal er es etwas euch euer eure
    eurem euren eurer eures fur gegen gewesen hab habe haben hat hatte hatten hattest hattet
    hier hin hinter ich ihm ihn ihnen ihr ihre ihrem ihren ihrer ihres im in indem ins ist ja
    jede jedem jeden jeder jedes jene jenem jenen jener jenes jetzt kann kannst kein keine
    keinem keinen keiner keines konnen konnt konnte machen man manche manchem manchen mancher
    manches mein meine meinem meinen meiner meines mich mir mit muss mussen musst musste nach
    nachdem nein nicht nichts noch nun nur ob oder ohne sehr seid sein seine seinem seinen
    seiner seines selbst sich sie sind so solche solchem solchen solcher solches soll sollen
    sollst sollt sollte sondern sonst soweit sowie uber um und uns unser unsere unserem
    unseren unserer unseres unter viel vom von vor wahrend wann war waren warst warum was weg
    weil weiter weitere welche welchem welchen welcher welches wenn wer werde werden werdet
    weshalb wie wieder wieso will wir wird wirst wo woher wohin wollen wollte wurde wurden zu
    zum zur zwar zwischen
    a about above after again against all am an and any are as at be because been before
    being below between both but by can did do does doing down during each few for from
    further had has have having he her here hers herself him himself his how i if in into is
    it its itself just me more most my myself no nor not now of off on once only or other our
    ours ourselves out over own same she should so some such than that the their theirs them
    themselves then there these they this those through to too under until up very was we
    were what when where which while who whom why will with would you your yours yourself
    yourselves im ive dont doesnt cant isnt wont
    """.split()  # noqa: SIM905 - a word list reads better as text
)

_WORD = re.compile(r"[^\W_]+", re.UNICODE)
_DIGRAPHS = re.compile(r"ae|oe|ue")
_DIGRAPH_FOLD = {"ae": "a", "oe": "o", "ue": "u"}
_SPECIAL_FOLD = str.maketrans({"ß": "ss", "ẞ": "ss", "æ": "ae", "ø": "o", "đ": "d", "ł": "l"})

_STEM_DE = Stemmer.Stemmer("german")
_STEM_EN = Stemmer.Stemmer("english")


def fold(text: str) -> str:
    """Lower case without accents or umlauts; ß becomes ss ("Straße" → "strasse")."""
    text = unicodedata.normalize("NFKC", text).lower().translate(_SPECIAL_FOLD)
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def digraph_twin(folded: str) -> str | None:
    """The word with ae/oe/ue written as a/o/u ("kuendigung" → "kundigung"), or None."""
    if not _DIGRAPHS.search(folded):
        return None
    twin = _DIGRAPHS.sub(lambda match: _DIGRAPH_FOLD[match.group(0)], folded)
    return twin if len(twin) >= MIN_TERM_LENGTH else None


def words(text: str) -> list[str]:
    """The words of a text as written (letters and digits, in any script)."""
    return _WORD.findall(text)


def tokens(text: str) -> list[str]:
    """Folded words of a text, long enough to mean something, stop words included."""
    result = []
    for word in words(text):
        folded = fold_word(word)
        if MIN_TERM_LENGTH <= len(folded) <= MAX_TERM_LENGTH:
            result.append(folded)
    return result


def fold_word(word: str) -> str:
    """fold() of one word, remembered: the same words recur in every document."""
    return _fold_word(word) if len(word) <= MAX_TERM_LENGTH else fold(word)


@functools.lru_cache(maxsize=200_000)
def _fold_word(word: str) -> str:
    return fold(word)


def content_tokens(text: str) -> list[str]:
    """Folded words without stop words, each once, in order of appearance."""
    seen: dict[str, None] = {}
    for token in tokens(text):
        if token not in STOP_WORDS:
            seen.setdefault(token, None)
    return list(seen)


def compounds(text: str) -> list[str]:
    """Hyphenated words joined ("Handy-Vertrag" → "handyvertrag"): queries write them whole."""
    result = []
    for match in re.finditer(r"[^\W_]+(?:-[^\W_]+)+", text):
        joined = fold(match.group(0).replace("-", ""))
        if MIN_TERM_LENGTH <= len(joined) <= MAX_TERM_LENGTH:
            result.append(joined)
    return result


@dataclass(frozen=True)
class TermForms:
    """Every form of one folded word that the index stores and a query compares."""

    text: str
    stem_de: str
    stem_en: str
    cologne: str
    metaphone: str
    metaphone_alt: str

    @property
    def phonetic(self) -> frozenset[str]:
        codes = {f"k:{self.cologne}"} if len(self.cologne) >= 2 else set()
        codes.update(f"m:{code}" for code in (self.metaphone, self.metaphone_alt) if code)
        return frozenset(codes)


@functools.lru_cache(maxsize=200_000)
def term_forms(text: str) -> TermForms:
    """Stems and phonetic codes of a folded word; numbers get none of the phonetic ones."""
    if text.isdigit() or not text.isascii() or not any(c.isalpha() for c in text):
        return TermForms(text, text, text, "", "", "")
    encoded = cologne_phonetics.encode(text)
    cologne = encoded[0][1] if encoded else ""
    primary, alternative = doublemetaphone(text)
    return TermForms(
        text=text,
        stem_de=_STEM_DE.stemWord(text),
        stem_en=_STEM_EN.stemWord(text),
        cologne=cologne[:60],
        metaphone=primary[:20],
        metaphone_alt=(alternative if alternative != primary else "")[:20],
    )


def field_terms(text: str) -> list[str]:
    """The index terms of one field: its folded words, their ae/oe/ue twins and compounds."""
    if len(text) <= _CACHED_FIELD_CHARS:
        return list(_short_field_terms(text))
    return _field_terms(text)


# Names, cities, streets and titles repeat across thousands of documents: their terms are
# remembered (a rebuild of a million accounts analyses a few thousand distinct names).
_CACHED_FIELD_CHARS = 120


@functools.lru_cache(maxsize=100_000)
def _short_field_terms(text: str) -> tuple[str, ...]:
    return tuple(_field_terms(text))


def _field_terms(text: str) -> list[str]:
    result = []
    for token in tokens(text):
        if token in STOP_WORDS:
            continue
        result.append(token)
        twin = digraph_twin(token)
        if twin is not None:
            result.append(twin)
    result.extend(compounds(text))
    return result
