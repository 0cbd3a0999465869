"""Call-script runner latency with many concurrent runs, and validation time of a big script.

Starts the real stack on 127.0.0.1 (a throwaway PostgreSQL cluster, or SQLite when no
PostgreSQL is installed), gives each of N agents an open run of the demo satisfaction
survey, and lets N simulated desks work concurrently: each renders its current step (GET,
the htmx partial), thinks, saves an answer (POST), and goes back to answer again, so every
request is real work on a real run. Production settings (DEBUG=0), keep-alive connections
as a browser keeps them. The load runs once per pace (`--think`: 5 s between a desk's
requests, agents at work; 2 s, a stress pace) and per `--servers` count: one daphne
process, then two sharing one listening socket (production runs "any number behind a load
balancer", README "Production"; one per core is the usual size). It measures:

- step render: GET /desk/scripts/runs/<id>/ until the whole response is read;
- answer save: POST /desk/scripts/runs/<id>/answer/ (validation, the answer row, the run's
  path, the next step rendered) until the whole response is read;
- the server processes' CPU time per request (Linux), and the load average, because the
  latencies depend on how busy the machine is;
- validation of a 500-step script with branches and conditions: in memory (flow_validate)
  and from the database (load the version's flow + validate), median and max of 20 runs.

One JSON line per measurement goes to stdout (progress to stderr). See bench/README.md.

    .venv/bin/python bench/scripting.py         # 200 runs, 30 s, think 5 and 2 s, daphne x1 and x2
    .venv/bin/python bench/scripting.py --runs 20 --duration 5 --servers 1
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import secrets
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    ROOT,
    SetupError,
    Stack,
    cpu_seconds,
    emit,
    log,
    raise_nofile,
    run_django,
    start_postgres,
    start_servers,
    summary_ms,
)

TARGET_P95_MS = 30.0
# 5 s between requests: a step every ~10 s per agent (read the question out, hear the answer,
# enter it), with a GET and a POST per step where the real desk needs only the POST (its
# answer shows the next step): twice the requests of agents at work. 2 s: a stress pace.
PACES = {5.0: "agents at work", 2.0: "stress"}
USER_PREFIX = "bench-script-"
LOAD = (
    "import importlib.util, json; "
    "spec = importlib.util.spec_from_file_location('bench_scripting', 'bench/scripting.py'); "
    "b = importlib.util.module_from_spec(spec); spec.loader.exec_module(b); "
)
CSRF = "b" * 32  # an unmasked CSRF secret: cookie and header carry the same value


# -- inside the project (child process with Django set up) ---------------------------------


def _django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "icenter.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def prepare(spec: dict[str, Any]) -> dict[str, Any]:
    """N agents with a session each, each with an open run of the survey at its first step."""
    _django()
    from datetime import timedelta

    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password
    from django.contrib.auth.models import Group
    from django.contrib.sessions.backends.db import SessionStore
    from django.contrib.sessions.models import Session
    from django.db import transaction
    from django.utils import timezone

    from accounts.models import Account
    from scripting.demo import demo_scripts_seed
    from scripting.models import ScriptRun
    from scripting.services import script_run_start
    from telephony.models import Agent

    User = get_user_model()
    runs = spec["runs"]
    now = timezone.now()
    with transaction.atomic():
        survey = demo_scripts_seed()[0]
        group = Group.objects.get(name="agent")
        password = make_password("bench")
        existing = User.objects.filter(username__startswith=USER_PREFIX).count()
        for i in range(existing, runs):
            user = User.objects.create(
                username=f"{USER_PREFIX}{i:04d}", password=password, first_name="Agent"
            )
            user.groups.add(group)
            Agent.objects.create(user=user, extension=str(40000 + i))
        accounts = list(Account.objects.filter(customer_number__startswith="BSCR")[:runs])
        for i in range(len(accounts), runs):
            accounts.append(
                Account.objects.create(customer_number=f"BSCR{i:05d}", name=f"Umfrage Kunde {i}")
            )
        ScriptRun.objects.all().delete()
        Session.objects.all().delete()
        out = []
        users = list(User.objects.filter(username__startswith=USER_PREFIX).order_by("username"))
        for user, account in zip(users[:runs], accounts, strict=True):
            run = script_run_start(
                script_version=survey, agent_user=user, interaction=None, account=account
            )
            store = SessionStore()
            key = store._get_new_session_key()
            Session.objects.create(
                session_key=key,
                session_data=store.encode(
                    {
                        "_auth_user_id": str(user.pk),
                        "_auth_user_backend": "django.contrib.auth.backends.ModelBackend",
                        "_auth_user_hash": user.get_session_auth_hash(),
                    }
                ),
                expire_date=now + timedelta(days=1),
            )
            out.append([run.pk, key])
    return {"runs": out}


def big_flow_steps(count: int) -> list[dict[str, Any]]:
    """A script of `count` steps: questions with answers that branch and conditions, then ends."""
    steps: list[dict[str, Any]] = []
    questions = count - 2
    for i in range(questions):
        following = f"s{i + 1}" if i + 1 < questions else "end_ok"
        kind = i % 4
        step: dict[str, Any] = {"key": f"s{i}", "kind": "question", "title": f"Frage {i}"}
        if kind == 0:
            step.update(
                answer_type="single",
                text=f"Frage {i} an {{account.name}}?",
                answers=[
                    {"value": "a", "label": "A", "next": following},
                    {"value": "b", "label": "B", "next": "end_no"},
                    {"value": "c", "label": "C"},
                ],
                next=following,
            )
        elif kind == 1:
            step.update(answer_type="number", text="Wie viel?", next=following)
            step["conditions"] = [
                {
                    "if": "answer",
                    "answer": f"s{i}",
                    "operator": "gt",
                    "value": "10",
                    "next": "end_ok",
                }
            ]
        elif kind == 2:
            step.update(
                answer_type="multiple",
                text=f"Vorher: {{answers.s{i - 1}}}",
                answers=[{"value": "x", "label": "X"}, {"value": "y", "label": "Y"}],
                next=following,
                conditions=[
                    {"if": "account.is_vip", "operator": "is_true", "next": following},
                ],
            )
        else:
            step.update(answer_type="yes_no", text="Ja oder nein?", next=following)
        steps.append(step)
    steps.append({"key": "end_ok", "kind": "end", "outcome": "ok"})
    steps.append({"key": "end_no", "kind": "end", "outcome": "no"})
    return steps


def validate_big(spec: dict[str, Any]) -> dict[str, Any]:
    """Time flow_validate on a big script: in memory, and loaded from the database."""
    _django()
    import statistics

    from django.db import transaction

    from scripting.interchange import FORMAT, FORMAT_VERSION, script_import, script_parse
    from scripting.models import Script
    from scripting.selectors import offer_list_codes
    from scripting.services import script_version_validate
    from scripting.validation import flow_validate

    count, repeat = spec["steps"], spec["repeat"]
    document = json.dumps(
        {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "script": {"code": "bench-big", "name": "Bench 500"},
            "steps": big_flow_steps(count),
        }
    )
    _meta, flow = script_parse(document)
    lists = offer_list_codes()
    memory = []
    for _ in range(repeat):
        started = time.perf_counter()
        problems = flow_validate(flow, offer_lists=lists)
        memory.append(time.perf_counter() - started)
    assert problems == [], problems[:3]
    with transaction.atomic():
        Script.objects.filter(code="bench-big").delete()
    started = time.perf_counter()
    version, _warnings = script_import(text=document)
    import_s = time.perf_counter() - started
    database = []
    for _ in range(repeat):
        started = time.perf_counter()
        script_version_validate(version=version)
        database.append(time.perf_counter() - started)
    return {
        "steps": count,
        "memory_median_ms": round(statistics.median(memory) * 1000, 1),
        "memory_max_ms": round(max(memory) * 1000, 1),
        "database_median_ms": round(statistics.median(database) * 1000, 1),
        "database_max_ms": round(max(database) * 1000, 1),
        "import_ms": round(import_s * 1000, 1),
    }


# -- outside: the desks -----------------------------------------------------------------------


def load_average() -> float | None:
    try:
        return round(os.getloadavg()[0], 2)
    except OSError:
        return None


class Connection:
    """One desk's HTTP/1.1 connection to the server.

    `keep_alive` (the default) reuses the connection as a browser does between htmx
    requests; otherwise every request opens a fresh connection (`Connection: close`)."""

    def __init__(self, port: int, keep_alive: bool) -> None:
        self.port = port
        self.keep_alive = keep_alive
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            with contextlib.suppress(Exception):
                await self.writer.wait_closed()
        self.reader = self.writer = None

    async def request(
        self, method: str, path: str, cookie: str, form: dict[str, str] | None = None
    ) -> tuple[int, bytes]:
        try:
            return await self._request(method, path, cookie, form)
        except (OSError, asyncio.IncompleteReadError, ValueError):
            await self.close()
            raise

    async def _request(
        self, method: str, path: str, cookie: str, form: dict[str, str] | None
    ) -> tuple[int, bytes]:
        body = urllib.parse.urlencode(form or {}).encode()
        lines = [
            f"{method} {path} HTTP/1.1",
            f"Host: 127.0.0.1:{self.port}",
            f"Cookie: sessionid={cookie}; csrftoken={CSRF}",
            "HX-Request: true",
            "Connection: " + ("keep-alive" if self.keep_alive else "close"),
        ]
        if method == "POST":
            lines += [
                f"X-CSRFToken: {CSRF}",
                "Content-Type: application/x-www-form-urlencoded",
                f"Content-Length: {len(body)}",
            ]
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        assert self.reader is not None
        self.writer.write(
            ("\r\n".join(lines) + "\r\n\r\n").encode() + (body if method == "POST" else b"")
        )
        await self.writer.drain()
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        headers = {
            name.strip().lower(): value.strip()
            for name, _, value in (line.partition(b":") for line in head.split(b"\r\n")[1:])
            if name
        }
        if b"content-length" in headers:
            content = await self.reader.readexactly(int(headers[b"content-length"]))
        elif headers.get(b"transfer-encoding", b"").lower() == b"chunked":
            parts = []
            while size := int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16):
                parts.append(await self.reader.readexactly(size))
                await self.reader.readexactly(2)
            await self.reader.readuntil(b"\r\n")
            content = b"".join(parts)
        else:
            content = await self.reader.read(-1)
            await self.close()
        if not self.keep_alive or headers.get(b"connection", b"").lower() == b"close":
            await self.close()
        return status, head + content


# The way each simulated agent goes: answer, go back, answer again (always real work).
ANSWERS = {"consent": "yes", "overall": "zufrieden", "recommend": "8"}


def current_step(raw: bytes, default: str) -> str:
    """The key of the step a runner page shows (a second phase starts where the first ended)."""
    marker = raw.find(b'data-step="')
    return raw[marker + 11 : raw.find(b'"', marker + 11)].decode() if marker >= 0 else default


async def desk(
    connection: Connection,
    run_id: int,
    cookie: str,
    until: float,
    think: float,
    results: dict[str, Any],
) -> None:
    rng = random.Random(run_id)
    await asyncio.sleep(rng.uniform(0, think))
    step = "consent"
    while time.perf_counter() < until:
        started = time.perf_counter()
        try:
            status, raw = await connection.request("GET", f"/desk/scripts/runs/{run_id}/", cookie)
        except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
            results["errors"].append(f"render: {exc!r}")
            continue
        results["render"].append(time.perf_counter() - started)
        if status != 200 or b'class="script-run"' not in raw:
            results["errors"].append(f"render: HTTP {status}")
        step = current_step(raw, step)
        await asyncio.sleep(rng.uniform(0.5, 1.5) * think)
        if step in ANSWERS:
            form, action = {"step": step, "answer": ANSWERS[step]}, "answer"
        else:
            form, action = {"step": step}, "back"
        started = time.perf_counter()
        try:
            status, raw = await connection.request(
                "POST", f"/desk/scripts/runs/{run_id}/{action}/", cookie, form
            )
        except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
            results["errors"].append(f"{action}: {exc!r}")
            continue
        results["posts"] += 1
        if action == "answer":
            results["save"].append(time.perf_counter() - started)
        step = current_step(raw, step)
        if status != 200 or b"script-error" in raw:
            results["errors"].append(f"{action}: HTTP {status}")
        await asyncio.sleep(rng.uniform(0.5, 1.5) * think)


async def warm_up(port: int, runs: list[list[Any]]) -> None:
    for run_id, cookie in runs:
        connection = Connection(port, keep_alive=False)
        await connection.request("GET", f"/desk/scripts/runs/{run_id}/", cookie)


async def drive(
    port: int, runs: list[list[Any]], duration: float, think: float, keep_alive: bool
) -> dict[str, Any]:
    results: dict[str, Any] = {"render": [], "save": [], "errors": [], "posts": 0}
    until = time.perf_counter() + duration
    connections = [Connection(port, keep_alive) for _run in runs]
    try:
        await asyncio.gather(
            *(
                desk(connection, r, c, until, think, results)
                for connection, (r, c) in zip(connections, runs, strict=True)
            )
        )
    finally:
        for connection in connections:
            await connection.close()
    return results


def measure_runner(
    stack: Stack,
    env: dict[str, str],
    runs: list[list[Any]],
    args: argparse.Namespace,
    *,
    servers: int,
    think: float,
    db: str,
) -> dict[str, Any]:
    """Drive the desks against `servers` daphne processes at one pace; one result line."""
    processes, port = start_servers(stack, env, servers)
    # Warm up: every process loads its templates, URL patterns and the script's flow once.
    asyncio.run(warm_up(port, runs[: 10 * servers]))
    log(f"{args.runs} desks for {args.duration:.0f} s on daphne x{servers}, think {think} s")
    cpu_before = [cpu_seconds(p.pid) for p in processes]
    results = asyncio.run(drive(port, runs, args.duration, think, args.connections == "keep-alive"))
    cpu_after = [cpu_seconds(p.pid) for p in processes]
    load = load_average()
    for process in processes:
        stack.stop_process(process)
    requests = len(results["render"]) + results["posts"]
    cpu_ms = None
    if requests and None not in cpu_before and None not in cpu_after:
        used = sum(cpu_after) - sum(cpu_before)  # type: ignore[arg-type]
        cpu_ms = round(used * 1000 / requests, 2)
    render = summary_ms(results["render"], "render_")
    save = summary_ms(results["save"], "save_")
    met = (
        (render["render_p95_ms"] or 1e9) <= TARGET_P95_MS
        and (save["save_p95_ms"] or 1e9) <= TARGET_P95_MS
        and not results["errors"]
    )
    return {
        "bench": "scripting_runner",
        "runs": args.runs,
        "db": db,
        "server": f"daphne x{servers}",
        "duration_s": args.duration,
        "think_s": think,
        "pace": PACES.get(think, "custom"),
        "connections": args.connections,
        "renders": len(results["render"]),
        "saves": len(results["save"]),
        "server_cpu_ms_per_request": cpu_ms,
        "load_average_1m": load,
        "errors": len(results["errors"]),
        **({"first_error": results["errors"][0]} if results["errors"] else {}),
        **render,
        **save,
        "target": f"render and save p95 <= {TARGET_P95_MS:.0f} ms",
        "target_met": met,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200, help="concurrent runs (agents)")
    parser.add_argument("--duration", type=float, default=30.0, help="seconds of load")
    parser.add_argument(
        "--think",
        type=lambda text: [float(n) for n in text.split(",")],
        default=[5.0, 2.0],
        help="mean seconds between a desk's requests, one measurement each (default 5,2)",
    )
    parser.add_argument("--steps", type=int, default=500, help="steps of the validated script")
    parser.add_argument("--sqlite", action="store_true", help="skip PostgreSQL")
    parser.add_argument(
        "--connections",
        choices=["keep-alive", "close"],
        default="keep-alive",
        help="reuse each desk's connection as a browser does (default), or a new one per request",
    )
    parser.add_argument(
        "--servers",
        type=lambda text: [int(n) for n in text.split(",")],
        default=[1, 2],
        help="daphne processes, one measurement each (comma-separated; default 1,2)",
    )
    args = parser.parse_args()
    raise_nofile()
    with Stack() as stack:
        try:
            env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
            env.update(
                DJANGO_SETTINGS_MODULE="icenter.settings",
                # Production settings (README "Production"), served over plain HTTP on
                # 127.0.0.1: no redirect to HTTPS; static files collected below.
                DEBUG="0",
                SECURE_SSL_REDIRECT="0",
                STATIC_ROOT=os.path.join(stack.base, "static"),
                # Periodic tasks run in Celery beat and workers in production, not in daphne.
                ICENTER_TICKER="celery",
                SECRET_KEY=secrets.token_hex(32),
                ICENTER_CTI_TOKEN=secrets.token_hex(16),
                ALLOWED_HOSTS="127.0.0.1,localhost",
                LOG_LEVEL="WARNING",
            )
            url = None if args.sqlite else start_postgres(stack)
            if url:
                env["DATABASE_URL"] = url
            else:
                env["SQLITE_PATH"] = os.path.join(stack.base, "bench.sqlite3")
            db = "postgresql" if url else "sqlite"
            log(f"migrating ({db})")
            run_django(env, ["manage.py", "migrate", "--noinput"], what="migrate")
            run_django(env, ["manage.py", "collectstatic", "--noinput"], what="collectstatic")
            log(f"preparing {args.runs} runs")
            spec = json.dumps({"runs": args.runs})
            out = run_django(
                env,
                ["-c", LOAD + f"print('PREP ' + json.dumps(b.prepare({spec})))"],
                what="prepare",
            )  # fmt: skip
            prepared = json.loads(
                next(line for line in out.splitlines() if line.startswith("PREP "))[5:]
            )
            for think in args.think:
                for servers in args.servers:
                    emit(
                        measure_runner(
                            stack, env, prepared["runs"], args, servers=servers, think=think, db=db
                        )
                    )
            log(f"validating a {args.steps}-step script")
            spec = json.dumps({"steps": args.steps, "repeat": 20})
            out = run_django(
                env,
                ["-c", LOAD + f"print('VAL ' + json.dumps(b.validate_big({spec})))"],
                what="validate",
            )  # fmt: skip
            figures = json.loads(
                next(line for line in out.splitlines() if line.startswith("VAL "))[4:]
            )
            emit({"bench": "scripting_validation", "db": db, **figures})
        except SetupError as exc:
            log(f"setup failed: {exc}")
            return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
