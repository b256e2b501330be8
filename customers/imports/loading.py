"""Load validated rows set-wise: COPY a chunk into a temporary staging table, then a
fixed handful of statements per chunk, whatever its size (never one query per row).

Per chunk of customers: duplicates within the file (against earlier chunks and inside
the chunk, found in Python before staging: customers.imports.duplicates; the rows they
reject are not staged) → match existing customers by email, phone and
member ID (rows whose identities point at two customers are rejected, not merged) →
insert new customers with ids drawn from the sequence → update matched ones (values in
the file win, empty cells keep what we had) → identities → tags. Orders: duplicates in
the file and in the database by order number → customer by member ID, email or phone
(unknown ones rejected, or created when the job says so) → insert; at the end the
affected customers' aggregates are refreshed once. Rows the database rejects come back with a reason code; the
caller writes them to the error report. The temporary tables live for the transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connection
from psycopg.types.json import Jsonb

from customers.bulkload import suspended_unique_constraints
from customers.imports.duplicates import FirstRows, find_duplicates
from customers.imports.mapping import ATTRIBUTE_PREFIX, IDENTITY_FIELDS
from customers.models import Customer, CustomerTag, Identity, ImportJob, Order, Tag
from customers.services import refresh_customer_aggregates

DEFAULT_TAG_COLOR = "#6b7280"
# From this many rows an import into tables holding no more than that suspends their
# index and foreign-key upkeep (customers.bulkload), as the generator does.
BULK_ROWS = 50_000
IMPORT_SOURCE = "import"


@dataclass(frozen=True)
class RowError:
    row_no: int
    code: str  # duplicate, conflict, order_exists, unknown_customer
    column: str  # the field key it concerns
    detail: str  # the earlier row number, or the customer ids


@dataclass
class ChunkResult:
    imported: int
    errors: list[RowError]


def _tables() -> dict[str, str]:
    qn = connection.ops.quote_name
    return {
        "customer": qn(Customer._meta.db_table),
        "identity": qn(Identity._meta.db_table),
        "tag": qn(Tag._meta.db_table),
        "customertag": qn(CustomerTag._meta.db_table),
        "order": qn(Order._meta.db_table),
    }


_CUSTOMER_STAGE = """
CREATE TEMP TABLE import_stage (
    row_no bigint PRIMARY KEY,
    display_name text, email text, phone text, member_id text, gender text, birthday date,
    city text, province text, country text, locale text, tags text[], attributes jsonb,
    customer_id bigint DEFAULT nextval({sequence}::regclass), is_new boolean NOT NULL DEFAULT true,
    error text, error_column text, error_detail text
) ON COMMIT DROP
"""
# Staged columns and their types: the chunk is COPYed in binary (no text to format and
# parse on either side).
_CUSTOMER_COLUMNS = {
    "row_no": "int8", "display_name": "text", "email": "text", "phone": "text", "member_id": "text",
    "gender": "text", "birthday": "date", "city": "text", "province": "text", "country": "text",
    "locale": "text", "tags": "text[]", "attributes": "jsonb",
}

_ORDER_STAGE = """
CREATE TEMP TABLE import_stage (
    row_no bigint PRIMARY KEY,
    external_id text, ordered_at timestamptz, amount numeric(14, 2), currency text, status text,
    channel text, store text, member_id text, email text, phone text, display_name text,
    customer_id bigint, is_new boolean NOT NULL DEFAULT false,
    error text, error_column text, error_detail text
) ON COMMIT DROP
"""
_ORDER_COLUMNS = {
    "row_no": "int8", "external_id": "text", "ordered_at": "timestamptz", "amount": "numeric",
    "currency": "text", "status": "text", "channel": "text", "store": "text", "member_id": "text",
    "email": "text", "phone": "text", "display_name": "text",
}

class Loader:
    """Stages and loads chunks for one import, inside the caller's transaction."""

    def __init__(self, *, kind: str, options: Any, actor_id: int | None, now: datetime) -> None:
        self.kind = kind
        self.options = options
        self.actor_id = actor_id
        self.now = now
        self.t = _tables()
        self.keys: list[str] = ["external_id"] if kind == ImportJob.Kind.ORDERS else list(IDENTITY_FIELDS)
        self.identity_keys: list[str] = list(IDENTITY_FIELDS)
        self.analyzed = False
        self.first_rows = FirstRows()
        self.affected: set[int] = set()  # customers whose orders changed
        self.held_back = False  # identities waiting in import_identities (bulk mode)
        # Set by the caller while it holds the tables exclusively (bulk mode).
        self.exclusive = False
        with connection.cursor() as cursor:
            cursor.execute("DROP TABLE IF EXISTS import_stage")
            if kind == ImportJob.Kind.ORDERS:
                cursor.execute(_ORDER_STAGE)
            else:
                # New customers' ids are drawn as rows are staged (a row that turns out to
                # match a customer leaves a gap in the sequence, as a rollback would).
                cursor.execute("SELECT quote_literal(pg_get_serial_sequence(%s, 'id'))", [Customer._meta.db_table])
                cursor.execute(_CUSTOMER_STAGE.replace("{sequence}", cursor.fetchone()[0]))

    def load(self, row_nos: list[int], columns: dict[str, list[Any]], *, last: bool = False) -> ChunkResult:
        """Load clean rows given column-wise: their row numbers, and field key → values
        (None for an empty cell), aligned; returns what went in and what did not. After
        the `last` chunk no later row needs to know its keys were seen."""
        if not row_nos:
            return ChunkResult(0, [])
        # Statements for identity kinds the chunk has no value of would find nothing.
        self.identity_keys = [key for key in IDENTITY_FIELDS if any(v is not None for v in columns.get(key, ()))]
        if self.kind == ImportJob.Kind.CUSTOMERS:
            self.keys = self.identity_keys
        duplicates = find_duplicates(self.first_rows, self.keys, row_nos, columns, remember=not last)
        errors = [RowError(row_nos[i], "duplicate", key, str(first)) for i, (key, first) in duplicates.items()]
        staged_row_nos, staged = row_nos, columns
        if duplicates:
            kept = [i for i in range(len(row_nos)) if i not in duplicates]
            staged_row_nos = [row_nos[i] for i in kept]
            staged = {key: [column[i] for i in kept] for key, column in columns.items()}
        if not staged_row_nos:
            return ChunkResult(0, sorted(errors, key=lambda error: error.row_no))
        with connection.cursor() as cursor:
            cursor.execute("TRUNCATE import_stage")
            self._copy(cursor, staged_row_nos, staged)
            if not self.analyzed:
                # The first chunk's statistics hold for the rest of the same file; only the
                # columns statements join or filter on need them.
                keys = ", ".join(dict.fromkeys(["row_no", *self.keys, *IDENTITY_FIELDS, "customer_id", "is_new", "error"]))
                cursor.execute(f"ANALYZE import_stage ({keys})")
                self.analyzed = True
            if self.kind == ImportJob.Kind.ORDERS:
                self._load_orders(cursor)
            else:
                self._load_customers(cursor)
            cursor.execute(
                "SELECT row_no, error, error_column, coalesce(error_detail, '') FROM import_stage"
                " WHERE error IS NOT NULL ORDER BY row_no"
            )
            errors += [RowError(*row) for row in cursor.fetchall()]
            errors.sort(key=lambda error: error.row_no)
            if self.kind == ImportJob.Kind.ORDERS:
                cursor.execute("SELECT DISTINCT customer_id FROM import_stage WHERE error IS NULL")
                self.affected.update(row[0] for row in cursor.fetchall())
        return ChunkResult(len(row_nos) - len(errors), errors)

    def bulk_tables(self, rows: int) -> list[str]:
        """The tables whose index and foreign-key upkeep an import of `rows` rows should
        suspend (see customers.bulkload): none below BULK_ROWS, nor when the tables
        already hold more rows than the file (rebuilding would cost more than it saves)."""
        if rows < BULK_ROWS:
            return []
        model = Order if self.kind == ImportJob.Kind.ORDERS else Customer
        if self.kind == ImportJob.Kind.ORDERS and self.options.create_customers:
            return []  # its customers, identities and orders are loaded in many small rounds
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT count(*) FROM (SELECT 1 FROM {self.t[model._meta.model_name]} LIMIT %s) held", [rows + 1])
            if cursor.fetchone()[0] > rows:
                return []
        if model is Order:
            return [self.t["order"]]
        return [self.t["customer"], self.t["identity"], self.t["customertag"]]

    def finish(self) -> None:
        """Refresh the aggregates of every customer the orders touched, once at the end
        (per chunk would re-aggregate a busy customer's orders again and again)."""
        if self.kind == ImportJob.Kind.ORDERS and self.affected:
            refresh_customer_aggregates(customer_ids=self.affected, now=self.now)

    # --- staging -----------------------------------------------------------------------

    def _copy(self, cursor: Any, row_nos: list[int], columns: dict[str, list[Any]]) -> None:
        types = _ORDER_COLUMNS if self.kind == ImportJob.Kind.ORDERS else _CUSTOMER_COLUMNS
        empty = [None] * len(row_nos)
        data = [row_nos]
        for name in list(types)[1:]:
            if name == "attributes":
                data.append(_attributes(columns, len(row_nos)))
            else:
                data.append(columns.get(name) or empty)
        with cursor.copy(f"COPY import_stage ({', '.join(types)}) FROM STDIN (FORMAT BINARY)") as copy:
            copy.set_types(list(types.values()))
            for record in zip(*data, strict=True):
                copy.write_row(record)

    def _match_existing(self, cursor: Any) -> None:
        """Rows whose identities name exactly one customer get it; two or more: conflict.
        (A customer row still pending is `is_new` with its drawn id; an order row has no
        customer yet.)"""
        pending = "s.is_new" if self.kind == ImportJob.Kind.CUSTOMERS else "s.customer_id IS NULL"
        union = " UNION ".join(
            f"""SELECT s.row_no, i.customer_id FROM import_stage s
                  JOIN {self.t['identity']} i ON i.kind = '{key}' AND i.scope = '' AND i.value = s.{key}
                 WHERE s.error IS NULL AND {pending}"""
            for key in self.identity_keys
        )
        if not union:
            return
        cursor.execute(
            f"""
            WITH grouped AS (
                SELECT row_no, array_agg(DISTINCT customer_id ORDER BY customer_id) AS ids
                  FROM ({union}) matches GROUP BY row_no
            )
            UPDATE import_stage s
               SET customer_id = CASE WHEN cardinality(g.ids) = 1 THEN g.ids[1] END, is_new = false,
                   error = CASE WHEN cardinality(g.ids) > 1 THEN 'conflict' END,
                   error_column = CASE WHEN cardinality(g.ids) > 1 THEN '' END,
                   error_detail = CASE WHEN cardinality(g.ids) > 1 THEN array_to_string(g.ids, ',') END
              FROM grouped g
             WHERE s.row_no = g.row_no
            """
        )

    def _insert_identities(self, cursor: Any, *, only_new: bool) -> None:
        if not self.identity_keys:
            return
        if self.exclusive and self.kind == ImportJob.Kind.CUSTOMERS and not only_new:
            self._hold_back_identities(cursor)
        else:
            self._insert_identity_rows(cursor, "AND is_new" if only_new else "", on_conflict=True)

    def _hold_back_identities(self, cursor: Any) -> None:
        """Bulk mode: the chunk's new identities wait in a temporary table until
        `flush_identities`. No later chunk needs them: a later row with one of their
        values is a duplicate in the file, so matching only ever finds identities that
        were there before the import. New customers' values matched no identity and are
        unique in the file; matched customers' may exist already and are left out."""
        if not self.held_back:
            cursor.execute(
                "CREATE TEMP TABLE import_identities (customer_id bigint, kind text, value text) ON COMMIT DROP"
            )
            self.held_back = True
        cursor.execute(
            "INSERT INTO import_identities (customer_id, kind, value) "
            + " UNION ALL ".join(
                f"""SELECT s.customer_id, '{key}', s.{key} FROM import_stage s
                     WHERE s.error IS NULL AND s.customer_id IS NOT NULL AND s.{key} IS NOT NULL
                       AND (s.is_new OR NOT EXISTS (
                            SELECT 1 FROM {self.t['identity']} i
                             WHERE i.kind = '{key}' AND i.scope = '' AND i.value = s.{key}))"""
                for key in self.identity_keys
            )
        )

    def flush_identities(self) -> None:
        """Bulk mode, after the last chunk and before the indexes are rebuilt: the held-back
        identities in one INSERT, with the table's unique constraint dropped during it and
        re-added after (one sort instead of an index insertion per row; a duplicate still
        fails the ADD, and with it the import)."""
        if not self.held_back:
            return
        with connection.cursor() as cursor, suspended_unique_constraints(self.t["identity"]):
            cursor.execute(
                f"""
                INSERT INTO {self.t['identity']} (customer_id, kind, scope, value, verified, source, created_at)
                SELECT customer_id, kind, '', value, false, %(source)s, %(now)s FROM import_identities
                """,
                {"source": IMPORT_SOURCE, "now": self.now},
            )
            cursor.execute("DROP TABLE import_identities")
        self.held_back = False

    def _insert_identity_rows(self, cursor: Any, where: str, *, on_conflict: bool) -> None:
        cursor.execute(
            f"""
            INSERT INTO {self.t['identity']} (customer_id, kind, scope, value, verified, source, created_at)
            """
            + " UNION ALL ".join(
                f"""SELECT customer_id, '{key}', '', {key}, false, %(source)s, %(now)s FROM import_stage
                     WHERE error IS NULL AND customer_id IS NOT NULL AND {key} IS NOT NULL {where}"""
                for key in self.identity_keys
            )
            + (" ON CONFLICT (kind, scope, value) DO NOTHING" if on_conflict else ""),
            {"source": IMPORT_SOURCE, "now": self.now},
        )

    def _insert_new_customers(self, cursor: Any, *, group_by: str | None = None) -> None:
        """New customers for staged rows still without one (one per `group_by` value)."""
        t = self.t
        sequence = "pg_get_serial_sequence(%(customer_table)s, 'id')"
        if group_by is not None:
            cursor.execute(
                f"""
                WITH keys AS (
                    SELECT k.value, nextval({sequence}) AS id FROM (
                        SELECT DISTINCT {group_by} AS value FROM import_stage
                         WHERE error IS NULL AND customer_id IS NULL AND {group_by} IS NOT NULL
                    ) k
                )
                UPDATE import_stage s SET customer_id = keys.id, is_new = true
                  FROM keys WHERE s.{group_by} = keys.value AND s.error IS NULL AND s.customer_id IS NULL
                """,
                {"customer_table": Customer._meta.db_table},
            )
        is_customers = self.kind == ImportJob.Kind.CUSTOMERS
        cursor.execute(
            f"""
            INSERT INTO {t['customer']} (
                id, display_name, avatar_url, gender, birthday, locale, city, province, country,
                attributes, created_at, updated_at, interaction_counts, total_interactions_30d,
                order_count, revenue)
            SELECT DISTINCT ON (customer_id)
                   customer_id, coalesce(display_name, ''), '',
                   {"coalesce(gender, 'unknown')" if is_customers else "'unknown'"},
                   {"birthday" if is_customers else "NULL::date"},
                   {"coalesce(locale, '')" if is_customers else "''"},
                   {"coalesce(city, '')" if is_customers else "''"},
                   {"coalesce(province, '')" if is_customers else "''"},
                   {"coalesce(country, '')" if is_customers else "''"},
                   {"coalesce(attributes, '{}'::jsonb)" if is_customers else "'{}'::jsonb"},
                   %(now)s, %(now)s, '{{}}'::jsonb, 0, 0, 0
              FROM import_stage
             WHERE is_new AND error IS NULL
             ORDER BY customer_id, row_no
            """,
            {"now": self.now},
        )

    # --- customers -------------------------------------------------------------------

    def _load_customers(self, cursor: Any) -> None:
        t = self.t
        self._match_existing(cursor)
        self._insert_new_customers(cursor)
        # Matched customers: a value in the file replaces ours, an empty cell keeps ours.
        cursor.execute(
            f"""
            UPDATE {t['customer']} c
               SET display_name = coalesce(s.display_name, c.display_name),
                   gender = CASE WHEN s.gender IS NULL OR s.gender = 'unknown' THEN c.gender ELSE s.gender END,
                   birthday = coalesce(s.birthday, c.birthday),
                   city = coalesce(s.city, c.city),
                   province = coalesce(s.province, c.province),
                   country = coalesce(s.country, c.country),
                   locale = coalesce(s.locale, c.locale),
                   attributes = c.attributes || coalesce(s.attributes, '{{}}'::jsonb),
                   updated_at = %(now)s
              FROM import_stage s
             WHERE s.customer_id = c.id AND NOT s.is_new AND s.error IS NULL
            """,
            {"now": self.now},
        )
        self._insert_identities(cursor, only_new=False)
        cursor.execute(
            f"""
            INSERT INTO {t['tag']} (name, color)
            SELECT DISTINCT t.tag_name, %(color)s FROM import_stage s CROSS JOIN unnest(s.tags) AS t(tag_name)
             WHERE s.error IS NULL
            ON CONFLICT (name) DO NOTHING
            """,
            {"color": DEFAULT_TAG_COLOR},
        )
        # New customers have no tags yet: with the tables ours alone, no conflict to test.
        for where, on_conflict in (
            [("AND s.is_new", ""), ("AND NOT s.is_new", "ON CONFLICT (customer_id, tag_id) DO NOTHING")]
            if self.exclusive else [("", "ON CONFLICT (customer_id, tag_id) DO NOTHING")]
        ):
            cursor.execute(
                f"""
                INSERT INTO {t['customertag']} (customer_id, tag_id, added_by_id, added_at)
                SELECT DISTINCT s.customer_id, tag.id, %(actor)s::integer, %(now)s::timestamptz
                  FROM import_stage s CROSS JOIN unnest(s.tags) AS t(tag_name)
                  JOIN {t['tag']} tag ON tag.name = t.tag_name
                 WHERE s.error IS NULL {where}
                {on_conflict}
                """,
                {"actor": self.actor_id, "now": self.now},
            )

    # --- orders ----------------------------------------------------------------------

    def _load_orders(self, cursor: Any) -> None:
        t = self.t
        cursor.execute(
            f"""
            UPDATE import_stage s SET error = 'order_exists', error_column = 'external_id'
              FROM {t['order']} o
             WHERE o.external_id = s.external_id AND s.error IS NULL
            """
        )
        self._match_existing(cursor)
        if self.options.create_customers:
            # One new customer per member ID, then per email, then per phone; after each
            # round the next rows may match the customers (identities) it created.
            for key in IDENTITY_FIELDS:
                self._insert_new_customers(cursor, group_by=key)
                self._insert_identities(cursor, only_new=True)
                cursor.execute("UPDATE import_stage SET is_new = false WHERE is_new")
                self._match_existing(cursor)
        cursor.execute(
            """UPDATE import_stage SET error = 'unknown_customer', error_column = ''
                WHERE error IS NULL AND customer_id IS NULL"""
        )
        cursor.execute(
            f"""
            INSERT INTO {t['order']} (external_id, customer_id, ordered_at, amount, currency, items,
                                      store, channel, status)
            SELECT external_id, customer_id, ordered_at, amount, currency, '[]'::jsonb,
                   coalesce(store, ''), channel, status
              FROM import_stage WHERE error IS NULL
             ORDER BY customer_id, ordered_at
            """
        )


def _attributes(columns: dict[str, list[Any]], rows: int) -> list[Jsonb | None]:
    keys = [key for key in columns if key.startswith(ATTRIBUTE_PREFIX)]
    if not keys:
        return [None] * rows
    found = []
    for values in zip(*(columns[key] for key in keys), strict=True):
        attributes = {key[len(ATTRIBUTE_PREFIX):]: value for key, value in zip(keys, values, strict=True) if value is not None}
        found.append(Jsonb(attributes) if attributes else None)
    return found
