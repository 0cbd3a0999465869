"""Call setup through Kamailio with icenter's routing hop vs. the same calls routed statically.

Starts the real stack as production runs it (throwaway PostgreSQL, Redis for the channel
layer when installed, `migrate` + `collectstatic`, daphne with DEBUG=0 — `--servers`,
default 2 sharing one listening socket — ICENTER_CTI=kamailio, no in-process ticker)
and Kamailio (deploy/kamailio/kamailio.cfg, unchanged) asking that daphne, as
tests/integration/kamailio does. Two pools of ready agents, R (extensions 3000…, the longest
idle) and S (5000…), are registered by sipp, all with the Contact of one sipp
phone that rings and answers. Then, in one run, the two paths take turns in blocks
(`--blocks`, default 2: routed, static, routed, static), each block alone at `--rate`:

- `routed`: calls to the queue number 7000 -> Kamailio POSTs /cti/kamailio/route/ ->
  icenter (token, JSON, call record, the ACD's pick of the longest-idle ready agent in
  PostgreSQL: one of R) answers "ring <extension>" -> that agent's phone rings. Each R agent
  takes one call, so every routed call is an ACD decision among ready agents.
- `static`: calls straight to S agents' extensions, one each (no route request; Kamailio
  still POSTs the `offered` event to icenter first, as kamailio.cfg does for every direct
  call, and icenter records the call).

Setup latency is INVITE sent -> first 180 received at the caller, from sipp's message traces
(microsecond timestamps), split at the phone into INVITE sent -> INVITE at the phone (the
route request or the `offered` POST) and 180 sent -> 180 at the caller (Kamailio holds the
180 for the synchronous `ringing` POST). The `sip_setup` line gives p50/p99 of both paths
and their difference (routed minus static percentiles): what the routing hop adds; plus
daphne's CPU time per call, what icenter stored, and the load average.

A second line, `sip_setup_kamailio_only`, repeats the measurement against a stand-in HTTP
server that answers at once ("ring 2001"): Kamailio's own cost, without the application.

    .venv/bin/python bench/sip_setup.py [--calls 200] [--rate 20] [--blocks 2]
                                        [--no-kamailio-only] [--keep]
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
from collections.abc import Sequence
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
    cpu_seconds,
    emit,
    log,
    percentile,
    run_django,
    start_postgres,
    start_redis,
    start_servers,
    tail,
)
from tests.integration.kamailio import harness  # noqa: E402

TARGET_ADDED_P99_MS = 30
QUEUE_NUMBER = "7000"
ROUTED_BASE = 3000  # pool R: the ACD's picks for the queue calls
STATIC_BASE = 5000  # pool S: dialled directly
USER_PREFIX = "sip-bench-agent-"
# Calls per path before the measurement (daphne's first requests open connections, import code)
WARMUP_CALLS = 5
# The phone answers this long after its 180. Not part of the setup time; with ~1 ms, a 180
# held in Kamailio's reply route (the synchronous `ringing` POST) under load could reach the
# caller after the 200, which sipp's caller scenario counts as a failed call.
ANSWER_MS = 300
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
    """Queue 7000 and two pools of `count` ready agents; R idles longer than S.

    The longest-idle ready agent gets a queue call, so the ACD picks from R while any R agent
    is ready; S agents are called directly. Returns the extensions of both pools.
    """
    _django()
    from datetime import timedelta

    from django.contrib.auth import get_user_model
    from django.db import connection, transaction
    from django.utils import timezone

    from telephony.models import Agent, Queue

    count = spec["count"]
    User = get_user_model()
    now = timezone.now()
    pools = {"routed": ROUTED_BASE, "static": STATIC_BASE}
    with transaction.atomic():
        Queue.objects.create(name="Bench hotline", number=QUEUE_NUMBER)
        for pool, base in pools.items():
            users = User.objects.bulk_create(
                User(username=f"{USER_PREFIX}{pool}-{n:04d}", first_name="Agent", last_name=str(n))
                for n in range(count)
            )
            # R: idle 2-3 hours, S: idle 0-1 hour; distinct times, a well-defined order
            idle = 7200 if pool == "routed" else 0
            Agent.objects.bulk_create(
                Agent(
                    user=user,
                    extension=str(base + n),
                    state=Agent.State.READY,
                    state_since=now - timedelta(seconds=idle + 3600 - n),
                )
                for n, user in enumerate(users)
            )
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    return {pool: [str(base + n) for n in range(count)] for pool, base in pools.items()}


def tally(spec: dict[str, Any]) -> dict[str, Any]:
    """What icenter stored for the calls of each path offered since `since`."""
    _django()
    from django.db.models import Count, Q

    from telephony.models import Call, CallEventRecord

    since = Call.objects.filter(offered_at__gte=datetime.fromisoformat(spec["since"]), ani=CUSTOMER)
    out = {}
    for path, calls in (
        ("routed", since.filter(dnis=QUEUE_NUMBER)),
        ("static", since.exclude(dnis=QUEUE_NUMBER)),
    ):
        figures = calls.aggregate(
            recorded=Count("id"),
            with_agent=Count("id", filter=Q(agent__isnull=False)),
            answered=Count("id", filter=Q(answered_at__isnull=False)),
            ended=Count("id", filter=Q(status=Call.Status.ENDED)),
            agents=Count("agent", distinct=True),
        )
        # the agents of this path's pool who got a call: all R agents for the queue calls
        figures["agents_of_pool"] = (
            calls.filter(agent__user__username__startswith=f"{USER_PREFIX}{path}-")
            .values("agent")
            .distinct()
            .count()
        )
        events = CallEventRecord.objects.filter(call_id__in=calls.values("call_id"))
        figures["events_applied"] = events.filter(result=CallEventRecord.Result.APPLIED).count()
        figures["events_ignored"] = events.exclude(result=CallEventRecord.Result.APPLIED).count()
        out[path] = figures
    return out


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


def traced(messages_log: Path) -> list[tuple[str, str, str, str]]:
    """(timestamp, "sent"/"received", first line, Call-ID) per traced message, in order."""
    found = []
    for stamp, way, body in _BLOCK.findall(messages_log.read_text(errors="replace")):
        match = re.search(r"^Call-ID:\s*(\S+)", body, re.M | re.I)
        if match:
            first = body.lstrip().split("\n", 1)[0]
            found.append((stamp, way.split()[-1], first, match.group(1)))
    return found


def first_seen(
    trace: list[tuple[str, str, str, str]], direction: str, start: str
) -> dict[str, datetime]:
    """When the first message `direction` starting with `start` was traced, per Call-ID."""
    seen: dict[str, datetime] = {}
    for stamp, way, first, call_id in trace:
        if way == direction and first.startswith(start):
            seen.setdefault(call_id, datetime.fromisoformat(stamp))
    return seen


@dataclass
class PathTimes:
    """Per call of one path, in ms: INVITE sent -> first 180 at the caller (`setup`), split
    into INVITE sent -> INVITE at the phone (`to_phone`: Kamailio, the route request or the
    `offered` event) and 180 sent by the phone -> 180 at the caller (`back`: Kamailio, the
    `ringing` event). The phone and the caller are sipp processes on the same clock."""

    dialled: int
    setup: list[float]
    to_phone: list[float]
    back: list[float]
    rung: set[str]

    def merge(self, other: PathTimes) -> PathTimes:
        return PathTimes(
            dialled=self.dialled + other.dialled,
            setup=self.setup + other.setup,
            to_phone=self.to_phone + other.to_phone,
            back=self.back + other.back,
            rung=self.rung | other.rung,
        )


def path_times(workdir: Path, name: str) -> dict[str, PathTimes]:
    """The calls of one sipp run, split by path: "routed" (dialled 7000) and "static"."""
    caller = traced(workdir / f"caller-{name}_messages.log")
    phone = traced(workdir / f"phone-{name}_messages.log")
    invited = first_seen(caller, "sent", "INVITE ")
    rang = first_seen(caller, "received", "SIP/2.0 180")
    at_phone = first_seen(phone, "received", "INVITE ")
    ringing = first_seen(phone, "sent", "SIP/2.0 180")
    dialled: dict[str, str] = {}
    rung: dict[str, str] = {}
    for _, way, first, call_id in caller:
        if way == "sent" and first.startswith("INVITE "):
            dialled.setdefault(call_id, first.split()[1].split("@")[0].removeprefix("sip:"))
    for _, way, first, call_id in phone:
        if way == "received" and first.startswith("INVITE "):
            rung.setdefault(call_id, first.split()[1].split("@")[0].removeprefix("sip:"))

    def ms(start: dict[str, datetime], end: dict[str, datetime], ids: list[str]) -> list[float]:
        return [(end[c] - start[c]).total_seconds() * 1000 for c in ids if c in start and c in end]

    out = {}
    for path in ("routed", "static"):
        ids = [c for c, to in dialled.items() if (to == QUEUE_NUMBER) == (path == "routed")]
        out[path] = PathTimes(
            dialled=len(ids),
            setup=ms(invited, rang, ids),
            to_phone=ms(invited, at_phone, ids),
            back=ms(ringing, rang, ids),
            rung={rung[c] for c in ids if c in rung},
        )
    return out


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
) -> tuple[dict[str, PathTimes], int]:
    """One call per entry of `targets` (the number dialled), answered by the sipp phone.

    Returns the times per path and sipp's count of failed calls.
    """
    calls = len(targets)
    phone = harness.sipp(
        f"phone-{name}",
        harness.scenario("phone_answers", workdir, ANSWER_MS=str(ANSWER_MS), HOLD_MS="10000"),
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
        log(f"the phone of the {name} run did not finish; stopped")
    failed = _failed_calls(caller)
    if rc != 0:
        log(f"sipp caller ({name}) exited {rc}: {failed} calls failed")
    return path_times(workdir, name), failed


def alternate(routed: list[str], static: list[str]) -> list[str]:
    """routed[0], static[0], routed[1], static[1], …"""
    return [number for pair in zip(routed, static, strict=True) for number in pair]


def blocks(
    kamailio: harness.Kamailio,
    workdir: Path,
    *,
    phone_port: int,
    static_targets: list[str],
    rate: float,
    count: int,
    server_pids: Sequence[int] = (),
) -> tuple[dict[str, PathTimes], int, dict[str, float]]:
    """The paths in turn, `count` blocks each: routed, static, routed, static, …

    Each block runs alone at `rate` (a path never shares Kamailio's workers or daphne with
    the other path's calls), and taking turns spreads slow spells of a shared machine over
    both paths. `static_targets` has one number per static call. With `server_pids`, also
    the CPU seconds those processes spent during each path's blocks.
    """
    calls = len(static_targets)
    count = max(1, min(count, calls))
    sizes = [calls // count + (1 if b < calls % count else 0) for b in range(count)]
    merged: dict[str, PathTimes] = {}
    cpu = {"routed": 0.0, "static": 0.0}
    failed, start = 0, 0
    for b, size in enumerate(sizes):
        for path, targets in (
            ("routed", [QUEUE_NUMBER] * size),
            ("static", static_targets[start : start + size]),
        ):
            before = servers_cpu(server_pids)
            times, lost = run(
                kamailio,
                workdir,
                name=f"{path}-{b}",
                phone_port=phone_port,
                targets=targets,
                rate=rate,
            )
            cpu[path] += servers_cpu(server_pids) - before
            failed += lost
            merged[path] = merged[path].merge(times[path]) if path in merged else times[path]
        start += size
    return merged, failed, cpu


def servers_cpu(pids: Sequence[int]) -> float:
    """User + system CPU seconds of the processes so far (0 for one that cannot be read)."""
    return sum(cpu_seconds(pid) or 0.0 for pid in pids)


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


def paths(times: dict[str, PathTimes], failed: int) -> dict[str, Any]:
    routed, static = times["routed"], times["static"]
    return {
        "routed_ok": len(routed.setup),
        "static_ok": len(static.setup),
        "not_set_up": {
            "routed": routed.dialled - len(routed.setup),
            "static": static.dialled - len(static.setup),
        },
        "sipp_failed_calls": failed,
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
    count = WARMUP_CALLS + args.calls
    log(f"preparing queue {QUEUE_NUMBER} and 2 x {count} ready agents")
    pools = _child(env, "prepare", {"count": count})
    servers, app_port = start_servers(stack, env, args.servers)
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
        stack.add_callback("keep", lambda: _keep(workdir, Path(stack.base)))
    phone_port = harness.free_sip_port()
    extensions = pools["routed"] + pools["static"]
    log(f"registering {len(extensions)} extensions at one sipp phone")
    register_all(kamailio, extensions=extensions, phone_port=phone_port, workdir=workdir)

    warm = WARMUP_CALLS
    log(f"warm-up: {2 * warm} calls, alternating queue and extension (not counted)")
    run(
        kamailio,
        workdir,
        name="warmup",
        phone_port=phone_port,
        targets=alternate([QUEUE_NUMBER] * warm, pools["static"][:warm]),
        rate=args.rate,
    )
    log(
        f"{args.calls} calls per path at {args.rate}/s in {args.blocks} blocks each, taking "
        f"turns: queue {QUEUE_NUMBER} (icenter decides), agents' extensions (static)"
    )
    since = datetime.now(UTC).isoformat()
    times, failed, cpu = blocks(
        kamailio,
        workdir,
        phone_port=phone_port,
        static_targets=pools["static"][warm:],
        rate=args.rate,
        count=args.blocks,
        server_pids=[server.pid for server in servers],
    )
    load = load_average()
    time.sleep(1)  # the last hang-ups' events reach icenter
    stored = _child(env, "tally", {"since": since})
    for path in ("routed", "static"):
        stored[path]["phone_rang_extensions"] = len(times[path].rung)
    errors = kamailio_errors(kamailio)
    kamailio.stop()
    figures = paths(times, failed)
    result = {
        "bench": "sip_setup",
        "app": f"icenter (daphne x{args.servers}, DEBUG=0, {db}, channel layer {channel_layer})",
        "calls_per_path": args.calls,
        "rate_per_s": args.rate,
        "blocks_per_path": args.blocks,
        "kamailio_children": kamailio.children,
        **figures,
        # daphne's CPU time while a path's calls ran / its calls (each: 4 POSTs from Kamailio)
        "daphne_cpu_ms_per_call": {
            path: round(cpu[path] * 1000 / max(1, len(times[path].setup)), 1)
            for path in ("routed", "static")
        },
        "icenter_stored": stored,
        "kamailio_errors": errors,
        "load_average_1m": load,
        # every call set up and completed, every routed call an ACD pick, and the hop's p99
        "target_met": bool(
            figures["routed_ok"] == figures["static_ok"] == args.calls
            and failed == 0
            and stored["routed"]["agents_of_pool"] == args.calls
            and figures["added_ms"]["p99"] <= TARGET_ADDED_P99_MS
        ),
    }
    return result, times["routed"]


def _child(env: dict[str, str], function: str, spec: dict[str, Any]) -> dict[str, Any]:
    out = run_django(
        env,
        ["-c", LOAD + f"print('OUT ' + json.dumps(b.{function}({json.dumps(spec)})))"],
        what=function,
    )
    return dict(json.loads(next(line for line in out.splitlines() if line.startswith("OUT "))[4:]))


def _keep(workdir: Path, base: Path) -> None:
    kept = Path(f"/tmp/icenter-sip-bench-{time.strftime('%Y%m%d-%H%M%S')}")
    shutil.copytree(workdir, kept, dirs_exist_ok=True, ignore=shutil.ignore_patterns("run"))
    for daphne_log in base.glob("daphne-*.log"):
        shutil.copy(daphne_log, kept / daphne_log.name)
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
        log(f"kamailio only: {args.calls} calls per path, queue and 2001 (stand-in app)")
        times, failed, _ = blocks(
            kamailio,
            workdir,
            phone_port=phone_port,
            static_targets=["2001"] * args.calls,
            rate=args.rate,
            count=args.blocks,
        )
        load = load_average()
    result = {
        "bench": "sip_setup_kamailio_only",
        "app": "HTTP stand-in (answers at once)",
        "calls_per_path": args.calls,
        "rate_per_s": args.rate,
        **paths(times, failed),
        "load_average_1m": load,
    }
    return result, times["routed"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200, help="calls per path")
    parser.add_argument("--rate", type=float, default=20, help="new calls per second")
    parser.add_argument(
        "--blocks", type=int, default=2, help="blocks per path, run in turns (default 2)"
    )
    parser.add_argument(
        "--no-kamailio-only", action="store_true", help="skip the stand-in measurement"
    )
    parser.add_argument("--keep", action="store_true", help="copy the logs to /tmp")
    parser.add_argument(
        "--servers",
        type=int,
        default=2,
        help="daphne processes sharing one listening socket (default 2: one per core here)",
    )
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
