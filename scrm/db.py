"""Set-based statements with server-side binding and binary parameters.

Django's psycopg backend binds client-side: every parameter is turned into an SQL
literal in Python. For the pipeline's `unnest(%s::text[], …)` statements that means a
regex escape per array element (tens of thousands a batch), a large share of a batch's
CPU. `fetch_bound` / `execute_bound` send the same statement with the parameters bound by
the server in binary (no quoting), on Django's connection (its transaction, its tenant
search_path). They are recorded in `connection.queries` like any other statement, so
CaptureQueriesContext and the debug log still see them.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

import psycopg
from django.db import DEFAULT_DB_ALIAS, connection, connections, models


def fetch_bound(sql: str, params: Sequence[Any] | Mapping[str, Any]) -> list[tuple[Any, ...]]:
    """Rows of one statement (placeholders %b or %(name)b: binary)."""
    return _run(sql, params, fetch=True)[0]


def execute_bound(sql: str, params: Sequence[Any] | Mapping[str, Any]) -> int:
    """Row count of one statement (placeholders %b or %(name)b: binary)."""
    return _run(sql, params, fetch=False)[1]


def _run(sql: str, params: Sequence[Any] | Mapping[str, Any], *, fetch: bool) -> tuple[list[tuple[Any, ...]], int]:
    with connection.cursor() as django_cursor:  # opens the connection, sets the brand's search_path
        started = time.monotonic()
        with psycopg.Cursor(django_cursor.cursor.connection) as cursor:
            cursor.execute(sql, params)
            rows = cursor.fetchall() if fetch else []
            count = cursor.rowcount
        if connection.queries_logged:
            connection.queries_log.append({"sql": sql, "time": f"{time.monotonic() - started:.3f}"})
    return rows, count


def insert_unnest(objs: Sequence[Any], *, ignore_conflicts: bool = False) -> None:
    """INSERT model instances (all of one model, pk from the database) as one
    INSERT … SELECT FROM unnest of binary arrays: `bulk_create` without its per-value
    literal quoting. Values are the instances' own (their field defaults included, and
    auto_now / auto_now_add filled in by `pre_save`, as bulk_create does).
    `ignore_conflicts`: rows that would break a unique constraint are skipped."""
    if not objs:
        return
    model = type(objs[0])
    fields = [field for field in model._meta.concrete_fields if not field.primary_key]
    quote = connection.ops.quote_name
    columns = ", ".join(quote(field.column) for field in fields)
    arrays = ", ".join(f"%b::{field.db_type(connection)}[]" for field in fields)
    params = [_column([field.pre_save(obj, True) for obj in objs], field) for field in fields]
    conflicts = " ON CONFLICT DO NOTHING" if ignore_conflicts else ""
    execute_bound(f"INSERT INTO {quote(model._meta.db_table)} ({columns}) SELECT * FROM unnest({arrays}){conflicts}", params)


def update_unnest(objs: Sequence[Any], names: Sequence[str]) -> int:
    """UPDATE the named fields of model instances (all of one model, saved before) in one
    UPDATE … FROM unnest of binary arrays. Django's `bulk_update` builds a CASE per field
    and row in Python, which cost most of an ingest batch at hundreds of rows × 20 fields."""
    if not objs:
        return 0
    model = type(objs[0])
    fields = [model._meta.get_field(name) for name in names]
    quote = connection.ops.quote_name
    columns = [quote(field.column) for field in fields]
    casts = [f"%b::{field.db_type(connection)}[]" for field in fields]
    pk = model._meta.pk
    sql = (
        f"UPDATE {quote(model._meta.db_table)} t SET "
        + ", ".join(f"{column} = u.{column}" for column in columns)
        + f" FROM unnest(%b::{pk.db_type(connection)}[], {', '.join(casts)}) AS u(pk__, {', '.join(columns)})"
        + f" WHERE t.{quote(pk.column)} = u.pk__"
    )
    params: list[list[object]] = [[obj.pk for obj in objs]]
    params += [_column([getattr(obj, field.attname) for obj in objs], field) for field in fields]
    return execute_bound(sql, params)


# Fields whose database value is the Python value itself (psycopg adapts it): their
# get_db_prep_save per value (and the connection proxy lookups under it) was a large
# share of a batch. Exact types only: a subclass may convert.
_AS_IS = {
    models.CharField, models.TextField, models.EmailField, models.SlugField, models.URLField, models.BooleanField,
    models.IntegerField, models.BigIntegerField, models.SmallIntegerField, models.PositiveIntegerField,
    models.PositiveSmallIntegerField, models.PositiveBigIntegerField, models.FloatField, models.ForeignKey,
    models.OneToOneField,
}


def _column(values: list[Any], field: models.Field) -> list[Any]:
    """The database values of one field for a column of instances."""
    kind = type(field)
    if kind in _AS_IS:
        return values
    if kind is models.DateTimeField and all(value is None or value.tzinfo is not None for value in values):
        return values  # aware datetimes are stored as they are
    real = connections[DEFAULT_DB_ALIAS]
    return [field.get_db_prep_save(value, real) for value in values]
