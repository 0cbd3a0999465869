"""The German catalogue is complete, well-formed and compiled; the UI speaks German."""

from __future__ import annotations

import re
import shutil
from collections import Counter
from pathlib import Path
from typing import Any

import polib
import pytest
from django.core.management import call_command

from tests.conftest import need_program

ROOT = Path(__file__).resolve().parents[2]
LOCALE = ROOT / "locale"
DE_PO = LOCALE / "de" / "LC_MESSAGES" / "django.po"
LANGUAGES = ("de", "en")

# The same directories `make messages` leaves out.
IGNORED = (".venv", "tests", "bench", "staticfiles")

# %(name)s, %(count)d, %s, %%: python-format placeholders (blocktranslate's {{ var }}
# reaches the catalogue as %(var)s).
PYTHON_FORMAT = re.compile(
    r"%(?:\([^)]*\))?[-#0 +]*(?:\*|\d+)?(?:\.(?:\*|\d+))?[diouxXeEfFgGcrsa%]"
)
# {name}, {0}: python-brace-format placeholders; {{ var }}: a template variable that
# slipped through untranslated template syntax.
BRACES = re.compile(r"\{\{[^}]*\}\}|\{[^{}]*\}")


def _po(language: str) -> polib.POFile:
    return polib.pofile(str(LOCALE / language / "LC_MESSAGES" / "django.po"))


def _mo(language: str) -> polib.MOFile:
    return polib.mofile(str(LOCALE / language / "LC_MESSAGES" / "django.mo"))


def _key(entry: Any) -> tuple[str | None, str]:
    return (entry.msgctxt, entry.msgid)


def _placeholders(text: str, flags: list[str]) -> Counter[str]:
    found = Counter(PYTHON_FORMAT.findall(text)) if "python-format" in flags else Counter()
    found.update(BRACES.findall(text))
    return found


def _translations(entry: polib.POEntry) -> list[tuple[str, str]]:
    """(source, translation) pairs: one per plural form for plural entries."""
    if not entry.msgid_plural:
        return [(entry.msgid, entry.msgstr)]
    return [
        (entry.msgid if index == 0 else entry.msgid_plural, text)
        for index, text in sorted(entry.msgstr_plural.items())
    ]


def test_the_german_catalogue_translates_every_entry():
    po = _po("de")
    assert len(po) > 0
    untranslated = [
        entry.msgid
        for entry in po
        if not entry.obsolete and not all(text.strip() for _, text in _translations(entry))
    ]
    assert untranslated == [], f"untranslated in {DE_PO.relative_to(ROOT)}: {untranslated}"


def test_the_german_plural_entries_have_every_form():
    po = _po("de")
    forms = re.search(r"nplurals=(\d+)", po.metadata["Plural-Forms"])
    assert forms is not None
    expected = int(forms.group(1))
    wrong = [
        entry.msgid
        for entry in po
        if entry.msgid_plural and sorted(entry.msgstr_plural) != list(range(expected))
    ]
    assert wrong == []


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_catalogue_has_no_fuzzy_or_obsolete_entries(language):
    po = _po(language)
    assert not po.metadata_is_fuzzy, "the header is marked fuzzy"
    assert po.metadata.get("Language") == language
    assert [entry.msgid for entry in po.fuzzy_entries()] == []
    assert [entry.msgid for entry in po.obsolete_entries()] == []


def test_the_german_translations_keep_every_placeholder():
    wrong = []
    for entry in _po("de"):
        for source, translation in _translations(entry):
            if _placeholders(translation, entry.flags) != _placeholders(source, entry.flags):
                wrong.append((entry.msgid, translation))
    assert wrong == [], f"placeholders differ from the source: {wrong}"


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_compiled_catalogue_matches_the_po_file(language):
    """The committed .mo files are what `make messages` compiles from the .po files."""
    expected: dict[tuple[str | None, str], Any] = {}
    for entry in _po(language):
        if entry.obsolete or entry.fuzzy:
            continue
        if entry.msgid_plural:
            if all(entry.msgstr_plural.values()):
                expected[_key(entry)] = (entry.msgid_plural, dict(entry.msgstr_plural))
        elif entry.msgstr:
            expected[_key(entry)] = entry.msgstr
    compiled: dict[tuple[str | None, str], Any] = {}
    for entry in _mo(language):
        if entry.msgid == "":
            continue  # the header
        if entry.msgid_plural:
            compiled[_key(entry)] = (entry.msgid_plural, dict(entry.msgstr_plural))
        else:
            compiled[_key(entry)] = entry.msgstr
    assert compiled == expected, "run `make messages` to compile the catalogues"


def test_the_german_catalogue_has_every_translatable_string(settings, monkeypatch, tmp_path):
    """Extract the messages again, into a copy, and compare with the committed catalogue.

    makemessages writes into the locale/ of its working directory and puts work files
    beside the templates, so it runs in a copy of the sources: the project stays untouched.
    """
    for program in ("xgettext", "msguniq", "msgmerge", "msgattrib"):
        need_program(program, "makemessages needs GNU gettext to extract the messages")
    copy = tmp_path / "locale" / "de" / "LC_MESSAGES" / "django.po"
    copy.parent.mkdir(parents=True)
    shutil.copyfile(DE_PO, copy)
    sources = tmp_path / "src"
    shutil.copytree(
        ROOT,
        sources,
        ignore=shutil.ignore_patterns(".*", "__pycache__", "*.sqlite3", "locale", *IGNORED),
    )
    settings.LOCALE_PATHS = [tmp_path / "locale"]
    monkeypatch.chdir(sources)
    call_command(
        "makemessages",
        locale=["de"],
        ignore_patterns=list(IGNORED),
        no_obsolete=True,
        verbosity=0,
    )
    committed = {_key(entry) for entry in _po("de") if not entry.obsolete}
    extracted = {_key(entry) for entry in polib.pofile(str(copy)) if not entry.obsolete}
    assert extracted, "makemessages extracted nothing"
    missing = sorted(extracted - committed, key=str)
    stale = sorted(committed - extracted, key=str)
    assert (missing, stale) == ([], []), (
        "run `make messages`, then translate the new entries; "
        f"not in the catalogue: {missing}; no longer in the source: {stale}"
    )


@pytest.mark.django_db
def test_the_login_page_speaks_german_with_the_language_cookie(client):
    client.cookies["django_language"] = "de"
    response = client.get("/login/")
    assert response.status_code == 200
    html = response.content.decode()
    assert '<html lang="de">' in html
    assert "Bei icenter anmelden" in html
    assert "Benutzername" in html
    assert "Passwort" in html
    assert "Log in" not in html


@pytest.mark.django_db
def test_the_login_page_speaks_english_without_a_cookie(client):
    response = client.get("/login/")
    html = response.content.decode()
    assert '<html lang="en">' in html
    assert "Log in to icenter" in html
    assert "Benutzername" not in html
