"""Media for callers, the real path: Kamailio drives rtpengine (userspace) with its module.

A waiting caller gets a 183 with SDP pointing at rtpengine and hears the queue announcement
(then music) as RTP on its own socket; the stream ends when an agent answers. A closed queue
plays its announcement before the 480. The audio files are the generic ones written by
deploy/kamailio/make_media.py (spoken with espeak-ng when it is installed, tones otherwise).
Nothing here asserts timings. Per-queue spoken files: test_announcements.py.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from telephony import services
from telephony.models import Agent, Call
from tests.factories import QueueFactory
from tests.integration.kamailio import harness
from tests.integration.kamailio.test_kamailio import CUSTOMER, ended_call, finished, the_call

PCMU = 0
PCMU_SILENCE = {0xFF, 0x7F}


def sdp_port(messages: str, status: str) -> int:
    """The m=audio port of the SDP in the first `status` response the caller received."""
    found = re.search(rf"SIP/2\.0 {status} .*?m=audio (\d+)", messages, re.S)
    assert found, f"no {status} with SDP in:\n{messages[-3000:]}"
    return int(found.group(1))


def sound(packets: list[harness.RtpPacket]) -> set[int]:
    """The distinct non-silent PCMU byte values in the packets' payloads."""
    return {byte for packet in packets for byte in packet.payload} - PCMU_SILENCE


def test_a_waiting_caller_hears_the_queue_announcement_until_an_agent_answers(
    kamailio_media: harness.Kamailio, rtpengine: harness.Rtpengine, agent: Any, tmp_path: Path
) -> None:
    Agent.objects.filter(pk=agent.pk).update(state=Agent.State.NOT_READY)
    phone = harness.phone(kamailio_media, extension="2001", workdir=tmp_path)
    with harness.RtpEar() as ear:
        caller = harness.call_with_media(
            kamailio_media, to="7000", ani=CUSTOMER, workdir=tmp_path, media_port=ear.port
        )
        waiting = harness.wait_for(lambda: the_call(Call.Status.QUEUED), what="the call to wait")
        harness.wait_for(lambda: len(ear.received()) >= 50, what="1 s of RTP at the caller")

        heard = ear.received()
        assert {p.payload_type for p in heard} == {PCMU}
        assert len({p.source for p in heard}) == 1
        announced_at = sdp_port(caller.messages(), "183")
        assert heard[0].source == ("127.0.0.1", announced_at)  # rtpengine, as the 183 said
        assert len(sound(heard)) > 20  # speech or tones, not silence
        assert f"{waiting.call_id}-queue" in rtpengine.call_ids()
        assert "queue-position-1.wav" in kamailio_media.log()

        services.agent_set_state(agent=agent, state=Agent.State.READY)
        harness.wait_for(lambda: the_call(Call.Status.TALKING), what="the agent to answer")
        harness.wait_for(
            lambda: f"{waiting.call_id}-queue" not in rtpengine.call_ids(),
            what="rtpengine to end the queue session",
        )
        harness.wait_for(lambda: ear.quiet_for(1.0), what="the announcement to stop")
        count = len(ear.received())
        finished(caller)
        finished(phone.ua)  # type: ignore[arg-type]
        assert len(ear.received()) == count  # nothing more after the answer
    call = ended_call()
    assert call.agent == agent
    assert call.answered_at is not None


def test_a_caller_who_hangs_up_while_hearing_the_announcement_ends_the_media_session(
    kamailio_media: harness.Kamailio, rtpengine: harness.Rtpengine, agent: Any, tmp_path: Path
) -> None:
    Agent.objects.filter(pk=agent.pk).update(state=Agent.State.NOT_READY)
    with harness.RtpEar() as ear:
        path = harness.scenario("caller_cancels", tmp_path, WAIT_MS="1500")
        text = path.read_text().replace('<recv response="180"/>', '<recv response="183"/>')
        text = text.replace("m=audio [media_port]", f"m=audio {ear.port}")
        text = text.replace("c=IN IP[media_ip_type] [media_ip]", "c=IN IP4 127.0.0.1")
        path.write_text(text)
        caller = harness.sipp(
            "cancel-media",
            path,
            workdir=tmp_path,
            port=harness.free_sip_port(),
            target=kamailio_media.sip_target,
            keys={"service": "7000", "ani": CUSTOMER},
        )
        waiting = harness.wait_for(lambda: the_call(Call.Status.QUEUED), what="the call to wait")
        harness.wait_for(lambda: len(ear.received()) >= 10, what="RTP at the caller")
        finished(caller)
        harness.wait_for(
            lambda: f"{waiting.call_id}-queue" not in rtpengine.call_ids(),
            what="rtpengine to end the queue session",
        )
    call = ended_call()
    assert call.end_reason == "caller hung up"


def test_a_closed_queue_plays_its_announcement_before_it_refuses_the_call(
    kamailio_media: harness.Kamailio, rtpengine: harness.Rtpengine, tmp_path: Path
) -> None:
    from datetime import time

    from django.utils import timezone

    from telephony.models import OpeningHours

    queue = QueueFactory(number="7001", closed_announcement="We open at 8.")
    other_day = (timezone.localtime().weekday() + 1) % 7
    OpeningHours.objects.create(queue=queue, weekday=other_day, opens=time(8), closes=time(18))
    # 183 with SDP, the announcement, then 480
    caller, heard = harness.refused_call_heard(
        kamailio_media, to="7001", ani=CUSTOMER, workdir=tmp_path
    )
    announced_at = sdp_port(caller.messages(), "183")
    assert heard, "the caller heard nothing before the 480"
    assert {p.source for p in heard} == {("127.0.0.1", announced_at)}
    assert len(sound(heard)) > 20
    # the generic closed announcement lasts at least 3 s (tones; speech is longer): 20 ms
    # packets, most of them
    assert len(heard) >= 100
    assert "queue-closed.wav" in kamailio_media.log()
    harness.wait_for(lambda: not rtpengine.call_ids(), what="rtpengine to end the session")
    call = ended_call()
    assert call.end_reason == "queue closed"


def test_the_desk_puts_the_customer_on_hold_with_music_and_takes_them_back(
    kamailio_media: harness.Kamailio,
    rtpengine: harness.Rtpengine,
    agent: Any,
    tmp_path: Path,
    settings: Any,
) -> None:
    settings.ICENTER_RTPENGINE_NG = f"127.0.0.1:{rtpengine.ng_port}"
    settings.ICENTER_HOLD_MUSIC = str(tmp_path / "media" / "hold-music.wav")
    phone = harness.phone(kamailio_media, extension="2001", workdir=tmp_path, hold_ms=60000)
    with harness.RtpEar() as ear:
        caller = harness.call_with_media(
            kamailio_media,
            to="7000",
            ani=CUSTOMER,
            workdir=tmp_path,
            media_port=ear.port,
            hold_ms=60000,
        )
        talking = harness.wait_for(lambda: the_call(Call.Status.TALKING), what="the answer")
        assert talking.call_id in rtpengine.call_ids()  # the call's media is anchored
        anchored_at = sdp_port(caller.messages(), "200")
        assert ear.received() == []  # the sipp phone sends no audio

        held = services.call_hold(agent=agent, call_pk=talking.pk)
        assert held.status == Call.Status.HELD
        harness.wait_for(lambda: len(ear.received()) >= 50, what="1 s of hold music")
        music = ear.received()
        assert {p.source for p in music} == {("127.0.0.1", anchored_at)}
        assert len(sound(music)) > 20

        back = services.call_retrieve(agent=agent, call_pk=talking.pk)
        assert back.status == Call.Status.TALKING
        harness.wait_for(lambda: ear.quiet_for(1.0), what="the hold music to stop")

        services.call_hangup(agent=agent, call_pk=talking.pk)
        finished(caller)
        finished(phone.ua)  # type: ignore[arg-type]
    harness.wait_for(
        lambda: talking.call_id not in rtpengine.call_ids(), what="rtpengine to end the call"
    )
    call = ended_call()
    assert call.answered_at is not None


def test_without_rtpengine_configured_hold_from_the_desk_is_refused_with_a_clear_message(
    kamailio_media: harness.Kamailio, agent: Any, tmp_path: Path, settings: Any
) -> None:
    from icenter.errors import DomainError

    settings.ICENTER_RTPENGINE_NG = ""
    phone = harness.phone(kamailio_media, extension="2001", workdir=tmp_path, hold_ms=60000)
    caller = harness.call(kamailio_media, to="7000", ani=CUSTOMER, workdir=tmp_path, hold_ms=60000)
    talking = harness.wait_for(lambda: the_call(Call.Status.TALKING), what="the answer")
    try:
        services.call_hold(agent=agent, call_pk=talking.pk)
    except DomainError as exc:
        assert "hold key" in exc.message
    else:
        raise AssertionError("hold without rtpengine was not refused")
    talking.refresh_from_db()
    assert talking.status == Call.Status.TALKING
    services.call_hangup(agent=agent, call_pk=talking.pk)
    finished(caller)
    finished(phone.ua)  # type: ignore[arg-type]
