"""Writes to customer profiles: the only place their state changes.

Everything here is set-wise: the ingestion pipeline calls these with a micro-batch of
customers, the generator and nightly jobs with everyone, and the cost stays a handful of
statements either way (DESIGN.md, "the ingestion spine").
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.db import connection, transaction
from django.utils import timezone

from customers.models import OUTBOUND_INTERACTION_KINDS, Customer, Interaction, Order

# Windows (days) of Customer.interaction_counts; the keys are these numbers as strings.
INTERACTION_WINDOWS_DAYS = (7, 30, 90)

_REFRESH_SQL = """
WITH activity AS (
    SELECT i.customer_id, i.channel,
           count(*) FILTER (WHERE i.occurred_at >= %(now)s - interval '7 days') AS d7,
           count(*) FILTER (WHERE i.occurred_at >= %(now)s - interval '30 days') AS d30,
           count(*) FILTER (WHERE i.occurred_at >= %(now)s - interval '90 days') AS d90,
           min(i.occurred_at) AS first_at,
           max(i.occurred_at) AS last_at
      FROM {interaction} i
     WHERE i.kind <> ALL(%(outbound)s) {interaction_filter}
     GROUP BY i.customer_id, i.channel
), activity_per_customer AS (
    SELECT customer_id,
           COALESCE(
               jsonb_object_agg(channel, jsonb_build_object('7', d7, '30', d30, '90', d90))
                   FILTER (WHERE d90 > 0),
               '{{}}'::jsonb
           ) AS counts,
           sum(d30) AS total_30d,
           min(first_at) AS first_at,
           max(last_at) AS last_at
      FROM activity
     GROUP BY customer_id
), purchases AS (
    SELECT o.customer_id,
           count(*) FILTER (WHERE o.status = 'paid') AS order_count,
           COALESCE(sum(o.amount) FILTER (WHERE o.status = 'paid'), 0) AS revenue,
           max(o.ordered_at) FILTER (WHERE o.status = 'paid') AS last_order_at,
           min(o.ordered_at) AS first_at,
           max(o.ordered_at) AS last_at
      FROM {order} o
     WHERE TRUE {order_filter}
     GROUP BY o.customer_id
), fresh AS (
    SELECT c.id,
           COALESCE(a.counts, '{{}}'::jsonb) AS counts,
           COALESCE(a.total_30d, 0) AS total_30d,
           COALESCE(p.order_count, 0) AS order_count,
           COALESCE(p.revenue, 0) AS revenue,
           p.last_order_at,
           LEAST(c.first_seen_at, a.first_at, p.first_at) AS first_seen_at,
           GREATEST(c.last_seen_at, a.last_at, p.last_at) AS last_seen_at
      FROM {customer} c
      LEFT JOIN activity_per_customer a ON a.customer_id = c.id
      LEFT JOIN purchases p ON p.customer_id = c.id
     WHERE TRUE {customer_filter}
)
UPDATE {customer} c
   SET interaction_counts = f.counts,
       total_interactions_30d = f.total_30d,
       order_count = f.order_count,
       revenue = f.revenue,
       last_order_at = f.last_order_at,
       first_seen_at = f.first_seen_at,
       last_seen_at = f.last_seen_at
  FROM fresh f
 WHERE c.id = f.id
   AND (c.interaction_counts, c.total_interactions_30d, c.order_count, c.revenue,
        c.last_order_at, c.first_seen_at, c.last_seen_at)
       IS DISTINCT FROM
       (f.counts, f.total_30d, f.order_count, f.revenue,
        f.last_order_at, f.first_seen_at, f.last_seen_at)
"""


def refresh_customer_aggregates(
    *, customer_ids: Iterable[int] | None = None, now: datetime | None = None
) -> int:
    """Recompute the denormalized columns on Customer from interactions and orders.

    - interaction_counts / total_interactions_30d: what the customer did (inbound kinds;
      messages and campaigns the brand sent are not the customer's activity), per channel
      over the last 7 / 30 / 90 days before `now`; channels quiet for 90 days drop out.
    - order_count / revenue / last_order_at: paid orders only (refunded and cancelled
      orders are not revenue).
    - first_seen_at / last_seen_at: widened to cover every interaction and order; never
      narrowed, because "seen" is history (a merge moving interactions away does not
      make us forget we saw the person).

    `customer_ids=None` refreshes every customer in the brand. Rows whose values did not
    change are not rewritten. Returns the number of customers updated.
    """
    now = now or timezone.now()
    params: dict[str, object] = {
        "now": now,
        "outbound": sorted(str(kind) for kind in OUTBOUND_INTERACTION_KINDS),
    }
    if customer_ids is None:
        interaction_filter = order_filter = customer_filter = ""
    else:
        params["ids"] = sorted({int(pk) for pk in customer_ids})
        if not params["ids"]:
            return 0
        interaction_filter = "AND i.customer_id = ANY(%(ids)s)"
        order_filter = "AND o.customer_id = ANY(%(ids)s)"
        customer_filter = "AND c.id = ANY(%(ids)s)"
    sql = _REFRESH_SQL.format(
        customer=connection.ops.quote_name(Customer._meta.db_table),
        interaction=connection.ops.quote_name(Interaction._meta.db_table),
        order=connection.ops.quote_name(Order._meta.db_table),
        interaction_filter=interaction_filter,
        order_filter=order_filter,
        customer_filter=customer_filter,
    )
    with transaction.atomic(), connection.cursor() as cursor:
        if customer_ids is None:
            # A whole-brand refresh aggregates every interaction: let the hash aggregate
            # stay in memory instead of spilling (this transaction only).
            cursor.execute("SELECT set_config('work_mem', '256MB', true)")
        cursor.execute(sql, params)
        return cursor.rowcount


_ADD_ACTIVITY_SQL = """
WITH batch AS (
    SELECT * FROM unnest(%(customers)s::bigint[], %(channels)s::text[], %(kinds)s::text[], %(at)s::timestamptz[])
        AS b(customer_id, channel, kind, occurred_at)
), activity AS (
    SELECT customer_id, channel,
           count(*) FILTER (WHERE occurred_at >= %(now)s - interval '7 days') AS d7,
           count(*) FILTER (WHERE occurred_at >= %(now)s - interval '30 days') AS d30,
           count(*) FILTER (WHERE occurred_at >= %(now)s - interval '90 days') AS d90,
           min(occurred_at) AS first_at,
           max(occurred_at) AS last_at
      FROM batch
     WHERE kind <> ALL(%(outbound)s)
     GROUP BY customer_id, channel
), delta AS (
    SELECT customer_id,
           COALESCE(jsonb_object_agg(channel, jsonb_build_object('7', d7, '30', d30, '90', d90))
                        FILTER (WHERE d90 > 0), '{{}}'::jsonb) AS counts,
           sum(d30) AS d30,
           min(first_at) AS first_at,
           max(last_at) AS last_at
      FROM activity
     GROUP BY customer_id
), locked AS (
    -- One lock order for every worker: overlapping batches wait, never deadlock here.
    SELECT c.id FROM {customer} c WHERE c.id IN (SELECT customer_id FROM delta) ORDER BY c.id FOR UPDATE
)
UPDATE {customer} c
   SET interaction_counts = c.interaction_counts || COALESCE((
           SELECT jsonb_object_agg(n.key, jsonb_build_object(
                      '7', COALESCE((c.interaction_counts -> n.key ->> '7')::int, 0) + (n.value ->> '7')::int,
                      '30', COALESCE((c.interaction_counts -> n.key ->> '30')::int, 0) + (n.value ->> '30')::int,
                      '90', COALESCE((c.interaction_counts -> n.key ->> '90')::int, 0) + (n.value ->> '90')::int))
             FROM jsonb_each(d.counts) n), '{{}}'::jsonb),
       total_interactions_30d = c.total_interactions_30d + d.d30,
       first_seen_at = LEAST(c.first_seen_at, d.first_at),
       last_seen_at = GREATEST(c.last_seen_at, d.last_at)
  FROM delta d JOIN locked l ON l.id = d.customer_id
 WHERE c.id = d.customer_id
"""


def add_interactions_to_aggregates(
    *, interactions: Iterable[tuple[int, str, str, datetime]], now: datetime | None = None
) -> int:
    """Count newly recorded interactions (customer id, channel, kind, occurred_at) into
    their customers' aggregates, in one statement, without reading older interactions.

    The ingestion pipeline's cheap path: a batch costs what it holds, not what its
    customers did before. It adds exactly what `refresh_customer_aggregates` would for
    these rows at `now`; what it cannot do is age older activity out of the 7/30/90-day
    windows, which the periodic full refresh does. Increments are computed from the row
    being updated (not a snapshot), so concurrent batches for one customer both count.
    Orders are not counted here: callers refresh customers whose orders changed.
    Returns the number of customers updated."""
    rows = list(interactions)
    if not rows:
        return 0
    params = {
        "customers": [row[0] for row in rows], "channels": [row[1] for row in rows],
        "kinds": [row[2] for row in rows], "at": [row[3] for row in rows],
        "now": now or timezone.now(), "outbound": sorted(str(kind) for kind in OUTBOUND_INTERACTION_KINDS),
    }
    sql = _ADD_ACTIVITY_SQL.format(customer=connection.ops.quote_name(Customer._meta.db_table))
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount
