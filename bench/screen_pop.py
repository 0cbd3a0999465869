"""Screen-pop latency: from a CTI call event to the rendered pop on the agent's WebSocket.

Starts the real stack on 127.0.0.1 (a throwaway PostgreSQL cluster, or SQLite when
no PostgreSQL is installed; redis-server; one daphne process), connects N
authenticated agent desks over WebSocket, and fires simulated inbound calls at a
fixed rate (open loop) through the CTI simulator endpoint. For each call it
measures the time from just before the POST to the first message on the ringing
agent's socket that shows the call ringing (`data-call-status="ringing"` in the
`#comm-info` panel), and to the complete pop (the message that also carries the
account header). Acting as the PBX, it then hangs the call up so that the agent
becomes ready again. In the same run it measures the round trip of a bare
`{"type": "ping"}` on the sockets as the transport baseline.

One JSON line per agent count goes to stdout (progress goes to stderr); exit
status 0 unless the environment could not be set up. See bench/README.md.

    .venv/bin/python bench/screen_pop.py                              # 100 and 500 agents
    .venv/bin/python bench/screen_pop.py --agents 20 --duration 5     # smoke run
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import re
import secrets
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    ROOT,
    SetupError,
    Stack,
    emit,
    http_post_json,
    log,
    raise_nofile,
    run_django,
    start_daphne,
    start_postgres,
    start_redis,
    summary_ms,
)

TARGET_P99_MS = 250.0
TARGET_AGENTS = 500
EXTENSION_BASE = 30000
NUMBER_BASE = 20_000_000  # callers are +4930 20000000, +4930 20000001, ...
BENCH_USER_PREFIX = "bench-agent-"

POP_RE = re.compile(r'<div id="comm-info"[^>]*?data-call-id="([^"]*)" data-call-status="([^"]*)"')
FULL_POP_MARK = 'id="account-header"'


def caller_number(index: int) -> str:
    return f"+4930{NUMBER_BASE + index}"


# -- inside the project: seed and reset the database (runs as a child with the settings) ----


def prepare(spec: dict[str, Any]) -> dict[str, Any]:
    """Seed agents and accounts once; make exactly `active` agents ready; return their sessions."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "icenter.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()

    from datetime import timedelta

    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password
    from django.contrib.auth.models import Group
    from django.contrib.sessions.backends.db import SessionStore
    from django.contrib.sessions.models import Session
    from django.db import transaction
    from django.utils import timezone

    from accounts.models import Account, Address, Contact, ContactPoint, Interaction
    from telephony.models import Agent, Call

    User = get_user_model()
    total, active, n_accounts = spec["total"], spec["active"], spec["accounts"]
    now = timezone.now()
    with transaction.atomic():
        existing = User.objects.filter(username__startswith=BENCH_USER_PREFIX).count()
        if existing < total:
            group = Group.objects.get(name="agent")
            password = make_password("bench")
            users = User.objects.bulk_create(
                User(
                    username=f"{BENCH_USER_PREFIX}{i:04d}",
                    password=password,
                    first_name="Agent",
                    last_name=f"{i:04d}",
                    email=f"agent{i}@bench.invalid",
                )
                for i in range(existing, total)
            )
            if any(u.pk is None for u in users):  # backends without RETURNING
                users = list(User.objects.filter(username__in=[u.username for u in users]))
            User.groups.through.objects.bulk_create(
                User.groups.through(user_id=u.pk, group_id=group.pk) for u in users
            )
            Agent.objects.bulk_create(
                Agent(
                    user=u,
                    extension=str(EXTENSION_BASE + int(u.username[len(BENCH_USER_PREFIX) :])),
                )
                for u in users
            )
        if not Account.objects.filter(customer_number__startswith="BENCH").exists():
            accounts = Account.objects.bulk_create(
                Account(
                    customer_number=f"BENCH{i:06d}",
                    name=f"Bench Customer {i:04d}",
                    first_name="Bench",
                    last_name=f"Customer {i:04d}",
                    is_vip=(i % 50 == 0),
                )
                for i in range(n_accounts)
            )
            if any(a.pk is None for a in accounts):
                accounts = list(
                    Account.objects.filter(customer_number__startswith="BENCH").order_by(
                        "customer_number"
                    )
                )
            contacts = Contact.objects.bulk_create(
                Contact(
                    account=a, first_name="Bench", last_name=f"Customer {i:04d}", is_primary=True
                )
                for i, a in enumerate(accounts)
            )
            Address.objects.bulk_create(
                Address(
                    account=a,
                    street=f"Benchstraße {i % 200 + 1}",
                    postcode=f"{10115 + i % 800}",
                    city="Berlin",
                )
                for i, a in enumerate(accounts)
            )
            ContactPoint.objects.bulk_create(
                ContactPoint(
                    account=a,
                    kind=ContactPoint.Kind.PHONE,
                    value=caller_number(i),
                    normalized=caller_number(i),
                    label="mobile",
                )
                for i, a in enumerate(accounts)
            )
            ContactPoint.objects.bulk_create(
                ContactPoint(
                    account=a,
                    contact=contacts[i],
                    kind=ContactPoint.Kind.EMAIL,
                    value=f"customer{i}@bench.invalid",
                    normalized=f"customer{i}@bench.invalid",
                )
                for i, a in enumerate(accounts)
            )
            agent_users = list(
                User.objects.filter(username__startswith=BENCH_USER_PREFIX).values_list(
                    "pk", flat=True
                )
            )
            history = []
            for i, a in enumerate(accounts):
                for j in range(spec["interactions"]):
                    started = now - timedelta(days=j * 7 + 1, minutes=i % 600)
                    history.append(
                        Interaction(
                            channel=Interaction.Channel.PHONE
                            if j % 3
                            else Interaction.Channel.EMAIL,
                            direction=Interaction.Direction.INBOUND,
                            account=a,
                            contact=contacts[i],
                            agent_id=agent_users[(i + j) % len(agent_users)],
                            address=caller_number(i),
                            subject=f"Bench contact {j}",
                            started_at=started,
                            ended_at=started + timedelta(minutes=4),
                            outcome=Interaction.Outcome.COMPLETED,
                            notes="Customer asked about the bill. " * 3,
                        )
                    )
            Interaction.objects.bulk_create(history, batch_size=2000)

        # Reset: no live calls, every bench agent logged out, then `active` agents ready
        # with distinct idle times (longest-idle first gets the first call).
        live = [Call.Status.QUEUED, Call.Status.RINGING, Call.Status.TALKING, Call.Status.HELD]
        Call.objects.filter(status__in=live).update(status=Call.Status.ENDED, ended_at=now)
        agents = list(
            Agent.objects.filter(user__username__startswith=BENCH_USER_PREFIX)
            .select_related("user")
            .order_by("extension")
        )
        for i, agent in enumerate(agents):
            agent.current_interaction = None
            agent.state_reason = ""
            if i < active:
                agent.state = Agent.State.READY
                agent.state_since = now - timedelta(seconds=60, milliseconds=active - i)
            else:
                agent.state = Agent.State.LOGGED_OUT
                agent.state_since = now
        Agent.objects.bulk_update(
            agents, ["current_interaction", "state", "state_reason", "state_since"]
        )

        # One Django session per ready agent: the desk's cookie.
        Session.objects.all().delete()
        sessions, out = [], []
        for agent in agents[:active]:
            store = SessionStore()
            key = store._get_new_session_key()
            data = store.encode(
                {
                    "_auth_user_id": str(agent.user.pk),
                    "_auth_user_backend": "django.contrib.auth.backends.ModelBackend",
                    "_auth_user_hash": agent.user.get_session_auth_hash(),
                }
            )
            sessions.append(
                Session(session_key=key, session_data=data, expire_date=now + timedelta(days=1))
            )
            out.append([agent.extension, key])
        Session.objects.bulk_create(sessions)
    return {
        "sessions": out,
        "accounts": Account.objects.filter(customer_number__startswith="BENCH").count(),
    }


# -- outside: the desks and the PBX ------------------------------------------------------------


class Desks:
    """N desk sockets and everything they received."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.sockets: list[tuple[str, Any]] = []
        self.readers: list[asyncio.Task[None]] = []
        # call id -> [(extension, time, is_full_pop)] of every message showing it ringing
        self.pops: dict[str, list[tuple[str, float, bool]]] = defaultdict(list)
        self.waiters: dict[str, tuple[str, asyncio.Future[None]]] = {}
        self.pings: dict[int, float] = {}
        self.ping_rtts: list[float] = []
        self.dropped: dict[str, float] = {}  # extension -> when the server closed its socket
        self.closing = False

    async def connect(self, sessions: list[tuple[str, str]], concurrency: int = 25) -> None:
        from websockets.asyncio.client import connect

        origin = f"http://127.0.0.1:{self.port}"
        uri = f"ws://127.0.0.1:{self.port}/ws/desk/"
        gate = asyncio.Semaphore(concurrency)

        async def one(extension: str, key: str) -> tuple[str, Any]:
            async with gate:
                ws = await connect(
                    uri,
                    origin=origin,
                    additional_headers={"Cookie": f"sessionid={key}"},  # type: ignore[arg-type]
                    open_timeout=30,
                    ping_interval=None,
                    max_size=None,
                    close_timeout=2,
                )
                try:
                    first = await asyncio.wait_for(ws.recv(), 30)  # the "sync" of the whole desk
                except Exception:
                    await ws.close()
                    raise
                if 'id="comm-info"' not in first:
                    await ws.close()
                    raise SetupError(
                        f"desk {extension}: first message is not the desk sync: {first[:200]!r}"
                    )
                return extension, ws

        results = await asyncio.gather(*(one(e, k) for e, k in sessions), return_exceptions=True)
        failures = [r for r in results if isinstance(r, BaseException)]
        self.sockets = [r for r in results if not isinstance(r, BaseException)]  # type: ignore[misc]
        if failures:
            await self.close()
            raise SetupError(
                f"{len(failures)} of {len(sessions)} desks could not connect: {failures[0]!r}"
            )
        self.readers = [asyncio.create_task(self._read(e, ws)) for e, ws in self.sockets]

    async def _read(self, extension: str, ws: Any) -> None:
        try:
            async for message in ws:
                now = time.perf_counter()
                if not isinstance(message, str):
                    continue
                if message.startswith("{"):
                    data = json.loads(message)
                    if data.get("type") == "pong":
                        sent = self.pings.pop(data.get("id"), None)
                        if sent is not None:
                            self.ping_rtts.append(now - sent)
                    continue
                match = POP_RE.search(message)
                if match is None or match.group(2) != "ringing":
                    continue
                call_id, full = match.group(1), FULL_POP_MARK in message
                self.pops[call_id].append((extension, now, full))
                waiter = self.waiters.get(call_id)
                if waiter is not None and waiter[0] == extension and full and not waiter[1].done():
                    waiter[1].set_result(None)
        except Exception:  # noqa: S110 - the server closed the socket (recorded below)
            pass
        if not self.closing:
            # The server closed the desk while it was in use: its calls will be lost.
            self.dropped[extension] = time.perf_counter()

    async def wait_for_pop(self, call_id: str, extension: str, deadline: float) -> None:
        """Until the complete pop for the call reached the extension, or the deadline."""
        if any(e == extension and full for e, _, full in self.pops.get(call_id, ())):
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.waiters[call_id] = (extension, future)
        try:
            await asyncio.wait_for(future, max(0.0, deadline - time.perf_counter()))
        except TimeoutError:
            pass
        finally:
            self.waiters.pop(call_id, None)

    async def ping(self, index: int) -> None:
        _, ws = self.sockets[index % len(self.sockets)]
        self.pings[index] = time.perf_counter()
        with contextlib.suppress(Exception):
            await ws.send(json.dumps({"type": "ping", "id": index}))

    async def close(self) -> None:
        self.closing = True
        for task in self.readers:
            task.cancel()

        async def close_one(ws: Any) -> None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(ws.close(), 5)

        for start in range(0, len(self.sockets), 100):
            await asyncio.gather(*(close_one(ws) for _, ws in self.sockets[start : start + 100]))
        await asyncio.gather(*self.readers, return_exceptions=True)


class Calls:
    """The simulated PBX: places calls, waits for their pop, hangs them up."""

    def __init__(self, port: int, token: str, desks: Desks, numbers: int, timeout: float) -> None:
        self.port, self.desks, self.numbers, self.timeout = port, desks, numbers, timeout
        self.headers = {"Authorization": f"Bearer {token}"}
        self.placed: list[dict[str, Any]] = []
        self.errors: list[str] = []

    async def post(self, body: dict[str, Any]) -> tuple[int, Any]:
        return await http_post_json(
            "127.0.0.1", self.port, "/cti/simulator/calls/", body, headers=self.headers, timeout=30
        )

    async def place(self, index: int) -> None:
        ani = caller_number((index * 7919) % self.numbers)  # spread over the accounts
        t0 = time.perf_counter()
        try:
            status, body = await self.post({"ani": ani, "dnis": "7000"})
        except (OSError, TimeoutError) as exc:
            self.errors.append(f"place: {exc!r}")
            return
        t_response = time.perf_counter()
        if status != 200 or not isinstance(body, dict) or not body.get("call_id"):
            self.errors.append(f"place: HTTP {status} {str(body)[:200]}")
            return
        call = {
            "call_id": body["call_id"],
            "status": body.get("status"),
            "agent": body.get("agent"),
            "t0": t0,
            "response_s": t_response - t0,
        }
        self.placed.append(call)
        if call["status"] == "ringing" and call["agent"]:
            await self.desks.wait_for_pop(call["call_id"], call["agent"], t0 + self.timeout)
        # The customer hangs up (while ringing, or while queued): the agent is ready again.
        try:
            status, body = await self.post({"hangup": call["call_id"]})
            if status != 200:
                self.errors.append(f"hangup: HTTP {status} {str(body)[:200]}")
        except (OSError, TimeoutError) as exc:
            self.errors.append(f"hangup: {exc!r}")


async def measure(
    port: int, token: str, sessions: list[tuple[str, str]], args: argparse.Namespace, numbers: int
) -> dict[str, Any]:
    desks = Desks(port)
    started = time.perf_counter()
    await desks.connect(sessions)
    log(f"{len(sessions)} desks connected in {time.perf_counter() - started:.1f} s")
    calls = Calls(port, token, desks, numbers, args.timeout)
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()

    async def pinger() -> None:
        index, begin = 0, loop.time()
        while not stop.is_set():
            await desks.ping(index)
            index += 1
            await asyncio.sleep(max(0.0, begin + index / args.ping_rate - loop.time()))

    ping_task = asyncio.create_task(pinger())
    total = max(1, round(args.rate * args.duration))
    tasks: list[asyncio.Task[None]] = []
    begin = loop.time() + 0.05
    try:
        for k in range(total):
            delay = begin + k / args.rate - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(calls.place(k)))
        sent_in = loop.time() - begin
        await asyncio.gather(*tasks)
        stop.set()
        await ping_task
        await asyncio.sleep(1.0)  # late pongs and stray pops
    finally:
        stop.set()
        for task in tasks:
            task.cancel()
        ping_task.cancel()
        await desks.close()
    return evaluate(desks, calls, total, sent_in, args)


def evaluate(
    desks: Desks, calls: Calls, total: int, sent_in: float, args: argparse.Namespace
) -> dict[str, Any]:
    first, full, responses = [], [], []
    delivered = lost = lost_dropped = misdelivered = queued = incomplete = 0
    for call in calls.placed:
        responses.append(call["response_s"])
        pops = desks.pops.get(call["call_id"], [])
        if call["status"] != "ringing" or not call["agent"]:
            queued += 1
            continue
        if any(extension != call["agent"] for extension, _, _ in pops):
            misdelivered += 1
        mine = [
            (t - call["t0"], is_full)
            for extension, t, is_full in pops
            if extension == call["agent"]
        ]
        in_time = [(d, is_full) for d, is_full in mine if d <= args.timeout]
        if not in_time:
            lost += 1
            if desks.dropped.get(call["agent"], math.inf) <= call["t0"] + args.timeout:
                lost_dropped += 1
            continue
        delivered += 1
        first.append(min(d for d, _ in in_time))
        complete = [d for d, is_full in in_time if is_full]
        if complete:
            full.append(min(complete))
        else:
            incomplete += 1
    result: dict[str, Any] = {
        "calls": total,
        "offered_rate": round((total - 1) / sent_in, 2) if sent_in > 0 else None,
        "ringing": len(calls.placed) - queued,
        "queued": queued,
        "delivered": delivered,
        "lost": lost,
        "lost_on_dropped_socket": lost_dropped,
        "misdelivered": misdelivered,
        "errors": len(calls.errors),
        **summary_ms(first, ""),
        "full_pop_missing": incomplete,
        **summary_ms(full, "full_"),
        **summary_ms(responses, "cti_response_"),
        "pings": len(desks.ping_rtts) + len(desks.pings),
        **summary_ms(desks.ping_rtts, "ping_"),
        "ping_lost": len(desks.pings),
        "sockets_dropped": len(desks.dropped),
    }
    if calls.errors:
        result["first_error"] = calls.errors[0]
    return result


# -- orchestration -----------------------------------------------------------------------------


def run(args: argparse.Namespace) -> int:
    counts = sorted({int(n) for n in str(args.agents).split(",") if n.strip()})
    if not counts or min(counts) < 1:
        raise SetupError("--agents must list positive numbers, e.g. 100,500")
    nofile = raise_nofile(max(65536, 4 * max(counts) + 1024))
    if nofile < 2 * max(counts) + 256:
        log(f"warning: open-files limit is only {nofile}")
    with Stack() as stack:
        env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
        db_url = None if args.sqlite else start_postgres(stack, max_connections=300)
        if db_url:
            db = "postgresql"
            env["DATABASE_URL"] = db_url
        else:
            db = "sqlite"
            env["SQLITE_PATH"] = os.path.join(stack.base, "bench.sqlite3")
            log("no PostgreSQL binaries found (or --sqlite): using a temporary SQLite file")
        token = secrets.token_hex(24)
        env.update(
            {
                "REDIS_URL": start_redis(stack),
                "DJANGO_SETTINGS_MODULE": "icenter.settings",
                "DEBUG": "1" if args.debug else "0",
                "SECRET_KEY": f"bench-{secrets.token_hex(16)}",
                "ALLOWED_HOSTS": "127.0.0.1,localhost",
                "ICENTER_CTI": "simulator",
                "ICENTER_CTI_TOKEN": token,
                "LOG_LEVEL": "WARNING",
                "PYTHONUNBUFFERED": "1",
            }
        )
        if not args.debug:
            env.setdefault("SECURE_SSL_REDIRECT", "0")  # plain http on 127.0.0.1
        if args.conn_max_age is not None:
            env["DB_CONN_MAX_AGE"] = str(args.conn_max_age)
        log(f"database: {db}; migrating")
        run_django(env, ["manage.py", "migrate", "--noinput"], what="migrate")
        for n in counts:
            spec = {
                "total": max(counts),
                "active": n,
                "accounts": args.accounts,
                "interactions": args.interactions,
            }
            out = run_django(
                env,
                [str(Path(__file__).resolve()), "--prepare", json.dumps(spec)],
                what="seeding the database",
            )
            prepared = json.loads(out.strip().splitlines()[-1])
            sessions = [tuple(s) for s in prepared["sessions"]]
            # The CTI endpoint answers a GET with 405 and renders no page, so this works
            # with DEBUG off too (pages need collected static files then).
            daphne, port, logfile = start_daphne(stack, env, ready_path="/cti/simulator/calls/")
            log(f"{n} agents: daphne on port {port}; {args.rate} calls/s for {args.duration} s")
            try:
                figures = asyncio.run(measure(port, token, sessions, args, prepared["accounts"]))  # type: ignore[arg-type]
            finally:
                stack.stop_process(daphne)
            server_log = Path(logfile).read_text(errors="replace")
            result = {
                "bench": "screen_pop",
                "agents": n,
                "db": db,
                "channel_layer": "redis",
                "server": "daphne x1",
                "debug": bool(args.debug),
                "rate": args.rate,
                "duration_s": args.duration,
                **figures,
                "server_tracebacks": server_log.count("Traceback (most recent call last)"),
                "target": (
                    f"p99 <= {TARGET_P99_MS:g} ms, 0 lost, 0 misdelivered at {TARGET_AGENTS} agents"
                ),
                "target_met": (
                    figures["p99_ms"] is not None
                    and figures["p99_ms"] <= TARGET_P99_MS
                    and figures["lost"] == 0
                    and figures["misdelivered"] == 0
                    and figures["errors"] == 0
                ),
            }
            emit(result)
            if args.keep_logs:
                keep = Path(args.keep_logs) / f"daphne-{n}.log"
                keep.parent.mkdir(parents=True, exist_ok=True)
                keep.write_text(server_log)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--agents", default="100,500", help="agent counts, comma-separated (default 100,500)"
    )
    parser.add_argument(
        "--rate", type=float, default=10.0, help="inbound calls per second (default 10)"
    )
    parser.add_argument(
        "--duration", type=float, default=60.0, help="seconds of calls per agent count (default 60)"
    )
    parser.add_argument(
        "--timeout", type=float, default=5.0, help="a pop later than this (s) is lost (default 5)"
    )
    parser.add_argument(
        "--ping-rate", type=float, default=10.0, help="baseline pings per second (default 10)"
    )
    parser.add_argument(
        "--accounts", type=int, default=400, help="accounts with a phone number (default 400)"
    )
    parser.add_argument(
        "--interactions", type=int, default=12, help="history entries per account (default 12)"
    )
    parser.add_argument(
        "--debug",
        type=int,
        choices=(0, 1),
        default=1,
        help="DEBUG setting of the server (default 1, as in the issue)",
    )
    parser.add_argument(
        "--conn-max-age",
        type=int,
        default=None,
        help="DB_CONN_MAX_AGE for the server (default: the app's default)",
    )
    parser.add_argument(
        "--sqlite", action="store_true", help="use SQLite even if PostgreSQL is installed"
    )
    parser.add_argument("--keep-logs", metavar="DIR", help="copy each run's daphne log into DIR")
    parser.add_argument("--prepare", metavar="JSON", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.prepare:
        print(json.dumps(prepare(json.loads(args.prepare))))
        return 0
    if args.rate <= 0 or args.duration <= 0 or args.ping_rate <= 0:
        parser.error("--rate, --duration and --ping-rate must be positive")
    try:
        return run(args)
    except SetupError as exc:
        log(f"setup failed: {exc}")
        return 2
    except KeyboardInterrupt:
        log("interrupted; everything started was stopped")
        return 130


if __name__ == "__main__":
    sys.exit(main())
