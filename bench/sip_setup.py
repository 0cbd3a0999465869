"""Call setup through Kamailio with icenter's routing hop vs. the same calls routed statically.

Starts the real stack as production runs it (throwaway PostgreSQL, Redis for the channel
layer when installed, `migrate` + `collectstatic`, daphne with DEBUG=0, ICENTER_CTI=kamailio,
no in-process ticker) and Kamailio (deploy/kamailio/kamailio.cfg, unchanged) asking that
daphne, as tests/integration/kamailio does. N ready agents (extensions 3000…) are registered
by sipp, all with the Contact of one sipp phone that rings and answers. Then, in one run:

- `routed`: N calls to the queue number 7000 -> Kamailio POSTs /cti/kamailio/route/ ->
  icenter (token, JSON, call record, the ACD's pick of the longest-idle ready agent in
  PostgreSQL) answers "ring <extension>" -> that agent's phone rings. Every agent takes one
  call, so every call is decided by the ACD while agents are ready.
- `static`: the agents are made ready again; N calls straight to the agents' extensions, one
  each (no route request; Kamailio still posts the `offered` event to icenter first, as
  kamailio.cfg does for every direct call).

Setup latency is INVITE sent -> first 180 received at the caller, from sipp's message trace
(microsecond timestamps); both paths include the `ringing` event POST Kamailio makes before
it forwards the 180. The `sip_setup` line gives p50/p99 of both paths and their difference
(routed minus static percentiles): what the routing hop adds, plus what icenter stored.

A second line, `sip_setup_kamailio_only`, repeats the measurement against a stand-in HTTP
server that answers at once ("ring 2001"): Kamailio's own cost, without the application.

    .venv/bin/python bench/sip_setup.py [--calls 200] [--rate 20] [--no-kamailio-only] [--keep]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import shutil
import sys
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench._common import (  # noqa: E402
    SetupError,
    Stack,
    emit,
    log,
    percentile,
    run_django,
    start_daphne,
    start_postgres,
    start_redis,
    tail,
)
from tests.integration.kamailio import harness  # noqa: E402

TARGET_ADDED_P99_MS = 30
QUEUE_NUMBER = "7000"
EXTENSION_BASE = 3000
USER_PREFIX = "sip-bench-agent-"
# Calls per path before the measurement (daphne's first requests open connections, import code)
WARMUP_CALLS = 5
CUSTOMER = "+4930123456"
STAND_IN_TOKEN = "bench-sip-setup-token"
LOAD = (
    "import importlib.util, json, sys; "
    "spec = importlib.util.spec_from_file_location('bench_sip_setup', 'bench/sip_setup.py'); "
    "b = importlib.util.module_from_spec(spec); sys.modules[spec.name] = b; "
    "spec.loader.exec_module(b); "
)


# -- inside the project (child processes with Django set up) --------------------------------


def _django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "icenter.settings")
    import django

    django.setup()


def prepare(spec: dict[str, Any]) -> dict[str, Any]:
    """Queue 7000 and W + N ready agents, extensions EXTENSION_BASE + n, the first W longest idle.

    The first W take the warm-up calls (not counted); returns both lists of extensions.
    """
    _django()
    from django.contrib.auth import get_user_model
    from django.db import connection, transaction

    from telephony.models import Queue

    with transaction.atomic():
        Queue.objects.create(name="Bench hotline", number=QUEUE_NUMBER)
        users = get_user_model().objects.bulk_create(
            get_user_model()(username=f"{USER_PREFIX}{n:04d}", first_name="Agent", last_name=str(n))
            for n in range(spec["warmup"] + spec["agents"])
        )
        _agents_ready(users)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    extensions = [str(EXTENSION_BASE + n) for n in range(len(users))]
    return {"warmup": extensions[: spec["warmup"]], "extensions": extensions[spec["warmup"] :]}


def _agents_ready(users: list[Any]) -> None:
    from datetime import timedelta

    from django.utils import timezone

    from telephony.models import Agent

    now = timezone.now()
    Agent.objects.bulk_create(
        Agent(
            user=user,
            extension=str(EXTENSION_BASE + n),
            state=Agent.State.READY,
            # distinct idle times: the ACD's longest-idle order is well defined
            state_since=now - timedelta(seconds=10000 - n),
        )
        for n, user in enumerate(users)
    )


def ready_again(spec: dict[str, Any]) -> dict[str, Any]:
    """Between the paths: the agents (in wrap-up after their routed call) are ready again."""
    _django()
    from datetime import timedelta

    from django.utils import timezone

    from telephony.models import Agent

    now = timezone.now()
    agents = list(Agent.objects.filter(user__username__startswith=USER_PREFIX).order_by("id"))
    for n, agent in enumerate(agents):
        agent.state, agent.state_reason, agent.wrap_up_until = Agent.State.READY, "", None
        agent.state_since = now - timedelta(seconds=10000 - n)
    Agent.objects.bulk_update(agents, ["state", "state_reason", "wrap_up_until", "state_since"])
    return {"ready": len(agents)}


def tally(spec: dict[str, Any]) -> dict[str, Any]:
    """What icenter stored for the calls of one path (dialled number `dnis` or extensions)."""
    _django()
    from django.db.models import Count, Q

    from telephony.models import Call, CallEventRecord

    calls = Call.objects.filter(offered_at__gte=datetime.fromisoformat(spec["since"]))
    if spec["path"] == "routed":
        calls = calls.filter(dnis=QUEUE_NUMBER)
    else:
        calls = calls.exclude(dnis=QUEUE_NUMBER).filter(ani=CUSTOMER)
    figures = calls.aggregate(
        recorded=Count("id"),
        with_agent=Count("id", filter=Q(agent__isnull=False)),
        answered=Count("id", filter=Q(answered_at__isnull=False)),
        ended=Count("id", filter=Q(status=Call.Status.ENDED)),
        agents=Count("agent", distinct=True),
    )
    events = CallEventRecord.objects.filter(call_id__in=calls.values("call_id"))
    figures["events_applied"] = events.filter(result=CallEventRecord.Result.APPLIED).count()
    figures["events_ignored"] = events.exclude(result=CallEventRecord.Result.APPLIED).count()
    return figures


# -- SIP side -------------------------------------------------------------------------------


class StandIn(BaseHTTPRequestHandler):
    """icenter's two Kamailio endpoints, answering at once: route "ring 2001", events 200."""

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


def first_seen(messages_log: Path, direction: str, start: str) -> dict[str, datetime]:
    """When the first message `direction` ("sent"/"received") starting with `start` was
    traced, per Call-ID."""
    seen: dict[str, datetime] = {}
    for stamp, way, body in _BLOCK.findall(messages_log.read_text(errors="replace")):
        match = re.search(r"^Call-ID:\s*(\S+)", body, re.M | re.I)
        if match and way.endswith(direction) and body.lstrip().startswith(start):
            seen.setdefault(match.group(1), datetime.fromisoformat(stamp))
    return seen


def _between(start: dict[str, datetime], end: dict[str, datetime]) -> list[float]:
    return [(end[c] - start[c]).total_seconds() * 1000 for c in start if c in end]


@dataclass
class PathTimes:
    """Per call, in ms: INVITE sent -> first 180 at the caller (`setup`), split into
    INVITE sent -> INVITE at the phone (`to_phone`: Kamailio, the route request or the
    `offered` event) and 180 sent by the phone -> 180 at the caller (`back`: Kamailio, the
    `ringing` event). The phone and the caller are sipp processes on the same clock."""

    setup: list[float]
    to_phone: list[float]
    back: list[float]
    failed: int


def path_times(workdir: Path, name: str, failed: int) -> PathTimes:
    caller = workdir / f"caller-{name}_messages.log"
    phone = workdir / f"phone-{name}_messages.log"
    invited = first_seen(caller, "sent", "INVITE ")
    return PathTimes(
        setup=_between(invited, first_seen(caller, "received", "SIP/2.0 180")),
        to_phone=_between(invited, first_seen(phone, "received", "INVITE ")),
        back=_between(
            first_seen(phone, "sent", "SIP/2.0 180"), first_seen(caller, "received", "SIP/2.0 180")
        ),
        failed=failed,
    )


def injection(workdir: Path, name: str, values: list[str]) -> Path:
    """A sipp injection file: one value per call, [field0], in order."""
    path = workdir / f"{name}.csv"
    path.write_text("SEQUENTIAL\n" + "".join(f"{value};\n" for value in values))
    return path


def register_all(
    kamailio: harness.Kamailio, *, extensions: list[str], phone_port: int, workdir: Path
) -> None:
    """Register every extension with its Contact at the one sipp phone on `phone_port`."""
    text = (harness.SCENARIOS / "register.xml").read_text().replace("[ext]", "[field0]")
    scenario = workdir / "register-many.xml"
    scenario.write_text(text)
    ua = harness.sipp(
        "register-many",
        scenario,
        workdir=workdir,
        port=harness.free_sip_port(),
        target=kamailio.sip_target,
        keys={"uas_port": str(phone_port), "expires": "3600"},
        calls=len(extensions),
        rate=100,
        timeout_s=60,
        extra=["-inf", str(injection(workdir, "extensions", extensions)), "-l", "20"],
    )
    rc = ua.wait(90)
    if rc != 0:
        raise SetupError(f"REGISTER of {len(extensions)} extensions failed:\n{ua.diagnostics()}")


def run(
    kamailio: harness.Kamailio,
    workdir: Path,
    *,
    name: str,
    phone_port: int,
    targets: list[str],
    rate: float,
) -> PathTimes:
    """One call per entry of `targets` (a number to dial), answered by the sipp phone."""
    calls = len(targets)
    phone = harness.sipp(
        f"phone-{name}",
        harness.scenario("phone_answers", workdir, ANSWER_MS="1", HOLD_MS="10000"),
        workdir=workdir,
        port=phone_port,
        calls=calls,
        timeout_s=300,
    )
    text = harness.scenario("caller", workdir, HOLD_MS="50").read_text()
    scenario = workdir / f"caller-{name}.xml"
    scenario.write_text(text.replace("[service]", "[field0]"))
    caller = harness.sipp(
        f"caller-{name}",
        scenario,
        workdir=workdir,
        port=harness.free_sip_port(),
        target=kamailio.sip_target,
        keys={"ani": CUSTOMER},
        calls=calls,
        rate=rate,
        timeout_s=300,
        extra=["-inf", str(injection(workdir, f"targets-{name}", targets))],
    )
    rc = caller.wait(600)
    try:
        phone.wait(30)
    except Exception:
        log(f"the phone of the {name} path did not finish; stopped")
    failed = _failed_calls(caller)
    if rc != 0:
        log(f"sipp caller ({name}) exited {rc}: {failed} calls failed")
    return path_times(workdir, name, failed)


def rung_extensions(workdir: Path, name: str) -> int:
    """Distinct extensions the phone was rung at (the user part of the INVITEs it received)."""
    text = (workdir / f"phone-{name}_messages.log").read_text(errors="replace")
    return len(set(re.findall(r"received[^\n]*\n\n\s*INVITE sip:(\d+)@", text)))


def _failed_calls(caller: harness.Sipp) -> int:
    """Failed calls from sipp's final statistics screen (0 when it printed none)."""
    found = re.findall(r"Failed call\s*\|\s*\d+\s*\|\s*(\d+)", caller.output())
    return int(found[-1]) if found else 0


def kamailio_errors(kamailio: harness.Kamailio) -> dict[str, int]:
    text = kamailio.log()
    return {
        "route_request_failed": text.count("icenter route request failed"),
        "event_not_taken": text.count("icenter did not take"),
        "fallbacks": text.count("falling back"),
    }


def load_average() -> float:
    return round(os.getloadavg()[0], 2)


def p50_p99(values: list[float]) -> dict[str, float]:
    return {"p50": pct(values, 50), "p99": pct(values, 99)}


def minus(a: list[float], b: list[float]) -> dict[str, float]:
    """Percentile differences a - b (p50, p99)."""
    return {q: round(pct(a, n) - pct(b, n), 2) for q, n in (("p50", 50), ("p99", 99))}


def paths(routed: PathTimes, static: PathTimes) -> dict[str, Any]:
    return {
        "routed_ok": len(routed.setup),
        "static_ok": len(static.setup),
        "failed_calls": {"routed": routed.failed, "static": static.failed},
        "routed_setup_ms": p50_p99(routed.setup),
        "static_setup_ms": p50_p99(static.setup),
        "added_ms": minus(routed.setup, static.setup),
        "target_added_p99_ms": TARGET_ADDED_P99_MS,
        "invite_to_phone_ms": {
            "routed": p50_p99(routed.to_phone),
            "static": p50_p99(static.to_phone),
        },
        "ringing_back_ms": {"routed": p50_p99(routed.back), "static": p50_p99(static.back)},
    }


# -- the measurements -----------------------------------------------------------------------


def measure_app(stack: Stack, args: argparse.Namespace) -> tuple[dict[str, Any], PathTimes]:
    """Both paths through the real icenter; the `sip_setup` line and the routed times."""
    base = Path(stack.base)
    token = secrets.token_hex(16)
    sip_port, rpc_port = harness.free_sip_port(), harness.free_sip_port()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(
        DJANGO_SETTINGS_MODULE="icenter.settings",
        # Production settings (README "Production") over plain HTTP on 127.0.0.1.
        DEBUG="0",
        SECURE_SSL_REDIRECT="0",
        STATIC_ROOT=str(base / "static"),
        ICENTER_TICKER="celery",
        SECRET_KEY=secrets.token_hex(32),
        ALLOWED_HOSTS="127.0.0.1,localhost",
        LOG_LEVEL="WARNING",
        # The Kamailio adapter, as tests/integration/kamailio/conftest.py sets it up.
        ICENTER_CTI="kamailio",
        ICENTER_CTI_TOKEN=token,
        ICENTER_KAMAILIO_RPC_TOKEN=token,
        ICENTER_KAMAILIO_RPC_URL=f"http://127.0.0.1:{rpc_port}/RPC",
        ICENTER_KAMAILIO_SIP_DOMAIN=f"127.0.0.1:{sip_port}",
    )
    url = start_postgres(stack)
    if url:
        env["DATABASE_URL"] = url
    else:
        env["SQLITE_PATH"] = str(base / "bench.sqlite3")
    db = "postgresql" if url else "sqlite"
    channel_layer = "in-memory"
    if shutil.which("redis-server") or os.path.exists("/usr/bin/redis-server"):
        env["REDIS_URL"] = start_redis(stack)
        channel_layer = "redis"
    log(f"migrating ({db}, channel layer {channel_layer})")
    run_django(env, ["manage.py", "migrate", "--noinput"], what="migrate")
    run_django(env, ["manage.py", "collectstatic", "--noinput"], what="collectstatic")
    log(f"preparing {args.calls} ready agents and queue {QUEUE_NUMBER}")
    prepared = _child(env, "prepare", {"agents": args.calls, "warmup": WARMUP_CALLS})
    extensions: list[str] = prepared["extensions"]
    warmup: list[str] = prepared["warmup"]
    _, app_port, daphne_log = start_daphne(stack, env)
    workdir = base / "sip"
    kamailio = harness.Kamailio(
        workdir=workdir / "kamailio",
        app_url=f"http://127.0.0.1:{app_port}",
        token=token,
        sip_port=sip_port,
        rpc_port=rpc_port,
    )
    stack.add_callback("kamailio", kamailio.stop)
    kamailio.start()
    if args.keep:
        stack.add_callback("keep", lambda: _keep(workdir, daphne_log))
    phone_port = harness.free_sip_port()
    log(f"registering {len(warmup + extensions)} extensions at one sipp phone")
    register_all(kamailio, extensions=warmup + extensions, phone_port=phone_port, workdir=workdir)

    log(f"warm-up: {len(warmup)} calls to queue {QUEUE_NUMBER} (not counted)")
    run(
        kamailio,
        workdir,
        name="warmup-routed",
        phone_port=phone_port,
        targets=[QUEUE_NUMBER] * len(warmup),
        rate=args.rate,
    )
    log(f"{args.calls} calls at {args.rate}/s to queue {QUEUE_NUMBER} (icenter decides)")
    since = datetime.now(UTC).isoformat()
    routed = run(
        kamailio,
        workdir,
        name="routed",
        phone_port=phone_port,
        targets=[QUEUE_NUMBER] * args.calls,
        rate=args.rate,
    )
    load_routed = load_average()
    time.sleep(1)  # the last hang-ups' events reach icenter
    routed_tally = _child(env, "tally", {"path": "routed", "since": since})
    routed_tally["phone_rang_extensions"] = rung_extensions(workdir, "routed")
    _child(env, "ready_again", {})
    log(f"warm-up: {len(warmup)} calls straight to extensions (not counted)")
    run(
        kamailio,
        workdir,
        name="warmup-static",
        phone_port=phone_port,
        targets=warmup,
        rate=args.rate,
    )
    log(f"{args.calls} calls at {args.rate}/s straight to the agents' extensions (static)")
    since = datetime.now(UTC).isoformat()
    static = run(
        kamailio, workdir, name="static", phone_port=phone_port, targets=extensions, rate=args.rate
    )
    load_static = load_average()
    time.sleep(1)
    static_tally = _child(env, "tally", {"path": "static", "since": since})
    static_tally["phone_rang_extensions"] = rung_extensions(workdir, "static")
    errors = kamailio_errors(kamailio)
    kamailio.stop()
    figures = paths(routed, static)
    result = {
        "bench": "sip_setup",
        "app": f"icenter (daphne x1, DEBUG=0, {db}, channel layer {channel_layer})",
        "calls": args.calls,
        "rate_per_s": args.rate,
        "kamailio_children": kamailio.children,
        **figures,
        "icenter_routed": routed_tally,
        "icenter_static": static_tally,
        "kamailio_errors": errors,
        "load_average_1m": {"routed": load_routed, "static": load_static},
        "target_met": bool(
            len(routed.setup) == len(static.setup) == args.calls
            and routed_tally.get("agents") == args.calls
            and figures["added_ms"]["p99"] <= TARGET_ADDED_P99_MS
        ),
    }
    return result, routed


def _child(env: dict[str, str], function: str, spec: dict[str, Any]) -> dict[str, Any]:
    out = run_django(
        env,
        ["-c", LOAD + f"print('OUT ' + json.dumps(b.{function}({json.dumps(spec)})))"],
        what=function,
    )
    return dict(json.loads(next(line for line in out.splitlines() if line.startswith("OUT "))[4:]))


def _keep(workdir: Path, daphne_log: str) -> None:
    kept = Path(f"/tmp/icenter-sip-bench-{time.strftime('%Y%m%d-%H%M%S')}")
    shutil.copytree(workdir, kept, dirs_exist_ok=True, ignore=shutil.ignore_patterns("run"))
    shutil.copy(daphne_log, kept / "daphne.log")
    log(f"logs kept in {kept}")


def measure_kamailio_only(args: argparse.Namespace) -> tuple[dict[str, Any], PathTimes]:
    """Both paths against the stand-in: the `sip_setup_kamailio_only` line, the routed times."""
    app = ThreadingHTTPServer(("127.0.0.1", 0), StandIn)
    threading.Thread(target=app.serve_forever, daemon=True).start()
    with Stack() as stack:
        workdir = Path(stack.base) / "sip"
        kamailio = harness.Kamailio(
            workdir=workdir / "kamailio",
            app_url=f"http://127.0.0.1:{app.server_address[1]}",
            token=STAND_IN_TOKEN,
        )
        stack.add_callback("stand-in", app.shutdown)
        stack.add_callback("kamailio", kamailio.stop)
        if args.keep:
            stack.add_callback("keep", lambda: _keep(workdir, os.devnull))
        kamailio.start()
        phone_port = harness.free_sip_port()
        harness.register(kamailio, extension="2001", phone_port=phone_port, workdir=workdir)
        log(f"kamailio only: {args.calls} calls to the queue, then to 2001 (stand-in app)")
        routed = run(
            kamailio,
            workdir,
            name="routed",
            phone_port=phone_port,
            targets=[QUEUE_NUMBER] * args.calls,
            rate=args.rate,
        )
        static = run(
            kamailio,
            workdir,
            name="static",
            phone_port=phone_port,
            targets=["2001"] * args.calls,
            rate=args.rate,
        )
        load = load_average()
    result = {
        "bench": "sip_setup_kamailio_only",
        "app": "HTTP stand-in (answers at once)",
        "calls": args.calls,
        "rate_per_s": args.rate,
        **paths(routed, static),
        "load_average_1m": load,
    }
    return result, routed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200, help="calls per path (and agents)")
    parser.add_argument("--rate", type=float, default=20, help="new calls per second")
    parser.add_argument(
        "--no-kamailio-only", action="store_true", help="skip the stand-in measurement"
    )
    parser.add_argument("--keep", action="store_true", help="copy the logs to /tmp")
    args = parser.parse_args()
    if not os.path.exists(harness.KAMAILIO) or shutil.which("sipp") is None:
        log("kamailio or sipp is not installed (apt-get install kamailio sip-tester)")
        return 2
    with Stack() as stack:
        try:
            result, routed = measure_app(stack, args)
        except SetupError as exc:
            log(f"setup failed: {exc}")
            return 2
        except Exception:
            for path in sorted(Path(stack.base).glob("daphne-*.log")):
                log(f"daphne log:\n{tail(str(path))}")
            raise
    if result["routed_ok"] == 0 or result["static_ok"] == 0:
        emit(result)
        log("no call setups measured")
        return 2
    bare: dict[str, Any] | None = None
    if not args.no_kamailio_only:
        try:
            bare, bare_routed = measure_kamailio_only(args)
        except SetupError as exc:
            log(f"kamailio-only measurement failed: {exc}")
        else:
            # what icenter's two synchronous POSTs (route request, ringing event) cost the
            # routed setup, against Kamailio with an application that answers at once
            result["icenter_in_routed_setup_ms"] = minus(routed.setup, bare_routed.setup)
    emit(result)
    if bare is not None:
        emit(bare)
    return 0 if bare is not None or args.no_kamailio_only else 2


if __name__ == "__main__":
    sys.exit(main())
