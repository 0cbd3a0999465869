"""Run the CTI bridge: read the PBX's events and apply them as call events."""

from __future__ import annotations

import signal
import threading
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser


class Command(BaseCommand):
    help = (
        "Connect to the PBX's event interface (Asterisk AMI), keep the connection up "
        "(reconnecting with backoff) and apply every call event. Runs until stopped."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--adapter",
            default=settings.ICENTER_CTI,
            help="CTI adapter whose bridge to run (default: ICENTER_CTI).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["adapter"] != "asterisk":
            raise CommandError(
                f"the {options['adapter']!r} adapter needs no bridge process; "
                "cti_bridge serves ICENTER_CTI=asterisk"
            )
        if not settings.ICENTER_ASTERISK_SECRET:
            raise CommandError("set ICENTER_ASTERISK_SECRET (the AMI user's secret) first")
        from telephony.cti.asterisk.adapter import ami_settings
        from telephony.cti.asterisk.bridge import AmiBridge, handle_event, is_queue_number
        from telephony.cti.asterisk.translate import Translator

        stop = threading.Event()

        def request_stop(signum: int, frame: Any) -> None:
            stop.set()

        signal.signal(signal.SIGTERM, request_stop)
        signal.signal(signal.SIGINT, request_stop)
        ami = ami_settings()
        self.stdout.write(f"CTI bridge: Asterisk manager at {ami.host}:{ami.port}")
        bridge = AmiBridge(
            ami=ami,
            sink=handle_event,
            translator=Translator(is_queue_number=is_queue_number),
            stop=stop,
        )
        bridge.run()
        self.stdout.write("CTI bridge stopped")
