"""Keepalive of answered calls: a party that vanishes without a BYE no longer holds the agent.

Kamailio (deploy/kamailio/kamailio.cfg) sends in-dialog OPTIONS to both sides of an answered
call every KEEPALIVE_INTERVAL seconds. A caller that stops answering (here: its sipp process
is killed, so no BYE is ever sent) makes Kamailio end the call: BYE to the agent's phone and
"ended" to icenter. A call whose parties answer the keepalives stays up. The interval is the
dialog module's minimum (30 s), so each test runs for about a minute. Nothing here asserts
timings: the waits are upper bounds derived from the configured keepalive.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from telephony import services
from telephony.models import Agent, Call, CallEventRecord
from tests.integration.kamailio import harness
from tests.integration.kamailio.test_kamailio import CUSTOMER, ended_call, finished, the_call

INTERVAL_S = 30  # the dialog module refuses less
SIP_TIMEOUT_MS = 3000  # a keepalive nobody answers fails after this (tm's fr_timer)
KEEPALIVE = {
    "ring_timeout_ms": 2000,
    "extra_defines": {
        "KEEPALIVE_INTERVAL": str(INTERVAL_S),
        "KEEPALIVE_FAILURES": "1",
        "SIP_TIMEOUT_MS": str(SIP_TIMEOUT_MS),
    },
}
# first keepalive (interval + 1 s timer step), its timeout, the dialog's last 10 s, and
# generous slack for a loaded machine
ENDED_WITHIN_S = INTERVAL_S + 1 + SIP_TIMEOUT_MS / 1000 + 10 + 30


def confirmed_dialog(kamailio: harness.Kamailio) -> dict[str, Any] | None:
    """The call's dialog once the caller's ACK is through (state 4): keepalives are due."""
    return next((d for d in kamailio.dialogs() if int(d.get("state", 0)) == 4), None)


def answered_call(kamailio_factory: Any, tmp_path: Path) -> tuple[Any, Any, Any, Call]:
    """Kamailio with the test keepalive, a customer's call to 7000 answered by 2001 and ACKed:
    (kamailio, the agent's phone, the caller, the talking call)."""
    kamailio = kamailio_factory(**KEEPALIVE)
    phone = harness.phone(kamailio, extension="2001", workdir=tmp_path, hold_ms=300000)
    caller = harness.call(kamailio, to="7000", ani=CUSTOMER, workdir=tmp_path, hold_ms=300000)
    talking = harness.wait_for(lambda: the_call(Call.Status.TALKING), what="the call to connect")
    harness.wait_for(lambda: confirmed_dialog(kamailio), what="the caller's ACK")
    return kamailio, phone, caller, talking


def ended_by_keepalive() -> Call:
    """The call once Kamailio ended it for an unanswered keepalive."""
    call = harness.wait_for(
        lambda: the_call(Call.Status.ENDED),
        what="the keepalive to end the call",
        timeout_s=ENDED_WITHIN_S,
        interval=0.5,
    )
    assert call.end_reason == "no answer to keepalive"
    return call


def test_a_caller_who_vanishes_without_bye_is_ended_by_the_keepalive_and_the_agent_freed(
    kamailio_factory: Any, agent: Any, tmp_path: Path
) -> None:
    kamailio, phone, caller, _talking = answered_call(kamailio_factory, tmp_path)

    caller.kill()  # the customer's phone crashed: no BYE, no answer to anything

    call = ended_by_keepalive()
    assert call.answered_at is not None
    agent.refresh_from_db()
    assert agent.state == Agent.State.WRAP_UP  # no longer talking
    finished(phone.ua, timeout=20)  # type: ignore[arg-type]  # the phone got Kamailio's BYE
    assert "BYE sip:" in phone.ua.messages()  # type: ignore[union-attr]
    assert caller.options_received() == 0  # it was gone before the first keepalive
    harness.wait_for(lambda: kamailio.dialogs() == [], what="Kamailio to forget the dialog")
    ended = CallEventRecord.objects.filter(call_id=call.call_id, kind="ended")
    assert ended.count() == 1  # dialog:end did not report it a second time


def test_an_agent_phone_that_vanishes_is_noticed_and_the_customer_gets_a_bye(
    kamailio_factory: Any, agent: Any, tmp_path: Path
) -> None:
    _kamailio, phone, caller, _talking = answered_call(kamailio_factory, tmp_path)

    phone.ua.kill()  # type: ignore[union-attr]  # the agent's phone lost power

    ended_by_keepalive()
    agent.refresh_from_db()
    assert agent.state == Agent.State.WRAP_UP
    finished(caller, timeout=20)  # the customer got Kamailio's BYE and confirmed it
    assert caller.options_received() >= 1  # the customer's side kept answering


def test_a_call_whose_parties_answer_the_keepalives_stays_up(
    kamailio_factory: Any, agent: Any, tmp_path: Path
) -> None:
    kamailio, phone, caller, talking = answered_call(kamailio_factory, tmp_path)

    rounds = 2  # with one failure allowed, any unanswered keepalive would have ended it
    harness.wait_for(
        lambda: caller.options_received() >= rounds and phone.ua.options_received() >= rounds,  # type: ignore[union-attr]
        what=f"{rounds} keepalives to each side",
        timeout_s=rounds * INTERVAL_S + ENDED_WITHIN_S,
        interval=0.5,
    )

    call = the_call()
    assert call is not None
    assert call.status == Call.Status.TALKING
    assert confirmed_dialog(kamailio) is not None
    assert "ended by Kamailio" not in kamailio.log()
    assert caller.process.poll() is None  # both still in the call
    assert phone.ua.process.poll() is None  # type: ignore[union-attr]

    services.call_hangup(agent=agent, call_pk=talking.pk)
    finished(caller)
    finished(phone.ua)  # type: ignore[arg-type]
    assert ended_call().end_reason != "no answer to keepalive"
