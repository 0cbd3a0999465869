"""manage.py rebuild_search_index: refill the knowledge and name search indexes from scratch."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction
from tqdm import tqdm

from accounts.models import Account
from knowledge import indexing
from knowledge.models import Solution
from knowledge.search.engine import Rebuild


class Command(BaseCommand):
    help = (
        "Rebuild the search indexes (solutions and customer names) from the database, "
        "with a progress bar. Needed after bulk loads that bypass saving one by one."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--only",
            choices=[indexing.SOLUTION_INDEX, indexing.ACCOUNT_INDEX],
            help="rebuild only this index",
        )
        parser.add_argument("--no-progress", action="store_true", help="no progress bar")

    def handle(self, *args: Any, **options: Any) -> None:
        jobs = [
            (indexing.SOLUTION_INDEX, Solution.objects.count, indexing.solution_documents),
            (indexing.ACCOUNT_INDEX, Account.objects.count, indexing.account_documents),
        ]
        for name, count, documents in jobs:
            if options["only"] and options["only"] != name:
                continue
            started = time.monotonic()
            with transaction.atomic():
                rebuild = Rebuild(name)
                with tqdm(
                    total=count(),
                    unit="doc",
                    desc=name,
                    disable=options["no_progress"],
                    file=self.stderr,
                ) as bar:
                    for batch in documents():
                        rebuild.add(batch)
                        bar.update(len(batch))
                rebuild.finish()
            seconds = max(time.monotonic() - started, 1e-6)
            self.stdout.write(
                f"{name}: {rebuild.documents} documents in {seconds:.1f} s "
                f"({rebuild.documents / seconds:.0f} documents/s)"
            )
