"""Benchmark: the 360° account view and the interaction history at scale.

Fills a throwaway PostgreSQL with interactions and tickets (default: 100,000 then
1,000,000 interactions, a fifth as many tickets), and times the desk screens of one busy
account as an agent with access to some customer groups — the 360° view, the first and the
50th history page, and the three cards the 360° view loads right after it — rendered
in-process through Django's test client (no network). Prints one JSON line per size with
p50/p95/p99 per screen and the number of SQL queries each screen ran; the query counts must
not grow with the data. Target: p95 <= 50 ms per screen. See bench/README.md.

    .venv/bin/python bench/history.py [--sizes 100000,1000000] [--samples 40]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    SetupError,
    Stack,
    emit,
    log,
    percentile,
    run_django,
    start_postgres,
    summary_ms,
)

TARGET_P95_MS = 50.0
BUSY_ACCOUNT_INTERACTIONS = 1200  # 60 pages of 20: the 50th page exists
ACCOUNTS = 20000
BATCH = 10000
SCREENS = (
    "view360",
    "history_page1",
    "history_page50",
    "card_systems",
    "card_reach",
    "card_duplicates",
)


def _setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "icenter.settings")
    root = str(Path(__file__).resolve().parent.parent)
    if root not in sys.path:
        sys.path.insert(0, root)
    import django

    django.setup()


def _fill(target_interactions: int) -> dict[str, Any]:
    """Grow the data to the target size (idempotent per size); the busy account first."""
    import datetime as dt
    import random

    from django.contrib.auth.models import Group, User
    from django.utils import timezone

    from accounts.models import (
        Account,
        Address,
        CustomerGroup,
        CustomerGroupAccess,
        Interaction,
        Ticket,
    )
    from telephony.models import Agent

    rng = random.Random(5)
    user, created = User.objects.get_or_create(username="bench-agent")
    if created:
        user.groups.add(Group.objects.get_or_create(name="agent")[0])
        Agent.objects.create(user=user, extension="9999")
    if not Account.objects.exists():
        # Access per customer group is on: a quarter of the accounts have no group, the rest
        # belong to three groups. The agent works on "privat" (the busy account's group), may
        # only read "gewerbe" and does not see "partner" at all, so every screen runs the
        # access filter the desk runs for an ordinary agent.
        groups = [
            CustomerGroup.objects.create(code=code, name=code.title())
            for code in ("privat", "gewerbe", "partner")
        ]
        CustomerGroupAccess.objects.create(user=user, customer_group=groups[0])
        CustomerGroupAccess.objects.create(user=user, customer_group=groups[1], read_only=True)
        group_ids: list[int | None] = [groups[0].pk, groups[1].pk, groups[2].pk, None]
        Account.objects.bulk_create(
            Account(
                name=f"Kunde {n}",
                customer_number=str(900000 + n),
                customer_group_id=group_ids[n % 4],
            )
            for n in range(ACCOUNTS)
        )
        ids = list(Account.objects.values_list("pk", flat=True))
        Address.objects.bulk_create(
            Address(account_id=pk, street="Weg 1", postcode=f"{10000 + pk % 80000}", city="Ort")
            for pk in ids
        )
        _index_accounts()  # bulk_create bypasses the signals; the duplicates card searches
    account_ids = list(Account.objects.order_by("pk").values_list("pk", flat=True))
    busy = account_ids[0]
    now = timezone.now()
    have = Interaction.objects.count()
    channels = ["phone", "email", "chat", "note", "sms"]
    while have < target_interactions:
        size = min(BATCH, target_interactions - have)
        rows = []
        for n in range(size):
            index = have + n
            account_id = busy if index < BUSY_ACCOUNT_INTERACTIONS else rng.choice(account_ids)
            rows.append(
                Interaction(
                    account_id=account_id,
                    agent=user,
                    channel=channels[index % 5],
                    direction="inbound" if index % 3 else "outbound",
                    started_at=now - dt.timedelta(minutes=index * 7 % 5_000_000),
                    subject=f"Kontakt {index}",
                    notes="Router blinkt rot" if index % 11 == 0 else "",
                    outcome="completed",
                )
            )
        Interaction.objects.bulk_create(rows, batch_size=BATCH)
        have += size
    tickets_wanted = target_interactions // 5
    tickets = Ticket.objects.count()
    while tickets < tickets_wanted:
        size = min(BATCH, tickets_wanted - tickets)
        Ticket.objects.bulk_create(
            Ticket(
                number=f"B{tickets + n:09d}",
                account_id=busy if (tickets + n) < 30 else rng.choice(account_ids),
                subject=f"Fall {tickets + n}",
                status=["new", "in_progress", "waiting", "resolved", "closed"][(tickets + n) % 5],
                created_at=now - dt.timedelta(hours=(tickets + n) % 20000),
            )
            for n in range(size)
        )
        tickets += size
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return {"user_id": user.pk, "account_id": busy}


def _index_accounts() -> None:
    """Build the account name search index (what the duplicates card searches)."""
    from django.db import transaction

    from knowledge import indexing
    from knowledge.search.engine import Rebuild

    started = time.monotonic()
    with transaction.atomic():
        rebuild = Rebuild("account")
        for batch in indexing.account_documents():
            rebuild.add(batch)
        rebuild.finish()
    log(f"indexed {rebuild.documents} accounts in {time.monotonic() - started:.0f} s")


def _measure(samples: int, prepared: dict[str, Any]) -> dict[str, Any]:
    from django.contrib.auth.models import User
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.urls import reverse

    client = Client(HTTP_HX_REQUEST="true")
    client.force_login(User.objects.get(pk=prepared["user_id"]))
    account = prepared["account_id"]
    desk = reverse("desk:desk")
    # What the desk asks for, as htmx asks for it (the workspace swapped in), and a marker
    # each answer must hold, so a screen that shows "not found" or an empty history (access
    # per customer group) is not timed as if it were the real one.
    shown = f'data-account="{account}"'
    screens = {
        "view360": (f"{desk}?account={account}", shown),
        "history_page1": (f"{desk}?view=history&account={account}&page=1", "page=2"),
        "history_page50": (f"{desk}?view=history&account={account}&page=50", "page=49"),
        # The 360° view's cards that load right after it (hx-trigger="load", in parallel).
        "card_systems": (reverse("accounts:systems_panel", args=[account]), "systems-"),
        "card_reach": (reverse("accounts:reach_panel", args=[account]), "reach-customer-"),
        "card_duplicates": (reverse("accounts:duplicates_panel", args=[account]), "duplicates-"),
    }
    figures: dict[str, Any] = {}
    for name, (url, marker) in screens.items():
        if name.startswith("card_"):
            marker = f'{marker}{account}"'  # the card's id
        first = client.get(url)  # warm caches and the connection
        if first.status_code != 200 or marker not in first.content.decode():
            raise SetupError(f"{url} answered {first.status_code} without {marker!r}")
        times = []
        cpu = []  # this process's CPU time (Django's work, not PostgreSQL's): load-independent
        for _ in range(samples):
            started, started_cpu = time.perf_counter(), time.process_time()
            response = client.get(url)
            times.append(time.perf_counter() - started)
            cpu.append(time.process_time() - started_cpu)
            if response.status_code != 200:
                raise SetupError(f"{url} answered {response.status_code}")
        with CaptureQueriesContext(connection) as queries:
            client.get(url)
        figures.update(summary_ms(times, f"{name}_"))
        cpu_p50 = percentile(cpu, 50)
        figures[f"{name}_cpu_p50_ms"] = None if cpu_p50 is None else round(cpu_p50 * 1000, 1)
        figures[f"{name}_queries"] = len(queries.captured_queries)
    return figures


def child(spec: dict[str, Any]) -> None:
    _setup_django()
    started = time.monotonic()
    prepared = _fill(spec["interactions"])
    log(f"{spec['interactions']} interactions ready after {time.monotonic() - started:.0f} s")
    print(json.dumps(_measure(spec["samples"], prepared)))


def run(args: argparse.Namespace) -> int:
    sizes = sorted({int(n) for n in str(args.sizes).split(",") if n.strip()})
    with Stack() as stack:
        env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
        db_url = start_postgres(stack)
        if db_url is None:
            log("no PostgreSQL binaries: this benchmark needs PostgreSQL")
            return 0
        env.update(
            {
                "DATABASE_URL": db_url,
                "DJANGO_SETTINGS_MODULE": "icenter.settings",
                "DEBUG": "1",
                "ALLOWED_HOSTS": "testserver,localhost,127.0.0.1",
                "LOG_LEVEL": "WARNING",
                "ICENTER_TICKER": "off",
                "ICENTER_CONNECTOR": "demo",
            }
        )
        log("migrating")
        run_django(env, ["manage.py", "migrate", "--noinput"], what="migrate")
        smaller_queries: dict[str, int] | None = None
        for size in sizes:
            spec = {"interactions": size, "samples": args.samples}
            out = run_django(
                env,
                [str(Path(__file__).resolve()), "--child", json.dumps(spec)],
                what=f"the {size} run",
                timeout=3600,
            )
            figures = json.loads(out.strip().splitlines()[-1])
            p95s = [figures[f"{screen}_p95_ms"] for screen in SCREENS]
            queries = {screen: figures[f"{screen}_queries"] for screen in SCREENS}
            # Constant query count: the same as at the smaller size of this run.
            constant = None if smaller_queries is None else queries == smaller_queries
            smaller_queries = queries
            emit(
                {
                    "bench": "history",
                    "db": "postgresql",
                    "interactions": size,
                    "tickets": size // 5,
                    "busy_account_interactions": BUSY_ACCOUNT_INTERACTIONS,
                    "samples": args.samples,
                    **figures,
                    "queries_same_as_smaller_size": constant,
                    "target": f"p95 <= {TARGET_P95_MS:g} ms per screen, constant queries",
                    "target_met": all(p is not None and p <= TARGET_P95_MS for p in p95s)
                    and constant is not False,
                }
            )
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="100000,1000000", help="interaction counts to test")
    parser.add_argument("--samples", type=int, default=40, help="timed requests per screen")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(json.loads(args.child))
        return 0
    try:
        return run(args)
    except SetupError as error:
        log(str(error))
        return 2


if __name__ == "__main__":
    sys.exit(main())
