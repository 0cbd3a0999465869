"""On PostgreSQL: pg_trgm for typo-tolerant lookups, and a prefix index on the vocabulary."""

import logging

from django.db import migrations

logger = logging.getLogger(__name__)


def create_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(
            "CREATE INDEX IF NOT EXISTS searchterm_prefix "
            "ON knowledge_searchterm (index, text varchar_pattern_ops)"
        )
        try:
            cursor.execute("SAVEPOINT knowledge_trgm")
            cursor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
            cursor.execute("RELEASE SAVEPOINT knowledge_trgm")
        except Exception as error:  # noqa: BLE001 - the search works without it, only slower
            cursor.execute("ROLLBACK TO SAVEPOINT knowledge_trgm")
            logger.warning("pg_trgm is not available (%s): typo search reads the vocabulary", error)
            return
        cursor.execute(
            "CREATE INDEX IF NOT EXISTS searchterm_trgm "
            "ON knowledge_searchterm USING gin (text gin_trgm_ops)"
        )


def drop_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("DROP INDEX IF EXISTS searchterm_trgm")
        cursor.execute("DROP INDEX IF EXISTS searchterm_prefix")


class Migration(migrations.Migration):
    dependencies = [("knowledge", "0001_initial")]

    operations = [migrations.RunPython(create_indexes, drop_indexes)]
