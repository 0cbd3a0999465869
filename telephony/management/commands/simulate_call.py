"""Let a simulated customer call the running server, as a PBX would report it."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser


class Command(BaseCommand):
    help = (
        "A simulated customer calls: the running server (make run) receives the call "
        "from its simulated PBX and pops it on the chosen agent's desk."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--from", dest="ani", default="+49 30 1234567", help="calling number")
        parser.add_argument("--to", dest="dnis", default="7000", help="queue number or extension")
        parser.add_argument("--agent", default="", help="ring this extension directly")
        parser.add_argument("--hangup", metavar="CALL_ID", help="the customer hangs up this call")
        parser.add_argument("--url", default=settings.SITE_URL, help="the running server")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["hangup"]:
            body: dict[str, Any] = {"hangup": options["hangup"]}
        else:
            body = {"ani": options["ani"], "dnis": options["dnis"], "agent": options["agent"]}
        url = options["url"].rstrip("/") + "/cti/simulator/calls/"
        request = urllib.request.Request(  # noqa: S310 - the URL is the operator's own server
            url,
            data=json.dumps(body).encode(),
            headers={
                "Content-Type": "application/json",
                "Authorization": f"Bearer {settings.ICENTER_CTI_TOKEN}",
            },
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
                result = json.loads(response.read())
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode(errors="replace")
            raise CommandError(f"the server refused the call ({exc.code}): {detail}") from None
        except urllib.error.URLError as exc:
            raise CommandError(
                f"no icenter server answers at {options['url']} ({exc.reason}); start it with "
                "`make run` or pass --url"
            ) from None
        if result.get("agent"):
            self.stdout.write(
                self.style.SUCCESS(f"Call {result['call_id']} rings at agent {result['agent']}.")
            )
        elif options["hangup"]:
            self.stdout.write(f"Call {result['call_id']} is now {result['status']}.")
        else:
            self.stdout.write(
                self.style.WARNING(
                    f"Call {result['call_id']} waits in the queue: no agent is ready "
                    "(press “Ready” on the desk)."
                )
            )
