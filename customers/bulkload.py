"""Suspend a table's index and foreign-key upkeep during a big load, rebuild it after.

Per-row index maintenance (a trigram GIN entry per name or identity value above all) and
per-row foreign-key triggers cost more than the COPY that loads the rows. For a load at
least as big as what the tables already hold, dropping the secondary indexes and foreign
keys first and recreating them at the end, in the same transaction, is several times
faster: a CREATE INDEX is one sort, an ADD FOREIGN KEY one join. Recreating re-validates
every constraint, so a bad row still fails the whole load.

The price: DROP INDEX takes an ACCESS EXCLUSIVE lock on each table until the transaction
ends, so the brand's other readers and writers of those tables (the customer list and
search, profiles, ingestion) wait until the load commits; other brands (other schemas)
are not affected. Callers use it only for loads big enough to be worth that, and can ask
to give up (and load the slow way) when the lock is not granted quickly.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from django.db import OperationalError, connection, transaction


@contextmanager
def suspended_upkeep(
    tables: Sequence[str], *, enabled: bool = True, keep_unique: bool = False,
    lock_timeout_ms: int | None = None,
) -> Iterator[bool]:
    """Drop `tables`' secondary indexes and foreign keys (and unique constraints unless
    `keep_unique`: an INSERT … ON CONFLICT needs its arbiter index); recreate them exactly
    as they were when the block ends. Yields whether it did: with `lock_timeout_ms`, a
    table lock not granted in that time leaves everything in place (yields False).
    Primary keys always stay."""
    if not enabled or not tables:
        yield False
        return
    with connection.cursor() as cursor:
        # DDL is refused while deferred FK checks from earlier writes in this transaction
        # are pending: run them now, then return to Django's deferred default.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        if lock_timeout_ms is not None and not _locked(cursor, tables, lock_timeout_ms):
            yield False
            return
        constraints, indexes = _upkeep_of(cursor, tables, keep_unique=keep_unique)
        qn = connection.ops.quote_name
        for table, name, _definition in reversed(constraints):
            cursor.execute(f"ALTER TABLE {table} DROP CONSTRAINT {qn(name)}")
        for index, _definition in indexes:
            cursor.execute(f"DROP INDEX {index}")
    yield True
    with connection.cursor() as cursor:
        # Index builds are sorts: give them memory, for this transaction only.
        cursor.execute("SELECT set_config('maintenance_work_mem', '512MB', true)")
        for _index, definition in indexes:
            cursor.execute(definition)
        for table, name, definition in constraints:
            cursor.execute(f"ALTER TABLE {table} ADD CONSTRAINT {qn(name)} {definition}")


@contextmanager
def suspended_unique_constraints(table: str) -> Iterator[None]:
    """Drop `table`'s unique constraints for a block that inserts rows known to be unique,
    and add them back after it, exactly as they were: one index build instead of a lookup
    and an insertion per row. Only for a caller holding the table exclusively (within
    `suspended_upkeep`), whose block uses no ON CONFLICT on them."""
    qn = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint"
            " WHERE conrelid = %s::regclass AND contype = 'u' ORDER BY conname",
            [table],
        )
        constraints = cursor.fetchall()
        for name, _definition in constraints:
            cursor.execute(f"ALTER TABLE {table} DROP CONSTRAINT {qn(name)}")
    yield
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config('maintenance_work_mem', '512MB', true)")
        for name, definition in constraints:
            cursor.execute(f"ALTER TABLE {table} ADD CONSTRAINT {qn(name)} {definition}")


def _locked(cursor, tables: Sequence[str], timeout_ms: int) -> bool:  # noqa: ANN001
    """Take the exclusive locks the drops need, waiting at most timeout_ms (readers that
    arrive meanwhile queue behind us, so the wait is kept short)."""
    cursor.execute("SELECT current_setting('lock_timeout')")
    previous = cursor.fetchone()[0]
    try:
        with transaction.atomic():  # a savepoint: a refused lock leaves the transaction usable
            cursor.execute("SELECT set_config('lock_timeout', %s, true)", [f"{int(timeout_ms)}ms"])
            cursor.execute(f"LOCK TABLE {', '.join(tables)} IN ACCESS EXCLUSIVE MODE")
    except OperationalError:
        return False
    finally:
        cursor.execute("SELECT set_config('lock_timeout', %s, true)", [previous])
    return True


def _upkeep_of(
    cursor, tables: Sequence[str], *, keep_unique: bool,  # noqa: ANN001
) -> tuple[list[tuple[str, str, str]], list[tuple[str, str]]]:
    """(table, name, definition) of the constraints to drop, unique ones first (foreign
    keys may need them); (index, definition) of the indexes no constraint owns."""
    cursor.execute(
        """
        SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid)
          FROM pg_constraint
         WHERE conrelid = ANY(%s::regclass[]) AND contype = ANY(%s)
         ORDER BY contype DESC, conname
        """,
        [list(tables), ["f"] if keep_unique else ["f", "u"]],
    )
    constraints = cursor.fetchall()
    cursor.execute(
        """
        SELECT indexrelid::regclass::text, pg_get_indexdef(indexrelid)
          FROM pg_index
         WHERE indrelid = ANY(%s::regclass[]) AND NOT indisprimary AND NOT (indisunique AND %s)
           AND NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conindid = indexrelid)
        """,
        [list(tables), keep_unique],
    )
    return constraints, cursor.fetchall()
