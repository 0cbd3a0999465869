"""Search from a customer's whole email: drop quotes, greeting and signature, keep the content."""

from __future__ import annotations

import re

from knowledge.search.analysis import content_tokens

MAX_EMAIL_CHARS = 20000
MAX_KEY_TERMS = 24

# Where a reply's quoted original starts ("Am 3. März schrieb …", "On Mon, … wrote:").
_QUOTE_HEADER = re.compile(
    r"^\s*(am\s.+schrieb.*:|on\s.+wrote:|-+\s*(original message|ursprüngliche nachricht)"
    r"\s*-+|von:\s.+|from:\s.+|gesendet:\s.+|sent:\s.+)\s*$",
    re.IGNORECASE,
)
# Where a signature starts: the "-- " line, or a short closing formula on a line of its own.
_CLOSING = re.compile(
    r"^\s*(--|mit freundlichen gr(ü|ue)(ß|ss)en|freundliche gr(ü|ue)(ß|ss)e|"
    r"(viele|beste|liebe|herzliche) gr(ü|ue)(ß|ss)e|gr(ü|ue)(ß|ss)e|gru(ß|ss)|mfg|lg|vg|"
    r"best regards|kind regards|regards|best wishes|cheers|thanks|thank you|many thanks|"
    r"danke|vielen dank|sent from my|von meinem)\b[^\n]{0,30}$",
    re.IGNORECASE,
)
_GREETING = re.compile(
    r"^\s*(hallo|hi|hello|dear|sehr geehrte[rs]?|liebe[rs]?|guten tag|moin|servus)\b[^\n]{0,40}"
    r"[,!:]?\s*$",
    re.IGNORECASE,
)
# Words every customer email has and that say nothing about the problem.
EMAIL_NOISE = frozenset(
    """
    bitte danke dank hallo gruss grusse freundlichen herr frau team damen herren geehrte
    geehrter anfrage frage fragen problem probleme hilfe helfen leider schon heute gestern
    morgen seit tagen tag woche wochen mal immer wieder eigentlich gerne mehr ganz gibt
    please thanks thank hello dear regards kind help issue question problem today yesterday
    since days still again really would could get got
    """.split()  # noqa: SIM905 - a word list reads better as text
)


def email_content(body: str) -> str:
    """The customer's own words: without quoted replies, greeting lines and signature."""
    lines = body[:MAX_EMAIL_CHARS].replace("\r\n", "\n").split("\n")
    kept: list[str] = []
    for line in lines:
        if _QUOTE_HEADER.match(line) or _CLOSING.match(line):
            break
        if line.lstrip().startswith(">"):
            continue
        if not kept and (_GREETING.match(line) or not line.strip()):
            continue
        kept.append(line)
    content = "\n".join(kept).strip()
    return content or body[:MAX_EMAIL_CHARS].strip()


def email_key_terms(body: str) -> list[str]:
    """The folded words of an email that describe the problem, most in order of appearance."""
    words = [w for w in content_tokens(email_content(body)) if w not in EMAIL_NOISE]
    return words[:MAX_KEY_TERMS]
