# ruff: noqa: E501
"""German translations of the campaigns app's strings, filled into the shared catalogue.

Run inside the locale lock (see the helper brief): it fills entries that are empty or fuzzy
and whose msgid is listed here, so other apps' entries are never touched.
"""

from __future__ import annotations

import sys
from pathlib import Path

import polib

DE: dict[str, str] = {
    "closed / customers": "abgeschlossen / Kunden",
    "customers": "Kunden",
    "show": "anzeigen",
    "add from CSV": "aus CSV hinzufügen",
    "Add from CSV": "Aus CSV hinzufügen",
    "The file is larger than 10 MB.": "Die Datei ist größer als 10 MB.",
    "%(added)s customers added, %(skipped)s already on the list.": "%(added)s Kunden hinzugefügt, %(skipped)s standen schon auf der Liste.",
    "Add customers to “%(list)s”": "Kunden zu „%(list)s“ hinzufügen",
    "Put back on the list (to call again)": "Zurück auf die Liste (erneut anrufen)",
    "%(n)s customers put back.": "%(n)s Kunden zurück auf die Liste gesetzt.",
    "Campaigns": "Kampagnen",
    "campaigns": "Kampagnen",
    "campaign": "Kampagne",
    "Short name for scripts and reports, e.g. “fibre-2026”.": "Kurzname für Skripte und Auswertungen, z. B. „glasfaser-2026“.",
    "Its published version opens for every customer the agent takes.": "Seine veröffentlichte Version öffnet sich für jeden Kunden, den der Agent übernimmt.",
    "The agents of these groups see the list on their desk.": "Die Agenten dieser Gruppen sehen die Liste auf ihrem Arbeitsplatz.",
    "attempts per customer": "Versuche je Kunde",
    "After this many unanswered calls the customer is given up.": "Nach so vielen unbeantworteten Anrufen wird der Kunde aufgegeben.",
    "pause before trying again (minutes)": "Pause bis zum nächsten Versuch (Minuten)",
    "call list": "Anrufliste",
    "call lists": "Anruflisten",
    "To call": "Anzurufen",
    "Given up": "Aufgegeben",
    "Reached": "Erreicht",
    "Not reached": "Nicht erreicht",
    "Wrong number": "Falsche Nummer",
    "Does not want to be called": "Möchte nicht angerufen werden",
    "phone number": "Telefonnummer",
    "In E.164 form.": "Im Format E.164.",
    "1 is called first, 9 last.": "1 wird zuerst angerufen, 9 zuletzt.",
    "note for the agent": "Hinweis für den Agenten",
    "Shown with the customer.": "Wird beim Kunden angezeigt.",
    "taken": "übernommen",
    "last call": "letzter Anruf",
    "call list entry": "Anruflisten-Eintrag",
    "call list entries": "Anruflisten-Einträge",
    "This call list is not assigned to your agent groups.": "Diese Anrufliste ist Ihren Agentengruppen nicht zugewiesen.",
    "The script of campaign “%(campaign)s” has no published version yet.": "Das Skript der Kampagne „%(campaign)s“ hat noch keine veröffentlichte Version.",
    "Close the customer of “%(list)s” first.": "Schließen Sie zuerst den Kunden aus „%(list)s“ ab.",
    "This call list is not active.": "Diese Anrufliste ist nicht aktiv.",
    "Nobody is left to call on this list right now.": "Auf dieser Liste ist gerade niemand mehr anzurufen.",
    "This customer is no longer yours to work on.": "Dieser Kunde ist nicht mehr Ihnen zugeteilt.",
    "Choose how the call ended.": "Wählen Sie, wie das Gespräch ausging.",
    "Line %(line)s: %(message)s": "Zeile %(line)s: %(message)s",
    "Entry %(line)s: %(message)s": "Eintrag %(line)s: %(message)s",
    "Nothing was imported: %(count)s lines have errors.": "Nichts wurde importiert: %(count)s Zeilen haben Fehler.",
    "The first line must name the columns; “customer_number” is required.": "Die erste Zeile muss die Spalten benennen; „customer_number“ ist Pflicht.",
    "A file may hold at most %(max)s customers.": "Eine Datei darf höchstens %(max)s Kunden enthalten.",
    "the customer number is empty.": "die Kundennummer ist leer.",
    "no account has the number “%(n)s”.": "kein Kunde hat die Nummer „%(n)s“.",
    "“%(p)s” is not a phone number.": "„%(p)s“ ist keine Telefonnummer.",
    "account %(n)s has no phone number; give one in “phone”.": "Kunde %(n)s hat keine Telefonnummer; geben Sie eine in „phone“ an.",
    "the priority must be a number from 1 to 9.": "die Priorität muss eine Zahl von 1 bis 9 sein.",
    "the note is longer than 300 characters.": "der Hinweis ist länger als 300 Zeichen.",
    "That call list does not exist.": "Diese Anrufliste gibt es nicht.",
    "The customer is back on the list for the next agent.": "Der Kunde steht wieder auf der Liste, für den nächsten Agenten.",
    "Saved: %(result)s.": "Gespeichert: %(result)s.",
    "This script already belongs to another contact.": "Dieses Skript gehört schon zu einem anderen Kontakt.",
    "Upload a CSV file (UTF-8, separated by comma, semicolon or tab) whose first line names the columns. <code>customer_number</code> is required; <code>phone</code> (otherwise the account's phone number is used), <code>priority</code> (1 is called first, 9 last; default 5) and <code>note</code> (shown to the agent, at most 300 characters) are optional. A file with any bad line is refused as a whole; customers already waiting on the list are not added twice.": "Laden Sie eine CSV-Datei hoch (UTF-8, getrennt durch Komma, Semikolon oder Tabulator), deren erste Zeile die Spalten benennt. <code>customer_number</code> ist Pflicht; <code>phone</code> (sonst wird die Telefonnummer des Kunden verwendet), <code>priority</code> (1 wird zuerst angerufen, 9 zuletzt; Standard 5) und <code>note</code> (wird dem Agenten angezeigt, höchstens 300 Zeichen) sind optional. Eine Datei mit einer fehlerhaften Zeile wird ganz abgelehnt; Kunden, die schon auf der Liste warten, werden nicht doppelt aufgenommen.",
    "or paste the lines": "oder fügen Sie die Zeilen ein",
    "Attempts": "Versuche",
    "%(n)s of %(max)s": "%(n)s von %(max)s",
    "last": "zuletzt",
    "Call %(n)s": "%(n)s anrufen",
    "Close with:": "Abschließen mit:",
    "Put this customer back on the list untried?": "Diesen Kunden unversucht zurück auf die Liste setzen?",
    "Put back untried": "Unversucht zurücklegen",
    "This campaign has no script.": "Diese Kampagne hat kein Skript.",
    "Call lists": "Anruflisten",
    "To call now": "Jetzt anzurufen",
    "Later": "Später",
    "Next customer": "Nächster Kunde",
    "Calling": "Anruf an",
    "No call list is assigned to your agent groups.": "Ihren Agentengruppen ist keine Anrufliste zugewiesen.",
}


def fill(path: Path) -> int:
    po = polib.pofile(str(path))
    filled = 0
    for entry in po:
        if entry.msgid_plural or entry.msgid not in DE:
            continue
        if not entry.msgstr or "fuzzy" in entry.flags:
            entry.msgstr = DE[entry.msgid]
            if "fuzzy" in entry.flags:
                entry.flags.remove("fuzzy")
            entry.previous_msgid = None
            entry.previous_msgctxt = None
            filled += 1
    po.save()
    return filled


if __name__ == "__main__":
    root = Path(__file__).resolve().parents[2]
    count = fill(root / "locale" / "de" / "LC_MESSAGES" / "django.po")
    print(f"campaigns: {count} German entries filled", file=sys.stderr)
