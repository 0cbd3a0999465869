"""The Asterisk adapter's commands: the AMI actions it sends, checked against transcripts."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from telephony.cti.asterisk import AsteriskAdapter
from telephony.cti.asterisk.client import AmiLoginRefused, AmiSettings
from telephony.cti.base import ADAPTERS, CtiError, _load
from tests.unit.telephony.asterisk.fake_ami import FakeAmi, load

CALL = "1718012400.1"


@pytest.fixture
def pbx() -> Iterator[Any]:
    servers: list[FakeAmi] = []

    def start(transcript: str) -> tuple[AsteriskAdapter, FakeAmi]:
        server = FakeAmi(load(transcript))
        servers.append(server)
        adapter = AsteriskAdapter(
            AmiSettings(
                host="127.0.0.1",
                port=server.port,
                username="icenter",
                secret="test-secret",
                read_timeout=5,
            )
        )
        return adapter, server

    yield start
    for server in servers:
        server.close()


def finished(server: FakeAmi) -> None:
    """Every action of the transcript arrived, in order and with the expected fields."""
    assert server.wait_for(lambda: server.finished_scripts == 1 or bool(server.mismatches))
    assert server.mismatches == []


def test_deliver_redirects_the_waiting_customer_to_ring_the_agent(pbx: Any) -> None:
    adapter, server = pbx("cmd_deliver.ami")
    adapter.deliver(call_id=CALL, extension="2001")
    finished(server)
    assert [f.get("Action") for f in server.received] == [
        "Login",
        "CoreShowChannels",
        "Redirect",
        "Logoff",
    ]


def test_hold_moves_customer_to_music_and_agent_leg_aside(pbx: Any) -> None:
    adapter, server = pbx("cmd_hold.ami")
    adapter.hold(call_id=CALL)
    finished(server)


def test_retrieve_bridges_the_held_customer_with_the_agent_again(pbx: Any) -> None:
    adapter, server = pbx("cmd_retrieve.ami")
    adapter.retrieve(call_id=CALL)
    finished(server)


def test_hangup_hangs_up_the_customer_first_and_ignores_legs_already_gone(pbx: Any) -> None:
    adapter, server = pbx("cmd_hangup.ami")
    adapter.hangup(call_id=CALL)
    finished(server)


def test_reject_hangs_up_the_ringing_phone_with_cause_call_rejected(pbx: Any) -> None:
    adapter, server = pbx("cmd_reject.ami")
    adapter.reject(call_id=CALL, extension="2001")
    finished(server)


def test_blind_transfer_sends_the_customer_to_the_target(pbx: Any) -> None:
    adapter, server = pbx("cmd_transfer_blind.ami")
    adapter.transfer_blind(call_id=CALL, target="7001")
    finished(server)


def test_consult_start_holds_the_customer_and_dials_the_target_from_the_agent_leg(
    pbx: Any,
) -> None:
    adapter, server = pbx("cmd_consult_start.ami")
    consult_id = adapter.consult_start(call_id=CALL, extension="2001", target="2002")
    finished(server)
    # The consultation's id is what the dialplan reports back in IcenterConsult.
    assert server.actions("Setvar")[0].get("Value") == consult_id
    assert consult_id.startswith("icenter-consult-")


def test_consult_complete_connects_customer_and_target_and_releases_the_agent(pbx: Any) -> None:
    adapter, server = pbx("cmd_consult_complete.ami")
    adapter.consult_complete(call_id=CALL, consult_call_id="icenter-consult-7f3a")
    finished(server)


def test_consult_cancel_ends_the_consultation_and_takes_the_customer_back(pbx: Any) -> None:
    adapter, server = pbx("cmd_consult_cancel.ami")
    adapter.consult_cancel(call_id=CALL, consult_call_id="icenter-consult-7f3a")
    finished(server)


def test_originate_rings_the_agent_with_a_call_id_icenter_chose(pbx: Any) -> None:
    adapter, server = pbx("cmd_originate.ami")
    call_id = adapter.originate(extension="2001", number="+4930999888")
    finished(server)
    assert server.actions("Originate")[0].get("ChannelId") == call_id
    assert call_id.startswith("icenter-")


def test_answer_asks_the_phone_to_go_off_hook(pbx: Any) -> None:
    adapter, server = pbx("cmd_answer.ami")
    adapter.answer(call_id=CALL, extension="2001")
    finished(server)


def test_agent_state_is_stored_in_astdb_for_the_dialplan(pbx: Any) -> None:
    adapter, server = pbx("cmd_set_agent_state.ami")
    adapter.set_agent_state(extension="2001", state="not_ready")
    finished(server)


def test_an_action_asterisk_refuses_raises_its_message(pbx: Any) -> None:
    adapter, server = pbx("cmd_refused.ami")
    with pytest.raises(CtiError, match="Channel specified does not exist"):
        adapter.deliver(call_id=CALL, extension="2001")
    finished(server)


def test_a_refused_login_raises_a_permanent_error(pbx: Any) -> None:
    adapter, _server = pbx("cmd_login_refused.ami")
    with pytest.raises(AmiLoginRefused, match="Authentication failed") as raised:
        adapter.hold(call_id=CALL)
    assert raised.value.permanent


def test_a_command_for_a_call_asterisk_no_longer_has_is_refused(pbx: Any) -> None:
    adapter, server = pbx("cmd_no_such_call.ami")
    with pytest.raises(CtiError, match="no such call"):
        adapter.hold(call_id=CALL)
    finished(server)


def test_an_unreachable_asterisk_is_a_temporary_error() -> None:
    adapter = AsteriskAdapter(
        AmiSettings(host="127.0.0.1", port=1, username="icenter", secret="x", connect_timeout=1)
    )
    with pytest.raises(CtiError) as raised:
        adapter.hangup(call_id=CALL)
    assert not raised.value.permanent


@pytest.mark.parametrize(
    "number",
    ["", "2001\r\nAction: Command", "2001,tT", "PJSIP/2001", "2001@evil", "a" * 41],
)
def test_numbers_that_could_leave_the_dialplan_are_refused_before_connecting(
    number: str,
) -> None:
    adapter = AsteriskAdapter(AmiSettings(host="127.0.0.1", port=1, username="u", secret="s"))
    with pytest.raises(CtiError, match="cannot be dialled"):
        adapter.originate(extension="2001", number=number)


def test_asterisk_is_a_registered_adapter(settings: Any) -> None:
    assert "asterisk" in ADAPTERS
    settings.ICENTER_CTI = "asterisk"
    assert isinstance(_load("asterisk"), AsteriskAdapter)
