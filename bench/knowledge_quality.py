"""Knowledge search quality: recall@1, recall@5 and MRR per query kind, as JSON lines.

Loads the evaluation articles (tests/data/knowledge_articles.json) into a fresh
database — a throwaway PostgreSQL cluster and a temporary SQLite file, since the
typo lookup differs (pg_trgm there, an edit-distance scan here) — and runs every
query of tests/data/knowledge_eval.json through the real selectors. Target:
recall@5 ≥ 0.95 for every kind.

    .venv/bin/python bench/knowledge_quality.py [--sqlite-only]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import PYTHON, ROOT, SetupError, Stack, emit, log, start_postgres


def worker(database: str) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "icenter.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from knowledge.demo import articles_read, knowledge_demo_load
    from knowledge.evaluation import evaluate, evaluation_read

    knowledge_demo_load()
    titles = {a["key"]: a["title"] for a in articles_read()["articles"]}
    report = evaluate(evaluation_read()["queries"], titles)
    for kind, figures in report.items():
        emit({"bench": "knowledge_quality", "database": database, "kind": kind, **figures})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sqlite-only", action="store_true")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        worker(args.worker)
        return 0
    code = 0
    try:
        with Stack() as stack:
            runs = [("sqlite", {"SQLITE_PATH": os.path.join(stack.base, "quality.sqlite3")})]
            if not args.sqlite_only:
                url = start_postgres(stack)
                if url is None:
                    log("PostgreSQL is not installed: SQLite only")
                else:
                    runs.append(("postgresql", {"DATABASE_URL": url, "DB_POOL_MAX_SIZE": "0"}))
            for name, extra in runs:
                log(f"evaluating on {name}")
                env = {**os.environ, "DEBUG": "1", **extra}
                if name == "sqlite":
                    env.pop("DATABASE_URL", None)
                result = subprocess.run(
                    [PYTHON, __file__, "--worker", name], cwd=ROOT, env=env, check=False
                )
                code = code or result.returncode
    except SetupError as error:
        log(str(error))
        return 2
    return code


if __name__ == "__main__":
    sys.exit(main())
