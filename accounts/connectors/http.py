"""Connected systems over JSON/HTTP (one base URL, one path per question).

GET  {url}/contracts?customer=<no>   → [{"number","product","status","starts_on","ends_on"}]
GET  {url}/orders?customer=<no>      → [{"number","item","status","ordered_at","expected_at"}]
GET  {url}/outages?postcode=<pc>     → [{"reference","title","postcodes",...,"expected_fix_at"}]
POST {url}/line-tests {"customer","postcode"} → {"ok","detail","fault","expected_resolution_at",
                                                 "outage": {...} | null}
Timeouts, connection errors, non-2xx answers and answers of the wrong shape all raise
ConnectorError: the desk then shows "system not reachable" and still pops.
"""

from __future__ import annotations

import datetime as dt
import json
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from django.conf import settings
from django.utils.dateparse import parse_date, parse_datetime

from accounts.connectors.base import (
    Connector,
    ConnectorError,
    Contract,
    LineTestResult,
    Order,
    OutageReport,
)

MAX_ANSWER_BYTES = 1024 * 1024


def _text(item: dict[str, Any], key: str, *, required: bool = True) -> str:
    value = item.get(key)
    if value is None and not required:
        return ""
    if not isinstance(value, str | int) or isinstance(value, bool):
        raise ConnectorError(f"answer has no text field {key!r}")
    return str(value)[:200]


def _moment(item: dict[str, Any], key: str) -> dt.datetime | None:
    value = item.get(key)
    if value in (None, ""):
        return None
    parsed = parse_datetime(value) if isinstance(value, str) else None
    if parsed is None:
        raise ConnectorError(f"answer field {key!r} is not a date and time")
    return parsed


def _day(item: dict[str, Any], key: str) -> dt.date | None:
    value = item.get(key)
    if value in (None, ""):
        return None
    parsed = parse_date(value) if isinstance(value, str) else None
    if parsed is None:
        raise ConnectorError(f"answer field {key!r} is not a date")
    return parsed


def _objects(answer: Any) -> list[dict[str, Any]]:
    if not isinstance(answer, list) or not all(isinstance(item, dict) for item in answer):
        raise ConnectorError("answer is not a list of objects")
    return answer


def _outage(item: dict[str, Any]) -> OutageReport:
    postcodes = item.get("postcodes") or []
    if not isinstance(postcodes, list):
        raise ConnectorError("answer field 'postcodes' is not a list")
    return OutageReport(
        reference=_text(item, "reference"),
        title=_text(item, "title"),
        postcodes=tuple(str(code)[:10] for code in postcodes),
        started_at=_moment(item, "started_at"),
        expected_fix_at=_moment(item, "expected_fix_at"),
        description=_text(item, "description", required=False),
    )


class HttpConnector(Connector):
    def __init__(self) -> None:
        self.url = str(getattr(settings, "ICENTER_CONNECTOR_URL", "")).rstrip("/")
        self.token = str(getattr(settings, "ICENTER_CONNECTOR_TOKEN", ""))
        self.timeout = float(getattr(settings, "ICENTER_CONNECTOR_TIMEOUT", 3))
        if not self.url.startswith(("http://", "https://")):
            raise ConnectorError("ICENTER_CONNECTOR_URL is not an http(s) URL", permanent=True)

    def _call(self, path: str, *, query: dict[str, str] | None = None, body: Any = None) -> Any:
        url = f"{self.url}/{path}"
        if query:
            url += "?" + urllib.parse.urlencode(query)
        headers = {"Accept": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        request = urllib.request.Request(  # noqa: S310 (the scheme is checked in __init__)
            url, data=data, headers=headers, method="POST" if body is not None else "GET"
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                raw = response.read(MAX_ANSWER_BYTES + 1)
        except urllib.error.HTTPError as error:
            raise ConnectorError(
                f"{path} answered {error.code}", permanent=400 <= error.code < 500
            ) from error
        except (urllib.error.URLError, TimeoutError, OSError) as error:
            raise ConnectorError(f"{path} not reachable: {error}") from error
        if len(raw) > MAX_ANSWER_BYTES:
            raise ConnectorError(f"{path} answered more than {MAX_ANSWER_BYTES} bytes")
        try:
            return json.loads(raw)
        except ValueError as error:
            raise ConnectorError(f"{path} answered something that is not JSON") from error

    def contracts(self, *, customer_number: str) -> list[Contract]:
        answer = self._call("contracts", query={"customer": customer_number})
        return [
            Contract(
                number=_text(item, "number"),
                product=_text(item, "product"),
                status=_text(item, "status"),
                starts_on=_day(item, "starts_on"),
                ends_on=_day(item, "ends_on"),
            )
            for item in _objects(answer)
        ]

    def orders(self, *, customer_number: str) -> list[Order]:
        answer = self._call("orders", query={"customer": customer_number})
        return [
            Order(
                number=_text(item, "number"),
                item=_text(item, "item"),
                status=_text(item, "status"),
                ordered_at=_moment(item, "ordered_at"),
                expected_at=_moment(item, "expected_at"),
            )
            for item in _objects(answer)
        ]

    def outages(self, *, postcode: str = "") -> list[OutageReport]:
        answer = self._call("outages", query={"postcode": postcode} if postcode else None)
        return [_outage(item) for item in _objects(answer)]

    def line_test(self, *, customer_number: str, postcode: str = "") -> LineTestResult:
        answer = self._call("line-tests", body={"customer": customer_number, "postcode": postcode})
        if not isinstance(answer, dict) or not isinstance(answer.get("ok"), bool):
            raise ConnectorError("line test answer has no boolean 'ok'")
        outage = answer.get("outage")
        if outage is not None and not isinstance(outage, dict):
            raise ConnectorError("line test field 'outage' is not an object")
        fault = _text(answer, "fault", required=False)
        if fault not in ("", "line", "area"):
            raise ConnectorError(f"line test fault {fault!r} is unknown")
        return LineTestResult(
            ok=answer["ok"],
            detail=_text(answer, "detail", required=False),
            fault=fault,
            expected_resolution_at=_moment(answer, "expected_resolution_at"),
            outage=_outage(outage) if outage else None,
        )
