"""Demo data for customer service (seed_demo): SLA calendar and policies, the category tree,
a known outage in a demo caller's postcode, and tickets. Running it twice adds nothing."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone

from accounts import scheduling, services
from accounts.models import (
    Account,
    AlertAction,
    AlertCondition,
    AlertRule,
    BusinessCalendar,
    BusinessHours,
    MessageTemplate,
    Outage,
    OutageArea,
    ServiceRegion,
    ServiceSkill,
    SlaPolicy,
    Technician,
    Ticket,
    TicketCategory,
)

CATEGORIES = {
    "Internet": ["Störung", "Router", "Geschwindigkeit"],
    "Telefon": ["Störung", "Rufnummer"],
    "Rechnung": ["Rückfrage", "Gutschrift"],
    "Vertrag": ["Tarifwechsel", "Kündigung", "Umzug"],
}
# Which demo accounts get which tickets: customer number → (subject, type, priority,
# category path, status, description).
TICKETS: dict[str, list[tuple[str, str, str, str, str, str]]] = {
    "100234": [
        (
            "Internet in der Filiale fällt stündlich aus",
            "incident",
            "high",
            "Internet › Störung",
            "in_progress",
            "Router startet neu, LED blinkt rot. Kunde hat den Router schon getauscht.",
        ),
        (
            "Rechnung März doppelt abgebucht",
            "complaint",
            "normal",
            "Rechnung › Rückfrage",
            "waiting",
            "Kunde schickt Kontoauszug per E-Mail.",
        ),
    ],
    "100237": [
        (
            "Umzug nach Bonn zum 1. des Monats",
            "request",
            "normal",
            "Vertrag › Umzug",
            "new",
            "Neue Adresse folgt schriftlich.",
        ),
    ],
}
OUTAGE_REFERENCE = "ST-DEMO-10117"


def _calendar() -> BusinessCalendar:
    calendar, created = BusinessCalendar.objects.get_or_create(
        name="Kundenservice Berlin",
        defaults={
            "time_zone": "Europe/Berlin",
            "holiday_country": "DE",
            "holiday_subdivision": "BE",
        },
    )
    if created:
        for day in range(5):
            BusinessHours.objects.create(
                calendar=calendar, weekday=day, starts_at=dt.time(8), ends_at=dt.time(12)
            )
            BusinessHours.objects.create(
                calendar=calendar, weekday=day, starts_at=dt.time(13), ends_at=dt.time(18)
            )
        BusinessHours.objects.create(
            calendar=calendar, weekday=5, starts_at=dt.time(9), ends_at=dt.time(13)
        )
    return calendar


def _policies(calendar: BusinessCalendar) -> int:
    wanted = [
        ("Standard", "", "", 240, 2 * 540, 60),
        ("Dringend", "", "urgent", 30, 240, 30),
        ("Hoch", "", "high", 60, 540, 30),
        ("Beschwerde", "complaint", "", 120, 540, 60),
    ]
    created = 0
    for name, ticket_type, priority, first, resolution, warning in wanted:
        _, new = SlaPolicy.objects.get_or_create(
            name=name,
            defaults={
                "calendar": calendar,
                "ticket_type": ticket_type,
                "priority": priority,
                "first_response_minutes": first,
                "resolution_minutes": resolution,
                "warning_minutes": warning,
            },
        )
        created += int(new)
    return created


def _categories() -> dict[str, TicketCategory]:
    paths: dict[str, TicketCategory] = {}
    for root_name, children in CATEGORIES.items():
        root, _ = TicketCategory.objects.get_or_create(name=root_name, parent=None)
        paths[root_name] = root
        for child_name in children:
            child, _ = TicketCategory.objects.get_or_create(name=child_name, parent=root)
            paths[f"{root_name} › {child_name}"] = child
    return paths


def _outage() -> Outage:
    now = timezone.now()
    outage, created = Outage.objects.get_or_create(
        reference=OUTAGE_REFERENCE,
        defaults={
            "title": "Glasfaserschaden Berlin-Mitte",
            "description": "Bagger hat Glasfaserkabel in der Friedrichstraße beschädigt.",
            "source": "demo",
            "started_at": now - dt.timedelta(hours=2),
            "expected_fix_at": now + dt.timedelta(hours=4),
        },
    )
    if created:
        for postcode in ("10117", "10115", "10119"):
            OutageArea.objects.create(outage=outage, postcode=postcode)
    return outage


MESSAGE_TEMPLATES = [
    (
        "rueckruf-sms",
        "Rückruf nicht erreicht (SMS)",
        "sms",
        "",
        "Guten Tag {account.name}, wir haben Sie leider nicht erreicht. Bitte rufen Sie uns "
        "unter 030 1234500 an. Ihr Kundenservice, {agent.name}",
    ),
    (
        "stoerung-email",
        "Störung: Zwischenstand (E-Mail)",
        "email",
        "Ihre Störungsmeldung, Kundennummer {account.customer_number}",
        "Guten Tag {account.name},\n\nwir arbeiten an der Störung in Ihrem Gebiet und melden "
        "uns, sobald sie behoben ist.\n\nMit freundlichen Grüßen\n{agent.name}",
    ),
]


def _message_templates() -> None:
    for code, name, channel, subject, body in MESSAGE_TEMPLATES:
        MessageTemplate.objects.get_or_create(
            code=code,
            defaults={"name": name, "channel": channel, "subject": subject, "body": body},
        )


ALERT_RULES: list[tuple[str, list[dict[str, Any]], list[dict[str, Any]]]] = [
    (
        "Offene Beschwerde",
        [{"kind": "open_complaint"}],
        [
            {
                "kind": "alert",
                "severity": "danger",
                "text": "Offene Beschwerde von {account.name}: zuerst darauf eingehen.",
            },
            {"kind": "navigate", "view": "tickets"},
        ],
    ),
    (
        "Vielanrufer",
        [{"kind": "contacts", "count": 3, "days": 7}],
        [
            {
                "kind": "alert",
                "severity": "warning",
                "text": "Mindestens 3 Kontakte in 7 Tagen: Historie prüfen.",
            }
        ],
    ),
    (
        "Störung im Gebiet",
        [{"kind": "outage"}],
        [
            {
                "kind": "alert",
                "severity": "info",
                "text": "Auf die bekannte Störung hinweisen und das Ticket damit verknüpfen.",
            }
        ],
    ),
]


def _alert_rules() -> None:
    for order, (name, conditions, actions) in enumerate(ALERT_RULES, start=1):
        rule, created = AlertRule.objects.get_or_create(name=name, defaults={"order": order * 10})
        if not created:
            continue
        for condition in conditions:
            AlertCondition.objects.create(rule=rule, **condition)
        for action in actions:
            AlertAction.objects.create(rule=rule, **action)


SKILLS = {"glasfaser": "Glasfaser", "router": "Router und WLAN", "tv": "TV-Anschluss"}
REGIONS = {"Berlin": "10, 12, 13, 14", "München": "80, 81", "Köln": "50, 51"}
TECHNICIANS = [
    ("Tom Becker", ["glasfaser", "router"], ["Berlin"]),
    ("Lena Vogt", ["router", "tv"], ["Berlin", "Köln"]),
    ("Murat Yilmaz", ["router", "glasfaser"], ["München"]),
]
CATEGORY_SKILLS = {"Internet › Störung": "glasfaser", "Internet › Router": "router"}


def _technicians(categories: dict[str, TicketCategory]) -> None:
    skills = {
        code: ServiceSkill.objects.get_or_create(code=code, defaults={"name": name})[0]
        for code, name in SKILLS.items()
    }
    regions = {
        name: ServiceRegion.objects.get_or_create(
            name=name, defaults={"postcode_prefixes": prefixes}
        )[0]
        for name, prefixes in REGIONS.items()
    }
    calendar, created = BusinessCalendar.objects.get_or_create(
        name="Außendienst", defaults={"holiday_subdivision": "BE"}
    )
    if created:
        for day in range(5):
            BusinessHours.objects.create(
                calendar=calendar, weekday=day, starts_at=dt.time(7), ends_at=dt.time(11)
            )
            BusinessHours.objects.create(
                calendar=calendar, weekday=day, starts_at=dt.time(13), ends_at=dt.time(17)
            )
    for name, skill_codes, region_names in TECHNICIANS:
        technician, created = Technician.objects.get_or_create(
            name=name, defaults={"calendar": calendar}
        )
        if created:
            technician.skills.add(*(skills[code] for code in skill_codes))
            technician.regions.add(*(regions[region] for region in region_names))
    for path, code in CATEGORY_SKILLS.items():
        category = categories.get(path)
        if category is not None and category.required_skill_id is None:
            category.required_skill = skills[code]
            category.save(update_fields=["required_skill"])


def _demo_appointment(ticket: Ticket, agent: Any) -> None:
    """Book the first free slot for the demo's fibre incident, so the views show one."""
    skill = ticket.skill_needed
    slots = scheduling.free_slots(skill=skill, postcode=scheduling.account_postcode(ticket.account))
    if slots:
        services.appointment_book(
            account=ticket.account,
            ticket=ticket,
            technician=slots[0].technician,
            starts_at=slots[0].starts_at,
            by=agent,
        )


def seed_customer_service(*, users: dict[str, Any]) -> dict[str, int]:
    """Create what the customer-service screens show in the demo; skip what is there."""
    calendar = _calendar()
    policies = _policies(calendar)
    categories = _categories()
    outage = _outage()
    _message_templates()
    _alert_rules()
    _technicians(categories)
    agent = users.get("agent")
    created = 0
    for number, tickets in TICKETS.items():
        account = Account.objects.filter(customer_number=number).first()
        if account is None or Ticket.objects.filter(account=account).exists():
            continue
        for subject, ticket_type, priority, path, status, description in tickets:
            ticket = services.ticket_create(
                account=account,
                subject=subject,
                description=description,
                created_by=agent,
                type=ticket_type,
                priority=priority,
                category=categories.get(path),
                assigned_agent=agent,
                outage=outage if path == "Internet › Störung" else None,
            )
            if status != Ticket.Status.NEW:
                ticket = services.ticket_set_status(ticket=ticket, status=status, by=agent)
            if path == "Internet › Störung" and agent is not None:
                _demo_appointment(ticket, agent)
            created += 1
    return {"tickets": created, "sla_policies": policies}
