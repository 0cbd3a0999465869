"""Matched words marked in escaped text, and a short excerpt around the first match."""

from __future__ import annotations

import re

import nh3
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from knowledge.search.analysis import digraph_twin, fold_word

_WORD = re.compile(r"[^\W_]+", re.UNICODE)


def _is_match(word: str, matched: set[str]) -> bool:
    folded = fold_word(word)
    return folded in matched or digraph_twin(folded) in matched


def highlight(text: str, matched: set[str]) -> SafeString:
    """The text, HTML-escaped, with every matched word in <mark>."""
    parts: list[str] = []
    position = 0
    for match in _WORD.finditer(text):
        if not _is_match(match.group(0), matched):
            continue
        parts.append(escape(text[position : match.start()]))
        parts.append(f"<mark>{escape(match.group(0))}</mark>")
        position = match.end()
    parts.append(escape(text[position:]))
    return mark_safe("".join(parts))  # noqa: S308 - every piece is escaped above


def plain_text(html: str) -> str:
    """The text of sanitised rich text, without tags, for excerpts and plain-text email."""
    text = re.sub(r"(?i)<br\s*/?>|</(p|li|h[1-6]|div|tr)>", "\n", html)
    text = nh3.clean(text, tags=set())
    text = (
        text.replace("&nbsp;", " ")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", '"')
        .replace("&#39;", "'")
        .replace("&amp;", "&")
    )
    lines = [" ".join(line.split()) for line in text.splitlines()]
    return "\n".join(line for line in lines if line)


def excerpt(text: str, matched: set[str], width: int = 220) -> SafeString:
    """About `width` characters of the text around its first matched word, highlighted."""
    text = " ".join(text.split())
    start = 0
    for match in _WORD.finditer(text):
        if _is_match(match.group(0), matched):
            start = max(0, match.start() - width // 4)
            break
    if start:
        space = text.find(" ", start)
        start = space + 1 if 0 <= space < start + 30 else start
    end = min(len(text), start + width)
    if end < len(text):
        space = text.rfind(" ", start, end)
        end = space if space > start + width // 2 else end
    piece = highlight(text[start:end], matched)
    prefix = "… " if start else ""
    suffix = " …" if end < len(text) else ""
    return mark_safe(f"{prefix}{piece}{suffix}")  # noqa: S308 - piece is escaped by highlight
