"""Search speed: no separate index on SearchPosting.term (the unique (term, doc_id) index
serves) and no foreign key constraint (checking it at commit for millions of postings made a
rebuild slow), and on PostgreSQL the trigram and prefix indexes of the vocabulary per search
index and without the words that are only digits (customer numbers, postcodes), which a
typo or prefix lookup never asks for."""

import django.db.models.deletion
from django.db import migrations, models

# The search indexes of knowledge/indexing.py (SOLUTION_INDEX, ACCOUNT_INDEX).
INDEXES = ("solution", "account")
WORDS = "text !~ '^[0-9]+$'"


def create_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("DROP INDEX IF EXISTS searchterm_prefix")
        cursor.execute(
            "CREATE INDEX IF NOT EXISTS searchterm_prefix_words "
            f"ON knowledge_searchterm (index, text varchar_pattern_ops) WHERE {WORDS}"
        )
        cursor.execute("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'")
        if cursor.fetchone() is None:
            return
        cursor.execute("DROP INDEX IF EXISTS searchterm_trgm")
        for index in INDEXES:
            cursor.execute(
                f"CREATE INDEX IF NOT EXISTS searchterm_trgm_{index} "
                "ON knowledge_searchterm USING gin (text gin_trgm_ops) "
                f"WHERE index = '{index}' AND {WORDS}"
            )


def drop_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        for index in INDEXES:
            cursor.execute(f"DROP INDEX IF EXISTS searchterm_trgm_{index}")
        cursor.execute("DROP INDEX IF EXISTS searchterm_prefix_words")
        cursor.execute(
            "CREATE INDEX IF NOT EXISTS searchterm_prefix "
            "ON knowledge_searchterm (index, text varchar_pattern_ops)"
        )
        cursor.execute("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'")
        if cursor.fetchone() is not None:
            cursor.execute(
                "CREATE INDEX IF NOT EXISTS searchterm_trgm "
                "ON knowledge_searchterm USING gin (text gin_trgm_ops)"
            )


class Migration(migrations.Migration):
    dependencies = [("knowledge", "0003_solution_links_proposals")]

    operations = [
        migrations.AlterField(
            model_name="searchposting",
            name="term",
            field=models.ForeignKey(
                db_constraint=False,
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="postings",
                to="knowledge.searchterm",
            ),
        ),
        migrations.RunPython(create_indexes, drop_indexes),
    ]
