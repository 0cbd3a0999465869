"""Write the rows of one routing step together: one round trip on PostgreSQL.

A routing decision changes five rows (work item, call, interaction, agent, state history);
one statement per row costs five round trips to the database inside the transaction that
holds the locks. On PostgreSQL `rows_save` sends them as one statement of data-modifying
CTEs (each part runs exactly once, all against the same snapshot; the rows are distinct);
elsewhere it saves row by row. Either way it checks, as `save(update_fields=…)` does, that
every updated row exists. Like `QuerySet.update`, it sends no model signals (the telephony
models and the interaction have no receivers); `auto_now` fields are set as `save` would.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

from django.db import DatabaseError, connection
from django.db.models import Field, Model


def rows_save(
    *, updates: Sequence[tuple[Model, Sequence[str]]], inserts: Sequence[Model] = ()
) -> None:
    """Save the named fields of existing rows and insert new rows, in one statement if possible.

    `updates` are (instance, field names); the instances' pk must be set. Inserted rows get no
    primary key back on PostgreSQL (nothing here needs one).
    """
    changed = [(instance, tuple(fields)) for instance, fields in updates if fields]
    if not changed and not inserts:
        return
    if connection.vendor != "postgresql":
        for instance, fields in changed:
            instance.save(update_fields=fields)
        by_model: dict[type[Model], list[Model]] = {}
        for row in inserts:
            by_model.setdefault(type(row), []).append(row)
        for model, rows in by_model.items():
            model._default_manager.bulk_create(rows)
        return
    parts: list[str] = []
    params: list[Any] = []
    for instance, fields in changed:
        sql, concrete = _update_sql(type(instance), fields)
        parts.append(sql)
        params += [f.get_db_prep_save(f.pre_save(instance, False), connection) for f in concrete]
        params.append(instance.pk)
    inserted: dict[type[Model], list[Model]] = {}
    for row in inserts:
        inserted.setdefault(type(row), []).append(row)
    for model, rows in inserted.items():
        sql, concrete = _insert_sql(model, len(rows))
        parts.append(sql)
        for row in rows:
            params += [f.get_db_prep_save(f.pre_save(row, True), connection) for f in concrete]
    # Table and column names come from the models; every value is a parameter.
    ctes = ", ".join(f"w{n} AS ({part} RETURNING 1)" for n, part in enumerate(parts))
    counts = ", ".join(f"(SELECT count(*) FROM w{n})" for n in range(len(parts)))  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(f"WITH {ctes} SELECT {counts}", params)
        row_counts = cursor.fetchone()
    for (instance, _fields), count in zip(changed, row_counts, strict=False):
        if count != 1:
            raise DatabaseError(f"{type(instance).__name__} {instance.pk}: no row to update.")


@functools.cache
def _update_sql(model: type[Model], fields: tuple[str, ...]) -> tuple[str, list[Field[Any, Any]]]:
    concrete = [_concrete(model, name) for name in fields]
    quote = connection.ops.quote_name
    assignments = ", ".join(f"{quote(_column(f))} = %s" for f in concrete)
    table, pk = quote(model._meta.db_table), quote(_column(model._meta.pk))
    return f"UPDATE {table} SET {assignments} WHERE {pk} = %s", concrete  # noqa: S608


@functools.cache
def _insert_sql(model: type[Model], count: int) -> tuple[str, list[Field[Any, Any]]]:
    concrete = [f for f in model._meta.concrete_fields if not f.primary_key]
    quote = connection.ops.quote_name
    columns = ", ".join(quote(_column(f)) for f in concrete)
    row = "(" + ", ".join(["%s"] * len(concrete)) + ")"
    values = ", ".join([row] * count)
    table = quote(model._meta.db_table)
    return f"INSERT INTO {table} ({columns}) VALUES {values}", concrete  # noqa: S608


def _column(field: Field[Any, Any]) -> str:
    if field.column is None:
        raise ValueError(f"{field} has no column")
    return field.column


def _concrete(model: type[Model], name: str) -> Field[Any, Any]:
    field = model._meta.get_field(name)
    if not isinstance(field, Field) or not field.concrete:
        raise ValueError(f"{model.__name__}.{name} is not a column")
    return field
