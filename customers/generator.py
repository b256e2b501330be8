"""Synthetic customers for development, demos and benchmarks, loaded with COPY.

A brand with a million customers is where segments, scores and the inbox show whether
they are set-wise, so we need one in minutes, not hours. Rows are built column-wise with
numpy: every cell is a lookup into a vocabulary of pre-encoded bytes, and a row is the
concatenation of its cells (one `bytes.join` per chunk, no Python work per row). A
producer thread builds chunk n+1 while the calling thread streams chunk n into
PostgreSQL with COPY on the current connection (so it also works inside a test
transaction): Python on one core, the PostgreSQL backend on the other.

The data is shaped like the market: mostly Chinese customers on WeChat and Weibo, some
international ones on Meta, X and email; heavy-tailed activity and spend.

Big loads ("bulk" mode) drop the loaded tables' foreign keys, unique constraints and
secondary indexes first and rebuild them at the end, in the same transaction: per-row
foreign-key triggers and index maintenance otherwise cost more than the COPY itself.
Rebuilding re-validates every constraint, so a bad row still fails the whole load; the
price is an exclusive lock on the customer tables until the load commits.
"""

from __future__ import annotations

import io
import json
import queue
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
from django.db import connection, transaction
from django.utils import timezone

from customers import sample_data as sd
from customers.bulkload import suspended_upkeep
from customers.channels import Channel, IdentityKind
from customers.models import (
    AttributeDefinition,
    Consent,
    Customer,
    CustomerTag,
    Identity,
    Interaction,
    InteractionKind,
    Order,
    Tag,
)
from customers.services import refresh_customer_aggregates

Progress = Callable[[int, int], None]

DEFAULT_CHUNK = 20_000
# Below this many customers, constraint upkeep is noise; above it (and when the load is
# at least as big as what the brand holds already) dropping and rebuilding wins.
BULK_THRESHOLD = 50_000
HISTORY_DAYS = 3 * 365
DAY = 86_400

# One column's cells: an object array of bytes (one per row), a constant, or several of
# those concatenated without a separator.
Cells = np.ndarray
Column = Cells | bytes | tuple[Cells | bytes, ...]


@dataclass
class GeneratorStats:
    customers: int = 0
    identities: int = 0
    interactions: int = 0
    orders: int = 0
    consents: int = 0
    customer_tags: int = 0
    seconds: float = 0.0
    # Where the time went: "load" (COPY), "aggregates", "rebuild" (bulk mode), "analyze".
    phases: dict[str, float] = field(default_factory=dict)
    bulk: bool = False

    @property
    def rows(self) -> int:
        return (
            self.customers
            + self.identities
            + self.interactions
            + self.orders
            + self.consents
            + self.customer_tags
        )

    @property
    def customers_per_second(self) -> float:
        return self.customers / self.seconds if self.seconds else 0.0

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0


def generate(
    *,
    customers: int,
    seed: int = 0,
    progress: Progress | None = None,
    bulk: bool | None = None,
    chunk_size: int = DEFAULT_CHUNK,
    now: datetime | None = None,
) -> GeneratorStats:
    """Create `customers` customers with identities, interactions, orders, consents and
    tags in the current brand schema, then refresh every customer's aggregates.

    `bulk=None` decides by size (see BULK_THRESHOLD). `progress(done, total)` is called
    after each chunk. One transaction: on any error nothing is left behind.
    """
    if customers < 1:
        raise ValueError("customers must be at least 1")
    if connection.schema_name == "public":
        raise RuntimeError("generate() runs inside a brand schema, never in public")
    now = now or timezone.now()
    started = time.perf_counter()
    stats = GeneratorStats()
    with transaction.atomic():
        tag_ids = _ensure_tags()
        _ensure_attribute_definitions()
        if bulk is None:
            bulk = customers >= BULK_THRESHOLD and customers >= Customer.objects.count()
        stats.bulk = bulk
        ids = _reserve_customer_ids(customers)
        vocab = _Vocabulary(seed=seed, now=now, tag_ids=tag_ids)
        with _timed(stats, "rebuild"), suspended_upkeep(_TABLES, enabled=bulk):
            with _timed(stats, "load"):
                for chunk in _produce_in_background(vocab, ids, seed=seed, chunk_size=chunk_size):
                    for model, (payload, count) in chunk.items():
                        _copy(model, payload)
                        setattr(stats, _STAT[model], getattr(stats, _STAT[model]) + count)
                    if progress is not None:
                        progress(stats.customers, customers)
            with _timed(stats, "analyze"):
                _analyze()
            # Before the indexes come back: an UPDATE of every customer would otherwise
            # maintain each of them row by row.
            with _timed(stats, "aggregates"):
                refresh_customer_aggregates(now=now)
    stats.phases["rebuild"] -= sum(stats.phases[p] for p in ("load", "analyze", "aggregates"))
    stats.seconds = time.perf_counter() - started
    return stats


@contextmanager
def _timed(stats: GeneratorStats, phase: str) -> Iterator[None]:
    started = time.perf_counter()
    try:
        yield
    finally:
        stats.phases[phase] = time.perf_counter() - started


# --- set-up ------------------------------------------------------------------------------


def _ensure_tags() -> np.ndarray:
    ids = []
    for name, color in sd.TAGS:
        tag, _created = Tag.objects.get_or_create(name=name, defaults={"color": color})
        ids.append(tag.pk)
    return np.array(ids, dtype=np.int64)


def _ensure_attribute_definitions() -> None:
    for key, label, type_, choices in sd.ATTRIBUTES:
        AttributeDefinition.objects.get_or_create(
            key=key, defaults={"label": label, "type": type_, "choices": choices}
        )


def _reserve_customer_ids(count: int) -> np.ndarray:
    """Ids drawn from the table's own sequence, so concurrent writers never collide and
    child rows can name their customer before it is loaded."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
            [Customer._meta.db_table, count],
        )
        return np.fromiter((row[0] for row in cursor.fetchall()), dtype=np.int64, count=count)


# --- loading -----------------------------------------------------------------------------

# Load order: parents first. Columns left out take their NULL default.
_COLUMNS: dict[type, tuple[str, ...]] = {
    Customer: (
        "id", "display_name", "avatar_url", "gender", "birthday", "locale", "city",
        "province", "country", "attributes", "first_seen_at", "last_seen_at", "created_at",
        "updated_at", "interaction_counts", "total_interactions_30d", "order_count", "revenue",
    ),
    Identity: ("customer_id", "kind", "scope", "value", "verified", "source", "created_at"),
    Order: (
        "external_id", "customer_id", "ordered_at", "amount", "currency", "items", "store",
        "channel", "status",
    ),
    Interaction: (
        "customer_id", "channel", "kind", "occurred_at", "text", "metadata", "sentiment",
        "language", "external_id",
    ),
    Consent: ("customer_id", "channel", "purpose", "status", "recorded_at", "source", "evidence"),
    CustomerTag: ("customer_id", "tag_id", "added_at"),
}  # fmt: skip
_STAT = {
    Customer: "customers",
    Identity: "identities",
    Order: "orders",
    Interaction: "interactions",
    Consent: "consents",
    CustomerTag: "customer_tags",
}


def _copy(model: type, payload: bytes) -> None:
    qn = connection.ops.quote_name
    columns = ", ".join(qn(c) for c in _COLUMNS[model])
    sql = f"COPY {qn(model._meta.db_table)} ({columns}) FROM STDIN"
    view = memoryview(payload)
    with connection.cursor() as cursor, cursor.copy(sql) as copy:
        for offset in range(0, len(view), 1 << 20):
            copy.write(view[offset : offset + (1 << 20)])


_TABLES = [model._meta.db_table for model in _COLUMNS]


def _analyze() -> None:
    with connection.cursor() as cursor:
        for model in _COLUMNS:
            cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")


# --- the producer thread -----------------------------------------------------------------

Chunk = dict[type, tuple[bytes, int]]


def _produce_in_background(
    vocab: _Vocabulary, ids: np.ndarray, *, seed: int, chunk_size: int
) -> Iterator[Chunk]:
    """Yield chunks built in a thread, at most two ahead of the consumer."""
    chunks: queue.Queue[Chunk | BaseException | None] = queue.Queue(maxsize=2)
    stop = threading.Event()

    def work() -> None:
        try:
            for number, start in enumerate(range(0, len(ids), chunk_size)):
                if stop.is_set():
                    return
                # Seeded per chunk: the data depends on the seed only, not on timing.
                rng = np.random.default_rng([seed, number])
                chunks.put(_People(vocab, ids[start : start + chunk_size], rng).rows())
            chunks.put(None)
        except BaseException as error:  # handed over to the consumer, which raises it
            chunks.put(error)

    thread = threading.Thread(target=work, name="customer-generator", daemon=True)
    thread.start()
    try:
        while (item := chunks.get()) is not None:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        while thread.is_alive():  # unblock a producer waiting on a full queue
            try:
                chunks.get_nowait()
            except queue.Empty:
                thread.join(timeout=0.05)


# --- cells: COPY text built from bytes, column-wise ----------------------------------------

NULL = b"\\N"


def _escape(value: str) -> bytes:
    """COPY text format for one value."""
    for char, escaped in (("\\", "\\\\"), ("\t", "\\t"), ("\n", "\\n"), ("\r", "\\r")):
        value = value.replace(char, escaped)
    return value.encode()


def _vocab(values: Sequence[str]) -> Cells:
    """A vocabulary: escaped, encoded once, then indexed by numpy arrays."""
    cells = np.empty(len(values), dtype=object)
    cells[:] = [_escape(v) for v in values]
    return cells


def _matrix(columns: Sequence[Column], rows: int, separator: bytes, end: bytes) -> list[Any]:
    parts: list[Cells | bytes] = []
    for i, column in enumerate(columns):
        parts.extend(column if isinstance(column, tuple) else (column,))
        parts.append(end if i == len(columns) - 1 else separator)
    cells = np.empty((rows, len(parts)), dtype=object)
    for j, part in enumerate(parts):
        cells[:, j] = part
    return cells.ravel().tolist()


def _concatenate(cells: list[Any]) -> bytes:
    # BytesIO.writelines copies each piece; bytes.join is several times slower on
    # millions of small pieces (it takes a buffer view of every one).
    buffer = io.BytesIO()
    buffer.writelines(cells)
    return buffer.getvalue()


def _lines(columns: Sequence[Column], rows: int) -> bytes:
    """COPY text for `rows` rows: all cells, row-major, in one pass."""
    return _concatenate(_matrix(columns, rows, b"\t", b"\n"))


def _join(*parts: Cells | bytes) -> Cells:
    """Concatenate parts row by row into one cell per row (vectorized)."""
    rows = next(len(p) for p in parts if isinstance(p, np.ndarray))
    if rows == 0:
        return np.empty(0, dtype=object)
    joined = _concatenate(_matrix([tuple(parts)], rows, b"", b"\n"))[:-1].split(b"\n")
    cells = np.empty(rows, dtype=object)
    cells[:] = joined
    return cells


def _numbers(values: np.ndarray) -> Cells:
    return np.asarray(values, dtype=np.int64).astype("S20").astype(object)


def _digits(values: np.ndarray, width: int) -> Cells:
    """Zero-padded decimal digits: 42 → b"0042" for width 4."""
    padded = (np.asarray(values, dtype=np.int64) % 10**width + 10**width).astype(f"S{width + 1}")
    raw = padded.view(np.uint8).reshape(-1, width + 1)[:, 1:].copy()
    return raw.view(f"S{width}").ravel().astype(object)


_ALPHABET = np.frombuffer(
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", dtype=np.uint8
)
_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)


def _scramble(ids: np.ndarray, modulus: int, salt: int) -> np.ndarray:
    """A bijection of ids (< modulus) onto [0, modulus): unique, random-looking numbers."""
    multiplier = 1_000_003  # prime, coprime with every modulus used here
    return (ids.astype(np.int64) % modulus * multiplier + salt) % modulus


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64's finalizer: a well-spread 64-bit hash."""
    z = x + np.uint64(0x9E3779B97F4A7C15)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def _token(ids: np.ndarray, salt: int, length: int, prefix: bytes = b"") -> Cells:
    """Unique url-safe tokens (6 bits a character) derived from ids, like platform ids.

    The first 10 characters are the low 60 bits of id * odd + salt, a bijection modulo
    2**60, so tokens are unique per id; later characters come from a hash of it.
    """
    blocks = [ids.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15) + np.uint64(salt)]
    while len(blocks) * 10 < length:
        blocks.append(_mix(blocks[-1]))
    chars = np.empty((len(ids), len(prefix) + length), dtype=np.uint8)
    chars[:, : len(prefix)] = np.frombuffer(prefix, dtype=np.uint8)
    for position in range(length):
        block, shift = blocks[position // 10], np.uint64(6 * (position % 10))
        chars[:, len(prefix) + position] = _ALPHABET[
            (block >> shift & np.uint64(63)).astype(np.intp)
        ]
    return chars.view(f"S{chars.shape[1]}").ravel().astype(object)


def _hex(values: np.ndarray) -> Cells:
    """16 lowercase hex digits of 64-bit values."""
    values = values.astype(np.uint64)
    chars = np.empty((len(values), 16), dtype=np.uint8)
    for position in range(16):
        shift = np.uint64(4 * (15 - position))
        chars[:, position] = _HEX[(values >> shift & np.uint64(15)).astype(np.intp)]
    return chars.view("S16").ravel().astype(object)


def _pick(rng: np.random.Generator, weights: Sequence[float], size: int) -> np.ndarray:
    p = np.asarray(weights, dtype=float)
    return rng.choice(len(p), size=size, p=p / p.sum())


# --- vocabularies ------------------------------------------------------------------------

# North American exchanges: 200-999 except the N11 service codes (211, 311, …, 911).
_US_EXCHANGES = [e for e in range(200, 1000) if e % 100 != 11]


class _Vocabulary:
    """Every string a chunk can contain, encoded once per run."""

    def __init__(self, *, seed: int, now: datetime, tag_ids: np.ndarray) -> None:
        self.seed = seed
        self.now = int(now.timestamp())
        self.tag_ids = _numbers(tag_ids)
        self.tag_count = len(tag_ids)
        self.first_day = (self.now - HISTORY_DAYS * DAY) // DAY - 1
        days = np.arange(self.first_day, self.now // DAY + 2, dtype="datetime64[D]")
        self.days = _vocab(np.datetime_as_string(days).tolist())
        self.clock = _vocab(
            [f" {s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}+00" for s in range(DAY)]
        )
        self.sentiments = _vocab([f"{v / 100:.2f}" for v in range(-100, 101)])

        self.channels = [str(c) for c in Channel]
        self.channel_cells = _vocab(self.channels + ["all"])  # "all": consent only
        self.kinds = [str(k) for k in InteractionKind]
        self.kind_cells = _vocab(self.kinds)
        self.identity_kinds = [str(k) for k in IdentityKind]

        self._names()
        self._places()
        self._attributes()
        self._interactions()
        self._orders()

    def channel(self, name: str) -> int:
        return self.channels.index(name)

    def kind(self, name: str) -> int:
        return self.kinds.index(name)

    def timestamps(self, seconds: np.ndarray) -> tuple[Cells, Cells]:
        """timestamptz cells ("2025-03-01", " 08:15:00+00") for epoch seconds."""
        seconds = seconds.astype(np.int64)
        return self.days[seconds // DAY - self.first_day], self.clock[seconds % DAY]

    def _names(self) -> None:
        self.surname_weights = [w for _s, _p, w in sd.CN_SURNAMES]
        self.surnames = _vocab([s for s, _p, _w in sd.CN_SURNAMES])
        self.surname_pinyin = _vocab([p for _s, p, _w in sd.CN_SURNAMES])
        given = sd.CN_GIVEN_FEMALE + sd.CN_GIVEN_MALE  # female 0-29, male 30-59
        self.given = _vocab([c for c, _p in given] + [""])  # last: no second character
        self.given_pinyin = _vocab([p for _c, p in given] + [""])
        first = sd.EN_FIRST_FEMALE + sd.EN_FIRST_MALE
        self.first = _vocab(first)
        self.first_lower = _vocab([f.lower() for f in first])
        self.last = _vocab(sd.EN_LAST)
        self.last_lower = _vocab(["".join(c for c in n.lower() if c.isalpha()) for n in sd.EN_LAST])
        self.nicknames = _vocab(sd.NICKNAMES)
        self.cn_domains = _vocab(sd.CN_EMAIL_DOMAINS)
        self.en_domains = _vocab(sd.EN_EMAIL_DOMAINS)
        self.mobile_prefixes = _vocab(sd.CN_MOBILE_PREFIXES)
        self.area_codes = _vocab(sd.US_AREA_CODES)
        self.exchanges = _vocab([str(e) for e in _US_EXCHANGES])

    def _places(self) -> None:
        cities = sd.CN_CITIES + sd.INTL_CITIES  # CN first, then international
        self.cn_city_weights = [w for *_x, w in sd.CN_CITIES]
        self.intl_city_weights = [w for *_x, w in sd.INTL_CITIES]
        self.city = _vocab([c for c, _p, _k, _w in cities])
        self.province = _vocab([p for _c, p, _k, _w in cities])
        self.country = _vocab([k for _c, _p, k, _w in cities])

    def _attributes(self) -> None:
        """Every combination of the custom fields a customer may have filled in."""
        self.levels = ["bronze", "silver", "gold", "platinum"]
        self.skins = ["dry", "oily", "combination", "sensitive", "normal"]
        self.categories = ["skincare", "makeup", "fragrance", "body"]
        combos = []
        for level in [None, *self.levels]:
            for skin in [None, *self.skins]:
                for category in [None, *self.categories]:
                    for newsletter in (False, True):
                        values: dict[str, Any] = {}
                        if level:
                            values["vip_level"] = level
                        if skin:
                            values["skin_type"] = skin
                        if category:
                            values["favorite_category"] = category
                        if newsletter:
                            values["newsletter"] = True
                        combos.append(json.dumps(values))
        self.attributes = _vocab(combos)

    def _interactions(self) -> None:
        # Texts per (kind, language): group spans text_start[k, l] : + text_count[k, l].
        texts, sentiments = [""], [np.nan]
        self.text_start = np.zeros((len(self.kinds), 2), dtype=np.int64)
        self.text_count = np.zeros((len(self.kinds), 2), dtype=np.int64)
        replies_zh = [(t, 0.5) for t in sd.MESSAGES_OUT_ZH]
        replies_en = [(t, 0.5) for t in sd.MESSAGES_OUT_EN]
        by_kind = {
            "message_in": (sd.MESSAGES_IN_ZH, sd.MESSAGES_IN_EN),
            "message_out": (replies_zh, replies_en),
            "comment": (sd.COMMENTS_ZH, sd.COMMENTS_EN),
            "mention": (sd.MENTIONS_ZH, sd.MENTIONS_EN),
        }
        for kind, per_language in by_kind.items():
            for language, entries in enumerate(per_language):
                self.text_start[self.kind(kind), language] = len(texts)
                self.text_count[self.kind(kind), language] = len(entries)
                texts += [t for t, _s in entries]
                sentiments += [s for _t, s in entries]
        self.texts = _vocab(texts)
        self.text_sentiment = np.array(sentiments)

        # Metadata JSON per kind: kind k spans meta_start[k] : + meta_count[k].
        skus = [sku for sku, _n, _p in sd.PRODUCTS]
        campaigns = range(1, sd.CAMPAIGNS + 1)
        posts = [{"post_id": f"p{p}"} for p in range(sd.POSTS)]
        per_kind: dict[str, list[dict[str, Any]]] = {
            "message_in": [{"msg_type": "text"}] * 9 + [{"msg_type": "image"}],
            "message_out": [{"msg_type": "text", "sent_by": "agent"}],
            "comment": posts,
            "mention": [{"post_id": f"m{p}", "reach": r} for p in range(20) for r in (120, 3400, 58000)],
            "like": posts,
            "share": posts,
            "follow": [{}],
            "unfollow": [{}],
            "click": [{"url": f"/products/{s}"} for s in skus],
            "page_view": [{"url": f"/products/{s}"} for s in skus] + [{"url": "/"}, {"url": "/stores"}],
            "purchase": [{}],
            "campaign_delivered": [{"campaign_id": c} for c in campaigns],
            "campaign_read": [{"campaign_id": c} for c in campaigns],
            "campaign_clicked": [{"campaign_id": c, "url": "/offer"} for c in campaigns],
            "poll_vote": [{"poll_id": p, "option": o} for p in range(1, sd.POLLS + 1) for o in "ABCD"],
            "referral": [{"referral_code": f"R{r:04d}"} for r in range(100)],
        }  # fmt: skip
        metas: list[str] = []
        self.meta_start = np.zeros(len(self.kinds), dtype=np.int64)
        self.meta_count = np.zeros(len(self.kinds), dtype=np.int64)
        for kind, entries in per_kind.items():
            self.meta_start[self.kind(kind)] = len(metas)
            self.meta_count[self.kind(kind)] = len(entries)
            metas += [json.dumps(e, ensure_ascii=False) for e in entries]
        self.metas = _vocab(metas)

        # How often each kind happens (purchases come from orders instead).
        weight = {
            "message_in": 16, "message_out": 12, "comment": 6, "mention": 2, "like": 14,
            "share": 4, "follow": 2, "unfollow": 0.5, "click": 8, "page_view": 18,
            "purchase": 0, "campaign_delivered": 9, "campaign_read": 5, "campaign_clicked": 2,
            "poll_vote": 0.7, "referral": 0.3,
            # Gifts and idea boards happen only through their hosted pages: none generated.
            "gift_sent": 0, "gift_claimed": 0, "idea": 0, "idea_vote": 0,
        }  # fmt: skip
        self.kind_weights = [weight[k] for k in self.kinds]
        # Platform events carry the platform's message id: the idempotency key.
        self.has_external_id = np.isin(
            self.kinds, ["message_in", "message_out", "comment", "mention"]
        )
        self.web_kinds = [self.kind(k) for k in ("page_view", "click")]
        self.campaign_kinds = [
            self.kind(k)
            for k in ("campaign_delivered", "campaign_read", "campaign_clicked", "poll_vote")
        ]
        self.social_kinds = [
            self.kind(k) for k in ("comment", "mention", "like", "share", "follow", "unfollow")
        ]

    def _orders(self) -> None:
        prices = np.array([round(float(p) * 100) for _s, _n, p in sd.PRODUCTS], dtype=np.int64)
        self.price_cents = prices
        # Cheap products sell more often than gift boxes.
        self.product_weights = (prices / 100.0) ** -0.8
        # One order line as JSON, per (product, quantity 1 or 2): index product * 2 + qty - 1.
        lines = [
            json.dumps({"sku": sku, "name": name, "qty": qty, "price": price}, ensure_ascii=False)
            for sku, name, price in sd.PRODUCTS
            for qty in (1, 2)
        ]
        self.order_lines = _vocab([*lines, ""])  # last: no such line
        self.stores = _vocab(sd.STORES)
        self.online_stores = _vocab([sd.ONLINE_STORES["wechat"], sd.ONLINE_STORES["web"]])
        self.statuses = _vocab(["paid", "refunded", "cancelled"])
        self.evidence = _vocab(
            [
                '{"form": "signup", "version": 3, "double_opt_in": true}',
                '{"form": "preferences"}',
                '{"document": "terms", "version": "2024-01"}',
                '{"banner": "v2"}',
            ]
        )


# --- one chunk of customers ----------------------------------------------------------------


class _People:
    """One chunk of customers and everything that hangs off them, as COPY payloads."""

    def __init__(self, vocab: _Vocabulary, ids: np.ndarray, rng: np.random.Generator) -> None:
        self.vocab, self.ids, self.rng = vocab, ids, rng
        n = self.n = len(ids)
        self.id_cells = _numbers(ids)
        self.chinese = rng.random(n) < 0.68
        self.female = rng.random(n) < 0.55
        # Acquisition skews recent; 40% later go quiet (churn), the rest are active today.
        age = (HISTORY_DAYS * DAY * rng.random(n) ** 1.6).astype(np.int64)
        self.first_seen = vocab.now - age
        churned = rng.random(n) < 0.4
        quiet_since = self.first_seen + (age * rng.random(n)).astype(np.int64)
        self.last_active = np.maximum(
            np.where(churned, quiet_since, vocab.now - 60), self.first_seen + 60
        )
        self._choose_identities()
        # Its own stream (spawning draws nothing from `rng`): the rest of the chunk stays
        # what the same seed gave before referrals existed.
        self._choose_referrals(rng.spawn(1)[0])

    def rows(self) -> Chunk:
        orders, purchases = self.orders()
        return {
            Customer: (self.customers(), self.n),
            Identity: self.identities(),
            Order: orders,
            Interaction: self.interactions([purchases, self.referrals()]),
            Consent: self.consents(),
            CustomerTag: self.tags(),
        }

    def _timestamps_between(self, owner: np.ndarray, end: np.ndarray) -> np.ndarray:
        begin = self.first_seen[owner]
        return begin + ((end - begin) * self.rng.random(len(owner))).astype(np.int64)

    # customers ---------------------------------------------------------------------------

    def customers(self) -> bytes:
        v, rng, n = self.vocab, self.rng, self.n
        self._name_parts()
        abroad = np.where(self.chinese, rng.random(n) < 0.06, rng.random(n) < 0.8)
        city = np.where(
            abroad,
            len(v.cn_city_weights) + _pick(rng, v.intl_city_weights, n),
            _pick(rng, v.cn_city_weights, n),
        )
        locale = np.where(
            self.chinese,
            np.where(rng.random(n) < 0.9, b"zh_CN", b"en_US"),
            np.where(
                rng.random(n) < 0.7, b"en_US", np.where(rng.random(n) < 0.7, b"en_GB", b"zh_CN")
            ),
        ).astype(object)
        # Gender as the platform reports it: WeChat stopped sharing it, so often unknown.
        gender = np.where(self.female, b"female", b"male").astype(object)
        gender[rng.random(n) < 0.1] = b"unknown"
        gender[rng.random(n) < 0.01] = b"other"
        birth = (v.now // DAY - rng.integers(18 * 365, 65 * 365, n)).astype("datetime64[D]")
        birthday = np.where(
            rng.random(n) < 0.55, np.char.encode(np.datetime_as_string(birth)), NULL
        ).astype(object)
        openid = self.has[:, v.identity_kinds.index("wechat_openid")]
        avatar = _join(b"https://thirdwx.qlogo.cn/mmopen/vi_32/", _token(self.ids, 77, 40), b"/132")
        avatar[~openid | (rng.random(n) < 0.2)] = b""
        attributes = (
            (np.where(rng.random(n) < 0.45, _pick(rng, [50, 30, 15, 5], n) + 1, 0) * 6
             + np.where(rng.random(n) < 0.3, rng.integers(1, 6, n), 0)) * 5
            + np.where(rng.random(n) < 0.35, rng.integers(1, 5, n), 0)
        ) * 2 + (rng.random(n) < 0.25)  # fmt: skip
        seen = v.timestamps(self.first_seen)
        created = v.timestamps(self.first_seen + rng.integers(0, 600, n))
        columns: list[Column] = [
            self.id_cells, self.display_name, avatar, gender, birthday, locale,
            v.city[city], v.province[city], v.country[city], v.attributes[attributes],
            seen, seen, created, created, b"{}", b"0", b"0", b"0",
        ]  # fmt: skip
        return _lines(columns, n)

    def _name_parts(self) -> None:
        """Display names (and the email local parts that go with them), vectorized:
        Chinese surname + one or two given characters, or first + last, or a nickname."""
        v, rng, n, cn = self.vocab, self.rng, self.n, self.chinese
        surname = _pick(rng, v.surname_weights, n)
        pool = np.where(self.female, 0, 30)
        g1 = pool + rng.integers(0, 30, n)
        g2 = np.where(rng.random(n) < 0.72, pool + rng.integers(0, 30, n), 60)  # 60: none
        first = np.where(self.female, 0, 30) + rng.integers(0, 30, n)
        last = rng.integers(0, len(sd.EN_LAST), n)
        nickname = rng.random(n) < 0.08
        part1 = np.where(cn, v.surnames[surname], v.first[first])
        part2 = np.where(cn, v.given[g1], b" ")
        part3 = np.where(cn, v.given[g2], v.last[last])
        part1 = np.where(nickname, v.nicknames[rng.integers(0, len(sd.NICKNAMES), n)], part1)
        part2 = np.where(nickname, b"", part2)
        part3 = np.where(nickname, b"", part3)
        self.display_name = _join(part1, part2, part3)
        self.email_local = (
            np.where(cn, v.surname_pinyin[surname], v.first_lower[first]),
            np.where(cn, v.given_pinyin[g1], b"."),
            np.where(cn, v.given_pinyin[g2], v.last_lower[last]),
        )

    # referrals ---------------------------------------------------------------------------

    def _choose_referrals(self, rng: np.random.Generator) -> None:
        """Who brought whom (the graph the influence score's centrality reads): ~5 % of
        customers arrived through a friend's referral, on their first day. A quarter of
        the customers ever pass a referral on, with heavy-tailed success (Pareto pull):
        ~3 % of customers refer anyone, the top 1 % bring over half the newcomers, the
        best a few dozen. A referrer was seen before the friend and still active that day.
        Referrers come from the same chunk (a chunk is 20,000 customers)."""
        n = self.n
        pull = np.where(rng.random(n) < 0.25, rng.pareto(1.6, n) + 0.1, 0.0)
        order = np.argsort(self.first_seen, kind="stable")
        position = np.empty(n, dtype=np.int64)
        position[order] = np.arange(n)
        cumulative = np.cumsum(pull[order])
        # Drawn a little above 5 %: some draws fall on a referrer who had gone quiet.
        referred = np.flatnonzero((rng.random(n) < 0.065) & (position > 0))
        before = cumulative[np.maximum(position[referred] - 1, 0)]
        referred, before = referred[before > 0], before[before > 0]
        # A weighted pick among the customers seen earlier: the prefix sums up to the friend.
        picked = np.searchsorted(cumulative, rng.random(len(referred)) * before, side="right")
        referrer = order[np.minimum(picked, position[referred] - 1)]
        kept = (self.last_active[referrer] >= self.first_seen[referred]) & (referrer != referred)
        self.referrer, self.referred = referrer[kept], referred[kept]

    def referrals(self) -> _TimelineRows:
        """A referral on the referrer's timeline names the friend, as a referral link does."""
        v, referrer, referred = self.vocab, self.referrer, self.referred
        return _TimelineRows(
            owner=referrer,
            seconds=self.first_seen[referred],
            channel=np.full(len(referrer), v.channel("web")),
            kind=v.kind("referral"),
            metadata=_join(b'{"referred_id": ', self.id_cells[referred], b"}"),
            external_id=_join(b"referral:", self.id_cells[referrer], b"-", self.id_cells[referred]),
        )

    # identities --------------------------------------------------------------------------

    def _choose_identities(self) -> None:
        v, rng, n, cn = self.vocab, self.rng, self.n, self.chinese
        kinds = v.identity_kinds
        # Share of Chinese / international customers with each kind of identity.
        p_cn = {
            "wechat_openid": 0.9,
            "wechat_unionid": 0.6,
            "wecom_external_userid": 0.15,
            "weibo_uid": 0.25,
            "facebook_psid": 0.0,
            "instagram_id": 0.02,
            "x_user_id": 0.0,
            "email": 0.2,
            "phone": 0.75,
            "member_id": 0.35,
            "device_id": 0.1,
        }
        p_intl = {
            "wechat_openid": 0.1, "wechat_unionid": 0.05, "wecom_external_userid": 0.02,
            "weibo_uid": 0.02, "facebook_psid": 0.45, "instagram_id": 0.45, "x_user_id": 0.2,
            "email": 0.85, "phone": 0.5, "member_id": 0.3, "device_id": 0.15,
        }  # fmt: skip
        p = np.where(cn[:, None], [p_cn[k] for k in kinds], [p_intl[k] for k in kinds])
        has = rng.random((n, len(kinds))) < p
        has[:, kinds.index("wechat_unionid")] &= has[:, kinds.index("wechat_openid")]
        has[~has.any(axis=1), kinds.index("member_id")] = True  # everyone is somebody
        self.has = has
        self.second_app = has[:, kinds.index("wechat_openid")] & (rng.random(n) < 0.2)

        def present(kind: str) -> np.ndarray:
            return has[:, kinds.index(kind)]

        # The channels the customer talks to us on: primary, secondary (else the web).
        ch = v.channel
        social = [
            (present("wechat_openid"), ch("wechat")), (present("weibo_uid"), ch("weibo")),
            (present("wecom_external_userid"), ch("wecom")),
            (present("instagram_id"), ch("instagram")), (present("facebook_psid"), ch("facebook")),
            (present("x_user_id"), ch("x")), (present("email"), ch("email")),
            (present("phone"), ch("sms")),
        ]  # fmt: skip
        primary = np.full(n, ch("web"))
        secondary = np.full(n, ch("web"))
        for j in rng.permutation(len(social))[::-1].tolist():
            mask, channel = social[j]
            secondary = np.where(mask, primary, secondary)
            primary = np.where(mask, channel, primary)
        wechat_first = present("wechat_openid") & (cn | (rng.random(n) < 0.5))
        secondary = np.where(wechat_first & (primary != ch("wechat")), primary, secondary)
        primary = np.where(wechat_first, ch("wechat"), primary)
        self.primary = primary
        self.secondary = np.where(secondary == primary, ch("web"), secondary)
        # Where campaigns reach them (and what their marketing consent is about).
        contact = np.where(present("phone"), ch("sms"), ch("web"))
        contact = np.where(present("email"), ch("email"), contact)
        self.contact = np.where(present("wechat_openid"), ch("wechat"), contact)

    def identities(self) -> tuple[bytes, int]:
        v, rng, ids = self.vocab, self.rng, self.ids
        salt = v.seed * 7919
        owners: list[np.ndarray] = []
        kind_cells: list[np.ndarray] = []
        scopes: list[np.ndarray] = []
        values: list[np.ndarray] = []
        sources: list[np.ndarray] = []
        verified: list[np.ndarray] = []

        def add(kind: str, mask: np.ndarray, value: Cells, source: bytes, *,
                scope: bytes = b"", verified_share: float = 1.0) -> None:  # fmt: skip
            where = np.flatnonzero(mask)
            owners.append(where)
            kind_cells.append(np.full(len(where), kind.encode(), dtype=object))
            scopes.append(np.full(len(where), scope, dtype=object))
            values.append(value[where])
            sources.append(np.full(len(where), source, dtype=object))
            verified.append(
                np.where(rng.random(len(where)) < verified_share, b"t", b"f").astype(object)
            )

        def has(kind: str) -> np.ndarray:
            return self.has[:, v.identity_kinds.index(kind)]

        app_ids = [a.encode() for a in sd.WECHAT_APP_IDS]
        add(
            "wechat_openid",
            has("wechat_openid"),
            _token(ids, salt + 1, 27, b"o"),
            b"wechat",
            scope=app_ids[0],
        )
        add(
            "wechat_openid",
            self.second_app,
            _token(ids, salt + 2, 27, b"o"),
            b"wechat_miniprogram",
            scope=app_ids[1],
        )
        add("wechat_unionid", has("wechat_unionid"), _token(ids, salt + 3, 27, b"o"), b"wechat")
        add(
            "wecom_external_userid",
            has("wecom_external_userid"),
            _token(ids, salt + 4, 30, b"wm"),
            b"wecom",
        )
        add(
            "weibo_uid",
            has("weibo_uid"),
            _numbers(10**9 + _scramble(ids, 9 * 10**9, salt)),
            b"weibo",
        )
        add(
            "facebook_psid",
            has("facebook_psid"),
            _numbers(10**15 + _scramble(ids, 9 * 10**15, salt)),
            b"facebook",
        )
        add(
            "instagram_id",
            has("instagram_id"),
            _numbers(17 * 10**15 + _scramble(ids, 10**15, salt)),
            b"instagram",
        )
        add(
            "x_user_id",
            has("x_user_id"),
            _numbers(12 * 10**17 + _scramble(ids, 10**17, salt)),
            b"x",
        )
        add("email", has("email"), self._emails(), b"web_form", verified_share=0.6)
        add("phone", has("phone"), self._phones(), b"web_form", verified_share=0.7)
        add(
            "member_id",
            has("member_id"),
            _join(b"M", _digits(_scramble(ids, 10**10, salt), 10)),
            b"store_pos",
        )
        add("device_id", has("device_id"), _hex(ids.astype(np.uint64) * np.uint64(0x2545F4914F6CDD1D) + np.uint64(salt)), b"web", verified_share=0.0)  # fmt: skip

        owner = np.concatenate(owners)
        created = v.timestamps(self.first_seen[owner] + rng.integers(0, 3600, len(owner)))
        columns: list[Column] = [
            self.id_cells[owner], np.concatenate(kind_cells), np.concatenate(scopes),
            np.concatenate(values), np.concatenate(verified), np.concatenate(sources), created,
        ]  # fmt: skip
        return _lines(columns, len(owner)), len(owner)

    def _emails(self) -> Cells:
        v, rng, n, cn = self.vocab, self.rng, self.n, self.chinese
        qq = cn & (rng.random(n) < 0.35)  # QQ mail: the address is the QQ number
        qq_number = _numbers(100_000_000 + _scramble(self.ids, 899_999_999, 7))
        local1, local2, local3 = self.email_local
        domain = np.where(
            cn, v.cn_domains[rng.integers(0, len(sd.CN_EMAIL_DOMAINS), n)],
            v.en_domains[rng.integers(0, len(sd.EN_EMAIL_DOMAINS), n)],
        )  # fmt: skip
        return _join(
            np.where(qq, qq_number, local1),
            np.where(qq, b"", local2),
            np.where(qq, b"", local3),
            np.where(qq, b"", self.id_cells),  # the id keeps addresses unique
            b"@",
            np.where(qq, b"qq.com", domain),
        )

    def _phones(self) -> Cells:
        v, rng, n, ids = self.vocab, self.rng, self.n, self.ids
        salt = v.seed * 104_729
        uk = rng.random(n) < 0.3
        # Area code, exchange and line all come from one bijection: unique numbers.
        per_area = len(_US_EXCHANGES) * 10**4
        us_number = _scramble(ids, len(sd.US_AREA_CODES) * per_area, salt)
        us_line = us_number % per_area
        cn_phone = _join(b"+86", v.mobile_prefixes[rng.integers(0, len(sd.CN_MOBILE_PREFIXES), n)],
                         _digits(_scramble(ids, 10**8, salt), 8))  # fmt: skip
        uk_phone = _join(b"+447", _numbers(400_000_000 + _scramble(ids, 10**8, salt + 1)))
        us_phone = _join(
            b"+1", v.area_codes[us_number // per_area],
            v.exchanges[us_line // 10**4], _digits(us_line, 4),
        )  # fmt: skip
        return np.where(self.chinese, cn_phone, np.where(uk, uk_phone, us_phone))

    # orders ------------------------------------------------------------------------------

    def orders(self) -> tuple[tuple[bytes, int], _TimelineRows]:
        v, rng, n = self.vocab, self.rng, self.n
        # 35% buy; repeat purchases are heavy-tailed (most once, a few dozens of times).
        count = np.where(
            rng.random(n) < 0.35, 1 + np.minimum(np.floor(rng.pareto(1.6, n) * 0.8), 200), 0
        ).astype(np.int64)
        owner = np.repeat(np.arange(n), count)
        m = len(owner)
        seconds = self._timestamps_between(owner, self.last_active[owner])
        # "SO<customer id>-<k>": unique across runs, because customer ids are.
        sequence = np.arange(m) - np.repeat(np.cumsum(count) - count, count)
        number = _join(b"SO", self.id_cells[owner], b"-", _numbers(sequence + 1))
        channel = np.where(
            rng.random(m) < 0.4,
            v.channel("wechat"),
            np.where(rng.random(m) < 0.45, v.channel("web"), v.channel("store")),
        )
        store = np.where(
            channel == v.channel("store"),
            v.stores[rng.integers(0, len(sd.STORES), m)],
            v.online_stores[(channel == v.channel("web")).astype(np.intp)],
        )
        # 1-3 lines of a basket; a line is a product and a quantity (mostly 1).
        lines = 1 + _pick(rng, [70, 22, 8], m)
        product = _pick(rng, v.product_weights, 3 * m).reshape(m, 3)
        quantity = 1 + (rng.random((m, 3)) < 0.15)
        present = np.arange(3) < lines[:, None]
        line_cells = np.where(present, product * 2 + quantity - 1, len(v.order_lines) - 1)
        cents = (v.price_cents[product] * quantity * present).sum(axis=1)
        amount = _join(_numbers(cents // 100), b".", _digits(cents, 2))
        items = (
            b"[", v.order_lines[line_cells[:, 0]],
            np.where(present[:, 1], b", ", b""), v.order_lines[line_cells[:, 1]],
            np.where(present[:, 2], b", ", b""), v.order_lines[line_cells[:, 2]],
            b"]",
        )  # fmt: skip
        status = _pick(rng, [90, 6, 4], m)  # paid, refunded, cancelled
        columns: list[Column] = [
            number, self.id_cells[owner], v.timestamps(seconds), amount, b"CNY", items, store,
            v.channel_cells[channel], v.statuses[status],
        ]  # fmt: skip
        # A cancelled order never reached the customer; the others are on their timeline.
        kept = status != 2
        purchases = _TimelineRows(
            owner=owner[kept],
            seconds=seconds[kept],
            channel=channel[kept],
            kind=v.kind("purchase"),
            metadata=_join(b'{"order": "', number[kept], b'", "amount": "', amount[kept], b'"}'),
            external_id=number[kept],
        )
        return (_lines(columns, m), m), purchases

    # interactions ------------------------------------------------------------------------

    def interactions(self, others: Sequence[_TimelineRows]) -> tuple[bytes, int]:
        v, rng, n = self.vocab, self.rng, self.n
        # Heavy-tailed (Lomax): a fifth never interact, most a few times, a handful of
        # customers thousands of times; mean ~10 a customer with purchases.
        count = np.minimum(np.floor(rng.pareto(1.7, n) * 7.0), 5000).astype(np.int64)
        owner = np.repeat(np.arange(n), count)
        m = len(owner)
        kind = _pick(rng, v.kind_weights, m)
        seconds = self._timestamps_between(owner, self.last_active[owner])

        ch = v.channel
        channel = np.where(rng.random(m) < 0.75, self.primary[owner], self.secondary[owner])
        channel = np.where(np.isin(kind, v.web_kinds) & (rng.random(m) < 0.8), ch("web"), channel)
        channel = np.where(np.isin(kind, v.campaign_kinds), self.contact[owner], channel)
        # Nobody likes an email: social kinds on a non-social channel are web page views.
        off_social = np.isin(kind, v.social_kinds) & np.isin(
            channel, [ch("email"), ch("sms"), ch("web")]
        )
        kind = np.where(off_social, v.kind("page_view"), kind)
        channel = np.where(off_social, ch("web"), channel)

        english = ~self.chinese[owner] | (rng.random(m) < 0.05)
        group = v.text_count[kind, english.astype(np.intp)]
        text = np.where(
            group > 0,
            v.text_start[kind, english.astype(np.intp)] + (rng.random(m) * group).astype(np.int64),
            0,
        )
        has_text = text > 0
        sentiment = np.clip(
            np.round((v.text_sentiment[text] + rng.normal(0, 0.1, m)) * 100), -100, 100
        )
        sentiment_cells = np.where(
            has_text, v.sentiments[np.nan_to_num(sentiment).astype(np.intp) + 100], NULL
        ).astype(object)
        language = np.where(has_text, np.where(english, b"en", b"zh"), b"").astype(object)
        meta = v.meta_start[kind] + (rng.random(m) * v.meta_count[kind]).astype(np.int64)
        position = np.arange(m) - np.repeat(np.cumsum(count) - count, count)
        external = _join(b"g", self.id_cells[owner], b"-", _numbers(position))
        external[~v.has_external_id[kind]] = b""

        # Purchases and referrals join the timeline, in customer order: appending to the
        # (customer, occurred_at) index instead of scattering over it.
        p = sum(len(rows.owner) for rows in others)
        order = np.argsort(np.concatenate([owner, *(rows.owner for rows in others)]), kind="stable")

        def merged(ours: np.ndarray, theirs: Callable[[_TimelineRows], np.ndarray]) -> np.ndarray:
            return np.concatenate([ours, *(theirs(rows) for rows in others)])[order]

        def cells(ours: Cells, theirs: Callable[[_TimelineRows], Cells] | bytes) -> Cells:
            parts = [
                np.full(len(rows.owner), theirs, dtype=object)
                if isinstance(theirs, bytes)
                else theirs(rows)
                for rows in others
            ]
            return np.concatenate([ours.astype(object), *parts])[order]

        columns: list[Column] = [
            self.id_cells[merged(owner, lambda rows: rows.owner)],
            v.channel_cells[merged(channel, lambda rows: rows.channel)],
            v.kind_cells[merged(kind, lambda rows: np.full(len(rows.owner), rows.kind))],
            v.timestamps(merged(seconds, lambda rows: rows.seconds)),
            cells(v.texts[text], b""),
            cells(v.metas[meta], lambda rows: rows.metadata),
            cells(sentiment_cells, NULL),
            cells(language, b""),
            cells(external, lambda rows: rows.external_id),
        ]
        return _lines(columns, m + p), m + p

    # consents and tags -------------------------------------------------------------------

    def consents(self) -> tuple[bytes, int]:
        """Append-only history: a first answer, and for some a later change of mind."""
        v, rng, n = self.vocab, self.rng, self.n
        everyone = np.arange(n)
        rows: list[tuple[np.ndarray, np.ndarray, bytes, np.ndarray, np.ndarray, int]] = []

        def when(who: np.ndarray, after: np.ndarray | None = None) -> np.ndarray:
            begin = self.first_seen[who] if after is None else after
            return begin + ((v.now - begin) * rng.random(len(who)) ** 3).astype(np.int64)

        # Marketing on the contact channel: most opt in when they follow or sign up…
        who = everyone[rng.random(n) < 0.88]
        granted = rng.random(len(who)) < 0.93
        first = when(who)
        rows.append((who, self.contact[who], b"marketing", granted, first, 0))
        # …and one in ten changes their mind later.
        changed = rng.random(len(who)) < 0.1
        later = who[changed]
        rows.append(
            (
                later,
                self.contact[later],
                b"marketing",
                ~granted[changed],
                when(later, first[changed] + 1),
                1,
            )
        )
        # Service messages on every channel ("all" sits after the channels in the vocab).
        who = everyone[rng.random(n) < 0.5]
        rows.append(
            (
                who,
                np.full(len(who), len(v.channels)),
                b"service",
                np.ones(len(who), bool),
                when(who),
                2,
            )
        )
        # Analytics cookies on the web.
        who = everyone[rng.random(n) < 0.3]
        rows.append((who, np.full(len(who), v.channel("web")), b"analytics", rng.random(len(who)) < 0.8, when(who), 3))  # fmt: skip

        owner = np.concatenate([r[0] for r in rows])
        sources = [b"signup", b"preference_center", b"terms_of_service", b"cookie_banner"]
        evidence = np.concatenate([np.full(len(r[0]), r[5]) for r in rows])
        columns: list[Column] = [
            self.id_cells[owner],
            v.channel_cells[np.concatenate([r[1] for r in rows])],
            np.concatenate([np.full(len(r[0]), r[2], dtype=object) for r in rows]),
            np.where(np.concatenate([r[3] for r in rows]), b"granted", b"withdrawn").astype(object),
            v.timestamps(np.minimum(np.concatenate([r[4] for r in rows]), v.now)),
            np.array(sources, dtype=object)[evidence],
            v.evidence[evidence],
        ]
        return _lines(columns, len(owner)), len(owner)

    def tags(self) -> tuple[bytes, int]:
        v, rng, n = self.vocab, self.rng, self.n
        per_customer = _pick(rng, [55, 28, 12, 5], n)  # 0-3 distinct tags each
        shuffled = np.argsort(rng.random((n, v.tag_count)), axis=1)
        owner, column = np.nonzero(np.arange(v.tag_count) < per_customer[:, None])
        seconds = self._timestamps_between(owner, np.full(len(owner), v.now))
        columns: list[Column] = [
            self.id_cells[owner],
            v.tag_ids[shuffled[owner, column]],
            v.timestamps(seconds),
        ]
        return _lines(columns, len(owner)), len(owner)


@dataclass
class _TimelineRows:
    """Interactions that echo something else in the chunk: paid and refunded orders
    (purchase), customers brought by a friend (referral)."""

    owner: np.ndarray  # index into the chunk's customers
    seconds: np.ndarray
    channel: np.ndarray  # index into _Vocabulary.channels
    kind: int  # index into _Vocabulary.kinds
    metadata: Cells
    external_id: Cells
