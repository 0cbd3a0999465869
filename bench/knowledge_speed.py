"""Knowledge and name search speed on PostgreSQL, growing to 50,000 solutions and 1,000,000 names.

Starts a throwaway PostgreSQL cluster, migrates it, and grows two collections in
steps: solutions (5,000 then 50,000: the evaluation articles plus generated
variants with their own vocabulary) and accounts (5,000, 100,000 then 1,000,000
with addresses: German first and last names, cities, streets). At each step it
rebuilds the search index (documents per second) and times the real selectors —
knowledge.selectors.solution_search / solution_search_email for the evaluation
queries and accounts.selectors.account_search for name queries — printing p50
and p95 per step as JSON lines. Target: p95 ≤ 50 ms at full size.

    .venv/bin/python bench/knowledge_speed.py [--solutions 5000,50000]
        [--names 5000,100000,1000000] [--repeat 2]
"""

# ruff: noqa: SIM905 - the name lists read better as text
from __future__ import annotations

import argparse
import os
import random
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
    start_postgres,
    summary_ms,
)

FIRST = """Anna Maria Ursula Monika Petra Elisabeth Sabine Renate Helga Karin Brigitte Ingrid Erika
Andrea Gisela Claudia Susanne Gabriele Christa Christine Hildegard Uta Jana Laura Lea Emma Mia
Hannah Sophie Lena Marie Peter Michael Thomas Andreas Wolfgang Klaus Jürgen Günter Stefan
Christian Uwe Werner Horst Frank Dieter Manfred Gerhard Hans Bernd Torsten Jan Lukas Leon Finn
Paul Jonas Felix Max Ben Noah Elias Özlem Mehmet Ayşe Ali Fatma Piotr Katarzyna""".split()
LAST = """Müller Mueller Muller Schmidt Schmitt Schmid Schneider Fischer Fisher Weber Meyer
Meier Maier Mayer Wagner Becker Bäcker Schulz Schultz Schulze Hoffmann Hofmann Schäfer Koch
Bauer Richter Klein
Wolf Schröder Neumann Schwarz Zimmermann Braun Krüger Hofmann Hartmann Lange Schmitz Werner
Schmitz Krause Meier Lehmann Köhler Herrmann König Walter Mayer Huber Kaiser Fuchs Peters Lang
Scholz Möller Weiß Weiss Jung Hahn Schubert Vogel Friedrich Keller Günther Frank Berger Winkler
Roth Beck Lorenz Baumann Franke Albrecht Schuster Simon Ludwig Böhm Winter Kraus Martin Schumacher
Krämer Vogt Stein Jäger Otto Sommer Groß Seidel Heinrich Brandt Haas Schreiber Graf Schulte
Dietrich Ziegler Kuhn Kühn Pohl Engel Horn Busch Bergmann Thomas Voigt Sauer Arnold Wolff Pfeiffer
Yılmaz Kaya Demir Nowak Kowalski""".split()
CITIES = """Berlin Hamburg München Köln Frankfurt Stuttgart Düsseldorf Leipzig Dortmund Essen Bremen
Dresden Hannover Nürnberg Duisburg Bochum Wuppertal Bielefeld Bonn Münster Mannheim Karlsruhe
Augsburg Wiesbaden Mönchengladbach Gelsenkirchen Aachen Braunschweig Kiel Chemnitz Halle Magdeburg
Freiburg Krefeld Mainz Lübeck Erfurt Oberhausen Rostock Kassel Hagen Potsdam Saarbrücken Hamm
Ludwigshafen Oldenburg Mülheim Osnabrück Leverkusen Darmstadt Heidelberg Solingen Herne Neuss
Regensburg Paderborn Ingolstadt Offenbach Würzburg Fürth Ulm Heilbronn Pforzheim Wolfsburg
Göttingen Bottrop Reutlingen Koblenz Bremerhaven Recklinghausen Erlangen Bergisch Jena Trier
Remscheid Salzgitter Moers Siegen Hildesheim Cottbus Gütersloh Kaiserslautern Witten Iserlohn
Schwerin Zwickau Gera Ratingen Lünen Hanau Marl Esslingen Velbert Minden Flensburg""".split()
STREETS = """Hauptstraße Schulstraße Gartenstraße Bahnhofstraße Dorfstraße Bergstraße Birkenweg
Lindenstraße Kirchstraße Waldstraße Ringstraße Schillerstraße Goethestraße Jahnstraße Wiesenweg
Buchenweg Mühlenweg Am Sportplatz Friedrichstraße Feldstraße Rosenweg Eichenweg Parkstraße
Poststraße Mozartstraße Industriestraße Talstraße Blumenstraße Ahornweg Kastanienallee""".split()
SYLLABLES = """ba be bi bo bu da de di do du ka ke ki ko ku la le li lo lu ma me mi mo mu
na ne ni no nu ra re ri ro ru sa se si so su ta te ti to tu wa we wi wo ber der ker ler mer ner
ster ling
berg burg dorf feld hau heim mann stein thal wald""".split()
PRODUCTS = """Router Speedport Fritzbox Receiver Mesh Repeater Tablet Smartphone Festnetz Glasfaser
Kabel Satellit Stromtarif Gastarif Wallbox Solar Smartwatch Headset Modem Kamera""".split()


def pseudo_word(rng: random.Random) -> str:
    return "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4))).capitalize()


# -- the worker (inside Django) ---------------------------------------------------------------


def worker(args: argparse.Namespace) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "icenter.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from knowledge.demo import articles_read, knowledge_demo_load

    knowledge_demo_load()
    articles = articles_read()["articles"]
    from knowledge.evaluation import evaluation_read

    evaluation = evaluation_read()
    rng = random.Random(20261124)
    for size in [int(s) for s in args.solutions.split(",") if s]:
        _grow_solutions(size, articles, rng)
        docs_per_s = _rebuild("solution")
        _time_solutions(size, evaluation["queries"], docs_per_s, args.repeat)
    for size in [int(s) for s in args.names.split(",") if s]:
        _grow_accounts(size, rng)
        docs_per_s = _rebuild("account")
        _time_names(size, evaluation["names"], docs_per_s, args.repeat, rng)


def _grow_solutions(size: int, articles: list[dict[str, Any]], rng: random.Random) -> None:
    from knowledge.models import Category, Solution

    have = Solution.objects.count()
    if have >= size:
        return
    log(f"solutions: {have} -> {size}")
    categories = list(Category.objects.all())
    vocabulary = [pseudo_word(rng) for _ in range(20000)]
    batch: list[Solution] = []
    for number in range(have, size):
        base, other = rng.choice(articles), rng.choice(articles)
        product = rng.choice(PRODUCTS)
        model = f"{rng.choice(vocabulary)} {rng.randint(100, 9999)}"
        words = " ".join(rng.choice(vocabulary) for _ in range(rng.randint(8, 25)))
        title = f"{product} {model}: {base['title']} ({rng.choice(vocabulary)})"
        body = f"<p>{words}.</p>{base['body']}<p>{other['problems'][0]}: {words[:80]}</p>"
        batch.append(
            Solution(
                title=title[:200],
                body=body,
                language=base["language"],
                category=rng.choice(categories),
                status=Solution.Status.RELEASED,
                is_public=True,
                usage_count=rng.randint(0, 50),
            )
        )
        if len(batch) == 5000 or number == size - 1:
            Solution.objects.bulk_create(batch)
            batch = []


def _grow_accounts(size: int, rng: random.Random) -> None:
    from accounts.models import Account, Address

    have = Account.objects.count()
    if have >= size:
        return
    log(f"accounts: {have} -> {size}")
    rare = [pseudo_word(rng) for _ in range(30000)]
    number = 1_000_000 + have
    while have < size:
        count = min(10000, size - have)
        accounts = []
        for _ in range(count):
            first = rng.choice(FIRST)
            last = rng.choice(LAST) if rng.random() < 0.7 else rng.choice(rare)
            number += 1
            accounts.append(
                Account(
                    customer_number=str(number),
                    name=f"{first} {last}",
                    first_name=first,
                    last_name=last,
                )
            )
        created = Account.objects.bulk_create(accounts)
        Address.objects.bulk_create(
            Address(
                account=account,
                street=f"{rng.choice(STREETS)} {rng.randint(1, 199)}",
                postcode=f"{rng.randint(1000, 99999):05d}",
                city=rng.choice(CITIES),
            )
            for account in created
        )
        have += count
        if have % 100000 == 0:
            log(f"  {have} accounts")


def _rebuild(index: str) -> float:
    from django.db import transaction

    from knowledge import indexing
    from knowledge.search.engine import Rebuild

    documents = indexing.solution_documents if index == "solution" else indexing.account_documents
    started = time.monotonic()
    with transaction.atomic():
        rebuild = Rebuild(index)
        for batch in documents():
            rebuild.add(batch)
        rebuild.finish()
    seconds = time.monotonic() - started
    log(f"indexed {rebuild.documents} {index} documents in {seconds:.1f} s")
    return round(rebuild.documents / seconds, 1)


def _timed(call: Any, repeat: int) -> list[float]:
    call()  # warm-up: caches, plans
    durations = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        durations.append(time.perf_counter() - started)
    return durations


def _time_solutions(
    size: int, queries: list[dict[str, str]], docs_per_s: float, repeat: int
) -> None:
    from knowledge import selectors

    durations: list[float] = []
    emails: list[float] = []
    for item in queries:
        text = item["query"]
        if item["kind"] == "emails":
            emails += _timed(
                lambda: selectors.solution_search_email(body=text),  # noqa: B023
                repeat,
            )
        else:
            durations += _timed(lambda: selectors.solution_search(query=text), repeat)  # noqa: B023
    emit(
        {
            "bench": "knowledge_speed",
            "search": "knowledge",
            "documents": size,
            "queries": len(durations),
            **summary_ms(durations, ""),
            **summary_ms(emails, "email_"),
            "index_docs_per_s": docs_per_s,
        }
    )


def _time_names(
    size: int, names: list[dict[str, Any]], docs_per_s: float, repeat: int, rng: random.Random
) -> None:
    from django.contrib.auth import get_user_model

    from accounts.selectors import account_search

    # A manager sees every account (no customer group filter), like the unknown-caller panel.
    user = get_user_model()(username="bench", is_superuser=True, is_active=True)
    queries = [item["query"] for item in names]
    queries += [rng.choice(LAST) for _ in range(60)]
    queries += [f"{rng.choice(LAST)} {rng.choice(CITIES)}" for _ in range(40)]
    queries += [f"{rng.choice(FIRST)} {rng.choice(LAST)}" for _ in range(40)]
    durations: list[float] = []
    for query in queries:
        durations += _timed(lambda q=query: account_search(query=q, user=user, limit=20), repeat)
    emit(
        {
            "bench": "knowledge_speed",
            "search": "names",
            "documents": size,
            "queries": len(queries),
            **summary_ms(durations, ""),
            "index_docs_per_s": docs_per_s,
        }
    )


# -- the driver -------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--solutions", default="5000,50000")
    parser.add_argument("--names", default="5000,100000,1000000")
    parser.add_argument("--repeat", type=int, default=2, help="timed runs per query (default 2)")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        worker(args)
        return 0
    import subprocess

    try:
        with Stack() as stack:
            url = start_postgres(stack)
            if url is None:
                raise SetupError("PostgreSQL is not installed: this benchmark needs it")
            env = {**os.environ, "DATABASE_URL": url, "DEBUG": "1", "DB_POOL_MAX_SIZE": "0"}
            command = [PYTHON, __file__, "--worker", "--solutions", args.solutions]
            command += ["--names", args.names, "--repeat", str(args.repeat)]
            return subprocess.run(command, cwd=ROOT, env=env, check=False).returncode
    except SetupError as error:
        log(str(error))
        return 2


if __name__ == "__main__":
    sys.exit(main())
