"""The CTI bridge against recorded AMI transcripts: which CallEvents each call flow yields."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from telephony.cti.asterisk.bridge import AmiBridge, Backoff
from telephony.cti.asterisk.client import AmiSettings
from telephony.cti.asterisk.translate import Translator
from telephony.cti.base import CallEvent
from tests.unit.telephony.asterisk.fake_ami import FakeAmi, load

QUEUES = {"7000", "7001"}


class Run:
    def __init__(self, transcript: str, sink: Any = None) -> None:
        self.sessions = load(transcript)
        self.expected_frames = sum(
            1
            for session in self.sessions
            for step in session
            if (step.kind == "send" and step.lines[0].startswith("Event:")) or step.kind == "raw"
        ) - sum(
            1
            for session in self.sessions
            for step in session
            if step.kind == "send" and step.lines[0].startswith("Event: CoreShowChannels")
        )
        self.server = FakeAmi(self.sessions)
        self.events: list[CallEvent] = []
        self.stop = threading.Event()
        self.bridge = AmiBridge(
            ami=AmiSettings(
                host="127.0.0.1",
                port=self.server.port,
                username="icenter",
                secret="test-secret",
                read_timeout=5,
            ),
            sink=sink or self.events.append,
            translator=Translator(is_queue_number=QUEUES.__contains__),
            backoff=Backoff(initial=0.01, maximum=0.05),
            stop=self.stop,
        )
        self.thread = threading.Thread(target=self.bridge.run, daemon=True)
        self.thread.start()

    def wait_until_read(self) -> None:
        deadline = time.monotonic() + 10
        while self.bridge.frames_read < self.expected_frames and time.monotonic() < deadline:
            time.sleep(0.01)
        assert self.bridge.frames_read == self.expected_frames, self.server.mismatches

    def close(self) -> None:
        self.stop.set()
        self.server.close()
        self.thread.join(timeout=10)


@pytest.fixture
def replay() -> Iterator[Any]:
    runs: list[Run] = []

    def start(transcript: str) -> Run:
        run = Run(transcript)
        runs.append(run)
        run.wait_until_read()
        assert run.server.mismatches == []
        return run

    yield start
    for run in runs:
        run.close()


def kinds(events: list[CallEvent]) -> list[tuple[str, str, str, str, str]]:
    return [(e.kind, e.call_id, e.agent, e.queue, e.reason) for e in events]


CALL = "1718012400.1"


def test_inbound_call_is_offered_rings_the_agent_is_answered_and_ends(replay: Any) -> None:
    run = replay("inbound_answered.ami")
    assert kinds(run.events) == [
        ("offered", CALL, "", "7000", ""),
        ("ringing", CALL, "2001", "", ""),
        ("answered", CALL, "2001", "", ""),
        ("ended", CALL, "", "", "caller hung up"),
    ]
    offered = run.events[0]
    assert (offered.ani, offered.dnis) == ("+4930123456", "7000")
    # The event time is Asterisk's (timestampevents=yes), not the time of reading.
    assert offered.at.timestamp() == pytest.approx(1718012402.25)


def test_caller_hanging_up_while_it_rings_ends_the_call_without_blaming_the_agent(
    replay: Any,
) -> None:
    run = replay("caller_hangs_up_while_ringing.ami")
    assert kinds(run.events) == [
        ("offered", CALL, "", "7000", ""),
        ("ringing", CALL, "2001", "", ""),
        ("ended", CALL, "", "", "caller hung up"),
    ]


def test_a_caller_joining_an_app_queue_waiting_room_is_offered_and_abandons(replay: Any) -> None:
    run = replay("queue_waiting_room_abandoned.ami")
    assert kinds(run.events) == [
        ("offered", "1718012400.7", "", "7001", ""),
        ("ended", "1718012400.7", "", "", "caller hung up"),
    ]
    assert run.events[0].ani == "+4940555000"


def test_ring_no_answer_and_an_unregistered_phone_are_reported_once_each(replay: Any) -> None:
    run = replay("ring_no_answer.ami")
    assert kinds(run.events) == [
        ("offered", CALL, "", "7000", ""),
        ("ringing", CALL, "2001", "", ""),
        ("not_answered", CALL, "2001", "", "no answer"),
        ("not_answered", CALL, "2003", "", "unavailable"),
        ("ringing", CALL, "2002", "", ""),
        ("answered", CALL, "2002", "", ""),
        ("ended", CALL, "", "", "agent hung up"),
    ]


def test_hold_from_the_phone_and_from_icenter_are_held_and_retrieved(replay: Any) -> None:
    run = replay("hold_unhold.ami")
    assert [e.kind for e in run.events] == [
        "offered",
        "ringing",
        "answered",
        "held",
        "retrieved",
        "held",
        "retrieved",
        "ended",
    ]
    assert run.events[-1].reason == "agent hung up"


def test_blind_transfer_from_the_phone_moves_the_call_to_the_other_extension(
    replay: Any,
) -> None:
    run = replay("blind_transfer.ami")
    assert kinds(run.events)[3:] == [
        ("transferred", CALL, "2002", "", "blind transfer"),
        ("ringing", CALL, "2002", "", ""),
        ("answered", CALL, "2002", "", ""),
        ("ended", CALL, "", "", "caller hung up"),
    ]


def test_blind_transfer_to_a_queue_number_goes_back_to_the_acd_without_a_new_call(
    replay: Any,
) -> None:
    run = replay("blind_transfer_to_queue.ami")
    assert kinds(run.events)[3:] == [
        ("transferred", CALL, "", "7001", "blind transfer"),
        ("ringing", CALL, "2002", "", ""),
        ("answered", CALL, "2002", "", ""),
        ("ended", CALL, "", "", "caller hung up"),
    ]


def test_attended_transfer_from_the_phone_hands_the_customer_to_the_target(replay: Any) -> None:
    run = replay("attended_transfer.ami")
    # The agent's second call (its own Linkedid) is an internal call: not reported.
    assert kinds(run.events)[3:] == [
        ("held", CALL, "", "", ""),
        ("transferred", CALL, "2002", "", "attended transfer"),
        ("ended", CALL, "", "", "caller hung up"),
    ]


def test_consultation_from_icenter_rings_answers_and_completes_the_transfer(
    replay: Any,
) -> None:
    run = replay("consultation_completed.ami")
    consult = "icenter-consult-7f3a"
    assert kinds(run.events)[3:] == [
        ("held", CALL, "", "", ""),
        ("ringing", consult, "2002", "", ""),
        ("answered", consult, "2002", "", ""),
        ("transferred", CALL, "2002", "", "consultation"),
        ("ended", consult, "2002", "", "transferred"),
        ("ended", CALL, "", "", "agent hung up"),
    ]


def test_cancelled_consultation_ends_the_consult_call_and_retrieves_the_customer(
    replay: Any,
) -> None:
    run = replay("consultation_cancelled.ami")
    consult = "icenter-consult-9b1c"
    assert kinds(run.events)[3:] == [
        ("held", CALL, "", "", ""),
        ("ringing", consult, "2002", "", ""),
        ("ended", consult, "2002", "", "no answer"),
        ("retrieved", CALL, "", "", ""),
        ("ended", CALL, "", "", "caller hung up"),
    ]


def test_click_to_dial_is_answered_by_the_customer_and_a_busy_customer_ends_it(
    replay: Any,
) -> None:
    run = replay("originate.ami")
    first, second = "icenter-5d1e0c2f9a8b4c6d", "icenter-0b7c9e1d2f3a4b5c"
    assert kinds(run.events) == [
        ("answered", first, "2001", "", ""),
        ("ended", first, "", "", "customer hung up"),
        ("ended", second, "", "", "busy"),
    ]


def test_malformed_frames_are_dropped_and_the_bridge_goes_on(replay: Any) -> None:
    run = replay("malformed_frames.ami")
    assert kinds(run.events) == [("offered", CALL, "", "7000", "")]
    assert run.bridge.dropped_frames == 2
    assert run.bridge.connections == 1


def test_a_refused_login_is_retried_until_asterisk_accepts_it(replay: Any) -> None:
    run = replay("login_failure.ami")
    assert run.server.accepted == 2
    assert run.bridge.connections == 1
    assert kinds(run.events) == [("offered", CALL, "", "7000", "")]


def test_calls_that_vanished_during_a_pbx_restart_are_ended_after_the_reconnect(
    replay: Any,
) -> None:
    run = replay("pbx_restart.ami")
    deadline = time.monotonic() + 10
    while len(run.events) < 4 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert kinds(run.events) == [
        ("offered", CALL, "", "7000", ""),
        ("ringing", CALL, "2001", "", ""),
        ("answered", CALL, "2001", "", ""),
        ("ended", CALL, "", "", "the call ended while the CTI bridge was disconnected"),
    ]
    assert run.bridge.connections == 2
    assert [f.get("Action") for f in run.server.received] == [
        "Login",
        "Login",
        "CoreShowChannels",
    ]


def test_an_event_the_sink_refuses_is_logged_and_the_bridge_keeps_reading(
    caplog: pytest.LogCaptureFixture,
) -> None:
    failing: list[CallEvent] = []

    def sink(event: CallEvent) -> None:
        failing.append(event)
        raise RuntimeError("database is down")

    run = Run("inbound_answered.ami", sink=sink)
    try:
        run.wait_until_read()
        assert [e.kind for e in failing] == ["offered", "ringing", "answered", "ended"]
        assert "could not apply call event" in caplog.text
    finally:
        run.close()
