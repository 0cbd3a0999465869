"""Spoken per-queue announcements: the file the PBX plays for a queue, and writing those files.

`manage.py make_announcements` speaks each active queue's texts (`closed_announcement`,
`busy_announcement`) with espeak-ng into the PBX's media directory; the routing answer names
the file (`media`) and Kamailio plays it through rtpengine, falling back to the generic file
of deploy/kamailio/make_media.py when the queue has none. Only file names travel, never
paths: a name is built here from the queue's number, which must be plain digits.
"""

from __future__ import annotations

import importlib.util
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext as _

from telephony.models import Queue

# Waiting positions with their own file per queue (queue-<number>-position-<n>.wav); callers
# further back hear queue-<number>-busy.wav. Kamailio's QUEUE_POSITION_FILES has the same
# default for the generic files.
POSITION_FILES = 20
CLOSED, BUSY = "closed", "busy"
_DIGITS = re.compile(r"[0-9]{1,30}")
_VOICES = {"de": "de", "en": "en-gb", "en-us": "en-us", "en-gb": "en-gb"}


class AnnouncementError(Exception):
    """espeak-ng is missing or could not speak a text."""


def queue_media(*, queue: Queue | None, kind: str, position: int = 0) -> str:
    """The file name the PBX should play for `queue` ("" when the queue has no own text).

    `kind` is CLOSED or BUSY; for BUSY a position 1 .. POSITION_FILES names that position's
    file. A queue whose number is not plain digits gets "" (the generic file plays).
    """
    if queue is None or not _DIGITS.fullmatch(queue.number or ""):
        return ""
    if kind == CLOSED:
        return f"queue-{queue.number}-closed.wav" if queue.closed_announcement.strip() else ""
    if not queue.busy_announcement.strip():
        return ""
    if 1 <= position <= POSITION_FILES:
        return f"queue-{queue.number}-position-{position}.wav"
    return f"queue-{queue.number}-busy.wav"


def voice_for(language_code: str) -> str:
    """espeak-ng's voice for a Django language code (de, de-at → de; en → en-gb)."""
    code = language_code.lower().replace("_", "-")
    return _VOICES.get(code) or _VOICES.get(code.split("-")[0]) or code.split("-")[0]


@cache
def _media_tools() -> ModuleType:
    """deploy/kamailio/make_media.py (espeak-ng, resampling, hold music), loaded by path."""
    path = Path(settings.BASE_DIR) / "deploy" / "kamailio" / "make_media.py"
    spec = importlib.util.spec_from_file_location("icenter_make_media", path)
    if spec is None or spec.loader is None:  # pragma: no cover - the file is in the repo
        raise AnnouncementError(f"{path} cannot be loaded")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@dataclass(frozen=True)
class Written:
    queue: Queue
    path: Path


@dataclass(frozen=True)
class Skipped:
    queue: Queue
    reason: str


def announcements_write(
    *,
    directory: Path,
    positions: int = POSITION_FILES,
    music_seconds: float = 12.0,
    language_code: str | None = None,
) -> list[Written | Skipped]:
    """Speak every active queue's closed and busy texts into `directory`.

    Per queue with a number: queue-<n>-closed.wav (the closed text, played once);
    queue-<n>-busy.wav (the busy text, then hold music, looped while waiting) and
    queue-<n>-position-<p>.wav for p = 1 .. `positions` (the busy text, "you are caller
    number p", then hold music). Empty texts are skipped. Voice and the position sentence
    follow `language_code` (default: the site's LANGUAGE_CODE).
    """
    tools: Any = _media_tools()
    if not tools.speech_available():
        raise AnnouncementError(
            "espeak-ng is not installed; the announcements are spoken with it "
            "(Debian: apt-get install espeak-ng)"
        )
    language = language_code or settings.LANGUAGE_CODE
    voice = voice_for(language)
    directory.mkdir(parents=True, exist_ok=True)
    results: list[Written | Skipped] = []
    pause = tools.silence(0.4)
    loop: list[int] | None = None
    numbers: dict[int, list[int]] = {}

    def speak(text: str) -> list[int]:
        try:
            return list(tools.speak(text, voice=voice))
        except tools.SpeechError as exc:
            raise AnnouncementError(str(exc)) from None

    def write(queue: Queue, name: str, samples: list[int]) -> None:
        path = directory / name
        tools.write(path, samples)
        results.append(Written(queue=queue, path=path))

    for queue in Queue.objects.filter(is_active=True).order_by("number", "name"):
        if not queue.number:
            continue  # not a phone queue
        if not _DIGITS.fullmatch(queue.number):
            results.append(Skipped(queue, f"number {queue.number!r} is not plain digits"))
            continue
        closed = queue.closed_announcement.strip()
        if closed:
            write(queue, f"queue-{queue.number}-closed.wav", pause + speak(closed) + pause)
        else:
            results.append(Skipped(queue, "no closed announcement"))
        busy = queue.busy_announcement.strip()
        if not busy:
            results.append(Skipped(queue, "no busy announcement"))
            continue
        if loop is None:
            loop = list(tools.music(music_seconds))
        spoken = speak(busy)
        write(queue, f"queue-{queue.number}-busy.wav", pause + spoken + pause + loop)
        for position in range(1, positions + 1):
            if position not in numbers:
                with translation.override(language):
                    sentence = _("You are caller number %(position)d.") % {"position": position}
                numbers[position] = speak(sentence)
            samples = pause + spoken + pause + numbers[position] + pause + loop
            write(queue, f"queue-{queue.number}-position-{position}.wav", samples)
    return results
