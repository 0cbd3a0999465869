"""Demo scripts for `manage.py seed_demo`: a satisfaction survey and a cross-sell script.

They go through the JSON import and publication like a manager's own scripts would.
"""

from __future__ import annotations

import json
from typing import Any

from django.db import transaction

from accounts.models import CustomerGroup
from scripting.interchange import FORMAT, FORMAT_VERSION, script_import
from scripting.models import Offer, OfferList, Script, ScriptVersion
from scripting.services import script_version_publish

SURVEY_CODE = "kundenzufriedenheit"
CROSS_SELL_CODE = "zusatzangebot"
OFFER_LIST_CODE = "zusatzprodukte"

SURVEY: dict[str, Any] = {
    "format": FORMAT,
    "format_version": FORMAT_VERSION,
    "script": {
        "code": SURVEY_CODE,
        "name": "Kundenzufriedenheit",
        "description": "Kurze Zufriedenheitsumfrage nach einem Servicekontakt (10 Schritte).",
    },
    "steps": [
        {
            "key": "consent",
            "kind": "question",
            "title": "Einverständnis",
            "text": "Guten Tag, hier spricht {agent.first_name} von icenter. Darf ich Ihnen, "
            "{account.name}, zwei Minuten lang ein paar Fragen zu unserem Service stellen?",
            "answer_type": "yes_no",
            "answers": [
                {"value": "yes", "label": "Ja", "next": "overall"},
                {"value": "no", "label": "Nein", "next": "end_declined"},
            ],
        },
        {
            "key": "overall",
            "kind": "question",
            "title": "Gesamtzufriedenheit",
            "text": "Wie zufrieden sind Sie insgesamt mit unserem Service?",
            "answer_type": "single",
            "answers": [
                {"value": "sehr_zufrieden", "label": "Sehr zufrieden", "next": "recommend"},
                {"value": "zufrieden", "label": "Zufrieden", "next": "recommend"},
                {"value": "unzufrieden", "label": "Unzufrieden", "next": "complaint"},
            ],
        },
        {
            "key": "complaint",
            "kind": "question",
            "title": "Beschwerde",
            "text": "Das tut mir leid. Was hat Sie gestört?",
            "answer_type": "text",
            "next": "callback_date",
        },
        {
            "key": "callback_date",
            "kind": "question",
            "title": "Rückruftermin",
            "text": "Eine Kollegin aus dem Beschwerdeteam ruft Sie zurück. "
            "An welchem Tag passt es Ihnen?",
            "answer_type": "date",
            "next": "recommend",
        },
        {
            "key": "recommend",
            "kind": "question",
            "title": "Weiterempfehlung",
            "text": "Wie wahrscheinlich ist es, dass Sie uns weiterempfehlen? "
            "(0 = gar nicht, 10 = sehr wahrscheinlich)",
            "answer_type": "number",
            "next": "channels",
        },
        {
            "key": "channels",
            "kind": "question",
            "title": "Kontaktwege",
            "text": "Auf welchen Wegen nehmen Sie am liebsten Kontakt mit uns auf?",
            "answer_type": "multiple",
            "answers": [
                {"value": "telefon", "label": "Telefon"},
                {"value": "email", "label": "E-Mail"},
                {"value": "chat", "label": "Chat"},
            ],
            "next": "email",
        },
        {
            "key": "email",
            "kind": "question",
            "title": "E-Mail für Ergebnisse",
            "text": "Möchten Sie die Ergebnisse per E-Mail erhalten? Dann nennen Sie mir bitte "
            "Ihre Adresse (freiwillig).",
            "answer_type": "email",
            "required": False,
            "conditions": [
                {
                    "if": "answer",
                    "answer": "complaint",
                    "operator": "not_empty",
                    "next": "end_complaint",
                }
            ],
            "next": "end_done",
        },
        {
            "key": "end_done",
            "kind": "end",
            "title": "Abschluss",
            "text": "Vielen Dank für Ihre Zeit, {account.name}! Einen schönen Tag noch.",
            "outcome": "completed",
            "actions": [{"type": "set_disposition", "value": "survey_completed"}],
        },
        {
            "key": "end_complaint",
            "kind": "end",
            "title": "Abschluss mit Beschwerde",
            "text": "Vielen Dank. Ich habe Ihre Beschwerde aufgenommen; wir rufen Sie am "
            "{answers.callback_date} zurück.",
            "outcome": "complaint",
            "actions": [
                {"type": "set_disposition", "value": "survey_complaint"},
                {
                    "type": "create_ticket",
                    "value": "Beschwerde aus Zufriedenheitsumfrage: {answers.complaint}",
                },
                {"type": "schedule_callback", "value": "callback_date"},
            ],
        },
        {
            "key": "end_declined",
            "kind": "end",
            "title": "Abgelehnt",
            "text": "Kein Problem, vielen Dank und auf Wiederhören!",
            "outcome": "declined",
            "actions": [{"type": "set_disposition", "value": "survey_declined"}],
        },
    ],
}

CROSS_SELL: dict[str, Any] = {
    "format": FORMAT,
    "format_version": FORMAT_VERSION,
    "script": {
        "code": CROSS_SELL_CODE,
        "name": "Zusatzangebot",
        "description": "Nach gelöstem Anliegen passende Zusatzprodukte anbieten (Top 3).",
    },
    "steps": [
        {
            "key": "greet",
            "kind": "info",
            "title": "Überleitung",
            "text": "Schön, dass wir Ihr Anliegen lösen konnten, {contact.first_name}. "
            "Darf ich Ihnen noch kurz zeigen, was zu Ihrem Vertrag passt?",
            "offers": {"list": OFFER_LIST_CODE, "count": 3},
            "conditions": [
                {
                    "if": "account.customer_group",
                    "operator": "equals",
                    "value": "gewerbe",
                    "next": "business",
                }
            ],
            "next": "interest",
        },
        {
            "key": "business",
            "kind": "info",
            "title": "Geschäftskunden",
            "text": "Für Geschäftskunden gelten die Preise des Rahmenvertrags; "
            "Angebote gehen zusätzlich an den Einkauf.",
            "next": "interest",
        },
        {
            "key": "interest",
            "kind": "question",
            "title": "Interesse",
            "text": "Interessiert Sie eines der Angebote?",
            "answer_type": "single",
            "answers": [
                {"value": "ja", "label": "Ja, gleich besprechen", "next": "budget"},
                {"value": "spaeter", "label": "Ja, aber später", "next": "end_later"},
                {"value": "nein", "label": "Nein, danke", "next": "end_no"},
            ],
        },
        {
            "key": "budget",
            "kind": "question",
            "title": "Budget",
            "text": "Wie viel möchten Sie monatlich höchstens zusätzlich ausgeben (in €)?",
            "answer_type": "number",
            "conditions": [
                {
                    "if": "answer",
                    "answer": "budget",
                    "operator": "lt",
                    "value": "10",
                    "next": "end_later",
                }
            ],
            "next": "end_offer",
        },
        {
            "key": "end_offer",
            "kind": "end",
            "title": "Angebot",
            "text": "Ich schicke Ihnen das Angebot (bis {answers.budget} € im Monat) zu.",
            "outcome": "qualified",
            "actions": [
                {"type": "mark_lead_qualified"},
                {"type": "offer_products", "offer_list": OFFER_LIST_CODE, "top_n": 3},
                {"type": "set_disposition", "value": "sale_interest"},
            ],
        },
        {
            "key": "end_later",
            "kind": "end",
            "title": "Später",
            "text": "Gern melden wir uns in ein paar Tagen noch einmal.",
            "outcome": "later",
            "actions": [
                {"type": "mark_lead_qualified", "value": "no"},
                {"type": "schedule_callback", "value": "72"},
            ],
        },
        {
            "key": "end_no",
            "kind": "end",
            "title": "Kein Interesse",
            "text": "Alles klar, danke für Ihre Zeit!",
            "outcome": "not_interested",
            "actions": [{"type": "set_disposition", "value": "no_interest"}],
        },
    ],
}

OFFERS = (
    # name, pitch, rank, customer group code, VIP only
    ("Premium-Support", "Persönliche Hotline rund um die Uhr", 5, "", True),
    ("Glasfaser 1000", "Bis zu 1 Gbit/s, 3 Monate gratis", 10, "", False),
    ("Business-Festnetz", "Zehn Rufnummern, Sammelrechnung", 15, "gewerbe", False),
    ("Mobilfunk-Option 20 GB", "Zweite SIM-Karte für 9,99 € im Monat", 20, "", False),
    ("TV-Paket", "80 Sender in HD, monatlich kündbar", 30, "", False),
)


@transaction.atomic
def demo_scripts_seed(*, created_by: Any = None) -> list[ScriptVersion]:
    """Create the offer list and publish both demo scripts, unless they exist already."""
    offer_list, created = OfferList.objects.get_or_create(
        code=OFFER_LIST_CODE, defaults={"name": "Zusatzprodukte"}
    )
    if created:
        groups = {g.code: g for g in CustomerGroup.objects.all()}
        Offer.objects.bulk_create(
            Offer(
                offer_list=offer_list,
                name=name,
                pitch=pitch,
                rank=rank,
                customer_group=groups.get(group),
                vip_only=vip_only,
            )
            for name, pitch, rank, group, vip_only in OFFERS
        )
    versions = []
    for definition in (SURVEY, CROSS_SELL):
        code = definition["script"]["code"]
        published = ScriptVersion.objects.filter(
            script__code=code, status=ScriptVersion.Status.PUBLISHED
        ).first()
        if published is None:
            if Script.objects.filter(code=code).exists():
                continue  # a manager's own drafts: leave them alone
            draft, _problems = script_import(text=json.dumps(definition), created_by=created_by)
            published = script_version_publish(version=draft)
        versions.append(published)
    return versions
