"""ACD routing under concurrent workers: decision latency, assignments per second, doubles.

Starts a throwaway PostgreSQL cluster (SQLite when no PostgreSQL is installed) and a
redis-server for the channel layer (the in-memory layer without one, or with --no-redis), seeds
500 agents with random skill sets and levels, 20 queues that require 0–2 skills, and
5,000 waiting calls spread over the queues, then runs 4 routing worker processes, each
with its own database connection, at the same time:

1. **dispatch**: each worker owns a quarter of the agents and makes them ready one after
   the other (`agent_set_state(ready)`: lock the agent, pick the best waiting call for
   them, offer it — one transaction, one routing decision). The offered call is then
   answered and hung up (untimed), the agent is in wrap-up and becomes ready again, until
   the queues are empty.
2. **route**: with every agent ready, 500 more calls wait at the PBX; the workers route
   them item by item (`route_item`: lock the item, pick the best agent, offer).

Afterwards it counts double assignments from the database. One JSON line per phase goes to
stdout (progress to stderr); exit status 0 unless the environment could not be set up.
See bench/README.md.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import secrets
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    PYTHON,
    ROOT,
    SetupError,
    Stack,
    emit,
    log,
    run_django,
    start_postgres,
    start_redis,
    summary_ms,
)

TARGET_P99_MS = 20.0
BENCH_USER_PREFIX = "acd-agent-"
EXTENSION_BASE = 40000


def _django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "icenter.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


# -- inside the project: seeding, workers, counting (child processes with the settings) ------


def prepare(spec: dict[str, Any]) -> dict[str, Any]:
    """Seed agents, skills, queues and waiting calls; return the agent ids."""
    _django()
    import random
    from datetime import timedelta

    from django.contrib.auth import get_user_model
    from django.db import transaction
    from django.utils import timezone

    from telephony.models import Agent, AgentSkill, Queue, QueueSkill, Skill

    rng = random.Random(spec["seed"])
    User = get_user_model()
    now = timezone.now()
    with transaction.atomic():
        skills = Skill.objects.bulk_create(
            Skill(code=f"skill-{n}", name=f"Skill {n}") for n in range(spec["skills"])
        )
        queues = Queue.objects.bulk_create(
            Queue(name=f"Queue {n:02d}", number=str(8000 + n), priority=rng.randint(3, 7))
            for n in range(spec["queues"])
        )
        QueueSkill.objects.bulk_create(
            QueueSkill(queue=queue, skill=skill, min_level=rng.randint(1, 3))
            for queue in queues
            for skill in rng.sample(skills, rng.choice([0, 1, 2]))
        )
        users = User.objects.bulk_create(
            User(username=f"{BENCH_USER_PREFIX}{n:04d}", first_name="Agent", last_name=str(n))
            for n in range(spec["agents"])
        )
        agents = Agent.objects.bulk_create(
            Agent(
                user=user,
                extension=str(EXTENSION_BASE + n),
                state=Agent.State.NOT_READY,
                state_since=now - timedelta(seconds=rng.randint(60, 3600)),
            )
            for n, user in enumerate(users)
        )
        AgentSkill.objects.bulk_create(
            AgentSkill(agent=agent, skill=skill, level=rng.randint(1, 5))
            for agent in agents
            for skill in rng.sample(skills, rng.randint(2, 5))
        )
        waiting = waiting_calls_create(
            rng=rng, queues=queues, count=spec["items"], prefix="wait", now=now
        )
    from django.db import connection

    if connection.vendor == "postgresql":
        # Fresh tables have no statistics yet; autovacuum would gather them within a minute
        # on a real system, so the planner sees what it would see in production.
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    return {"agents": [agent.pk for agent in agents], "items": waiting}


def waiting_calls_create(*, rng: Any, queues: list[Any], count: int, prefix: str, now: Any) -> int:
    """`count` calls waiting in random queues, waiting up to an hour, as the PBX reported them."""
    from datetime import timedelta

    from accounts.models import Interaction
    from telephony.models import Call, WorkItem

    starts = [now - timedelta(seconds=rng.uniform(0, 3600)) for _ in range(count)]
    interactions = Interaction.objects.bulk_create(
        Interaction(
            channel=Interaction.Channel.PHONE,
            direction=Interaction.Direction.INBOUND,
            started_at=at,
            address=f"+4930{30_000_000 + n}",
        )
        for n, at in enumerate(starts)
    )
    chosen = [rng.choice(queues) for _ in range(count)]
    calls = Call.objects.bulk_create(
        Call(
            call_id=f"{prefix}-{n}",
            direction=Call.Direction.INBOUND,
            ani=f"+4930{30_000_000 + n}",
            dnis=queue.number,
            queue=queue.name,
            status=Call.Status.QUEUED,
            interaction=interaction,
            offered_at=at,
        )
        for n, (interaction, queue, at) in enumerate(zip(interactions, chosen, starts, strict=True))
    )
    WorkItem.objects.bulk_create(
        WorkItem(
            channel=WorkItem.Channel.CALL,
            queue=queue,
            priority=queue.priority,
            call=call,
            interaction=call.interaction,
            enqueued_at=call.offered_at,
            subject=queue.name,
        )
        for call, queue in zip(calls, chosen, strict=True)
    )
    return count


def add_waiting(spec: dict[str, Any]) -> dict[str, Any]:
    """Phase 2 setup: every agent ready (idle times spread), `items` new calls waiting."""
    _django()
    import random
    from datetime import timedelta

    from django.db import transaction
    from django.utils import timezone

    from telephony.models import Agent, Queue

    rng = random.Random(spec["seed"] + 1)
    now = timezone.now()
    with transaction.atomic():
        for agent in Agent.objects.exclude(state=Agent.State.READY):
            agent.state = Agent.State.READY
            agent.state_since = now - timedelta(seconds=rng.randint(1, 600))
            agent.wrap_up_until = None
            agent.save(update_fields=["state", "state_since", "wrap_up_until"])
        queues = list(Queue.objects.all())
        waiting_calls_create(rng=rng, queues=queues, count=spec["items"], prefix="route", now=now)
    return {"ready": Agent.objects.filter(state=Agent.State.READY).count()}


def worker(spec: dict[str, Any]) -> dict[str, Any]:
    """One routing worker: its own process and connection; waits for the common start time."""
    _django()
    from django.db import connection, transaction

    from telephony import routing
    from telephony.cti.base import CallEvent
    from telephony.models import Agent, WorkItem
    from telephony.services import agent_set_state, call_event_handle
    from telephony.services.work_items import route_item

    connection.ensure_connection()
    latencies: list[float] = []
    offers: list[tuple[int, int]] = []
    errors: list[str] = []
    agents = {agent.pk: agent for agent in Agent.objects.filter(pk__in=spec["agents"])}
    items = list(spec.get("items", []))
    # A routing worker is a long-lived process: warm it up (imports, the database session's
    # catalog caches, the cached SQL texts) with one decision that is rolled back, so that
    # the figures show the steady state, not each new process's first query.
    with transaction.atomic():
        if spec["phase"] == "dispatch" and agents:
            agent_set_state(agent=Agent.objects.get(pk=next(iter(agents))), state=Agent.State.READY)
        elif items:
            item = routing.locked(WorkItem.objects.filter(pk=items[0])).first()
            if item is not None:
                route_item(item, deliver=True)
        transaction.set_rollback(True)
    from icenter.desk import push

    # ... and its push path (the sender thread and its Redis connection) with one event that
    # nobody listens to.
    push.publish(kind="agent.state", id=0, groups=["bench.warm-up"])
    push.flush(timeout=10)
    time.sleep(max(0.0, spec["start_at"] - time.time()))
    began = time.perf_counter()
    if spec["phase"] == "dispatch":
        pending = list(spec["agents"])
        while pending:
            agent = agents[pending.pop(0)]
            started = time.perf_counter()
            try:
                agent_set_state(agent=agent, state=Agent.State.READY)
            except Exception as exc:
                errors.append(repr(exc)[:300])
                continue
            latencies.append(time.perf_counter() - started)
            if agent.state != Agent.State.RINGING:
                continue  # nothing left this agent may take
            # Exactly one offered call per agent: .get() raises otherwise and the worker fails.
            item_id, call_id = (
                WorkItem.objects.filter(agent=agent, status=WorkItem.Status.OFFERED)
                .values_list("pk", "call__call_id")
                .get()
            )
            offers.append((item_id, agent.pk))
            for kind in ("answered", "ended"):
                call_event_handle(
                    event=CallEvent(kind=kind, call_id=call_id, agent=agent.extension)
                )
            pending.append(agent.pk)  # agent_set_state re-reads it under its lock
    else:
        for item_id in items:
            started = time.perf_counter()
            try:
                with transaction.atomic():
                    # The call comes along (unlocked), as it does in the PBX event that routes.
                    item = routing.locked(
                        WorkItem.objects.select_related("call").filter(
                            pk=item_id, status=WorkItem.Status.QUEUED
                        )
                    ).first()
                    given = route_item(item, deliver=True) if item is not None else None
            except Exception as exc:
                errors.append(repr(exc)[:300])
                continue
            latencies.append(time.perf_counter() - started)
            if given is not None:
                offers.append((item_id, given.pk))
    elapsed = time.perf_counter() - began
    # Pushes leave through the process's background sender (channels-redis); how long the
    # worker then waits for the last ones shows whether the sender keeps up.
    flushed = time.perf_counter()
    push.flush(timeout=30)
    flush_wait = time.perf_counter() - flushed
    connection.close()
    return {
        "latencies": latencies,
        "offers": offers,
        "errors": errors,
        "elapsed": elapsed,
        "push_flush_s": flush_wait,
    }


def count_doubles(spec: dict[str, Any]) -> dict[str, Any]:
    """Double assignments as the database records them, and what is left waiting."""
    _django()
    from django.db.models import Count

    from telephony.models import Agent, AgentStateChange, Call, WorkItem

    voice = (
        WorkItem.objects.filter(
            status__in=[WorkItem.Status.OFFERED, WorkItem.Status.ACCEPTED],
            channel__in=WorkItem.VOICE,
        )
        .values("agent")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
        .count()
    )
    calls = (
        Call.objects.filter(
            status__in=[Call.Status.RINGING, Call.Status.TALKING, Call.Status.HELD],
            agent__isnull=False,
        )
        .values("agent")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
        .count()
    )
    offered_items = WorkItem.objects.filter(offered_at__isnull=False).count()
    rang = AgentStateChange.objects.filter(state=Agent.State.RINGING).count()
    return {
        "agents_with_two_voice_items": voice,
        "agents_with_two_live_calls": calls,
        # Each offer rings one agent once: more ringing than offered items means an offer
        # was overwritten by a second one.
        "overwritten_offers": max(0, rang - offered_items),
        "still_waiting": WorkItem.objects.filter(status=WorkItem.Status.QUEUED).count(),
    }


def explain(spec: dict[str, Any]) -> dict[str, Any]:
    """EXPLAIN ANALYZE of the two routing picks, for one ready agent and one waiting item."""
    _django()
    from django.db import connection, transaction

    from telephony import routing
    from telephony.models import Agent, WorkItem

    plans: dict[str, Any] = {}
    with transaction.atomic():
        agent = Agent.objects.order_by("?").first()
        item = WorkItem.objects.filter(status=WorkItem.Status.QUEUED).order_by("?").first()
        captured: list[tuple[str, Any]] = []
        with connection.execute_wrapper(functools.partial(_keep, captured)):
            if agent is not None:
                routing.item_pick_for_agent(agent=agent)
            if item is not None:
                routing.agent_pick_for_item(item=item)
        with connection.cursor() as cursor:
            for n, (sql, params) in enumerate(captured):
                if "FOR UPDATE" not in sql:
                    continue
                cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}", params)
                plans[f"query_{n}"] = [sql, [row[0] for row in cursor.fetchall()]]
        transaction.set_rollback(True)
    return plans


def _keep(captured: list[Any], execute: Any, sql: str, params: Any, many: bool, ctx: Any) -> Any:
    captured.append((sql, params))
    return execute(sql, params, many, ctx)


# -- orchestration -----------------------------------------------------------------------------


def run_phase(env: dict[str, str], phase: str, slices: list[dict[str, Any]]) -> dict[str, Any]:
    """Start one worker process per slice at a common start time; merge their results."""
    start_at = time.time() + 3.0  # time for every worker to import Django and connect
    processes = []
    for part in slices:
        spec = {"phase": phase, "start_at": start_at, **part}
        processes.append(
            subprocess.Popen(
                [PYTHON, str(Path(__file__).resolve()), "--worker", json.dumps(spec)],
                cwd=ROOT,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                start_new_session=True,
            )
        )
    merged: dict[str, Any] = {
        "latencies": [],
        "offers": [],
        "errors": [],
        "elapsed": 0.0,
        "push_flush_s": 0.0,
    }
    for process in processes:
        out, err = process.communicate(timeout=1800)
        if process.returncode != 0:
            raise SetupError(f"a {phase} worker failed:\n{err.strip()[-3000:]}")
        result = json.loads(out.strip().splitlines()[-1])
        merged["latencies"] += result["latencies"]
        merged["offers"] += [tuple(pair) for pair in result["offers"]]
        merged["errors"] += result["errors"]
        merged["elapsed"] = max(merged["elapsed"], result["elapsed"])
        merged["push_flush_s"] = max(merged["push_flush_s"], result["push_flush_s"])
    return merged


def figures(
    phase: str,
    merged: dict[str, Any],
    doubles: dict[str, Any],
    db: str,
    layer: str,
    args: argparse.Namespace,
) -> dict[str, Any]:
    offered_items = [item for item, _ in merged["offers"]]
    twice = len(offered_items) - len(set(offered_items))
    double = (
        twice
        + doubles["agents_with_two_voice_items"]
        + doubles["agents_with_two_live_calls"]
        + doubles["overwritten_offers"]
    )
    result = {
        "bench": "acd",
        "phase": phase,
        "db": db,
        "channel_layer": layer,
        "agents": args.agents,
        "queues": args.queues,
        "items": args.items if phase == "dispatch" else args.route_items,
        "workers": args.workers,
        "decisions": len(merged["latencies"]),
        "assignments": len(merged["offers"]),
        "elapsed_s": round(merged["elapsed"], 2),
        "assignments_per_s": round(len(merged["offers"]) / merged["elapsed"], 1)
        if merged["elapsed"]
        else None,
        **summary_ms(merged["latencies"], ""),
        "double_assignments": double,
        "items_offered_twice": twice,
        **doubles,
        "push_flush_ms": round(merged["push_flush_s"] * 1000, 1),
        "errors": len(merged["errors"]),
        "target": f"p99 <= {TARGET_P99_MS:g} ms, 0 double assignments",
    }
    result["target_met"] = (
        result["p99_ms"] is not None
        and result["p99_ms"] <= TARGET_P99_MS
        and double == 0
        and not merged["errors"]
    )
    if merged["errors"]:
        result["first_error"] = merged["errors"][0]
    return result


def run(args: argparse.Namespace) -> int:
    with Stack() as stack:
        env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
        db_url = None if args.sqlite else start_postgres(stack, max_connections=50)
        if db_url:
            db = "postgresql"
            env["DATABASE_URL"] = db_url
        else:
            db = "sqlite"
            env["SQLITE_PATH"] = os.path.join(stack.base, "bench.sqlite3")
            log("no PostgreSQL binaries found (or --sqlite): using a temporary SQLite file")
        # Pushes go where production sends them: channels-redis (the in-memory layer sends
        # inline in the committing thread, as in tests).
        layer = "memory" if args.no_redis or not shutil.which("redis-server") else "redis"
        if layer == "redis":
            env["REDIS_URL"] = start_redis(stack)
        env.update(
            {
                "DJANGO_SETTINGS_MODULE": "icenter.settings",
                "DEBUG": "0",
                "SECRET_KEY": f"bench-{secrets.token_hex(16)}",
                "ALLOWED_HOSTS": "127.0.0.1,localhost",
                "ICENTER_CTI": "simulator",
                "ICENTER_CTI_TOKEN": secrets.token_hex(24),
                "LOG_LEVEL": "ERROR",
                # One plain connection per worker process, as a routing worker has.
                "DB_POOL_MAX_SIZE": "0",
                "PYTHONUNBUFFERED": "1",
            }
        )
        log(f"database: {db}, channel layer: {layer}; migrating")
        run_django(env, ["manage.py", "migrate", "--noinput"], what="migrate")
        spec = {
            "agents": args.agents,
            "queues": args.queues,
            "items": args.items,
            "skills": args.skills,
            "seed": args.seed,
        }
        out = run_django(env, [__file__, "--prepare", json.dumps(spec)], what="seeding")
        seeded = json.loads(out.strip().splitlines()[-1])
        agent_ids: list[int] = seeded["agents"]
        log(f"{len(agent_ids)} agents, {seeded['items']} waiting calls; dispatch phase")
        n = args.workers
        merged = run_phase(env, "dispatch", [{"agents": agent_ids[k::n]} for k in range(n)])
        doubles = json.loads(
            run_django(env, [__file__, "--count", "{}"], what="counting").strip().splitlines()[-1]
        )
        emit(figures("dispatch", merged, doubles, db, layer, args))

        out = run_django(
            env,
            [__file__, "--add-waiting", json.dumps({"items": args.route_items, "seed": args.seed})],
            what="adding waiting calls",
        )
        log(f"route phase: {json.loads(out.strip().splitlines()[-1])['ready']} agents ready")
        if args.explain:
            plans = run_django(env, [__file__, "--explain-json", "{}"], what="explain")
            log("EXPLAIN ANALYZE of the routing picks:\n" + _plans_text(plans))
        route_ids = json.loads(
            run_django(
                env,
                [__file__, "--route-ids", "{}"],
                what="listing waiting calls",
            )
            .strip()
            .splitlines()[-1]
        )
        merged = run_phase(
            env, "route", [{"agents": [], "items": route_ids[k::n]} for k in range(n)]
        )
        doubles = json.loads(
            run_django(env, [__file__, "--count", "{}"], what="counting").strip().splitlines()[-1]
        )
        emit(figures("route", merged, doubles, db, layer, args))
    return 0


def route_ids(spec: dict[str, Any]) -> list[int]:
    """The waiting calls of the route phase, longest waiting first."""
    _django()
    from telephony.models import WorkItem

    return list(
        WorkItem.objects.filter(status=WorkItem.Status.QUEUED, call__call_id__startswith="route-")
        .order_by("enqueued_at")
        .values_list("pk", flat=True)
    )


def _plans_text(raw: str) -> str:
    plans = json.loads(raw.strip().splitlines()[-1])
    return "\n\n".join(f"{sql}\n" + "\n".join(lines) for sql, lines in plans.values())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--agents", type=int, default=500, help="agents (default 500)")
    parser.add_argument("--queues", type=int, default=20, help="queues (default 20)")
    parser.add_argument("--items", type=int, default=5000, help="waiting calls (default 5000)")
    parser.add_argument("--skills", type=int, default=10, help="distinct skills (default 10)")
    parser.add_argument(
        "--route-items", type=int, default=500, help="calls of the route phase (default 500)"
    )
    parser.add_argument("--workers", type=int, default=4, help="routing processes (default 4)")
    parser.add_argument("--seed", type=int, default=4, help="random seed (default 4)")
    parser.add_argument(
        "--explain", action="store_true", help="log EXPLAIN ANALYZE of the routing picks"
    )
    parser.add_argument("--sqlite", action="store_true", help="use SQLite even with PostgreSQL")
    parser.add_argument(
        "--no-redis", action="store_true", help="the in-memory channel layer instead of Redis"
    )
    internal = {
        "--prepare": prepare,
        "--worker": worker,
        "--count": count_doubles,
        "--add-waiting": add_waiting,
        "--explain-json": explain,
        "--route-ids": route_ids,
    }
    for flag in internal:
        parser.add_argument(flag, metavar="JSON", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    for flag, function in internal.items():
        value = getattr(args, flag.lstrip("-").replace("-", "_"))
        if value is not None:
            print(json.dumps(function(json.loads(value))))
            return 0
    if min(args.agents, args.queues, args.items, args.workers, args.skills) < 1:
        parser.error("--agents, --queues, --items, --workers and --skills must be positive")
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
