"""The built-in demo systems: plausible data derived from the customer number, and one
outage in Berlin-Mitte (10115, 10117, 10119) so that Müller GmbH's pop shows it."""

from __future__ import annotations

import datetime as dt
import zlib

from django.utils import timezone

from accounts.connectors.base import Connector, Contract, LineTestResult, Order, OutageReport

PRODUCTS = ["Glasfaser 250", "DSL 100", "Festnetz Komfort", "Mobil L", "TV Basis"]
ORDER_ITEMS = ["WLAN-Router", "Repeater", "TV-Box", "SIM-Karte"]
ORDER_STATUSES = ["versandt", "in Bearbeitung", "zugestellt"]
OUTAGE_POSTCODES = ("10115", "10117", "10119")


def _seed(customer_number: str) -> int:
    return zlib.crc32(customer_number.encode())


def demo_outage() -> OutageReport:
    """The demo outage; its times move with the clock so the demo always shows it."""
    now = timezone.now().replace(minute=0, second=0, microsecond=0)
    return OutageReport(
        reference="ST-DEMO-10117",
        title="Glasfaserschaden Berlin-Mitte",
        postcodes=OUTAGE_POSTCODES,
        started_at=now - dt.timedelta(hours=2),
        expected_fix_at=now + dt.timedelta(hours=4),
        description="Bagger hat Glasfaserkabel in der Friedrichstraße beschädigt.",
    )


class DemoConnector(Connector):
    def contracts(self, *, customer_number: str) -> list[Contract]:
        seed = _seed(customer_number)
        today = timezone.localdate()
        count = 1 + seed % 3
        return [
            Contract(
                number=f"V-{customer_number}-{n + 1}",
                product=PRODUCTS[(seed + n) % len(PRODUCTS)],
                status="aktiv",
                starts_on=today - dt.timedelta(days=200 + 97 * n + seed % 300),
                ends_on=today + dt.timedelta(days=30 + seed % 700) if n == 0 else None,
            )
            for n in range(count)
        ]

    def orders(self, *, customer_number: str) -> list[Order]:
        seed = _seed(customer_number)
        now = timezone.now()
        return [
            Order(
                number=f"B-{seed % 900000 + 100000}",
                item=ORDER_ITEMS[seed % len(ORDER_ITEMS)],
                status=ORDER_STATUSES[seed % len(ORDER_STATUSES)],
                ordered_at=now - dt.timedelta(days=2 + seed % 5),
                expected_at=now + dt.timedelta(days=1 + seed % 3),
            )
        ]

    def outages(self, *, postcode: str = "") -> list[OutageReport]:
        outage = demo_outage()
        if postcode and postcode not in outage.postcodes:
            return []
        return [outage]

    def line_test(self, *, customer_number: str, postcode: str = "") -> LineTestResult:
        if postcode in OUTAGE_POSTCODES:
            outage = demo_outage()
            return LineTestResult(
                ok=False,
                detail="Kein Sync am Glasfaseranschluss; bekannte Störung im Gebiet.",
                fault="area",
                expected_resolution_at=outage.expected_fix_at,
                outage=outage,
                measurements={"sync": "0 Mbit/s", "signal": "-∞ dBm"},
            )
        if _seed(customer_number) % 5 == 0:
            return LineTestResult(
                ok=False,
                detail="Leitung unterbrochen zwischen Verteiler und Hausanschluss.",
                fault="line",
                expected_resolution_at=timezone.now() + dt.timedelta(days=1),
                measurements={"sync": "0 Mbit/s"},
            )
        return LineTestResult(
            ok=True, detail="Leitung in Ordnung.", measurements={"sync": "250 Mbit/s"}
        )
