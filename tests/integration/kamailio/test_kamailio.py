"""The real SIP path: Kamailio (deploy/kamailio/kamailio.cfg) asks icenter, sipp phones ring.

Each test starts its own Kamailio on free loopback ports, registers sipp "phones" for the
agents' extensions, lets a sipp "customer" call the queue number 7000, and checks what
icenter stored. Nothing here asserts timings.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from django.utils import timezone

from accounts.models import Interaction
from telephony import services
from telephony.cti.base import get_adapter
from telephony.models import Agent, Call, CallEventRecord
from tests.factories import PhoneFactory
from tests.integration.kamailio import harness
from tests.integration.kamailio.conftest import TOKEN
from tests.pg_cluster import free_port

CUSTOMER = "+4930123456"


def longest_idle(agent: Any, minutes: int = 10) -> None:
    Agent.objects.filter(pk=agent.pk).update(
        state_since=timezone.now() - timedelta(minutes=minutes)
    )


def the_call(status: str | None = None) -> Call | None:
    calls = Call.objects.filter(ani=CUSTOMER)
    if status is not None:
        calls = calls.filter(status=status)
    return calls.select_related("agent", "interaction").first()


def ended_call() -> Call:
    call = harness.wait_for(lambda: the_call(Call.Status.ENDED), what="the call to end")
    assert isinstance(call, Call)
    return call


def finished(ua: harness.Sipp, timeout: float = 40) -> None:
    rc = ua.wait(timeout)
    assert rc == 0, ua.diagnostics()


def test_the_longest_idle_agents_phone_rings_and_the_answered_call_is_stored(
    kamailio: harness.Kamailio, agent: Any, other_agent: Any, tmp_path: Path
) -> None:
    longest_idle(other_agent)
    account_phone = PhoneFactory(value="030 123456")
    phone = harness.phone(kamailio, extension="2002", workdir=tmp_path)
    caller = harness.call(kamailio, to="7000", ani=CUSTOMER, workdir=tmp_path, hold_ms=500)
    finished(caller)
    finished(phone.ua)  # type: ignore[arg-type]
    call = ended_call()
    assert call.agent == other_agent
    assert call.answered_at is not None
    assert call.end_reason == "caller hung up"
    assert call.interaction.outcome == Interaction.Outcome.COMPLETED
    assert call.interaction.account == account_phone.account
    other_agent.refresh_from_db()
    assert other_agent.state == Agent.State.WRAP_UP
    kinds = list(
        CallEventRecord.objects.filter(call_id=call.call_id, result="applied")
        .order_by("id")
        .values_list("kind", flat=True)
    )
    assert kinds == ["offered", "ringing", "answered", "ended"]


def test_ring_no_answer_moves_the_call_to_the_next_agent(
    kamailio: harness.Kamailio, agent: Any, other_agent: Any, tmp_path: Path
) -> None:
    longest_idle(agent)
    silent = harness.phone(kamailio, extension="2001", workdir=tmp_path, behaviour="rings")
    answering = harness.phone(kamailio, extension="2002", workdir=tmp_path)
    caller = harness.call(kamailio, to="7000", ani=CUSTOMER, workdir=tmp_path, hold_ms=300)
    finished(caller)
    finished(silent.ua)  # type: ignore[arg-type]
    finished(answering.ua)  # type: ignore[arg-type]
    call = ended_call()
    assert call.agent == other_agent
    assert call.answered_at is not None
    agent.refresh_from_db()
    assert agent.state == Agent.State.NOT_READY
    assert agent.state_reason == "no_answer"
    assert CallEventRecord.objects.filter(
        call_id=call.call_id, kind="not_answered", result="applied", payload__reason="timeout"
    ).exists()


def test_a_caller_who_hangs_up_while_ringing_leaves_an_abandoned_interaction(
    kamailio: harness.Kamailio, agent: Any, tmp_path: Path
) -> None:
    phone = harness.phone(kamailio, extension="2001", workdir=tmp_path, behaviour="rings")
    caller = harness.call_then_cancel(
        kamailio, to="7000", ani=CUSTOMER, wait_ms=500, workdir=tmp_path
    )
    finished(caller)
    finished(phone.ua)  # type: ignore[arg-type]
    call = ended_call()
    assert call.answered_at is None
    assert call.end_reason == "caller hung up"
    assert call.interaction.outcome == Interaction.Outcome.ABANDONED
    agent.refresh_from_db()
    assert agent.state == Agent.State.READY


def test_a_caller_who_hangs_up_while_waiting_leaves_an_abandoned_interaction(
    kamailio: harness.Kamailio, agent: Any, tmp_path: Path
) -> None:
    Agent.objects.filter(pk=agent.pk).update(state=Agent.State.NOT_READY)
    caller = harness.call_then_cancel(
        kamailio, to="7000", ani=CUSTOMER, wait_ms=500, workdir=tmp_path
    )
    finished(caller)
    call = ended_call()
    assert call.agent is None
    assert call.interaction.outcome == Interaction.Outcome.ABANDONED


def test_a_waiting_call_rings_the_agent_who_becomes_ready(
    kamailio: harness.Kamailio, agent: Any, tmp_path: Path
) -> None:
    Agent.objects.filter(pk=agent.pk).update(state=Agent.State.NOT_READY)
    phone = harness.phone(kamailio, extension="2001", workdir=tmp_path)
    caller = harness.call(kamailio, to="7000", ani=CUSTOMER, workdir=tmp_path, hold_ms=300)
    harness.wait_for(lambda: the_call(Call.Status.QUEUED), what="the call to wait")
    services.agent_set_state(agent=agent, state=Agent.State.READY)
    finished(caller)
    finished(phone.ua)  # type: ignore[arg-type]
    call = ended_call()
    assert call.agent == agent
    assert call.answered_at is not None


def test_a_call_to_an_unknown_number_is_refused_and_kept_in_the_history(
    kamailio: harness.Kamailio, agent: Any, tmp_path: Path
) -> None:
    caller = harness.call_refused(kamailio, to="2555", ani=CUSTOMER, code=404, workdir=tmp_path)
    finished(caller)
    call = ended_call()
    assert call.dnis == "2555"
    assert call.interaction.outcome in {Interaction.Outcome.MISSED, Interaction.Outcome.ABANDONED}
    agent.refresh_from_db()
    assert agent.state == Agent.State.READY


def test_an_agent_whose_phone_is_not_registered_is_skipped(
    kamailio: harness.Kamailio, agent: Any, other_agent: Any, tmp_path: Path
) -> None:
    longest_idle(agent)
    phone = harness.phone(kamailio, extension="2002", workdir=tmp_path)
    caller = harness.call(kamailio, to="7000", ani=CUSTOMER, workdir=tmp_path, hold_ms=300)
    finished(caller)
    finished(phone.ua)  # type: ignore[arg-type]
    call = ended_call()
    assert call.agent == other_agent
    agent.refresh_from_db()
    assert agent.state == Agent.State.NOT_READY
    assert CallEventRecord.objects.filter(
        call_id=call.call_id, kind="not_answered", payload__reason="unregistered"
    ).exists()


def test_the_desk_rejects_a_ringing_call_and_the_next_agent_gets_it(
    kamailio_factory: Any, agent: Any, other_agent: Any, tmp_path: Path
) -> None:
    kamailio = kamailio_factory(ring_timeout_ms=30000)
    longest_idle(agent)
    silent = harness.phone(kamailio, extension="2001", workdir=tmp_path, behaviour="rings")
    answering = harness.phone(kamailio, extension="2002", workdir=tmp_path)
    caller = harness.call(kamailio, to="7000", ani=CUSTOMER, workdir=tmp_path, hold_ms=300)
    ringing = harness.wait_for(
        lambda: (
            CallEventRecord.objects.filter(kind="ringing", payload__agent="2001").exists()
            and the_call(Call.Status.RINGING)
        ),
        what="2001 to ring",
    )
    services.call_reject(agent=agent, call_pk=ringing.pk)
    finished(caller)
    finished(silent.ua)  # type: ignore[arg-type]
    finished(answering.ua)  # type: ignore[arg-type]
    call = ended_call()
    assert call.agent == other_agent
    agent.refresh_from_db()
    assert agent.state == Agent.State.NOT_READY
    assert agent.state_reason == "rejected"


def test_icenter_hangs_up_a_call_over_json_rpc(
    kamailio: harness.Kamailio, agent: Any, tmp_path: Path
) -> None:
    phone = harness.phone(kamailio, extension="2001", workdir=tmp_path)
    caller = harness.call(kamailio, to="7000", ani=CUSTOMER, workdir=tmp_path, hold_ms=30000)
    talking = harness.wait_for(lambda: the_call(Call.Status.TALKING), what="the call to connect")
    services.call_hangup(agent=agent, call_pk=talking.pk)
    finished(caller)  # the customer got a BYE and confirmed it
    finished(phone.ua)  # type: ignore[arg-type]
    call = ended_call()
    assert call.answered_at is not None
    assert call.interaction.outcome == Interaction.Outcome.COMPLETED
    agent.refresh_from_db()
    assert agent.state == Agent.State.WRAP_UP
    assert kamailio.dialogs() == []


def test_when_icenter_is_unreachable_the_fallback_extension_rings(
    kamailio_factory: Any, agent: Any, tmp_path: Path
) -> None:
    kamailio = kamailio_factory(app_url=f"http://127.0.0.1:{free_port()}")
    fallback = harness.phone(kamailio, extension="2999", workdir=tmp_path)
    caller = harness.call(kamailio, to="7000", ani=CUSTOMER, workdir=tmp_path, hold_ms=300)
    finished(caller)
    finished(fallback.ua)  # type: ignore[arg-type]
    assert "icenter route request failed" in kamailio.log()
    assert the_call() is None  # icenter never heard of it: it was down


def test_a_route_request_with_a_wrong_token_is_refused_and_the_call_falls_back(
    kamailio_factory: Any, agent: Any, tmp_path: Path, settings: Any
) -> None:
    kamailio = kamailio_factory()
    settings.ICENTER_CTI_TOKEN = "another-token"  # icenter no longer accepts Kamailio's
    fallback = harness.phone(kamailio, extension="2999", workdir=tmp_path)
    caller = harness.call(kamailio, to="7000", ani=CUSTOMER, workdir=tmp_path, hold_ms=300)
    finished(caller)
    finished(fallback.ua)  # type: ignore[arg-type]
    assert "icenter route request failed (HTTP 401)" in kamailio.log()
    assert the_call() is None


def test_json_rpc_without_the_token_is_refused(kamailio: harness.Kamailio) -> None:
    status, _ = harness.http_json(
        kamailio.rpc_url, {"jsonrpc": "2.0", "method": "dlg.list", "id": 1}, token="wrong"
    )
    assert status == 401


def test_after_a_pbx_restart_mid_call_the_hangup_still_reaches_icenter(
    kamailio: harness.Kamailio, agent: Any, tmp_path: Path
) -> None:
    phone = harness.phone(kamailio, extension="2001", workdir=tmp_path, hold_ms=60000)
    caller = harness.call(kamailio, to="7000", ani=CUSTOMER, workdir=tmp_path, hold_ms=5000)
    harness.wait_for(lambda: the_call(Call.Status.TALKING), what="the call to connect")
    kamailio.restart()  # dialogs and registrations were in memory: both are gone now
    assert kamailio.dialogs() == []
    finished(caller)  # the customer's BYE still finds the phone through the Route set
    finished(phone.ua)  # type: ignore[arg-type]
    call = ended_call()
    assert call.answered_at is not None
    assert call.end_reason == "bye after PBX restart"
    assert call.interaction.outcome == Interaction.Outcome.COMPLETED


def test_after_a_pbx_restart_a_waiting_call_is_ended_not_left_waiting(
    kamailio: harness.Kamailio, agent: Any, tmp_path: Path
) -> None:
    Agent.objects.filter(pk=agent.pk).update(state=Agent.State.NOT_READY)
    caller = harness.call(kamailio, to="7000", ani=CUSTOMER, workdir=tmp_path)
    harness.wait_for(lambda: the_call(Call.Status.QUEUED), what="the call to wait")
    kamailio.restart()
    call = ended_call()
    assert call.end_reason == "PBX restarted"
    assert call.interaction.outcome == Interaction.Outcome.ABANDONED
    caller.kill()


def test_hangup_of_a_call_kamailio_no_longer_knows_records_the_end(
    kamailio: harness.Kamailio, agent: Any, tmp_path: Path
) -> None:
    phone = harness.phone(kamailio, extension="2001", workdir=tmp_path, hold_ms=60000)
    caller = harness.call(kamailio, to="7000", ani=CUSTOMER, workdir=tmp_path, hold_ms=60000)
    talking = harness.wait_for(lambda: the_call(Call.Status.TALKING), what="the call to connect")
    kamailio.restart()
    services.call_hangup(agent=agent, call_pk=talking.pk)
    call = ended_call()
    assert call.end_reason == "unknown to the PBX"
    agent.refresh_from_db()
    assert agent.state == Agent.State.WRAP_UP
    caller.kill()
    phone.ua.kill()  # type: ignore[union-attr]


def test_the_adapter_is_chosen_by_settings(icenter: str) -> None:
    assert get_adapter().name == "kamailio"
    assert TOKEN


def test_a_call_straight_to_an_agents_extension_rings_that_phone(
    kamailio: harness.Kamailio, agent: Any, tmp_path: Path
) -> None:
    phone = harness.phone(kamailio, extension="2001", workdir=tmp_path)
    caller = harness.call(kamailio, to="2001", ani=CUSTOMER, workdir=tmp_path, hold_ms=300)
    finished(caller)
    finished(phone.ua)  # type: ignore[arg-type]
    call = ended_call()
    assert call.agent == agent
    assert call.answered_at is not None
