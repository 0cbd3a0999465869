"""Spoken per-queue announcements through Kamailio and rtpengine.

`manage.py make_announcements` speaks a queue's texts (espeak-ng) into the media directory;
icenter's routing answer names the queue's file (`media`) and Kamailio has rtpengine play it,
falling back to the generic file when rtpengine cannot play the queue's own one. What the
caller heard is compared with the files: the PCMU packets are decoded and correlated with the
file's samples, so "heard it" means these samples, not just "some sound".
"""

from __future__ import annotations

import math
import operator
import wave
from datetime import time
from pathlib import Path
from typing import Any

from django.core.management import call_command
from django.utils import timezone

from telephony import services
from telephony.models import Agent, Call, OpeningHours
from tests.conftest import need_program
from tests.factories import QueueFactory
from tests.integration.kamailio import harness
from tests.integration.kamailio.test_kamailio import CUSTOMER, ended_call, finished, the_call
from tests.integration.kamailio.test_media import sdp_port, sound


def ulaw_decode(byte: int) -> int:
    """G.711 µ-law to 16-bit linear."""
    byte = ~byte & 0xFF
    exponent, mantissa = (byte >> 4) & 7, byte & 0x0F
    sample = (((mantissa << 3) + 0x84) << exponent) - 0x84
    return -sample if byte & 0x80 else sample


def heard_samples(packets: list[harness.RtpPacket]) -> list[int]:
    return [ulaw_decode(b) for packet in packets for b in packet.payload]


def file_samples(path: Path) -> list[int]:
    with wave.open(str(path), "rb") as source:
        data = source.readframes(source.getnframes())
    return [int.from_bytes(data[i : i + 2], "little", signed=True) for i in range(0, len(data), 2)]


def likeness(heard: list[int], played: list[int], *, seconds: float = 1.0) -> float:
    """Best normalised correlation of the first `seconds` of sound the caller heard with the
    file, over start offsets of up to 0.2 s (1.0: the same samples, about 0: unrelated)."""
    start = next(i for i, s in enumerate(heard) if abs(s) > 500)  # the first sound
    piece = heard[start : start + int(8000 * seconds)]
    norm = math.sqrt(sum(s * s for s in piece))
    first = next(i for i, s in enumerate(played) if abs(s) > 500)
    best = 0.0
    for offset in range(max(0, first - 800), first + 800):
        other = played[offset : offset + len(piece)]
        if len(other) < len(piece):
            break
        other_norm = math.sqrt(sum(s * s for s in other)) or 1.0
        best = max(best, sum(map(operator.mul, piece, other)) / (norm * other_norm))
    return best


def closed_today(queue: Any) -> None:
    other_day = (timezone.localtime().weekday() + 1) % 7
    OpeningHours.objects.create(queue=queue, weekday=other_day, opens=time(8), closes=time(18))


def seconds(path: Path) -> float:
    with wave.open(str(path), "rb") as source:
        return source.getnframes() / source.getframerate()


def test_a_closed_queue_plays_its_own_spoken_announcement(
    kamailio_media: harness.Kamailio, rtpengine: harness.Rtpengine, tmp_path: Path
) -> None:
    need_program("espeak-ng", "the queue's announcement is spoken with espeak-ng")
    media = tmp_path / "media"
    closed_today(QueueFactory(number="7001", closed_announcement="We open at eight tomorrow."))
    call_command("make_announcements", "--dir", str(media), "--positions", "1")
    own, generic = media / "queue-7001-closed.wav", media / "queue-closed.wav"
    assert seconds(own) + 2 < seconds(generic)  # so the packet count tells them apart
    # 183 with SDP, the queue's announcement, then 480
    caller, heard = harness.refused_call_heard(
        kamailio_media, to="7001", ani=CUSTOMER, workdir=tmp_path
    )
    assert {p.source for p in heard} == {("127.0.0.1", sdp_port(caller.messages(), "183"))}
    assert len(sound(heard)) > 20
    assert f"playing {own} to the waiting caller" in kamailio_media.log()
    samples = heard_samples(heard)
    assert likeness(samples, file_samples(own)) > 0.9
    assert likeness(samples, file_samples(generic)) < 0.5
    # the 480 follows the file's own length (20 ms packets), not the generic file's
    assert len(heard) <= seconds(own) / 0.02 + 50
    harness.wait_for(lambda: not rtpengine.call_ids(), what="rtpengine to end the session")
    assert ended_call().end_reason == "queue closed"


def test_a_closed_queue_whose_own_file_was_never_written_plays_the_generic_one(
    kamailio_media: harness.Kamailio, rtpengine: harness.Rtpengine, tmp_path: Path
) -> None:
    media = tmp_path / "media"
    closed_today(QueueFactory(number="7001", closed_announcement="We open at eight tomorrow."))
    assert not (media / "queue-7001-closed.wav").exists()  # make_announcements not run
    _caller, heard = harness.refused_call_heard(
        kamailio_media, to="7001", ani=CUSTOMER, workdir=tmp_path
    )
    log = kamailio_media.log()
    assert f"rtpengine could not play {media}/queue-7001-closed.wav: playing" in log
    assert f"playing {media}/queue-closed.wav to the waiting caller" in log
    assert len(heard) >= 100
    assert likeness(heard_samples(heard), file_samples(media / "queue-closed.wav")) > 0.9
    assert ended_call().end_reason == "queue closed"


def test_a_waiting_caller_hears_the_queues_busy_text_with_their_position(
    kamailio_media: harness.Kamailio, rtpengine: harness.Rtpengine, agent: Any, tmp_path: Path
) -> None:
    need_program("espeak-ng", "the queue's announcement is spoken with espeak-ng")
    media = tmp_path / "media"
    QueueFactory(number="7002", busy_announcement="All our agents are busy.")
    call_command("make_announcements", "--dir", str(media), "--positions", "2")
    own = media / "queue-7002-position-1.wav"
    Agent.objects.filter(pk=agent.pk).update(state=Agent.State.NOT_READY)
    phone = harness.phone(kamailio_media, extension="2001", workdir=tmp_path)
    with harness.RtpEar() as ear:
        caller = harness.call_with_media(
            kamailio_media, to="7002", ani=CUSTOMER, workdir=tmp_path, media_port=ear.port
        )
        harness.wait_for(lambda: the_call(Call.Status.QUEUED), what="the call to wait")
        harness.wait_for(lambda: len(ear.received()) >= 100, what="2 s of RTP at the caller")
        heard = ear.received()
        assert f"playing {own} to the waiting caller" in kamailio_media.log()
        samples = heard_samples(heard)
        assert likeness(samples, file_samples(own)) > 0.9
        assert likeness(samples, file_samples(media / "queue-position-1.wav")) < 0.5

        services.agent_set_state(agent=agent, state=Agent.State.READY)
        harness.wait_for(lambda: the_call(Call.Status.TALKING), what="the agent to answer")
        harness.wait_for(lambda: ear.quiet_for(1.0), what="the announcement to stop")
        finished(caller)
        finished(phone.ua)  # type: ignore[arg-type]
    assert ended_call().agent == agent
