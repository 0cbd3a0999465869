"""Connected systems: demo and HTTP connectors, outages at the pop, the line test."""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts import services
from accounts.connectors import ConnectorError, get_connector
from accounts.connectors.demo import DemoConnector
from accounts.models import Outage, OutageArea, Ticket
from accounts.selectors import connected_data_for_account, outage_list_for_account
from icenter.desk.selectors import desk_state_for_agent
from telephony.models import Agent
from tests.factories import AccountFactory, AddressFactory, InteractionFactory

pytestmark = pytest.mark.django_db


class FakeSystems(BaseHTTPRequestHandler):
    """A connected system on loopback; each test sets what it answers per path."""

    answers: dict[str, tuple[int, bytes]] = {}
    delay = 0.0

    def _answer(self) -> None:
        time.sleep(FakeSystems.delay)
        path = self.path.split("?")[0].strip("/")
        status, body = FakeSystems.answers.get(path, (404, b"{}"))
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = _answer

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self._answer()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def systems(settings):
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeSystems)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    FakeSystems.answers, FakeSystems.delay = {}, 0.0
    settings.ICENTER_CONNECTOR = "http"
    settings.ICENTER_CONNECTOR_URL = f"http://127.0.0.1:{server.server_port}/api"
    settings.ICENTER_CONNECTOR_TIMEOUT = 1
    yield FakeSystems
    server.shutdown()
    server.server_close()


@pytest.fixture
def mitte():
    """A customer in Berlin-Mitte (10117), where the demo outage is."""
    account = AccountFactory(name="Müller GmbH", customer_number="100234")
    AddressFactory(account=account, postcode="10117")
    return account


def test_the_demo_connector_answers_every_question(mitte):
    connector = get_connector("demo")
    assert connector.contracts(customer_number="100234")
    assert connector.orders(customer_number="100234")[0].status
    assert connector.outages(postcode="10117")[0].reference == "ST-DEMO-10117"
    assert connector.outages(postcode="80802") == []
    assert connector.line_test(customer_number="100234", postcode="10117").fault == "area"


def test_the_http_connector_reads_contracts_and_orders(systems, mitte):
    systems.answers["api/contracts"] = (
        200,
        json.dumps(
            [
                {
                    "number": "V-1",
                    "product": "Glasfaser 250",
                    "status": "aktiv",
                    "starts_on": "2024-01-01",
                }
            ]
        ).encode(),
    )
    systems.answers["api/orders"] = (200, b"[]")
    data = connected_data_for_account(account=mitte)
    assert [c.product for c in data.contracts.items] == ["Glasfaser 250"]
    assert data.contracts.items[0].starts_on == dt.date(2024, 1, 1)
    assert (data.orders.items, data.orders.error) == ([], "")


@pytest.mark.parametrize(
    "answer",
    [
        (500, b"{}"),
        (200, b"<html>Wartung</html>"),
        (200, b'{"not": "a list"}'),
        (200, b'[{"number": 5}]'),
        (200, b'[{"number": "1", "product": "x", "status": "y", "starts_on": "gestern"}]'),
    ],
)
def test_garbage_or_errors_from_a_system_show_as_not_reachable(systems, mitte, answer):
    systems.answers["api/contracts"] = answer
    systems.answers["api/orders"] = (200, b"[]")
    data = connected_data_for_account(account=mitte)
    assert data.contracts.error == "System not reachable."
    assert data.orders.error == ""


def test_a_slow_system_times_out_instead_of_hanging_the_desk(systems, mitte):
    systems.delay = 1.5
    with pytest.raises(ConnectorError):
        get_connector().contracts(customer_number="100234")


def test_the_desk_still_pops_and_says_when_a_system_is_down(client, agent, settings, mitte):
    settings.ICENTER_CONNECTOR = "http"
    settings.ICENTER_CONNECTOR_URL = "http://127.0.0.1:9/down"
    client.force_login(agent.user)
    assert client.get(f"/desk/?account={mitte.pk}").status_code == 200
    panel = client.get(reverse("accounts:systems_panel", args=[mitte.pk])).content.decode()
    assert panel.count("System not reachable.") == 2


def test_outage_sync_stores_outages_once_and_resolves_the_ones_that_are_gone(settings):
    assert services.outage_sync() == 1
    assert services.outage_sync() == 1
    outage = Outage.objects.get()
    assert sorted(outage.areas.values_list("postcode", flat=True)) == ["10115", "10117", "10119"]
    assert outage.resolved_at is None
    settings.ICENTER_CONNECTOR = "tests.unit.service.test_connected_systems.QuietConnector"
    services.outage_sync()
    outage.refresh_from_db()
    assert outage.resolved_at is not None


class QuietConnector(DemoConnector):
    """The demo systems after the outage was fixed."""

    def outages(self, *, postcode: str = ""):
        return []


def test_the_pop_shows_the_outage_in_the_callers_postcode_with_its_fix_time(agent, mitte):
    fix = timezone.now() + dt.timedelta(hours=3)
    outage = Outage.objects.create(reference="ST-1", title="Glasfaserschaden", expected_fix_at=fix)
    OutageArea.objects.create(outage=outage, postcode="10117")
    elsewhere = Outage.objects.create(reference="ST-2", title="München")
    OutageArea.objects.create(outage=elsewhere, postcode="80802")
    resolved = Outage.objects.create(reference="ST-3", title="vorbei", resolved_at=timezone.now())
    OutageArea.objects.create(outage=resolved, postcode="10117")
    interaction = InteractionFactory(account=mitte, agent=agent.user, outcome="")
    Agent.objects.filter(pk=agent.pk).update(current_interaction=interaction)
    state = desk_state_for_agent(agent_id=agent.pk)
    assert [o.reference for o in state.outages] == ["ST-1"]
    text = next(a.text for a in state.alerts if a.severity == "danger")
    assert text.startswith("Outage in 10117: Glasfaserschaden. Expected fix: ")
    assert outage_list_for_account(account=AccountFactory()) == []


def test_the_agent_links_the_callers_ticket_to_the_outage_in_one_action(client, agent, mitte):
    outage = Outage.objects.create(reference="ST-1", title="Glasfaserschaden")
    OutageArea.objects.create(outage=outage, postcode="10117")
    ticket = services.ticket_create(account=mitte, subject="Kein Internet", created_by=agent.user)
    client.force_login(agent.user)
    page = client.get(f"/desk/?account={mitte.pk}").content.decode()
    assert f"Link {ticket.number} to this outage" in page
    response = client.post(
        reverse("accounts:ticket_link_outage", args=[ticket.pk]),
        {"outage": outage.pk, "version": ticket.version},
    )
    assert "is linked to outage ST-1" in response.content.decode()
    ticket.refresh_from_db()
    assert ticket.outage == outage
    assert ticket.changes.filter(action="outage", new_value__contains="ST-1").exists()


def test_a_failed_line_test_opens_an_incident_linked_to_the_area_outage(agent, mitte):
    outcome = services.line_test_run(account=mitte, by=agent.user)
    assert not outcome.result.ok
    ticket = outcome.ticket
    assert (ticket.type, ticket.priority, ticket.account) == ("incident", "high", mitte)
    assert ticket.outage.reference == "ST-DEMO-10117"
    assert "Expected resolution:" in ticket.description
    assert ticket.outage.expected_fix_at is not None


def test_a_passed_line_test_opens_nothing(agent):
    account = AccountFactory(customer_number="100237")
    AddressFactory(account=account, postcode="50667")
    outcome = services.line_test_run(account=account, by=agent.user)
    assert outcome.result.ok or outcome.result.fault == "line"
    if outcome.result.ok:
        assert outcome.ticket is None and not Ticket.objects.exists()


def test_the_desk_line_test_button_reports_the_incident(client, agent, mitte):
    client.force_login(agent.user)
    html = client.post(reverse("accounts:line_test", args=[mitte.pk])).content.decode()
    ticket = Ticket.objects.get()
    assert f"Line test failed; incident {ticket.number} opened." in html


def test_an_unreachable_line_test_system_is_explained(client, agent, mitte, settings):
    settings.ICENTER_CONNECTOR = "http"
    settings.ICENTER_CONNECTOR_URL = "http://127.0.0.1:9/down"
    client.force_login(agent.user)
    html = client.post(reverse("accounts:line_test", args=[mitte.pk])).content.decode()
    assert "line test system is not reachable" in html
    assert not Ticket.objects.exists()


def test_the_http_line_test_checks_the_answers_shape(systems, mitte):
    systems.answers["api/line-tests"] = (200, b'{"ok": "yes"}')
    with pytest.raises(ConnectorError):
        get_connector().line_test(customer_number="1")
    systems.answers["api/line-tests"] = (
        200,
        json.dumps(
            {
                "ok": False,
                "detail": "kaputt",
                "fault": "line",
                "expected_resolution_at": "2026-12-01T10:00:00+01:00",
            }
        ).encode(),
    )
    result = get_connector().line_test(customer_number="1")
    assert (result.ok, result.fault, result.expected_resolution_at.day) == (False, "line", 1)
