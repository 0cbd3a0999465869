"""Load German demo data: staff logins, about 300 customer accounts and their history."""

from __future__ import annotations

import dataclasses
import random
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.utils import timezone

from accounts.demo import seed_customer_service
from accounts.models import (
    Account,
    Address,
    Contact,
    ContactPoint,
    CustomerGroup,
    CustomerGroupAccess,
    Interaction,
)
from accounts.services import contact_point_normalize
from campaigns.demo import campaigns_demo_seed
from icenter import roles
from icenter.errors import DomainError
from knowledge.demo import knowledge_demo_load
from scripting.demo import demo_scripts_seed
from telephony.demo import telephony_demo_seed
from telephony.models import Agent

SEED = 20261124
FIRST_NUMBER = 100001
RANDOM_ACCOUNTS = 296
RANDOM_ORGANISATIONS = 40
RANDOM_VIPS = 14
HISTORY_DAYS = 400


@dataclass(frozen=True)
class DemoUser:
    username: str
    first_name: str
    last_name: str
    groups: tuple[str, ...]
    extension: str = ""
    is_staff: bool = False


USERS = (
    DemoUser("agent", "Anna", "Schäfer", (roles.AGENT,), extension="2001"),
    DemoUser("agent2", "Jörg", "Weiß", (roles.AGENT,), extension="2002"),
    DemoUser("agent3", "Özlem", "Demir", (roles.AGENT,), extension="2003"),
    DemoUser("supervisor", "Birgit", "Krüger", (roles.SUPERVISOR, roles.AGENT), extension="2010"),
    DemoUser("manager", "Max", "Müller-Lüdenscheidt", (roles.MANAGER,), is_staff=True),
)
AGENT_USERNAMES = ("agent", "agent2", "agent3")

CUSTOMER_GROUPS = (
    ("privat", "Privatkunden"),
    ("gewerbe", "Geschäftskunden"),
    ("premium", "Premium"),
)
# Access per customer group; ":ro" is read-only. The manager sees everything.
CUSTOMER_GROUP_ACCESS = {
    "agent": ("privat", "gewerbe", "premium"),
    "agent2": ("privat", "premium", "gewerbe:ro"),
    "agent3": ("privat",),
    "supervisor": ("privat", "gewerbe", "premium"),
}

FEMALE_FIRST_NAMES = (
    "Käthe", "Bärbel", "Dörte", "Ülrike", "Anna", "Lena", "Sabine", "Monika", "Ursula", "Renate",
    "Petra", "Andrea", "Heike", "Hannelore", "Gisela", "Birgit", "Ingrid", "Marie", "Sophie",
    "Leonie", "Mia", "Anja", "Kerstin", "Hildegard", "Ayşe", "Zoë", "Franziska", "Jördis",
)  # fmt: skip
MALE_FIRST_NAMES = (
    "Jürgen", "Jörg", "Günter", "Sören", "Björn", "Hans-Jürgen", "Lukas", "Jonas", "Thomas",
    "Stefan", "Klaus", "Wolfgang", "Michael", "Frank", "Karl-Heinz", "Uwe", "Jens", "Maximilian",
    "Felix", "Jan", "Tim", "Ralf", "Dieter", "Ömer", "René", "André", "Noël", "Matthias",
)  # fmt: skip
LAST_NAMES = (
    "Müller", "Schäfer", "Weiß", "Groß", "Jäger", "Köhler", "Bäcker", "Meier", "Meyer", "Maier",
    "Mayer", "Schmidt", "Schmitt", "Hoffmann", "Krüger", "Förster", "Büttner", "Löffler",
    "Wöhrle", "Böhm", "Zöller", "Schröder", "Schulze", "Fischer", "Wagner", "Becker", "Koch",
    "Richter", "Wolf", "Schneider", "Neumann", "Schwarz", "Zimmermann", "Braun", "Hofmann",
    "Hartmann", "Lange", "Werner", "Krause", "Lehmann", "Köster", "Kühn", "Fuß", "Strauß",
    "Weißmann", "Dürr", "Völker", "Götz", "Hübner", "Pöhlmann", "Rößler", "Günther", "Nußbaum",
    "Sänger", "Brückner", "Kößler", "Özdemir", "Aydin", "Kowalski", "Nguyen",
)  # fmt: skip
STREETS = (
    "Hauptstraße", "Lindenweg", "Schloßallee", "Mühlenstraße", "Königstraße", "Bahnhofstraße",
    "Gartenstraße", "Schulstraße", "Dorfstraße", "Birkenweg", "Am Mühlbach", "Kirchplatz",
    "Goethestraße", "Schillerstraße", "Rosenstraße", "Friedhofsweg", "Lärchenweg",
    "Bergstraße", "Tannenweg", "Weißdornweg", "Rüdesheimer Straße", "Fürstenwall",
    "Große Bäckerstraße", "Kölner Straße", "Am Grünen Hang", "Brunnenstraße", "Uhlandstraße",
)  # fmt: skip

# Real postcodes of each city and its area code with the usual subscriber-number length.
CITIES: dict[str, tuple[tuple[str, ...], str, int]] = {
    "Berlin": (("10115", "10178", "10243", "10405", "10437", "10827", "12043", "13347"), "030", 7),
    "München": (("80331", "80335", "80469", "80538", "80796", "81369", "81541", "81667"), "089", 7),
    "Hamburg": (("20095", "20146", "20249", "20354", "21073", "22041", "22299", "22765"), "040", 7),
    "Köln": (("50667", "50672", "50733", "50823", "50935", "51063", "51105"), "0221", 7),
    "Düsseldorf": (("40210", "40213", "40477", "40545", "40625"), "0211", 7),
    "Nürnberg": (("90402", "90403", "90419", "90459", "90489"), "0911", 7),
    "Lübeck": (("23552", "23554", "23558", "23564", "23566"), "0451", 6),
    "Würzburg": (("97070", "97072", "97074", "97080", "97082"), "0931", 6),
    "Görlitz": (("02826", "02827", "02828"), "03581", 6),
    "Saarbrücken": (("66111", "66113", "66117", "66119", "66123"), "0681", 6),
    "Frankfurt am Main": (("60306", "60311", "60318", "60385", "60486", "60594"), "069", 7),
    "Stuttgart": (("70173", "70176", "70182", "70372", "70597"), "0711", 7),
    "Leipzig": (("04103", "04109", "04229", "04315"), "0341", 7),
    "Dresden": (("01067", "01069", "01099", "01307"), "0351", 7),
}
# The big cities come up more often, as they would in a real customer base.
CITY_WEIGHTS = {"Berlin": 6, "München": 5, "Hamburg": 5, "Köln": 3, "Frankfurt am Main": 3}
MOBILE_PREFIXES = ("0151", "0160", "0171")

ORGANISATION_PATTERNS = (
    "Bäckerei {last} GmbH", "{last} & Söhne KG", "{last} Haustechnik GmbH",
    "Autohaus {last} GmbH", "Elektro {last} e.K.", "Steuerkanzlei {last} & Partner",
    "Gärtnerei {last} e.K.", "{last} Logistik GmbH & Co. KG", "Metzgerei {last} e.K.",
    "Schreinerei {last} GmbH", "{last} Versicherungsmakler GmbH", "Blumen {last} e.K.",
    "{last} Maschinenbau AG", "Praxis Dr. {last}", "Fahrschule {last}", "{last} Bau GmbH",
    "Optik {last} e.K.", "{last} Immobilien KG", "Getränke {last} GmbH", "{last} Software AG",
)  # fmt: skip
POSITIONS = (
    "Einkauf", "Buchhaltung", "IT-Leitung", "Assistenz der Geschäftsführung", "Vertrieb",
    "Technik", "Personalabteilung", "Empfang",
)  # fmt: skip
ACCOUNT_NOTES = (
    "Bevorzugt Rückruf am Vormittag.",
    "Rechnungen nur per E-Mail.",
    "Langjähriger Kunde, bitte bevorzugt behandeln.",
    "Spricht lieber mit dem zugeordneten Agenten.",
)

TOPICS = (
    (
        "Rechnung doppelt abgebucht",
        "Zwei Abbuchungen für dieselbe Rechnung. Erstattung veranlasst.",
    ),
    ("Router blinkt rot", "Router neu gestartet, Leitung gemessen. Störung an Technik gemeldet."),
    ("Umzug gemeldet", "Neue Anschrift aufgenommen, Umzugstermin bestätigt."),
    ("Kündigung Handyvertrag", "Kündigung zum Vertragsende vorgemerkt, Angebot abgelehnt."),
    ("Termin mit Techniker vereinbart", "Techniker kommt Donnerstag zwischen 8 und 12 Uhr."),
    ("Tarifwechsel gewünscht", "Wechsel in den größeren Tarif zum Monatsersten eingetragen."),
    ("Bankverbindung geändert", "Neue IBAN hinterlegt, Lastschriftmandat per Post verschickt."),
    ("Mahnung erhalten", "Zahlung war schon eingegangen, Mahnung storniert."),
    ("Passwort Kundenportal vergessen", "Zugang zurückgesetzt, Link per E-Mail verschickt."),
    ("Lieferung unvollständig", "Fehlende Teile nachgeliefert, Versand morgen."),
    ("Zählerstand durchgegeben", "Zählerstand erfasst, Abschlag bleibt unverändert."),
    ("SIM-Karte verloren", "Karte gesperrt, Ersatzkarte bestellt."),
    ("Frage zur Vertragslaufzeit", "Laufzeit und Kündigungsfrist erklärt."),
    ("Beschwerde über Wartezeit", "Entschuldigt, Gutschrift über 10 € zugesagt."),
    ("Internet sehr langsam", "Nur 12 statt 100 Mbit/s, Leitung neu synchronisiert."),
    ("Rechnungskopie angefordert", "Kopie als PDF per E-Mail verschickt."),
    ("Rufnummernmitnahme", "Portierung zum Vertragsbeginn beauftragt."),
    ("Rückruf wegen Angebot", "Angebot erläutert, Kunde meldet sich nächste Woche."),
)
ORGANISATION_TOPICS = (
    ("Sammelrechnung für alle Standorte", "Rechnungen ab nächstem Monat zusammengefasst."),
    ("Neuer Ansprechpartner im Einkauf", "Kontaktdaten aktualisiert."),
    ("Rahmenvertrag verlängern", "Verlängerung um zwei Jahre an den Vertrieb übergeben."),
    ("Störung Telefonanlage", "Anlage aus der Ferne neu gestartet, läuft wieder."),
    ("Weitere Anschlüsse bestellt", "Drei zusätzliche Anschlüsse zum 1. des Monats."),
)

_FOLD = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", "Ä": "Ae", "Ö": "Oe", "Ü": "Ue"})


@dataclass
class PlannedPoint:
    kind: str
    value: str
    normalized: str
    label: str = ""
    is_switchboard: bool = False
    contact: int | None = None  # index into the account's contacts


@dataclass
class PlannedContact:
    first_name: str
    last_name: str
    position: str = ""
    is_primary: bool = False


@dataclass
class PlannedInteraction:
    channel: str
    direction: str
    agent: str
    started_at: datetime
    ended_at: datetime
    outcome: str
    subject: str
    notes: str
    address: str = ""
    contact: int | None = None


@dataclass
class PlannedAccount:
    customer_number: str
    kind: str
    name: str
    group: str
    street: str
    postcode: str
    city: str
    first_name: str = ""
    last_name: str = ""
    is_vip: bool = False
    assigned_agent: str = ""
    notes: str = ""
    contacts: list[PlannedContact] = field(default_factory=list)
    points: list[PlannedPoint] = field(default_factory=list)
    interactions: list[PlannedInteraction] = field(default_factory=list)


def ascii_fold(text: str) -> str:
    """Spell German umlauts out and drop other accents: "Jörg Weiß" becomes "Joerg Weiss"."""
    folded = unicodedata.normalize("NFKD", text.translate(_FOLD))
    return folded.encode("ascii", "ignore").decode()


class DemoPlan:
    """Every demo account, drawn from one seeded random generator, so each run plans the same."""

    def __init__(self, *, today: date) -> None:
        self.rng = random.Random(SEED)
        self.today = today
        self.numbers: set[str] = set()
        self.emails: set[str] = set()

    def build(self) -> list[PlannedAccount]:
        fixed = self._fixed_accounts()
        reserved = {account.customer_number for account in fixed}
        numbers = (str(n) for n in range(FIRST_NUMBER, FIRST_NUMBER + 1000))
        free = [n for n in numbers if n not in reserved][:RANDOM_ACCOUNTS]
        organisations = set(self.rng.sample(range(RANDOM_ACCOUNTS), RANDOM_ORGANISATIONS))
        vips = set(self.rng.sample(range(RANDOM_ACCOUNTS), RANDOM_VIPS))
        taken_names = {account.name for account in fixed}
        generated = []
        for index, number in enumerate(free):
            if index in organisations:
                account = self._organisation(number, taken_names)
            else:
                account = self._person(number)
            if index in vips:
                account.is_vip = True
                account.assigned_agent = self.rng.choice(AGENT_USERNAMES)
                account.notes = self.rng.choice(ACCOUNT_NOTES)
                if account.kind == Account.Kind.PERSON:
                    account.group = "premium"
            generated.append(account)
        for account in [*fixed, *generated]:
            count = 25 if account.customer_number == "100234" else self.rng.randint(0, 15)
            account.interactions = [self._interaction(account) for _ in range(count)]
        return sorted([*fixed, *generated], key=lambda account: account.customer_number)

    def _fixed_accounts(self) -> list[PlannedAccount]:
        mueller = PlannedAccount(
            customer_number="100234",
            kind=Account.Kind.ORGANISATION,
            name="Müller GmbH",
            group="gewerbe",
            street="Friedrichstraße 123",
            postcode="10117",
            city="Berlin",
            is_vip=True,
            assigned_agent="agent",
            notes="Wichtiger Geschäftskunde, Rückrufe immer über Anna Schäfer.",
            contacts=[
                PlannedContact("Hans", "Müller", "Geschäftsführer", is_primary=True),
                PlannedContact("Käthe", "Schröder", "Einkauf"),
            ],
        )
        mueller.points = [self._fixed_phone("+49 30 1234567", "Zentrale", is_switchboard=True)]
        # Both firms share one office and answer its one switchboard: a call from it
        # matches two accounts.
        switchboard = self._fixed_phone("+49 89 5555000", "Zentrale", is_switchboard=True)
        boehm = PlannedAccount(
            customer_number="100235",
            kind=Account.Kind.ORGANISATION,
            name="Hausverwaltung Böhm",
            group="gewerbe",
            street="Leopoldstraße 40",
            postcode="80802",
            city="München",
            contacts=[PlannedContact("Walter", "Böhm", "Inhaber", is_primary=True)],
            points=[switchboard],
        )
        zoeller = dataclasses.replace(
            boehm,
            customer_number="100236",
            name="Immobilien Zöller KG",
            contacts=[PlannedContact("Sabine", "Zöller", "Geschäftsführerin", is_primary=True)],
            points=[dataclasses.replace(switchboard)],
        )
        juergen = PlannedAccount(
            customer_number="100237",
            kind=Account.Kind.PERSON,
            name="Jürgen Weiß",
            first_name="Jürgen",
            last_name="Weiß",
            group="privat",
            street="Lindenweg 4",
            postcode="50667",
            city="Köln",
        )
        juergen.points = [
            self._fixed_phone("+49 171 2345678", "Mobil"),
            self._email("juergen.weiss@example.de"),
        ]
        return [mueller, boehm, zoeller, juergen]

    def _fixed_phone(self, value: str, label: str, *, is_switchboard: bool = False) -> PlannedPoint:
        normalized = contact_point_normalize(kind=ContactPoint.Kind.PHONE, value=value)
        self.numbers.add(normalized)
        return PlannedPoint(
            ContactPoint.Kind.PHONE, value, normalized, label, is_switchboard=is_switchboard
        )

    def _person(self, number: str) -> PlannedAccount:
        rng = self.rng
        first, _is_female = self._first_name()
        last = rng.choice(LAST_NAMES)
        city, postcode = self._city()
        account = PlannedAccount(
            customer_number=number,
            kind=Account.Kind.PERSON,
            name=f"{first} {last}",
            first_name=first,
            last_name=last,
            group="privat",
            street=self._street(),
            postcode=postcode,
            city=city,
        )
        phones = [self._mobile(), self._landline(city)]
        rng.shuffle(phones)
        account.points = phones[: rng.choice((1, 1, 2))]
        domain = rng.choice(("example.de", "example.de", "example.com"))
        account.points.append(self._email(self._free_email(f"{first}.{last}", domain)))
        return account

    def _organisation(self, number: str, taken_names: set[str]) -> PlannedAccount:
        rng = self.rng
        name = ""
        while not name or name in taken_names:
            name = rng.choice(ORGANISATION_PATTERNS).format(last=rng.choice(LAST_NAMES))
        taken_names.add(name)
        city, postcode = self._city()
        account = PlannedAccount(
            customer_number=number,
            kind=Account.Kind.ORGANISATION,
            name=name,
            group="gewerbe",
            street=self._street(),
            postcode=postcode,
            city=city,
        )
        switchboard = self._landline(city, label="Zentrale")
        switchboard.is_switchboard = True
        account.points = [switchboard]
        short_name = re.sub(r"\s+(GmbH & Co\. KG|GmbH|AG|KG|e\.K\.)$", "", name)
        slug = re.sub(r"[^a-z0-9]+", "-", ascii_fold(short_name).lower()).strip("-")
        account.points.append(self._email(self._free_email(slug, "example.com")))
        positions = rng.sample(POSITIONS, 3)
        head = rng.choice(("Geschäftsführer", "Inhaber"))
        for index in range(rng.randint(2, 4)):
            first, is_female = self._first_name()
            last = rng.choice(LAST_NAMES)
            position = positions[index - 1]
            if index == 0:
                position = f"{head}in" if is_female else head
            account.contacts.append(PlannedContact(first, last, position, is_primary=index == 0))
            if rng.random() < 0.5:
                account.points.append(self._direct_dial(switchboard, contact=index))
        return account

    def _first_name(self) -> tuple[str, bool]:
        is_female = self.rng.random() < 0.5
        return self.rng.choice(FEMALE_FIRST_NAMES if is_female else MALE_FIRST_NAMES), is_female

    def _city(self) -> tuple[str, str]:
        names = list(CITIES)
        city = self.rng.choices(names, weights=[CITY_WEIGHTS.get(n, 1) for n in names])[0]
        return city, self.rng.choice(CITIES[city][0])

    def _street(self) -> str:
        number = self.rng.randint(1, 180)
        suffix = self.rng.choice(("", "", "", "", "a", "b"))
        return f"{self.rng.choice(STREETS)} {number}{suffix}"

    def _phone(self, make_value: Callable[[], str], label: str) -> PlannedPoint:
        """A phone number from make_value() that is valid and not yet used by any account."""
        for _attempt in range(100):
            value = make_value()
            try:
                normalized = contact_point_normalize(kind=ContactPoint.Kind.PHONE, value=value)
            except DomainError:
                continue
            if normalized not in self.numbers:
                self.numbers.add(normalized)
                return PlannedPoint(ContactPoint.Kind.PHONE, value, normalized, label)
        raise CommandError(f"could not make a valid demo phone number like {value!r}")

    def _landline(self, city: str, *, label: str = "Festnetz") -> PlannedPoint:
        _postcodes, area_code, length = CITIES[city]
        international = self.rng.random() < 0.2

        def make() -> str:
            # German subscriber numbers start with 2-9; 0 and 1 lead to other services.
            subscriber = self.rng.randrange(2 * 10 ** (length - 1), 10**length)
            if international:
                return f"+49 {area_code[1:]} {subscriber}"
            return f"{area_code} {subscriber}"

        return self._phone(make, label)

    def _mobile(self) -> PlannedPoint:
        def make() -> str:
            length = self.rng.choice((7, 8))
            subscriber = self.rng.randrange(10 ** (length - 1), 10**length)
            return f"{self.rng.choice(MOBILE_PREFIXES)} {subscriber}"

        return self._phone(make, "Mobil")

    def _direct_dial(self, switchboard: PlannedPoint, *, contact: int) -> PlannedPoint:
        def make() -> str:
            extension = (
                self.rng.randint(10, 99) if self.rng.random() < 0.7 else self.rng.randint(100, 399)
            )
            return f"{switchboard.value}-{extension}"

        point = self._phone(make, "Durchwahl")
        point.contact = contact
        return point

    def _free_email(self, local: str, domain: str) -> str:
        local = re.sub(r"[^a-z0-9.-]+", "", ascii_fold(local).lower().replace(" ", "."))
        candidate, suffix = f"{local}@{domain}", 1
        while candidate in self.emails:
            suffix += 1
            candidate = f"{local}{suffix}@{domain}"
        return candidate

    def _email(self, address: str) -> PlannedPoint:
        self.emails.add(address)
        normalized = contact_point_normalize(kind=ContactPoint.Kind.EMAIL, value=address)
        return PlannedPoint(ContactPoint.Kind.EMAIL, address, normalized)

    def _interaction(self, account: PlannedAccount) -> PlannedInteraction:
        rng = self.rng
        channel = rng.choices(
            (
                Interaction.Channel.PHONE,
                Interaction.Channel.EMAIL,
                Interaction.Channel.CHAT,
                Interaction.Channel.NOTE,
            ),
            weights=(6, 2, 1, 1),
        )[0]
        direction = Interaction.Direction.INBOUND
        if channel == Interaction.Channel.NOTE or (
            channel != Interaction.Channel.CHAT and rng.random() < 0.25
        ):
            direction = Interaction.Direction.OUTBOUND
        day = self.today - timedelta(days=rng.randint(1, HISTORY_DAYS))
        started_at = timezone.make_aware(
            datetime.combine(day, time(rng.randint(8, 17), rng.randint(0, 59), rng.randint(0, 59)))
        )
        contact = rng.randrange(len(account.contacts)) if account.contacts else None
        is_abandoned = (
            channel in (Interaction.Channel.PHONE, Interaction.Channel.CHAT)
            and direction == Interaction.Direction.INBOUND
            and rng.random() < 0.1
        )
        if is_abandoned:
            seconds = rng.randint(10, 90)
            is_call = channel == Interaction.Channel.PHONE
            subject, notes = ("Anruf abgebrochen" if is_call else "Chat abgebrochen"), ""
            outcome = Interaction.Outcome.ABANDONED
        else:
            seconds = rng.randint(60, 20 * 60)
            topics = TOPICS + (ORGANISATION_TOPICS if account.contacts else ())
            subject, notes = rng.choice(topics)
            outcome = Interaction.Outcome.COMPLETED
        return PlannedInteraction(
            channel=channel,
            direction=direction,
            agent=rng.choice(AGENT_USERNAMES),
            started_at=started_at,
            ended_at=started_at + timedelta(seconds=seconds),
            outcome=outcome,
            subject=subject,
            notes=notes,
            address=self._interaction_address(account, channel, contact),
            contact=contact,
        )

    def _interaction_address(
        self, account: PlannedAccount, channel: str, contact: int | None
    ) -> str:
        if channel == Interaction.Channel.PHONE:
            kind = ContactPoint.Kind.PHONE
        elif channel == Interaction.Channel.EMAIL:
            kind = ContactPoint.Kind.EMAIL
        else:
            return ""
        points = [p for p in account.points if p.kind == kind]
        own = [p for p in points if contact is not None and p.contact == contact]
        return (own or points)[0].normalized if points else ""


class Command(BaseCommand):
    help = (
        "Load German demo data (staff logins whose password is the user name, about 300 "
        "accounts with contacts and history). Running it again adds nothing twice."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--force",
            action="store_true",
            help="seed even with DEBUG off (the demo logins have weak passwords)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEBUG and not options["force"]:
            raise CommandError(
                "DEBUG is off: seed_demo creates logins whose password is the user name. "
                "Pass --force if this really is a demo system."
            )
        with transaction.atomic():
            users, new_users = self._users()
            groups = self._customer_groups()
            self._customer_group_access(users, groups)
            plan = DemoPlan(today=timezone.localdate()).build()
            counts = self._accounts(plan, users=users, groups=groups)
            telephony = telephony_demo_seed(users=users)
            service = seed_customer_service(users=users)
            scripts = demo_scripts_seed(created_by=users.get("manager"))
            knowledge = knowledge_demo_load(author=users.get("manager"))
            campaigns = campaigns_demo_seed(by=users.get("manager"))
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo data: {new_users} new users, {counts['accounts']} new accounts "
                f"({len(plan) - counts['accounts']} already there), {counts['contacts']} contacts, "
                f"{counts['points']} phone numbers and email addresses, "
                f"{counts['interactions']} interactions."
            )
        )
        self.stdout.write(
            f"Knowledge base: {knowledge['solutions']} new solutions; "
            f"{knowledge['accounts_indexed']} accounts in the name search."
        )
        self.stdout.write(
            f"Customer service: {service['tickets']} new tickets, "
            f"{service['sla_policies']} new SLA policies."
        )
        self.stdout.write(f"Scripts: {', '.join(str(version) for version in scripts)}.")
        self.stdout.write(
            f"Campaigns: “Herbstangebot 2026”, {campaigns['entries']} new customers on its "
            "call list (desk → Call lists)."
        )
        self.stdout.write(
            f"Telephony: {telephony['queues']} new queues (Hotline 7000, Technik 7001, "
            "Geschäftskunden 7002)."
        )
        logins = " · ".join(f"{user.username} / {user.username}" for user in USERS)
        self.stdout.write(f"Logins (user / password): {logins}")

    def _users(self) -> tuple[dict[str, Any], int]:
        user_model = get_user_model()
        users: dict[str, Any] = {}
        created_count = 0
        for demo in USERS:
            user, created = user_model.objects.get_or_create(
                username=demo.username,
                defaults={
                    "first_name": demo.first_name,
                    "last_name": demo.last_name,
                    "email": ascii_fold(f"{demo.first_name}.{demo.last_name}@example.de").lower(),
                    "is_staff": demo.is_staff,
                },
            )
            if created:
                user.set_password(demo.username)
                user.save(update_fields=["password"])
                created_count += 1
            if demo.is_staff and not user.is_staff:
                user.is_staff = True
                user.save(update_fields=["is_staff"])
            user.groups.add(*(Group.objects.get_or_create(name=name)[0] for name in demo.groups))
            if demo.extension:
                self._agent(user, demo.extension)
            users[demo.username] = user
        return users, created_count

    def _agent(self, user: Any, extension: str) -> None:
        if Agent.objects.filter(user=user).exists():
            return
        other = Agent.objects.filter(extension=extension).select_related("user").first()
        if other is not None:
            raise CommandError(
                f"extension {extension} belongs to {other.user.get_username()}; "
                f"give {user.get_username()} an agent profile by hand"
            )
        Agent.objects.create(user=user, extension=extension, state=Agent.State.LOGGED_OUT)

    def _customer_groups(self) -> dict[str, CustomerGroup]:
        return {
            code: CustomerGroup.objects.get_or_create(code=code, defaults={"name": name})[0]
            for code, name in CUSTOMER_GROUPS
        }

    def _customer_group_access(
        self, users: dict[str, Any], groups: dict[str, CustomerGroup]
    ) -> None:
        """Which agent works on which customer group (mandant); agent2 may only look at
        business customers, agent3 serves private customers only."""
        for username, codes in CUSTOMER_GROUP_ACCESS.items():
            for code in codes:
                CustomerGroupAccess.objects.get_or_create(
                    user=users[username],
                    customer_group=groups[code.removesuffix(":ro")],
                    defaults={"read_only": code.endswith(":ro")},
                )

    def _accounts(
        self,
        plan: list[PlannedAccount],
        *,
        users: dict[str, Any],
        groups: dict[str, CustomerGroup],
    ) -> dict[str, int]:
        """Create the planned accounts that do not exist yet, with their contacts and history.

        Accounts already there are left as they are, and so is their history: that is what
        makes a second run add nothing.
        """
        existing = set(
            Account.objects.filter(
                customer_number__in=[p.customer_number for p in plan]
            ).values_list("customer_number", flat=True)
        )
        planned = [p for p in plan if p.customer_number not in existing]
        # bulk_create sets primary keys on PostgreSQL and SQLite, the databases we run on.
        accounts = Account.objects.bulk_create(
            Account(
                kind=p.kind,
                customer_number=p.customer_number,
                name=p.name,
                first_name=p.first_name,
                last_name=p.last_name,
                is_vip=p.is_vip,
                assigned_agent=users[p.assigned_agent] if p.assigned_agent else None,
                customer_group=groups[p.group],
                notes=p.notes,
            )
            for p in planned
        )
        contacts = {
            (p.customer_number, index): Contact(
                account=account,
                first_name=c.first_name,
                last_name=c.last_name,
                position=c.position,
                is_primary=c.is_primary,
            )
            for p, account in zip(planned, accounts, strict=True)
            for index, c in enumerate(p.contacts)
        }
        Contact.objects.bulk_create(contacts.values())
        Address.objects.bulk_create(
            Address(account=account, street=p.street, postcode=p.postcode, city=p.city)
            for p, account in zip(planned, accounts, strict=True)
        )
        points = ContactPoint.objects.bulk_create(
            ContactPoint(
                account=account,
                contact=None
                if point.contact is None
                else contacts[p.customer_number, point.contact],
                kind=point.kind,
                value=point.value,
                normalized=point.normalized,
                label=point.label,
                is_switchboard=point.is_switchboard,
            )
            for p, account in zip(planned, accounts, strict=True)
            for point in p.points
        )
        interactions = Interaction.objects.bulk_create(
            Interaction(
                channel=i.channel,
                direction=i.direction,
                account=account,
                contact=None if i.contact is None else contacts[p.customer_number, i.contact],
                agent=users[i.agent],
                address=i.address,
                subject=i.subject,
                started_at=i.started_at,
                ended_at=i.ended_at,
                outcome=i.outcome,
                notes=i.notes,
                notes_updated_at=i.ended_at if i.notes else None,
            )
            for p, account in zip(planned, accounts, strict=True)
            for i in p.interactions
        )
        return {
            "accounts": len(accounts),
            "contacts": len(contacts),
            "points": len(points),
            "interactions": len(interactions),
        }
