"""Customer scores, computed for the whole brand in a few set-wise statements.

Every live customer's CustomerScore is written by one INSERT … SELECT into a fresh copy
of the score table, which then replaces the old one (segments.table_swap: no 1M-row
upsert, no dead rows, readers see the old scores until the swap). The SELECT joins three
aggregates, each built once into an analyzed temp table: interactions of the last year
(the run's only pass over that table, every per-customer figure at once), paid orders
with their RFM quintiles, and the referral graph (read off a partial index); only the
graph's centrality leaves SQL (PageRank on the edge list with numpy, which is tiny next
to the customer table). Each score keeps its components, and `score_reasons` turns them
into the sentences the profile shows.

Definitions (kept here once; the tests check RFM against a pandas reference):
- RFM over paid orders of live customers (merged and erased profiles are not ranked):
  R, F, M are ntile(5) over (last order, count, revenue), ties
  broken by customer id; 5 is best. Groups by R and F+M (see _RFM_GROUP_SQL).
- Activity: Σ weight(kind) · 0.5^(age in days / half-life) over the last 365 days.
- Influence: ln(1 + reach) + 2·shares + 2·mentions + 10·referrals that converted
  + 5·centrality (PageRank × graph size, so 1 is an average node).
- Participation: creator (≥ 5 authored and ≥ 30 % of own interactions authored),
  occasional (authored something), silent (only passive), inactive (nothing in a year).
- Lifecycle: lapsed (nothing for 180 days), new (first seen < 90 days ago), declining
  (last 90 days < half the 90 before), growing (> 1.25× the 90 before), else mature.
- Value: 0–100 from the percentile ranks of revenue, influence and activity, weighted
  by ScoringSettings; tiers are the top key% / next middle% / the rest.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from customers.channels import IDENTITY_CHANNEL
from customers.models import Consent, Customer, Identity, Interaction, Order
from segments.models import (
    CustomerScore,
    Lifecycle,
    Participation,
    RFMGroup,
    ScoringSettings,
    SocialCapitalSnapshot,
    Tier,
)
from segments.table_swap import fresh_copy, validate_foreign_keys

AUTHORED_KINDS = ("message_in", "comment", "mention", "share", "poll_vote", "referral")
PASSIVE_KINDS = (
    "like", "follow", "click", "page_view", "campaign_read", "campaign_clicked",
    "campaign_delivered", "message_out",
)  # fmt: skip
INBOUND_EXCLUDED = ("message_out", "campaign_delivered")

_RFM_GROUP_SQL = """
CASE WHEN r = 0 THEN 'none'
     WHEN r >= 4 AND f + m >= 8 THEN 'champions'
     WHEN r >= 3 AND f + m >= 6 THEN 'loyal'
     WHEN r >= 4 AND f + m <= 2 THEN 'new'
     WHEN r >= 3 THEN 'potential'
     WHEN r <= 1 AND f + m >= 8 THEN 'cant_lose'
     WHEN f + m >= 6 THEN 'at_risk'
     WHEN r = 2 THEN 'hibernating'
     ELSE 'lost' END
"""

# Every per-customer interaction aggregate the scores need, in one pass over the last
# year of interactions (the only table scan of a run); also the brand's sentiment totals
# for the snapshot's trust KPI, so the snapshot need not scan interactions again.
# The kind weights are a CASE over bound parameters (see _weight_case), not a join to the
# settings' JSON: a hash probe per interaction cost more than the CASE.
_ACTS_SQL = """
CREATE TEMP TABLE seg_acts ON COMMIT DROP AS
WITH last_year AS (
    SELECT i.customer_id, i.kind, i.occurred_at, i.metadata, i.sentiment,
           i.occurred_at <= %(now)s AS past, i.kind <> ALL(%(excluded)s) AS inbound
      FROM {interaction} i
     WHERE i.occurred_at >= %(d365)s
)
SELECT i.customer_id,
       -- weight · 0.5^(age in days / half-life), as exp(-ln 2 · age in seconds / half-life in
       -- seconds) in floating point (extract() would do it in numeric, row by row)
       sum({weight}
           * exp((date_part('epoch', i.occurred_at) - %(now_epoch)s) * %(decay)s)
       ) FILTER (WHERE i.past) AS activity,
       count(*) FILTER (WHERE i.past AND i.kind = ANY(%(authored)s)) AS authored,
       count(*) FILTER (WHERE i.past AND i.kind = ANY(%(passive)s)) AS passive,
       count(*) FILTER (WHERE i.past AND i.kind = 'share') AS shares,
       count(*) FILTER (WHERE i.past AND i.kind = 'mention') AS mentions,
       COALESCE(max(CASE WHEN i.metadata->>'followers' ~ '^[0-9]{{1,12}}$'
                         THEN (i.metadata->>'followers')::float END) FILTER (WHERE i.past), 0)
       + COALESCE(sum(CASE WHEN i.kind = 'mention' AND i.metadata->>'reach' ~ '^[0-9]{{1,12}}$'
                           THEN (i.metadata->>'reach')::float END) FILTER (WHERE i.past), 0) AS reach,
       count(*) FILTER (WHERE i.past AND i.inbound AND i.occurred_at >= %(d90)s) AS recent,
       count(*) FILTER (WHERE i.past AND i.inbound AND i.occurred_at >= %(d180)s
                          AND i.occurred_at < %(d90)s) AS before,
       max(i.occurred_at) FILTER (WHERE i.past AND i.inbound) AS last_at,
       count(*) FILTER (WHERE i.sentiment > 0.2 AND i.occurred_at >= %(d90)s) AS positive,
       count(*) FILTER (WHERE i.sentiment IS NOT NULL AND i.occurred_at >= %(d90)s) AS rated
  FROM last_year i
 GROUP BY i.customer_id
"""

# Paid orders per customer with their RFM quintiles, in a temp table the planner has
# statistics for (so the 1M-row join below hashes the small sides, not the customers).
_PAID_SQL = """
CREATE TEMP TABLE seg_paid ON COMMIT DROP AS
WITH paid AS (
    SELECT o.customer_id, count(*) AS n, sum(o.amount) AS total, max(o.ordered_at) AS last_at,
           count(*) FILTER (WHERE o.ordered_at >= %(d90)s) AS recent,
           count(*) FILTER (WHERE o.ordered_at >= %(d180)s AND o.ordered_at < %(d90)s) AS before
      FROM {order} o
      JOIN {customer} c ON c.id = o.customer_id AND c.merged_into_id IS NULL AND c.erased_at IS NULL
     WHERE o.status = 'paid' AND o.ordered_at <= %(now)s
     GROUP BY o.customer_id
)
SELECT paid.*,
       ntile(5) OVER (ORDER BY last_at, customer_id) AS r,
       ntile(5) OVER (ORDER BY n, customer_id) AS f,
       ntile(5) OVER (ORDER BY total, customer_id) AS m
  FROM paid
"""

_SCORES_SQL = """
WITH live AS (
    SELECT c.id, COALESCE(c.first_seen_at, c.created_at) AS since
      FROM {customer} c
     WHERE c.merged_into_id IS NULL AND c.erased_at IS NULL
), converted AS (
    SELECT e.src AS customer_id, count(DISTINCT e.dst) AS n
      FROM {edges} e
     WHERE EXISTS (SELECT 1 FROM {order} o WHERE o.customer_id = e.dst AND o.status = 'paid')
     GROUP BY e.src
), base AS (
    SELECT l.id,
           CASE WHEN p.last_at IS NULL THEN NULL
                ELSE floor(extract(epoch FROM (%(now)s - p.last_at)) / 86400)::int END AS recency_days,
           COALESCE(p.n, 0) AS frequency, COALESCE(p.total, 0) AS monetary,
           COALESCE(p.r, 0) AS r, COALESCE(p.f, 0) AS f, COALESCE(p.m, 0) AS m,
           COALESCE(a.activity, 0) AS activity, COALESCE(a.reach, 0) AS reach,
           COALESCE(a.shares, 0) AS shares, COALESCE(a.mentions, 0) AS mentions,
           COALESCE(cv.n, 0) AS referrals_converted, COALESCE(ce.value, 0) AS centrality,
           COALESCE(a.authored, 0) AS authored, COALESCE(a.passive, 0) AS passive,
           COALESCE(a.recent, 0) + COALESCE(p.recent, 0) AS recent,
           COALESCE(a.before, 0) + COALESCE(p.before, 0) AS before,
           GREATEST(a.last_at, p.last_at) AS last_active, l.since
      FROM live l
      LEFT JOIN {paid} p ON p.customer_id = l.id
      LEFT JOIN {acts} a ON a.customer_id = l.id
      LEFT JOIN converted cv ON cv.customer_id = l.id
      LEFT JOIN {centrality} ce ON ce.customer_id = l.id
), scored AS MATERIALIZED (
    SELECT b.*,
           ln(1 + b.reach) + 2 * b.shares + 2 * b.mentions + 10 * b.referrals_converted
             + 5 * b.centrality AS influence,
           {rfm_group} AS rfm_group,
           CASE WHEN b.authored + b.passive = 0 THEN 'inactive'
                WHEN b.authored >= 5 AND b.authored >= 0.3 * (b.authored + b.passive) THEN 'creator'
                WHEN b.authored >= 1 THEN 'occasional'
                ELSE 'silent' END AS participation,
           CASE WHEN b.last_active IS NULL OR b.last_active < %(d180)s THEN 'lapsed'
                WHEN b.since >= %(d90)s THEN 'new'
                WHEN b.recent < 0.5 * b.before THEN 'declining'
                WHEN b.recent > 1.25 * b.before THEN 'growing'
                ELSE 'mature' END AS lifecycle
      FROM base b
), ranks AS (
    -- percentile ranks over narrow rows (a 1M-row sort of 30-byte rows, not of whole scores)
    SELECT id,
           100 * (%(wc)s * percent_rank() OVER (ORDER BY monetary)
                  + %(ws)s * percent_rank() OVER (ORDER BY influence)
                  + %(wa)s * percent_rank() OVER (ORDER BY activity)) AS value
      FROM scored
), tiers AS (
    SELECT id, value, cume_dist() OVER (ORDER BY value DESC) AS top_share FROM ranks
)
INSERT INTO {score} (
    customer_id, recency_days, frequency, monetary, r, f, m, rfm_group, activity, reach, shares,
    mentions, referrals_converted, centrality, influence, authored, passive, participation,
    lifecycle, value, tier, computed_at)
SELECT t.id, t.recency_days, t.frequency, t.monetary, t.r, t.f, t.m, t.rfm_group, t.activity,
       t.reach, t.shares, t.mentions, t.referrals_converted, t.centrality, t.influence, t.authored,
       t.passive, t.participation, t.lifecycle, v.value,
       CASE WHEN v.top_share <= %(key_share)s THEN 'key'
            WHEN v.top_share <= %(middle_share)s THEN 'middle' ELSE 'low' END,
       %(now)s
  FROM scored t JOIN tiers v ON v.id = t.id
 -- always true (cume_dist is in (0, 1]); with no statistics on CTEs it is what makes the
 -- planner hash the narrow side (1M ids and values) and stream the wide scores past it,
 -- rather than copy every wide row into a hash table (~10 %% of the statement CPU)
 WHERE v.top_share <= 1
"""

# Referral edges, referrer → referred: a referral interaction names the other person
# either way round (on the referred customer: referrer_id; on the referrer: referred_id).
# The first CTE repeats the condition of the partial index interaction_graph_edge, so the
# edges are read off that index (a few rows) rather than by scanning every interaction.
_EDGES_SQL = """
WITH graph AS MATERIALIZED (
    SELECT customer_id, kind, metadata FROM {interaction}
     WHERE (kind = 'referral' AND metadata ?| ARRAY['referrer_id', 'referred_id'])
        OR (kind = 'share' AND metadata ? 'shared_from_customer_id')
)
SELECT (metadata->>'referrer_id')::bigint AS src, customer_id AS dst
  FROM graph WHERE kind = 'referral' AND metadata->>'referrer_id' ~ '^[0-9]{{1,18}}$'
UNION
SELECT customer_id, (metadata->>'referred_id')::bigint
  FROM graph WHERE kind = 'referral' AND metadata->>'referred_id' ~ '^[0-9]{{1,18}}$'
UNION
SELECT (metadata->>'shared_from_customer_id')::bigint, customer_id
  FROM graph WHERE kind = 'share' AND metadata->>'shared_from_customer_id' ~ '^[0-9]{{1,18}}$'
"""


def _q(model: type) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def pagerank(src: np.ndarray, dst: np.ndarray, *, damping: float = 0.85, iterations: int = 50) -> tuple[np.ndarray, np.ndarray]:
    """PageRank of every node in the edge list, scaled so the average node scores 1.
    Returns (node ids, scores). Credit flows from the referred to the referrer (who brings
    whom), so edges are followed dst → src."""
    if len(src) == 0:
        return np.array([], dtype=np.int64), np.array([], dtype=np.float64)
    nodes, inverse = np.unique(np.concatenate([src, dst]), return_inverse=True)
    n = len(nodes)
    frm, to = inverse[len(src):], inverse[: len(src)]  # referred → referrer
    out_degree = np.bincount(frm, minlength=n).astype(np.float64)
    rank = np.full(n, 1.0 / n)
    for _step in range(iterations):
        share = np.where(out_degree[frm] > 0, rank[frm] / np.maximum(out_degree[frm], 1), 0)
        incoming = np.bincount(to, weights=share, minlength=n)
        dangling = rank[out_degree == 0].sum()
        rank = (1 - damping) / n + damping * (incoming + dangling / n)
    return nodes, rank * n


@dataclass(frozen=True)
class ScoreRun:
    customers: int
    edges: int
    seconds: float
    phases: dict[str, float] = field(default_factory=dict)  # seconds per step, for the bench


def compute_scores(*, now: datetime | None = None) -> ScoreRun:
    """Recompute every live customer's scores, then today's social-capital snapshot.

    Interactions are read once (the last year, grouped by customer, into a temp table)
    and the graph off its partial index; the scores fill a fresh copy of the score table,
    which replaces the old one when complete (segments.table_swap). Its foreign key is
    checked and the snapshot taken after that commit, so the swap's lock lasts only the
    swap."""
    started = time.perf_counter()
    phases: dict[str, float] = {}

    def phase(name: str) -> None:
        phases[name] = time.perf_counter() - started - sum(phases.values())

    now = now or timezone.now()
    settings_row = ScoringSettings.current()
    total_weight = settings_row.weight_consumption + settings_row.weight_social + settings_row.weight_activity
    total_weight = total_weight or 1.0
    params: dict[str, Any] = {
        "now": now, "d90": now - timedelta(days=90), "d180": now - timedelta(days=180),
        "d365": now - timedelta(days=365),
        "now_epoch": now.timestamp(),
        "decay": math.log(2) / (86400.0 * max(settings_row.half_life_days, 1)),
        "authored": list(AUTHORED_KINDS), "passive": list(PASSIVE_KINDS), "excluded": list(INBOUND_EXCLUDED),
        "wc": settings_row.weight_consumption / total_weight, "ws": settings_row.weight_social / total_weight,
        "wa": settings_row.weight_activity / total_weight,
        "key_share": settings_row.key_percent / 100,
        "middle_share": (settings_row.key_percent + settings_row.middle_percent) / 100,
    }  # fmt: skip
    with transaction.atomic(), connection.cursor() as cursor:
        # Big hashes and sorts stay in memory; JIT compiling these statements costs more
        # than it saves at any brand size we run.
        cursor.execute("SELECT set_config('work_mem', '256MB', true), set_config('jit', 'off', true)")
        # Left over when an enclosing transaction ran a score run before (ON COMMIT DROP
        # waits for the outermost commit).
        cursor.execute("DROP TABLE IF EXISTS pg_temp.seg_edges, pg_temp.seg_centrality, pg_temp.seg_acts, pg_temp.seg_paid")
        cursor.execute(_EDGES_SQL.format(interaction=_q(Interaction)))
        edges = np.array(cursor.fetchall(), dtype=np.int64).reshape(-1, 2)
        edges = edges[edges[:, 0] != edges[:, 1]]
        nodes, ranks = pagerank(edges[:, 0], edges[:, 1])
        cursor.execute(
            "CREATE TEMP TABLE seg_edges (src bigint, dst bigint) ON COMMIT DROP;"
            "CREATE TEMP TABLE seg_centrality (customer_id bigint PRIMARY KEY, value float8) ON COMMIT DROP"
        )
        cursor.execute(
            "INSERT INTO seg_edges SELECT unnest(%s::bigint[]), unnest(%s::bigint[]); ANALYZE seg_edges",
            [edges[:, 0].tolist(), edges[:, 1].tolist()],
        )
        cursor.execute(
            "INSERT INTO seg_centrality SELECT unnest(%s::bigint[]), unnest(%s::float8[]); ANALYZE seg_centrality",
            [nodes.tolist(), ranks.tolist()],
        )
        phase("graph")
        weight, weight_params = _weight_case(settings_row.kind_weights)
        cursor.execute(_ACTS_SQL.format(interaction=_q(Interaction), weight=weight), {**params, **weight_params})
        cursor.execute("ANALYZE seg_acts")
        cursor.execute("SELECT COALESCE(sum(positive), 0), COALESCE(sum(rated), 0) FROM seg_acts")
        sentiment = cursor.fetchone()
        phase("interactions")
        cursor.execute(_PAID_SQL.format(order=_q(Order), customer=_q(Customer)), params)
        cursor.execute("ANALYZE seg_paid")
        phase("orders")
        with fresh_copy(CustomerScore._meta.db_table, before_swap=_drop_gone_customers) as score_table:
            # The final join of 1M scores to their ranks: hashed, rather than both sides
            # sorted by id for a merge join (the planner's pick, two more 1M-row sorts).
            cursor.execute("SELECT set_config('enable_mergejoin', 'off', true)")
            cursor.execute(
                _SCORES_SQL.format(
                    customer=_q(Customer), order=_q(Order), acts="seg_acts", paid="seg_paid", score=score_table,
                    edges="seg_edges", centrality="seg_centrality", rfm_group=_RFM_GROUP_SQL,
                ),
                params,
            )
            scored = cursor.rowcount
            cursor.execute("SELECT set_config('enable_mergejoin', 'on', true)")
            phase("scores")
        phase("swap")
    validate_foreign_keys(CustomerScore._meta.db_table)
    phase("validate")
    take_snapshot(now=now, sentiment=sentiment)
    phase("snapshot")
    return ScoreRun(customers=scored, edges=len(edges), seconds=time.perf_counter() - started, phases=phases)


def _drop_gone_customers(cursor: Any, score_table: str) -> None:
    """Customers merged or erased while the scores were computed: their erasure cleared
    the old table, which no one can write any more once the swap holds its lock. (One
    deleted outright is left to validate_foreign_keys, after the swap.)"""
    cursor.execute(
        f"DELETE FROM {score_table} s USING {_q(Customer)} c "
        "WHERE c.id = s.customer_id AND (c.merged_into_id IS NOT NULL OR c.erased_at IS NOT NULL)"
    )


def _weight_case(weights: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The weight of an interaction's kind (`i.kind`) as SQL: 0 for a kind without one."""
    whens, params = [], {}
    for n, (kind, weight) in enumerate(sorted((weights or {}).items())):
        if weight is None:
            continue
        whens.append(f"WHEN %(weight_kind_{n})s THEN %(weight_{n})s::float8")
        params[f"weight_kind_{n}"], params[f"weight_{n}"] = str(kind), float(weight)
    if not whens:
        return "0::float8", params
    return f"(CASE i.kind {' '.join(whens)} ELSE 0::float8 END)", params


# --- tier preview ------------------------------------------------------------------------

_PREVIEW_SQL = """
WITH valued AS (
    SELECT tier,
           100 * (%(wc)s * percent_rank() OVER (ORDER BY monetary)
                  + %(ws)s * percent_rank() OVER (ORDER BY influence)
                  + %(wa)s * percent_rank() OVER (ORDER BY activity)) AS value
      FROM {score}
), ranked AS (
    SELECT tier, cume_dist() OVER (ORDER BY value DESC) AS top_share FROM valued
)
SELECT tier,
       CASE WHEN top_share <= %(key_share)s THEN 'key'
            WHEN top_share <= %(middle_share)s THEN 'middle' ELSE 'low' END AS new_tier,
       count(*)
  FROM ranked GROUP BY 1, 2
"""


def preview_tiers(
    *, weight_consumption: float, weight_social: float, weight_activity: float,
    key_percent: int, middle_percent: int,
) -> dict[tuple[str, str], int]:
    """How many customers would move from each tier to each tier with these settings
    (from the stored components, without saving anything)."""
    total = (weight_consumption + weight_social + weight_activity) or 1.0
    with connection.cursor() as cursor:
        cursor.execute(_PREVIEW_SQL.format(score=_q(CustomerScore)), {
            "wc": weight_consumption / total, "ws": weight_social / total, "wa": weight_activity / total,
            "key_share": key_percent / 100, "middle_share": (key_percent + middle_percent) / 100,
        })
        return {(old, new): n for old, new, n in cursor.fetchall()}


# --- the brand's snapshot ----------------------------------------------------------------

HISTOGRAM_BINS = 10


_TOTALS_SQL = """
SELECT count(*), avg(activity), sum(monetary), sum(referrals_converted),
       -- in floating point: with numeric literals power() runs in numeric, ~20x slower
       COALESCE(avg(ln(1 + frequency + authored + passive)
                    * power(0.5::float8, COALESCE(recency_days, 3650) / 30.0::float8)), 0),
       COALESCE(max(activity), 0), COALESCE(max(influence), 0)
  FROM {score}
"""

# Every breakdown in one pass: a grouping set per chart. Histograms have ten equal-width
# bins (log-spaced for activity and influence, which are heavy-tailed); the bin below the
# first (a negative value) is counted in the first.
_BREAKDOWN_SQL = """
SELECT GROUPING(lifecycle, tier, participation, rfm_group, r, f, vbin, abin, ibin), lifecycle,
       tier, participation, rfm_group, r, f, vbin, abin, ibin, count(*)
  FROM (SELECT lifecycle, tier, participation, rfm_group, r, f,
               GREATEST(LEAST(width_bucket(value, 0, 100, {bins}), {bins}), 1) AS vbin,
               GREATEST(LEAST(width_bucket(ln(1 + GREATEST(activity, 0)), 0, %(activity_high)s, {bins}), {bins}), 1) AS abin,
               GREATEST(LEAST(width_bucket(ln(1 + GREATEST(influence, 0)), 0, %(influence_high)s, {bins}), {bins}), 1) AS ibin
          FROM {score}) s
 GROUP BY GROUPING SETS ((lifecycle), (tier), (participation), (rfm_group), (r, f), (vbin), (abin), (ibin))
"""


def take_snapshot(
    *, now: datetime | None = None, sentiment: tuple[int, int] | None = None
) -> SocialCapitalSnapshot:
    """Today's social-capital KPIs and every breakdown the dashboard draws, from the
    score table (two passes over it, run with the scores, never by a page).
    `sentiment` is (positive, rated) interactions of the last 90 days when the caller
    already counted them (compute_scores does, in its one pass over interactions)."""
    now = now or timezone.now()
    with transaction.atomic(), connection.cursor() as cursor:
        # As for the scores: sorts and hashes of 1M scores and 3M identities in memory
        # (the defaults spill them to disk), and no JIT compiling (~0.3 s per statement).
        cursor.execute("SELECT set_config('work_mem', '256MB', true), set_config('jit', 'off', true)")
        if sentiment is None:
            cursor.execute(
                f"SELECT count(*) FILTER (WHERE sentiment > 0.2), count(*) FROM {_q(Interaction)} "
                "WHERE sentiment IS NOT NULL AND occurred_at >= %s",
                [now - timedelta(days=90)],
            )
            sentiment = cursor.fetchone()
        positive, rated = sentiment
        cursor.execute(
            f"""SELECT count(DISTINCT customer_id) FROM (
                  SELECT DISTINCT ON (customer_id, channel) customer_id, status
                    FROM {_q(Consent)} WHERE purpose = 'marketing'
                   ORDER BY customer_id, channel, recorded_at DESC, id DESC) latest
                WHERE status = 'granted'"""
        )
        consenting = cursor.fetchone()[0]
        cursor.execute(_TOTALS_SQL.format(score=_q(CustomerScore)))
        n, activity, revenue, referrals, relationship, top_activity, top_influence = cursor.fetchone()
        n = n or 0
        highs = {
            "activity_high": math.log1p(max(float(top_activity), 0)) or 1.0,
            "influence_high": math.log1p(max(float(top_influence), 0)) or 1.0,
        }
        cursor.execute(_BREAKDOWN_SQL.format(score=_q(CustomerScore), bins=HISTOGRAM_BINS), highs)
        groups = cursor.fetchall()
        channels = _channel_mix()
    breakdown = _breakdown(groups, highs)
    breakdown["channels"] = channels
    snapshot, _created = SocialCapitalSnapshot.objects.update_or_create(
        day=timezone.localdate(now),
        defaults={
            "customers": n,
            "trust": positive / rated if rated else 0.0,
            "consent_rate": consenting / n if n else 0.0,
            "relationship_strength": float(relationship),
            "activity": float(activity or 0),
            "revenue_per_customer": float(revenue or 0) / n if n else 0.0,
            "referrals_per_customer": float(referrals or 0) / n if n else 0.0,
            "breakdown": breakdown,
            "computed_at": now,
        },
    )
    return snapshot


def _breakdown(groups: list[tuple[Any, ...]], highs: dict[str, float]) -> dict[str, Any]:
    """The grouping-set rows of _BREAKDOWN_SQL as the dashboard's lists. GROUPING() has a
    bit per column, 1 when the column is not grouped: the set is the one whose bits are 0."""
    names = ("lifecycle", "tier", "participation", "rfm_group", "r", "f", "vbin", "abin", "ibin")
    counted: dict[str, dict[Any, int]] = {}
    for grouping, *values, count in groups:
        grouped = tuple(name for i, name in enumerate(names) if not grouping & (1 << (len(names) - 1 - i)))
        key = values[names.index(grouped[0])] if len(grouped) == 1 else tuple(values[names.index(g)] for g in grouped)
        counted.setdefault("+".join(grouped), {})[key] = count

    def counts(name: str, choices: Any) -> list[list[Any]]:
        found = counted.get(name, {})
        return [[value, found.get(value, 0)] for value, _label in choices.choices]

    def histogram(name: str, edges: list[float]) -> list[list[Any]]:
        found = counted.get(name, {})
        return [[round(edges[i], 1), round(edges[i + 1], 1), found.get(i + 1, 0)] for i in range(HISTOGRAM_BINS)]

    log_edges = lambda high: [math.expm1(high * i / HISTOGRAM_BINS) for i in range(HISTOGRAM_BINS + 1)]  # noqa: E731
    return {
        "lifecycle": counts("lifecycle", Lifecycle),
        "tier": counts("tier", Tier),
        "participation": counts("participation", Participation),
        "rfm_group": counts("rfm_group", RFMGroup),
        "rfm_grid": [[r, f, c] for (r, f), c in sorted(counted.get("r+f", {}).items()) if r > 0],
        "value_histogram": histogram("vbin", [100 * i / HISTOGRAM_BINS for i in range(HISTOGRAM_BINS + 1)]),
        "activity_histogram": histogram("abin", log_edges(highs["activity_high"])),
        "influence_histogram": histogram("ibin", log_edges(highs["influence_high"])),
    }


def _channel_mix() -> list[list[Any]]:
    # Grouped under the "C" collation: bytewise comparisons sort the 3M identities of a
    # 1M-customer brand ~3x faster than the database's locale, with the same groups.
    with connection.cursor() as cursor:
        cursor.execute(
            f'SELECT kind COLLATE "C", count(DISTINCT customer_id) FROM {_q(Identity)} GROUP BY 1'
        )
        rows = cursor.fetchall()
    mix: dict[str, int] = {}
    for kind, count in rows:
        channel = IDENTITY_CHANNEL.get(kind)
        if channel:
            mix[channel] = max(mix.get(channel, 0), count)
    return sorted(([k, v] for k, v in mix.items()), key=lambda item: -item[1])


# --- why -------------------------------------------------------------------------------------


def score_reasons(score: CustomerScore) -> dict[str, list[str]]:
    """Plain sentences behind each score, for the profile panel."""
    settings_row = ScoringSettings.current()
    rfm = (
        [_("No paid orders yet.")] if score.r == 0 else [
            _("Last paid order %(days)s days ago: recency %(r)s of 5.") % {"days": score.recency_days, "r": score.r},
            _("%(n)s paid orders: frequency %(f)s of 5.") % {"n": score.frequency, "f": score.f},
            _("%(amount)s spent: monetary %(m)s of 5.") % {"amount": score.monetary, "m": score.m},
        ]
    )
    influence = [
        _("Reach %(reach)s (followers and mention reach).") % {"reach": f"{score.reach:,.0f}"},
        _("%(shares)s shares and %(mentions)s mentions in the last year.") % {"shares": score.shares, "mentions": score.mentions},
        _("%(n)s referrals that became paying customers.") % {"n": score.referrals_converted},
        _("Referral-network centrality %(c)s (1 is average).") % {"c": f"{score.centrality:.2f}"},
    ]
    activity = [
        _("Weighted interactions of the last year, halving every %(days)s days.") % {"days": settings_row.half_life_days},
        _("%(authored)s written by the customer, %(passive)s passive (likes, reads, clicks, views).")
        % {"authored": score.authored, "passive": score.passive},
    ]
    value = [
        _("Composite of revenue (weight %(wc)s), influence (%(ws)s) and activity (%(wa)s), ranked against all customers.")
        % {"wc": settings_row.weight_consumption, "ws": settings_row.weight_social, "wa": settings_row.weight_activity},
    ]
    return {"rfm": rfm, "influence": influence, "activity": activity, "value": value}

