"""Speak the queues' announcement texts into the PBX's media directory (espeak-ng)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from telephony.announcements import (
    POSITION_FILES,
    AnnouncementError,
    Skipped,
    Written,
    announcements_write,
)


class Command(BaseCommand):
    help = (
        "Speak every active queue's closed and busy announcement with espeak-ng into "
        "per-queue WAV files (queue-<number>-closed.wav, queue-<number>-busy.wav, "
        "queue-<number>-position-<n>.wav) that Kamailio plays through rtpengine. "
        "Run it again after changing a queue's texts."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--dir",
            dest="directory",
            required=True,
            type=Path,
            help="the media directory (MEDIA_DIR of kamailio.cfg, as rtpengine sees it)",
        )
        parser.add_argument(
            "--positions",
            type=int,
            default=POSITION_FILES,
            help=f"write queue-<number>-position-1 .. N per queue (default {POSITION_FILES})",
        )
        parser.add_argument(
            "--language",
            default=None,
            help="language of the voice and the position sentence (default: LANGUAGE_CODE)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["positions"] < 0:
            raise CommandError("--positions must be 0 or more")
        try:
            results = announcements_write(
                directory=options["directory"],
                positions=options["positions"],
                language_code=options["language"],
            )
        except AnnouncementError as exc:
            raise CommandError(str(exc)) from None
        written = [r for r in results if isinstance(r, Written)]
        for result in results:
            if isinstance(result, Skipped):
                self.stdout.write(f"queue {result.queue.number} ({result.queue}): {result.reason}")
            else:
                self.stdout.write(str(result.path))
        self.stdout.write(self.style.SUCCESS(f"{len(written)} spoken announcement files written."))
