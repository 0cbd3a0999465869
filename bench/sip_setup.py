"""Call setup through Kamailio with the HTTP routing hop vs. the same calls routed statically.

Starts Kamailio (deploy/kamailio/kamailio.cfg, unchanged) on free loopback ports, a sipp phone
registered as extension 2001, and a small HTTP stand-in for icenter's two Kamailio endpoints
(route: always "ring 2001"; events: 200). Then, in the same run:

- `routed`: N calls to the queue number 7000 -> HTTP route request -> 2001;
- `static`: N calls straight to 2001 (no route request; the same event posts).

Setup latency is INVITE sent -> first 180 received at the caller, from sipp's message trace
(microsecond timestamps). The JSON line gives p50/p99 of both and of the difference
(routed minus static percentiles): what the routing hop adds. The stand-in answers at once,
so this is Kamailio's synchronous http_client hop; icenter's own routing decision is measured
by bench/acd.py.

    .venv/bin/python bench/sip_setup.py [--calls 200] [--rate 20]
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
import tempfile
import threading
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench._common import emit, log, percentile  # noqa: E402
from tests.integration.kamailio import harness  # noqa: E402

TOKEN = "bench-sip-setup-token"


class StandIn(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        answer: dict[str, Any] = (
            {"action": "ring", "extension": "2001"} if self.path.endswith("/route/") else {}
        )
        data = json.dumps(answer).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        pass


_BLOCK = re.compile(
    r"-{20,} (\S+ \S+)\n(UDP message sent|UDP message received)[^\n]*\n\n(.*?)(?=\n-{20,} |\Z)",
    re.S,
)


def pct(values: list[float], q: float) -> float:
    return round(float(percentile(values, q) or 0.0), 2)


def setup_times(messages_log: Path) -> list[float]:
    """INVITE sent -> first 180 received, in ms, per Call-ID."""
    sent: dict[str, datetime] = {}
    rang: dict[str, datetime] = {}
    for stamp, direction, body in _BLOCK.findall(messages_log.read_text(errors="replace")):
        match = re.search(r"^Call-ID:\s*(\S+)", body, re.M | re.I)
        if not match:
            continue
        call_id, at = match.group(1), datetime.fromisoformat(stamp)
        first = body.lstrip().split("\n", 1)[0]
        if direction.endswith("sent") and first.startswith("INVITE "):
            sent.setdefault(call_id, at)
        elif direction.endswith("received") and first.startswith("SIP/2.0 180"):
            rang.setdefault(call_id, at)
    return [(rang[c] - sent[c]).total_seconds() * 1000 for c in sent if c in rang]


def run(
    kamailio: harness.Kamailio, workdir: Path, *, phone_port: int, to: str, calls: int, rate: float
) -> list[float]:
    """N calls to `to`, answered by the phone registered as 2001 on `phone_port`."""
    phone = harness.sipp(
        f"phone-{to}",
        harness.scenario("phone_answers", workdir, ANSWER_MS="1", HOLD_MS="10000"),
        workdir=workdir,
        port=phone_port,
        calls=calls,
        timeout_s=300,
    )
    caller = harness.call(
        kamailio,
        to=to,
        ani="+4930123456",
        workdir=workdir,
        hold_ms=50,
        calls=calls,
        rate=rate,
        name=f"caller-{to}",
    )
    rc = caller.wait(600)
    phone.wait(30)
    if rc != 0:
        log(f"sipp caller to {to} exited {rc}: some calls failed")
    return setup_times(workdir / f"caller-{to}_messages.log")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--rate", type=float, default=20)
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (logs)")
    args = parser.parse_args()
    for program in ("kamailio", "sipp"):
        if shutil.which(program) is None:
            log(f"{program} is not installed (apt-get install kamailio sip-tester)")
            return 2
    app = ThreadingHTTPServer(("127.0.0.1", 0), StandIn)
    threading.Thread(target=app.serve_forever, daemon=True).start()
    workdir = Path(tempfile.mkdtemp(prefix="icenter-sip-bench-"))
    kamailio = harness.Kamailio(
        workdir=workdir / "kamailio",
        app_url=f"http://127.0.0.1:{app.server_address[1]}",
        token=TOKEN,
    )
    try:
        kamailio.start()
        phone_port = harness.free_sip_port()
        harness.register(kamailio, extension="2001", phone_port=phone_port, workdir=workdir)
        log(f"{args.calls} calls at {args.rate}/s to the queue (HTTP routing hop)")
        routed = run(
            kamailio, workdir, phone_port=phone_port, to="7000", calls=args.calls, rate=args.rate
        )
        log(f"{args.calls} calls at {args.rate}/s straight to the extension (static)")
        static = run(
            kamailio, workdir, phone_port=phone_port, to="2001", calls=args.calls, rate=args.rate
        )
    finally:
        kamailio.stop()
        app.shutdown()
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    if not routed or not static:
        log("no call setups measured")
        return 2
    result = {
        "bench": "sip_setup",
        "calls": args.calls,
        "rate_per_s": args.rate,
        "app": "HTTP stand-in (answers at once)",
        "routed_ok": len(routed),
        "static_ok": len(static),
        "routed_setup_ms": {"p50": pct(routed, 50), "p99": pct(routed, 99)},
        "static_setup_ms": {"p50": pct(static, 50), "p99": pct(static, 99)},
        "added_ms": {
            "p50": round(pct(routed, 50) - pct(static, 50), 2),
            "p99": round(pct(routed, 99) - pct(static, 99), 2),
        },
        "target_added_p99_ms": 30,
    }
    emit(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
