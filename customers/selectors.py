"""Reads of customer profiles: the searchable list, the Profile 360 and its timeline.

Only live customers (not merged away, not erased) are ever returned; query shape is
decided here so the pages cannot forget a filter or cause N+1 queries.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.contrib.postgres.fields import ArrayField
from django.db import connection
from django.db.models import (
    BooleanField,
    CharField,
    Exists,
    F,
    Lookup,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    TextChoices,
    Value,
)
from django.db.models.expressions import RawSQL
from django.db.models.lookups import Exact
from django.utils import timezone

from customers.channels import (
    IDENTITY_CHANNEL,
    SEARCHABLE_IDENTITY_KINDS,
    Channel,
    ConsentChannel,
    IdentityKind,
)
from customers.models import (
    LIVE_CUSTOMER,
    Consent,
    Customer,
    CustomerTag,
    Identity,
    Interaction,
    InteractionKind,
    Note,
    Order,
    Tag,
)
from customers.normalize import normalize_email, normalize_phone
from customers.paging import LookaheadPage

SORTS = {
    "name": (F("display_name").asc(), F("id").asc()),
    "-last_seen_at": (F("last_seen_at").desc(nulls_last=True), F("id").desc()),
    "-revenue": (F("revenue").desc(), F("id").desc()),
    "-order_count": (F("order_count").desc(), F("id").desc()),
}
DEFAULT_SORT = "-last_seen_at"
# The timeline's pseudo-kind for orders, next to the interaction kinds.
ORDER_KIND = "order"
_MAX_BIGINT = 2**63 - 1


class ILikeContains(Lookup):
    """`col ILIKE '%text%'`: unlike icontains (UPPER(col) LIKE …) the trigram GIN index serves it."""

    lookup_name = "ilike_contains"

    prepare_rhs = False

    def get_prep_lookup(self) -> str:
        text = str(self.rhs)
        return _ilike_pattern(text)

    def as_sql(self, compiler, connection):  # noqa: ANN001, ANN201
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        return f"{lhs} ILIKE {rhs}", [*lhs_params, *rhs_params]


def live_customers() -> QuerySet[Customer]:
    return Customer.objects.filter(LIVE_CUSTOMER)


def identity_kinds_for(channel: str) -> list[str]:
    return [str(kind) for kind, reached in IDENTITY_CHANNEL.items() if reached == channel]


def customer_search(
    *,
    query: str = "",
    channel: str = "",
    tag: str = "",
    city: str = "",
    consent: str = "",
    last_seen_days: int | None = None,
    sort: str = DEFAULT_SORT,
) -> QuerySet[Customer]:
    customers = live_customers()
    query = _clean(query)
    if query:
        customers = customers.filter(_matches(query))
    if channel:
        customers = customers.filter(
            Exists(
                Identity.objects.filter(
                    customer=OuterRef("pk"), kind__in=identity_kinds_for(channel)
                )
            )
        )
    if tag:
        customers = customers.filter(
            # The tag id is looked up first, so each probe is one (customer, tag) index entry.
            Exists(
                CustomerTag.objects.filter(
                    customer=OuterRef("pk"),
                    tag_id=Subquery(Tag.objects.filter(name=tag).values("pk")[:1]),
                )
            )
        )
    if city:
        customers = customers.filter(city=city)
    if consent:
        customers = customers.filter(_marketing_consent_granted(consent))
    if last_seen_days is not None:
        customers = customers.filter(
            last_seen_at__gte=timezone.now() - timedelta(days=last_seen_days)
        )
    return customers.prefetch_related(
        Prefetch("identities", queryset=Identity.objects.only("id", "customer_id", "kind")),
        "tags",
    ).order_by(*SORTS.get(sort, SORTS[DEFAULT_SORT]))


# Columns the list shows; the rest of a customer row (attributes JSON, aggregates) stays unread.
LIST_COLUMNS = ("id", "display_name", "city", "last_seen_at", "order_count", "revenue")


def customer_rows(customers: QuerySet[Customer]) -> QuerySet[Customer]:
    """`customers` reduced to what a list row shows; with_badges adds identities and tags."""
    return customers.only(*LIST_COLUMNS).prefetch_related(None)


def with_badges(customers: QuerySet[Customer]) -> list[Customer]:
    """The page's customers, each with `kind_labels` (its identity kinds, once each, by
    kind) and `tag_names` (A→Z), read in the same query as the rows: two array subqueries,
    an index probe each per row of the page (not two more round trips). The template
    prints them as they are, instead of regrouping prefetched identity rows and looking
    each kind's label up (get_kind_display rebuilds the choices on every call)."""
    customer = _table(Customer)
    customers = customers.annotate(
        identity_kinds=RawSQL(
            f"ARRAY(SELECT DISTINCT i.kind FROM {_table(Identity)} i"
            f" WHERE i.customer_id = {customer}.id ORDER BY 1)", [],
            output_field=ArrayField(CharField()),
        ),
        tag_list=RawSQL(
            f"ARRAY(SELECT t.name FROM {_table(CustomerTag)} ct JOIN {_table(Tag)} t ON t.id = ct.tag_id"
            f" WHERE ct.customer_id = {customer}.id ORDER BY t.name)", [],
            output_field=ArrayField(CharField()),
        ),
    )
    labels = {kind.value: str(kind.label) for kind in IdentityKind}
    rows = list(customers)
    for row in rows:
        row.kind_labels = [labels.get(kind, kind) for kind in row.identity_kinds]
        row.tag_names = row.tag_list
    return rows


def customer_page(
    *, number: int, per_page: int, max_pages: int, exact_first: bool = False, **search: Any
) -> LookaheadPage:
    """One page of a searched or filtered list, per_page + 1 rows read, no count.

    With `exact_first` (a search without a sort the user picked), customers the query names
    exactly — their id or a whole email, phone or handle — come first, then the other
    matches in the default order: the person being looked for is at the top even when
    thousands of names share the fragment.
    """
    offset = (number - 1) * per_page
    wanted = per_page + 1
    customers = customer_rows(customer_search(**search))
    rows: list[Customer] = []
    exact_ids: list[int] = []
    query = _clean(search.get("query", ""))
    if exact_first and query:
        # exact matches are matches: probe them without the search's fragment branches
        unsearched = customer_rows(customer_search(**{**search, "query": ""}))
        exact_ids = list(
            unsearched.filter(pk__in=RawSQL(*_exact_sql(query)))
            .values_list("pk", flat=True)[:MAX_EXACT]
        )
        page_ids = exact_ids[offset : offset + wanted]
        rows = with_badges(unsearched.filter(pk__in=page_ids)) if page_ids else []
        if _walks_the_list(query, search):
            # the walk reads ids only (index-only), then the page's rows by id
            start = max(0, offset - len(exact_ids))
            walked = _fragment_walk(query).exclude(pk__in=exact_ids).values_list("pk", flat=True)
            ids = list(walked[start : start + wanted - len(rows)])
            found = with_badges(unsearched.filter(pk__in=ids)) if ids else []
            return _page(rows + found, number, per_page, max_pages)
        customers = customers.exclude(pk__in=exact_ids)
    if len(rows) < wanted:
        start = max(0, offset - len(exact_ids))
        rows += with_badges(customers[start : start + wanted - len(rows)])
    return _page(rows, number, per_page, max_pages)


def _page(rows: list[Customer], number: int, per_page: int, max_pages: int) -> LookaheadPage:
    return LookaheadPage(rows, number=number, per_page=per_page, max_pages=max_pages)


# A fragment matching at least this many names or identities is "common": its first
# pages are found sooner by walking the list in its default order than by reading every
# match (see _fragment_walk). At 1M customers a match costs ~30 us to read and sort, a
# walked customer ~8 us to test; a page of 25 walks ~25M/matches customers, so the walk
# wins from about a thousand matches on.
COMMON_FRAGMENT = 1000


def _walks_the_list(query: str, search: dict[str, Any]) -> bool:
    """Whether a search's pages come from _fragment_walk: a trigram-long fragment (not
    digits), no other filter, the default order, and a common fragment. The test reads at
    most COMMON_FRAGMENT matching names and identities together."""
    filtered = any(value for key, value in search.items() if key not in ("query", "sort"))
    if filtered or search.get("sort", DEFAULT_SORT) != DEFAULT_SORT:
        return False
    if len(query) < TRIGRAM or (query.isascii() and query.isdigit()):
        return False
    kinds = ", ".join("%s" for _ in SEARCHABLE_IDENTITY_KINDS)
    pattern = _ilike_pattern(query)
    # One round trip; the identities are only read if the names were fewer than the cap.
    branches = [f"(SELECT 1 FROM {_table(Identity)} WHERE kind IN ({kinds}) AND value ILIKE %s LIMIT %s)"]
    params: list = [*SEARCHABLE_IDENTITY_KINDS, pattern, COMMON_FRAGMENT]
    if _names_may_hold(query):
        branches.insert(0, f"(SELECT 1 FROM {_table(Customer)} WHERE display_name ILIKE %s LIMIT %s)")
        params[:0] = [pattern, COMMON_FRAGMENT]
    sql = f"SELECT count(*) FROM (SELECT 1 FROM ({' UNION ALL '.join(branches)}) found LIMIT %s) matches"
    params.append(COMMON_FRAGMENT)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()[0] >= COMMON_FRAGMENT


def _fragment_walk(query: str) -> QuerySet[Customer]:
    """Live customers whose name or email, phone or member number holds `query`, in the
    default order, tested one by one while walking that order.

    For a common fragment ("peters": ~5,000 names and ~5,000 emails at 1M customers) reading
    every match to sort it reads ~10,000 scattered heap pages; the walk tests about
    (1M / matches) customers per row shown, each test an index-only read:
    customer_live_last_seen_name carries the name beside the sort key and
    identity_searchable_by_customer the searchable values beside the customer id
    (migration 0005). The identity test is an EXISTS with OFFSET 0 so that PostgreSQL
    keeps it a per-customer probe instead of hashing every matching identity first.
    Same rows as customer_search(query=…) minus exact-only matches (platform handles),
    which customer_page shows first."""
    handle_holds_query = RawSQL(
        f"EXISTS (SELECT 1 FROM {_table(Identity)} i WHERE i.customer_id = {_table(Customer)}.id"
        f" AND i.kind IN ({', '.join('%s' for _ in SEARCHABLE_IDENTITY_KINDS)})"
        " AND i.value ILIKE %s OFFSET 0)",
        [*SEARCHABLE_IDENTITY_KINDS, _ilike_pattern(query)],
        output_field=BooleanField(),
    )
    holds_query = Q(handle_holds_query)
    if _names_may_hold(query):
        holds_query |= Q(ILikeContains(F("display_name"), query))
    return live_customers().filter(holds_query).order_by(*SORTS[DEFAULT_SORT])


def _names_may_hold(query: str) -> bool:
    """Whether a search looks in display names. Not for an email-shaped query (one with
    "@"): names do not hold addresses, and at 1M customers the name trigram index read
    ~180 ms of posting lists for a whole address (its name-like trigrams, "sop", "lew",
    are in many names) to find nothing. Emails are found through identities, whole or in
    part."""
    return "@" not in query


# A query names at most a handful of people exactly; this bounds a pathological one.
MAX_EXACT = 100


def _clean(query: str) -> str:
    return query.replace("\x00", "").strip()  # PostgreSQL text cannot hold NUL


def _exact_sql(query: str) -> tuple[str, list]:
    """Customers the query names exactly: their id, an identity value (normalized too) or
    their whole display name (customer_live_name serves it)."""
    branches = [
        _EXACT_IDENTITY_SQL,
        f"SELECT id FROM {_table(Customer)} WHERE display_name = %s"
        " AND merged_into_id IS NULL AND erased_at IS NULL",
    ]
    params: list = [_exact_values(query), query]
    if query.isascii() and query.isdigit() and int(query) <= _MAX_BIGINT:
        branches.append("SELECT %s::bigint")
        params.append(int(query))
    return " UNION ".join(branches), params


# Name fragments shorter than a trigram cannot use the trigram index: they are matched
# while walking the list in sort order instead (cheap when the fragment is common).
TRIGRAM = 3


def _matches(query: str) -> Q:
    """Customers the search box finds: a UNION of index-served branches, not an OR across joins.

    - digits only: the customer id, an exact identity, or a phone by its ending or
      beginning (see _digit_branches), and nothing else;
    - an exact identity value of any kind (a pasted OpenID, PSID, member number…), the raw
      text and its normalized email and phone spellings, probed through the
      (kind, scope, value) unique index for each (kind, scope) pair the brand has;
    - a fragment of an email, phone or member number (trigram index identity_value_trgm);
    - a fragment of the display name (trigram index customer_name_trgm).

    Each branch yields customer ids from an index; only the union meets the customer table.
    A name fragment of one or two characters has no trigram, so it stays a plain filter on
    the customer row (see TRIGRAM), beside the id branches.
    """
    branches, params = [_EXACT_IDENTITY_SQL], [_exact_values(query)]
    if query.isascii() and query.isdigit():
        return Q(pk__in=RawSQL(" UNION ".join(branches + _digit_branches(query, params)), params))
    pattern = _ilike_pattern(query)
    if len(query) >= TRIGRAM:
        kinds = ", ".join("%s" for _ in SEARCHABLE_IDENTITY_KINDS)
        branches.append(
            f"SELECT customer_id FROM {_table(Identity)}"
            f" WHERE kind IN ({kinds}) AND value ILIKE %s"
        )
        params += [*SEARCHABLE_IDENTITY_KINDS, pattern]
        if _names_may_hold(query):
            branches.append(f"SELECT id FROM {_table(Customer)} WHERE display_name ILIKE %s")
            params.append(pattern)
        return Q(pk__in=RawSQL(" UNION ".join(branches), params))
    return Q(ILikeContains(F("display_name"), query)) | Q(
        pk__in=RawSQL(" UNION ".join(branches), params)
    )


# Digits find phones by their ending from this many digits on, and by their beginning
# (with or without the home country code) from PHONE_PREFIX on: shorter prefixes match a
# large share of all numbers and no one looks a person up by them.
PHONE_SUFFIX = 4
PHONE_PREFIX = 7
HOME_COUNTRY_CODE = "86"  # normalize_phone reads numbers without a code as CN numbers


def _digit_branches(digits: str, params: list) -> list[str]:
    """A digits-only query is an id or a phone number, whole or in part; it is not looked
    for in names or trigram indexes (digits have few distinct trigrams, so those branches
    read long posting lists for nothing). Appends its parameters to `params`."""
    branches = []
    if int(digits) <= _MAX_BIGINT:
        branches.append("SELECT %s::bigint")
        params.append(int(digits))
    identities = _table(Identity)
    if len(digits) >= PHONE_SUFFIX:
        # served by identity_phone_suffix (migration 0005)
        branches.append(
            f"SELECT customer_id FROM {identities}"
            " WHERE kind = 'phone' AND reverse(value) LIKE %s"
        )
        params.append(digits[::-1] + "%")
    if len(digits) >= PHONE_PREFIX:
        # served by the (kind, scope, value) unique index: phones have no scope
        branches.append(
            f"SELECT customer_id FROM {identities}"
            " WHERE kind = 'phone' AND scope = '' AND (value LIKE %s OR value LIKE %s)"
        )
        params += [f"+{digits}%", f"+{HOME_COUNTRY_CODE}{digits}%"]
    return branches


# Every (kind, scope) pair present, read by a loose index scan of the unique
# (kind, scope, value) index: one probe per pair, however many identities there are.
_IDENTITY_SCOPES_SQL_TEMPLATE = """
WITH RECURSIVE pairs(kind, scope) AS (
    (SELECT kind, scope FROM {table} ORDER BY kind, scope LIMIT 1)
    UNION ALL
    SELECT next.kind, next.scope FROM pairs, LATERAL (
        SELECT kind, scope FROM {table} t WHERE (t.kind, t.scope) > (pairs.kind, pairs.scope)
        ORDER BY kind, scope LIMIT 1
    ) next
)
SELECT kind, scope FROM pairs
"""
_IDENTITY_SCOPES_SQL = _IDENTITY_SCOPES_SQL_TEMPLATE.format(table=Identity._meta.db_table)
_EXACT_IDENTITY_SQL = (
    f"SELECT i.customer_id FROM {Identity._meta.db_table} i"
    f" JOIN ({_IDENTITY_SCOPES_SQL}) p ON i.kind = p.kind AND i.scope = p.scope"
    " WHERE i.value = ANY(%s)"
)


def _table(model: type) -> str:
    return model._meta.db_table


def _exact_values(query: str) -> list[str]:
    values = {query}
    if "@" in query:
        values.add(normalize_email(query) or query)
    if any(c.isdigit() for c in query):
        values.add(normalize_phone(query) or query)
    return sorted(values)


def _ilike_pattern(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _marketing_consent_granted(channel: str) -> Q:
    """The latest marketing consent covering `channel` (its own rows or "all channels")."""
    latest = (
        Consent.objects.filter(
            customer=OuterRef("pk"),
            purpose=Consent.Purpose.MARKETING,
            channel__in=[channel, ConsentChannel.ALL],
        )
        .order_by("-recorded_at", "-id")
        .values("status")[:1]
    )
    return Q(Exact(Subquery(latest), Value(Consent.Status.GRANTED)))


def customer_table_estimate() -> int:
    """The planner's estimate of the customer table's rows (pg_class.reltuples, kept by
    ANALYZE and autovacuum; -1 before the first): free to read, and enough to tell a brand
    of hundreds of thousands from one of a few thousand."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples::bigint FROM pg_class WHERE oid = %s::regclass", [_table(Customer)])
        row = cursor.fetchone()
    return row[0] if row else -1


def customer_cities(limit: int = 200) -> list[str]:
    """Distinct cities of live customers, A→Z: a loose index scan of customer_city (one
    probe per distinct city) instead of DISTINCT over every customer row."""
    table = _table(Customer)
    sql = f"""
        WITH RECURSIVE cities(city) AS (
            (SELECT city FROM {table} WHERE city > '' ORDER BY city LIMIT 1)
            UNION ALL
            SELECT (SELECT city FROM {table} t WHERE t.city > cities.city ORDER BY city LIMIT 1)
            FROM cities WHERE cities.city IS NOT NULL
        )
        SELECT city FROM cities WHERE city IS NOT NULL AND EXISTS (
            SELECT 1 FROM {table} c
            WHERE c.city = cities.city AND c.merged_into_id IS NULL AND c.erased_at IS NULL
        )
        LIMIT %s
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, [limit])
        return [row[0] for row in cursor.fetchall()]


def customer_profile(customer_id: int) -> Customer:
    """The live customer with identities, tags and notes; raises Customer.DoesNotExist."""
    return live_customers().prefetch_related(
        Prefetch("identities", queryset=Identity.objects.order_by("kind", "id")),
        "tags",
        Prefetch("notes", queryset=Note.objects.select_related("author")),
    ).get(pk=customer_id)


def identity_rows(customer: Customer) -> list[tuple[Identity, str]]:
    """Each prefetched identity with the name of the channel it reaches ("" for none)."""
    rows = []
    for identity in customer.identities.all():
        reached = IDENTITY_CHANNEL.get(identity.kind)
        rows.append((identity, Channel(reached).label if reached else ""))
    return rows


def current_consents(customer: Customer) -> QuerySet[Consent]:
    """The latest Consent row per channel × purpose (served by the consent_current index)."""
    return (
        Consent.objects.filter(customer=customer)
        .order_by("channel", "purpose", "-recorded_at", "-id")
        .distinct("channel", "purpose")
    )


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    source: str  # "i" interaction, "o" order; orders sort after interactions at equal times
    item: Interaction | Order

    @property
    def cursor(self) -> str:
        return f"{self.at.isoformat()}~{self.source}~{self.item.pk}"

    @property
    def is_order(self) -> bool:
        return self.source == "o"

    # Labels by enum lookup: get_FOO_display rebuilds the field's choices on every call,
    # which cost more than the SQL on a 50-item timeline page.
    @property
    def kind_label(self) -> str:
        return _label(InteractionKind, self.item.kind) if not self.is_order else ""

    @property
    def channel_label(self) -> str:
        return _label(Channel, self.item.channel)

    @property
    def status_label(self) -> str:
        return _label(Order.Status, self.item.status) if self.is_order else ""


def _label(choices: type[TextChoices], value: str) -> str:
    try:
        return str(choices(value).label)
    except ValueError:
        return value


@dataclass(frozen=True)
class TimelinePage:
    entries: list[TimelineEntry]
    next_cursor: str | None


def parse_cursor(raw: str | None) -> tuple[datetime, str, int] | None:
    """A cursor from TimelineEntry.cursor, or None when absent or malformed."""
    if not raw:
        return None
    try:
        at_text, source, pk = raw.split("~")
        at = datetime.fromisoformat(at_text)
        if source not in ("i", "o") or at.tzinfo is None:
            return None
        return at, source, int(pk)
    except ValueError:
        return None


def _before(time_field: str, source: str, cursor: tuple[datetime, str, int] | None) -> Q:
    """Rows strictly after `cursor` in (time, source, id) descending order."""
    if cursor is None:
        return Q()
    at, cursor_source, pk = cursor
    older = Q(**{f"{time_field}__lt": at})
    if source < cursor_source:
        return older | Q(**{time_field: at})
    if source == cursor_source:
        return older | Q(**{time_field: at, "pk__lt": pk})
    return older


def customer_timeline(
    customer: Customer,
    *,
    kinds: list[str] | None = None,
    channel: str | None = None,
    before: str | None = None,
    limit: int = 50,
) -> TimelinePage:
    """Interactions and orders, newest first, one keyset page after the `before` cursor.

    Each side is read with its own (customer, -time) index, limit + 1 rows at most, and the
    two short lists are merged here; the cost does not grow with the customer's history.
    """
    cursor = parse_cursor(before)
    interaction_kinds = [k for k in kinds or [] if k != ORDER_KIND]
    entries: list[TimelineEntry] = []
    if not kinds or interaction_kinds:
        interactions = Interaction.objects.filter(
            _before("occurred_at", "i", cursor), customer=customer
        )
        if interaction_kinds:
            interactions = interactions.filter(kind__in=interaction_kinds)
        if channel:
            interactions = interactions.filter(channel=channel)
        entries += [
            TimelineEntry(row.occurred_at, "i", row)
            for row in interactions.order_by("-occurred_at", "-id")[: limit + 1]
        ]
    if not kinds or ORDER_KIND in kinds:
        orders = Order.objects.filter(_before("ordered_at", "o", cursor), customer=customer)
        if channel:
            orders = orders.filter(channel=channel)
        entries += [
            TimelineEntry(row.ordered_at, "o", row)
            for row in orders.order_by("-ordered_at", "-id")[: limit + 1]
        ]
    entries.sort(key=lambda e: (e.at, e.source, e.item.pk), reverse=True)
    page = entries[:limit]
    return TimelinePage(page, page[-1].cursor if len(entries) > limit else None)


@dataclass(frozen=True)
class BrandSummary:
    customers: int
    new_last_30_days: list[tuple[str, int]]  # (day, count), oldest first
    channel_mix: list[tuple[str, int]]  # (channel label, customers with an identity there)


def brand_summary() -> BrandSummary:
    """Figures for the brand home page: three aggregate queries, cached per brand for
    five minutes (the cache key carries the schema, see settings.CACHES)."""
    from django.core.cache import cache
    from django.db.models import Count
    from django.db.models.functions import TruncDate

    cached = cache.get("home:brand-summary")
    if cached is not None:
        return cached
    since = timezone.now() - timedelta(days=30)
    per_day = dict(
        live_customers().filter(created_at__gte=since)
        .annotate(day=TruncDate("created_at")).values("day")
        .annotate(n=Count("id")).values_list("day", "n")
    )
    days = [(since + timedelta(days=i)).date() for i in range(1, 31)]
    kinds = dict(Identity.objects.values("kind").annotate(n=Count("customer_id", distinct=True)).values_list("kind", "n"))
    mix: dict[str, int] = {}
    for kind, count in kinds.items():
        channel = IDENTITY_CHANNEL.get(kind)
        if channel:
            label = str(Channel(channel).label)
            mix[label] = max(mix.get(label, 0), count)
    summary = BrandSummary(
        customers=live_customers().count(),
        new_last_30_days=[(day.strftime("%m-%d"), per_day.get(day, 0)) for day in days],
        channel_mix=sorted(mix.items(), key=lambda item: -item[1]),
    )
    cache.set("home:brand-summary", summary, 300)
    return summary
