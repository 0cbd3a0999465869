"""The connector contract: what the desk asks connected systems, as plain dataclasses."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

BACKENDS = {
    "demo": "accounts.connectors.demo.DemoConnector",
    "http": "accounts.connectors.http.HttpConnector",
}


class ConnectorError(Exception):
    """A connected system failed; `permanent` says whether asking again can help."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.permanent = permanent


@dataclass(frozen=True)
class Contract:
    number: str
    product: str
    status: str
    starts_on: dt.date | None = None
    ends_on: dt.date | None = None


@dataclass(frozen=True)
class Order:
    number: str
    item: str
    status: str
    ordered_at: dt.datetime | None = None
    expected_at: dt.datetime | None = None


@dataclass(frozen=True)
class OutageReport:
    reference: str
    title: str
    postcodes: tuple[str, ...]
    started_at: dt.datetime | None = None
    expected_fix_at: dt.datetime | None = None
    description: str = ""


@dataclass(frozen=True)
class LineTestResult:
    ok: bool
    detail: str
    # "" when the line is fine; "line" for a fault of this line, "area" for a known
    # fault in the customer's area (then `outage` says which).
    fault: str = ""
    expected_resolution_at: dt.datetime | None = None
    outage: OutageReport | None = None
    measurements: dict[str, str] = field(default_factory=dict)


class Connector:
    """What icenter asks the connected systems. The customer is named by customer number."""

    def contracts(self, *, customer_number: str) -> list[Contract]:
        raise NotImplementedError

    def orders(self, *, customer_number: str) -> list[Order]:
        raise NotImplementedError

    def outages(self, *, postcode: str = "") -> list[OutageReport]:
        """Known outages, in one postcode area or ("" ) everywhere."""
        raise NotImplementedError

    def line_test(self, *, customer_number: str, postcode: str = "") -> LineTestResult:
        raise NotImplementedError


def get_connector(name: str | None = None) -> Connector:
    """The configured connector (ICENTER_CONNECTOR), or the one named."""
    chosen: str = name or str(getattr(settings, "ICENTER_CONNECTOR", "demo"))
    path = BACKENDS.get(chosen, chosen)
    try:
        connector_class = import_string(path)
    except ImportError as error:
        raise ImproperlyConfigured(f"unknown connector {chosen!r}: {error}") from None
    connector = connector_class()
    if not isinstance(connector, Connector):
        raise ImproperlyConfigured(f"{path} is not a Connector")
    return connector
