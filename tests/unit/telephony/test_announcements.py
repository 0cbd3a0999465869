"""Spoken announcements: make_media.py, manage.py make_announcements, and the routing answer's
`media` (the queue's own file Kamailio plays)."""

import json
import math
import subprocess
import sys
import wave
from datetime import time
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.management import CommandError, call_command
from django.utils import timezone

from telephony import announcements
from telephony.models import Agent, OpeningHours, Queue
from tests.conftest import need_program
from tests.factories import QueueFactory

MAKE_MEDIA = Path(django_settings.BASE_DIR) / "deploy" / "kamailio" / "make_media.py"
TOKEN = "test-kamailio-token-0123456789"
ROUTE = "/cti/kamailio/route/"


def wav_format(path: Path) -> tuple[int, int, int, float]:
    """(channels, sample width, rate, seconds) of a WAV file."""
    with wave.open(str(path), "rb") as source:
        rate = source.getframerate()
        return source.getnchannels(), source.getsampwidth(), rate, source.getnframes() / rate


def espeak() -> None:
    need_program("espeak-ng", "the announcements are spoken with espeak-ng")


def tone_level(samples: list[int], freq: float, rate: int = 8000) -> float:
    """Amplitude of `freq` in the middle of `samples` (one DFT bin)."""
    middle = samples[len(samples) // 4 : 3 * len(samples) // 4]
    re = sum(s * math.cos(2 * math.pi * freq * i / rate) for i, s in enumerate(middle))
    im = sum(s * math.sin(2 * math.pi * freq * i / rate) for i, s in enumerate(middle))
    return 2 * math.hypot(re, im) / len(middle)


# -- deploy/kamailio/make_media.py ----------------------------------------------------------


def test_make_media_resamples_speech_to_8_khz_without_aliasing():
    tools = announcements._media_tools()
    source_rate = 22050  # espeak-ng's rate

    def tone(freq):
        return [round(10000 * math.sin(2 * math.pi * freq * i / source_rate)) for i in range(8820)]

    kept = tools.resample(tone(1000), source_rate)
    removed = tools.resample(tone(6000), source_rate)  # above 4 kHz: would alias to 2 kHz
    assert len(kept) == 3200  # 0.4 s at 8 kHz
    assert tone_level(kept, 1000) > 9000
    assert tone_level(removed, 2000) < 200
    assert max(abs(s) for s in removed[100:-100]) < 300


def test_make_media_without_speech_writes_tone_placeholders_and_says_so(tmp_path):
    result = subprocess.run(
        [sys.executable, str(MAKE_MEDIA), str(tmp_path), "--positions", "2", "--no-speech"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "tone placeholders, not speech (--no-speech)" in result.stdout
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == [
        "hold-music.wav",
        "queue-closed.wav",
        "queue-position-1.wav",
        "queue-position-2.wav",
        "queue-waiting.wav",
    ]
    assert wav_format(tmp_path / "queue-closed.wav")[:3] == (1, 2, 8000)


def test_make_media_asked_for_speech_without_espeak_ng_fails_clearly(tmp_path):
    result = subprocess.run(
        [sys.executable, str(MAKE_MEDIA), str(tmp_path), "--speech"],
        capture_output=True,
        text=True,
        env={"PATH": str(tmp_path)},
        check=False,
    )
    assert result.returncode != 0
    assert "espeak-ng is not installed" in result.stderr
    assert not list(tmp_path.glob("*.wav"))


@pytest.mark.parametrize("language", ["de", "en"])
def test_make_media_speaks_the_announcements_as_8_khz_mono_wav(tmp_path, language):
    espeak()
    result = subprocess.run(
        [sys.executable, str(MAKE_MEDIA), str(tmp_path), "--positions=2", f"--language={language}"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert f"spoken announcements (espeak-ng, language {language})" in result.stdout
    music = wav_format(tmp_path / "hold-music.wav")[3]
    for name in ["queue-position-1.wav", "queue-position-2.wav", "queue-waiting.wav"]:
        channels, width, rate, seconds = wav_format(tmp_path / name)
        assert (channels, width, rate) == (1, 2, 8000)
        assert music + 1.0 < seconds < music + 15  # speech, then the hold music
    channels, width, rate, seconds = wav_format(tmp_path / "queue-closed.wav")
    assert (channels, width, rate) == (1, 2, 8000)
    assert 2.0 < seconds < 30  # spoken, and within Kamailio's 30 s limit


# -- manage.py make_announcements ------------------------------------------------------------


@pytest.mark.django_db
def test_make_announcements_speaks_each_queues_texts_into_its_own_files(tmp_path, settings):
    espeak()
    settings.LANGUAGE_CODE = "de"
    QueueFactory(
        number="7001",
        closed_announcement="Wir sind ab 8 Uhr für Sie da.",
        busy_announcement="Alle Plätze sind belegt.",
    )
    out = tmp_path / "out.txt"
    with out.open("w") as stdout:
        call_command(
            "make_announcements",
            "--dir",
            str(tmp_path / "media"),
            "--positions",
            "2",
            stdout=stdout,
        )
    media = tmp_path / "media"
    assert sorted(p.name for p in media.iterdir()) == [
        "queue-7001-busy.wav",
        "queue-7001-closed.wav",
        "queue-7001-position-1.wav",
        "queue-7001-position-2.wav",
    ]
    assert "4 spoken announcement files written." in out.read_text()
    channels, width, rate, closed = wav_format(media / "queue-7001-closed.wav")
    assert (channels, width, rate) == (1, 2, 8000)
    assert 1.0 < closed < 8.0  # one short sentence and two pauses
    busy = wav_format(media / "queue-7001-busy.wav")[3]
    position = wav_format(media / "queue-7001-position-1.wav")
    assert position[:3] == (1, 2, 8000)
    assert position[3] > busy + 0.8  # the busy text, then "Sie sind Anrufer Nummer 1", music
    assert busy > 12.0  # the busy text, then 12 s of hold music to loop


@pytest.mark.django_db
def test_make_announcements_skips_empty_texts_inactive_queues_and_odd_numbers(tmp_path):
    espeak()
    QueueFactory(number="7001", closed_announcement="We open at 8.", busy_announcement="  ")
    QueueFactory(number="7002", closed_announcement="Closed.", is_active=False)
    QueueFactory(number="70-03", closed_announcement="Closed.")
    QueueFactory(number="", name="Email", closed_announcement="Closed.")
    out = tmp_path / "out.txt"
    with out.open("w") as stdout:
        call_command(
            "make_announcements", "--dir", str(tmp_path), "--positions", "1", stdout=stdout
        )
    assert sorted(p.name for p in tmp_path.glob("*.wav")) == ["queue-7001-closed.wav"]
    report = out.read_text()
    assert "queue 7001 (" in report
    assert "no busy announcement" in report
    assert "number '70-03' is not plain digits" in report
    assert "7002" not in report


@pytest.mark.django_db
def test_make_announcements_without_espeak_ng_stops_with_a_clear_error(tmp_path, monkeypatch):
    QueueFactory(number="7001", closed_announcement="We open at 8.")
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(CommandError, match="espeak-ng is not installed"):
        call_command("make_announcements", "--dir", str(tmp_path / "media"))
    assert not (tmp_path / "media").exists()


def test_the_voice_follows_the_sites_language():
    assert announcements.voice_for("de") == "de"
    assert announcements.voice_for("de-at") == "de"
    assert announcements.voice_for("en") == "en-gb"
    assert announcements.voice_for("en-us") == "en-us"


# -- the routing answer's `media` -----------------------------------------------------------


def test_the_queue_file_name_is_built_from_a_digit_number_only():
    queue = Queue(number="7001", closed_announcement="Closed.", busy_announcement="Busy.")
    assert announcements.queue_media(queue=queue, kind="closed") == "queue-7001-closed.wav"
    assert announcements.queue_media(queue=queue, kind="busy", position=3) == (
        "queue-7001-position-3.wav"
    )
    beyond = announcements.POSITION_FILES + 1
    assert announcements.queue_media(queue=queue, kind="busy", position=beyond) == (
        "queue-7001-busy.wav"
    )
    assert announcements.queue_media(queue=queue, kind="busy", position=0) == (
        "queue-7001-busy.wav"
    )
    for number in ["../7001", "7001/x", "7 001", "", "٧٠٠١"]:
        odd = Queue(number=number, closed_announcement="Closed.", busy_announcement="Busy.")
        assert announcements.queue_media(queue=odd, kind="closed") == ""
        assert announcements.queue_media(queue=odd, kind="busy", position=1) == ""
    silent = Queue(number="7001")
    assert announcements.queue_media(queue=silent, kind="closed") == ""
    assert announcements.queue_media(queue=None, kind="closed") == ""


def post_route(client, call_id, dnis):
    return client.post(
        ROUTE,
        json.dumps({"call_id": call_id, "ani": "030 1234567", "dnis": dnis}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {TOKEN}",
        REMOTE_ADDR="127.0.0.1",
    )


@pytest.fixture
def cti_token(settings):
    settings.ICENTER_CTI_TOKEN = TOKEN
    settings.ICENTER_CTI_ALLOWED_NETWORKS = ["127.0.0.0/8"]


def closed_today(queue):
    other_day = (timezone.localtime().weekday() + 1) % 7
    OpeningHours.objects.create(queue=queue, weekday=other_day, opens=time(8), closes=time(18))


@pytest.mark.django_db
def test_the_closed_answer_names_the_queues_own_spoken_file(client, cti_token, agent):
    closed_today(QueueFactory(number="7001", closed_announcement="We open at 8."))
    answer = post_route(client, "k1", "7001").json()
    assert answer["action"] == "closed"
    assert answer["announcement"] == "We open at 8."
    assert answer["media"] == "queue-7001-closed.wav"


@pytest.mark.django_db
def test_a_closed_queue_without_its_own_text_names_no_file(client, cti_token, agent):
    closed_today(QueueFactory(number="7001", closed_announcement=""))
    answer = post_route(client, "k1", "7001").json()
    assert answer["action"] == "closed"
    assert answer["media"] == ""


@pytest.mark.django_db
def test_a_waiting_caller_is_answered_with_the_file_for_their_position(client, cti_token, agent):
    Agent.objects.filter(pk=agent.pk).update(state=Agent.State.NOT_READY)
    QueueFactory(number="7002", busy_announcement="All lines are busy.")
    first = post_route(client, "k1", "7002").json()
    second = post_route(client, "k2", "7002").json()
    assert (first["action"], first["position"]) == ("wait", 1)
    assert first["media"] == "queue-7002-position-1.wav"
    assert second["media"] == "queue-7002-position-2.wav"


@pytest.mark.django_db
def test_a_ringing_call_names_no_file(client, cti_token, agent):
    QueueFactory(number="7002", busy_announcement="All lines are busy.")
    answer = post_route(client, "k1", "7002").json()
    assert answer["action"] == "ring"
    assert answer["media"] == ""
