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

from django.db import connection

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
    new_table)` (a last fix-up that must see every write to the old table), add and
    validate the constraints of `table`, and swap it in. Call inside a transaction: on any error the old
    table stays as it was."""
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
        # Foreign keys last: adding one keeps the referenced table from being written
        # until commit, so that stretch is only their validation and the swap.
        for name, kind, definition in constraints:
            if kind == "f":
                cursor.execute(f"ALTER TABLE {new} ADD CONSTRAINT {_quote(name)} {definition}")
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
