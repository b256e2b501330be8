"""Replace a whole table by a freshly built copy, under the same name, indexes and
constraints, in the current brand schema.

Rewriting every row of a big table in place (UPDATE or INSERT … ON CONFLICT) costs an
index probe, a row lock and usually new index entries per row: an update stays HOT only
when the dead versions of the last run were pruned, which any long transaction elsewhere
in the database prevents. Filling an empty table and building its indexes afterwards is
a sequential write and a few sorts, and leaves no dead rows behind. Readers keep reading
the old table until the swap, which holds an exclusive lock only for a drop and renames.

Used by the score run (segments.scores), the only writer of CustomerScore.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from django.db import IntegrityError, connection, transaction

# How long the swap may wait for readers of the old table before the run fails (rather
# than queueing every new reader behind it).
LOCK_TIMEOUT = "10s"

_INDEX_DEF = re.compile(r"^(CREATE (?:UNIQUE )?INDEX) \S+ ON (?:ONLY )?\S+ (USING .*)$", re.DOTALL)


def _quote(name: str) -> str:
    return connection.ops.quote_name(name)


def _scratch(name: str) -> str:
    return ("next_" + name)[:63]


@contextmanager
def fresh_copy(
    table: str, *, before_swap: Callable[[Any, str], None] | None = None
) -> Iterator[str]:
    """Yield the qualified name of an empty table shaped like `table` (columns, defaults,
    NOT NULL and CHECK constraints) for the caller to fill. When the block ends, give it
    the indexes of `table`, analyze it, lock the old table, call `before_swap(cursor,
    new_table)` (a last fix-up that must see every write to the old table), add the
    constraints of `table` and swap it in. Call inside a transaction: on any error the
    old table stays as it was.

    Foreign keys are added NOT VALID: adding one keeps the referenced table from being
    written until commit, and checking every row (a join of the whole table to the
    referenced one, a second or more at 1M rows) would stretch that pause. After the
    commit, call validate_foreign_keys(table), which checks them without blocking writes."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_schema()")
        schema = _quote(cursor.fetchone()[0])
        old, new = f"{schema}.{_quote(table)}", f"{schema}.{_quote(_scratch(table))}"
        cursor.execute(f"DROP TABLE IF EXISTS {new}")
        cursor.execute(
            f"CREATE TABLE {new} (LIKE {old} INCLUDING DEFAULTS INCLUDING CONSTRAINTS "
            "INCLUDING STORAGE INCLUDING COMPRESSION)"
        )
    yield new
    with connection.cursor() as cursor:
        indexes, constraints = _definitions(cursor, old)
        # Index builds are sorts: memory for this transaction only.
        cursor.execute("SELECT set_config('maintenance_work_mem', '256MB', true)")
        # Index names are per schema: build under scratch names, rename after the drop.
        renamed_indexes: list[str] = []
        renamed_constraints: list[str] = []
        for name, kind, definition in constraints:
            if kind in ("p", "u"):
                cursor.execute(
                    f"ALTER TABLE {new} ADD CONSTRAINT {_quote(_scratch(name))} {definition}"
                )
                renamed_constraints.append(name)
        for name, definition in indexes:
            match = _INDEX_DEF.match(definition)
            if match is None:
                raise RuntimeError(f"cannot rebuild index {name}: {definition}")
            create, rest = match.groups()
            cursor.execute(f"{create} {_quote(_scratch(name))} ON {new} {rest}")
            renamed_indexes.append(name)
        cursor.execute(f"ANALYZE {new}")
        cursor.execute("SELECT set_config('lock_timeout', %s, true)", [LOCK_TIMEOUT])
        cursor.execute(f"LOCK TABLE {old} IN ACCESS EXCLUSIVE MODE")
        cursor.execute("SELECT set_config('lock_timeout', '0', true)")
        if before_swap is not None:
            before_swap(cursor, new)
        # Foreign keys last and unchecked: adding one keeps the referenced table from
        # being written until commit, so that stretch is only the swap itself.
        for name, kind, definition in constraints:
            if kind == "f":
                cursor.execute(
                    f"ALTER TABLE {new} ADD CONSTRAINT {_quote(name)} {_not_valid(definition)}"
                )
        cursor.execute(f"DROP TABLE {old}")
        cursor.execute(f"ALTER TABLE {new} RENAME TO {_quote(table)}")
        for name in renamed_constraints:  # renames the constraint's index with it
            cursor.execute(
                f"ALTER TABLE {old} RENAME CONSTRAINT {_quote(_scratch(name))} TO {_quote(name)}"
            )
        for name in renamed_indexes:
            cursor.execute(
                f"ALTER INDEX {schema}.{_quote(_scratch(name))} RENAME TO {_quote(name)}"
            )


def validate_foreign_keys(table: str) -> int:
    """Check the foreign keys of `table` (in the current brand schema) that were added NOT
    VALID, as fresh_copy adds them. VALIDATE CONSTRAINT holds no lock that blocks writes to
    either table. Rows whose referenced row was deleted since the table was filled (which
    the key would have cascaded, had it been checked) are deleted first when a check
    fails, then the check runs again (keys of one column, the only kind Django makes).
    Returns the number of rows deleted."""
    deleted = 0
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT c.conname, a.attname, c.confrelid::regclass::text, fa.attname
                 FROM pg_constraint c
                 JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
                 JOIN pg_attribute fa ON fa.attrelid = c.confrelid AND fa.attnum = c.confkey[1]
                WHERE c.conrelid = %s::regclass AND c.contype = 'f' AND NOT c.convalidated
                ORDER BY 1""",
            [_quote(table)],
        )
        for name, column, referenced, referenced_column in cursor.fetchall():
            validate = f"ALTER TABLE {_quote(table)} VALIDATE CONSTRAINT {_quote(name)}"
            try:
                with transaction.atomic():
                    cursor.execute(validate)
            except IntegrityError:
                cursor.execute(
                    f"DELETE FROM {_quote(table)} t WHERE t.{_quote(column)} IS NOT NULL AND NOT EXISTS "
                    f"(SELECT 1 FROM {referenced} r WHERE r.{_quote(referenced_column)} = t.{_quote(column)})"
                )
                deleted += cursor.rowcount
                cursor.execute(validate)
    return deleted


def _not_valid(definition: str) -> str:
    """A constraint definition as pg_get_constraintdef gives it, to be added NOT VALID."""
    return definition if definition.endswith(" NOT VALID") else f"{definition} NOT VALID"


def _definitions(
    cursor: Any, table: str
) -> tuple[list[tuple[str, str]], list[tuple[str, str, str]]]:
    """The table's indexes that no constraint owns, and its primary-key, unique and
    foreign-key constraints (CHECK and NOT NULL come along with LIKE)."""
    cursor.execute(
        """SELECT c.relname, pg_get_indexdef(i.indexrelid)
             FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
            WHERE i.indrelid = %s::regclass
              AND NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conindid = i.indexrelid)
            ORDER BY 1""",
        [table],
    )
    indexes = cursor.fetchall()
    cursor.execute(
        """SELECT conname, contype, pg_get_constraintdef(oid)
             FROM pg_constraint
            WHERE conrelid = %s::regclass AND contype IN ('p', 'u', 'f')
            ORDER BY contype DESC, conname""",
        [table],
    )
    return indexes, cursor.fetchall()
