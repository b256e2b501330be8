"""Planning a send, set-wise: one INSERT … SELECT decides, for every customer in the
audience, whether they get the message and when — or why not.

Every guard is evaluated in the same statement: current consent for the channel and
purpose (the rule of customers.consent: the latest row for the channel or "all" wins —
here as one DISTINCT ON over the audience instead of a subquery per customer), an address on the channel, duplicate
addresses, the platform's reply window, platform caps, the frequency policy across all
channels, and quiet hours in the customer's time zone. Skipped customers get a row with
the reason. The unique (campaign, customer, step) key makes planning idempotent.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from customers.channels import IDENTITY_CHANNEL, Channel, IdentityKind
from customers.models import Consent, Customer, Identity, Interaction
from engagement.campaigns.models import (
    Campaign,
    CampaignRecipient,
    JourneyPosition,
    SendTimeProfile,
    Variant,
)
from segments.models import MembershipEvent, SegmentMembership

# Free-form messages are allowed only this long after the customer last wrote to the
# brand (WeChat customer-service messages: 48 h; Messenger/Instagram: 24 h). Template
# messages and email have no window.
REPLY_WINDOW_HOURS: dict[str, int] = {Channel.WECHAT: 48, Channel.FACEBOOK: 24, Channel.INSTAGRAM: 24}
# Channels whose platform allows one mass message per customer per day (WeCom).
DAILY_CAP_CHANNELS: frozenset[str] = frozenset({Channel.WECOM})
# UnionIDs identify a person across apps but cannot be messaged; member/device ids reach no one.
UNSENDABLE_KINDS: frozenset[str] = frozenset({IdentityKind.WECHAT_UNIONID})
# Statuses that count as "a message went (or is about to go) out" for caps.
COUNTED_STATUSES = ("planned", "queued", "sent", "delivered", "read", "clicked", "converted")


def sendable_kinds(channel: str) -> list[str]:
    return [kind for kind, ch in IDENTITY_CHANNEL.items() if ch == channel and kind not in UNSENDABLE_KINDS]


def _t(model: type) -> str:
    return connection.ops.quote_name(model._meta.db_table)


@dataclass
class Audience:
    """A SELECT returning distinct `customer_id`s, with its parameters (named)."""

    sql: str
    params: dict[str, Any] = field(default_factory=dict)


def segment_audience(campaign: Campaign) -> Audience:
    return segments_audience(
        list(campaign.segments.values_list("pk", flat=True)), list(campaign.exclusion_segments.values_list("pk", flat=True))
    )


def segments_audience(segment_ids: list[int], excluded_ids: list[int]) -> Audience:
    """Members of any of the segments, minus members of any excluded one."""
    membership = _t(SegmentMembership)
    if len(segment_ids) == 1 and not excluded_ids:
        # (segment, customer) is unique: one segment's members are distinct already, and
        # an EXCEPT of nothing would only sort or hash the whole audience.
        return Audience(sql=f"SELECT customer_id FROM {membership} WHERE segment_id = %(aud_in)s",
                        params={"aud_in": segment_ids[0]})
    return Audience(
        sql=f"SELECT customer_id FROM {membership} WHERE segment_id = ANY(%(aud_in)s) "
            f"EXCEPT SELECT customer_id FROM {membership} WHERE segment_id = ANY(%(aud_out)s)",
        params={"aud_in": segment_ids, "aud_out": excluded_ids},
    )


def trigger_audience(campaign: Campaign, *, after_event: int, up_to_event: int) -> Audience:
    return Audience(
        sql=f"SELECT DISTINCT customer_id FROM {_t(MembershipEvent)} WHERE segment_id = %(aud_seg)s "
            "AND kind = 'entered' AND id > %(aud_from)s AND id <= %(aud_to)s",
        params={"aud_seg": campaign.trigger_segment_id, "aud_from": after_event, "aud_to": up_to_event},
    )


def journey_audience(campaign: Campaign, *, position: int, now: datetime) -> Audience:
    return Audience(
        sql=f"SELECT customer_id FROM {_t(JourneyPosition)} WHERE campaign_id = %(aud_c)s "
            "AND position = %(aud_p)s AND due_at <= %(aud_now)s AND finished_at IS NULL",
        params={"aud_c": campaign.pk, "aud_p": position, "aud_now": now},
    )


@functools.cache
def time_zone_names() -> list[str]:
    """The time zone names PostgreSQL knows, read once per process: pg_timezone_names
    reads the whole tz database on every call (0.1–12 s), and a plan would join it."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT name FROM pg_timezone_names")
        return sorted(row[0] for row in cursor.fetchall())


def _quiet_sql(start: int, end: int) -> str:
    hour = "extract(hour FROM c.send_at AT TIME ZONE c.tz)"
    if start == end:
        return "FALSE"
    if start > end:  # overnight, e.g. 22 → 8
        return f"({hour} >= %(quiet_start)s OR {hour} < %(quiet_end)s)"
    return f"({hour} >= %(quiet_start)s AND {hour} < %(quiet_end)s)"


def _variant_sql(variants: list[Variant]) -> tuple[str, dict[str, Any]]:
    """A/B arm by a stable hash of (campaign, customer) into 100 buckets."""
    if not variants:
        return "NULL::bigint", {}
    bounds, low = [], 0
    total = sum(v.split_percent for v in variants) or 1
    for index, variant in enumerate(variants):
        high = 100 if index == len(variants) - 1 else low + round(100 * variant.split_percent / total)
        bounds.append((variant.pk, low, high))
        low = high
    cases = " ".join(f"WHEN c.bucket < {int(high)} THEN {int(pk)}" for pk, _low, high in bounds)
    return f"(CASE {cases} END)::bigint", {}


_INSERT_SQL = """inserted AS (
    INSERT INTO {recipient} (campaign_id, customer_id, step, variant_id, channel, address, status,
                             skip_reason, send_at, revenue, message, error)
    SELECT %(campaign)s, c.customer_id, %(step)s, {variant}, %(channel)s, COALESCE(c.address, ''),
           CASE WHEN c.reason IS NULL THEN 'planned' ELSE 'skipped' END, COALESCE(c.reason, ''),
           c.send_at, 0, '{{}}'::jsonb, ''
      FROM decided c
    ON CONFLICT (campaign_id, customer_id, step) DO NOTHING
    RETURNING status, skip_reason
)
SELECT status, skip_reason, count(*) FROM inserted GROUP BY status, skip_reason"""

# The builder's estimate: the same decisions, counted, nothing written.
_COUNT_SQL = """counted AS (
    SELECT CASE WHEN c.reason IS NULL THEN 'planned' ELSE 'skipped' END AS status, COALESCE(c.reason, '') AS skip_reason
      FROM decided c
)
SELECT status, skip_reason, count(*) FROM counted GROUP BY status, skip_reason"""

_PLAN_SQL = """
WITH audience AS MATERIALIZED ({audience}),
people AS MATERIALIZED (
    -- A zone PostgreSQL knows, else the campaign's: one hashed lookup in the list per
    -- customer (a join with the list sorted the whole audience by zone).
    SELECT c.id AS customer_id,
           CASE WHEN c.attributes->>'timezone' = ANY(%(zones)s::text[]) THEN c.attributes->>'timezone'
                ELSE %(tz)s END AS tz
      FROM audience a
      JOIN {customer} c ON c.id = a.customer_id
     WHERE c.merged_into_id IS NULL AND c.erased_at IS NULL
),
consent AS (
    SELECT DISTINCT ON (k.customer_id) k.customer_id, k.status
      FROM {consent} k JOIN people p ON p.customer_id = k.customer_id
     WHERE k.channel IN (%(channel)s, 'all') AND k.purpose = %(purpose)s
     ORDER BY k.customer_id, k.recorded_at DESC, k.id DESC
),
address AS (
    SELECT DISTINCT ON (i.customer_id) i.customer_id, i.value
      FROM {identity} i JOIN people p ON p.customer_id = i.customer_id
     WHERE i.kind = ANY(%(kinds)s)
     ORDER BY i.customer_id, i.verified DESC, i.id DESC
),
recent AS (
    SELECT r.customer_id, count(*) AS n,
           bool_or(r.channel = %(channel)s AND r.send_at > %(day_start)s) AS same_day
      FROM {recipient} r
      JOIN {campaign} k2 ON k2.id = r.campaign_id
      JOIN people p ON p.customer_id = r.customer_id
     WHERE k2.purpose = 'marketing' AND r.status = ANY(%(counted)s)
       AND r.send_at >= %(window_start)s AND r.send_at < %(window_end)s
       AND NOT (r.campaign_id = %(campaign)s AND r.step = %(step)s)
     GROUP BY r.customer_id
),
outbound AS (
    SELECT i.customer_id, count(*) AS n
      FROM {interaction} i JOIN people p ON p.customer_id = i.customer_id
     WHERE i.kind = 'message_out' AND i.metadata->>'purpose' = 'marketing'
       AND i.occurred_at >= %(window_start)s
     GROUP BY i.customer_id
),
dup_rank AS (
    -- Two people sharing one address get one message: rank only the granted rows whose
    -- address is shared (rare: identities are unique per kind), not every candidate.
    SELECT a.customer_id, row_number() OVER (PARTITION BY a.value ORDER BY a.customer_id) AS address_rank
      FROM address a JOIN consent k ON k.customer_id = a.customer_id AND k.status = 'granted'
     WHERE a.value IN (SELECT value FROM address GROUP BY value HAVING count(*) > 1)
),
fallback AS (
    SELECT mode() WITHIN GROUP (ORDER BY s.best_hour) AS hour
      FROM {profile} s JOIN people p ON p.customer_id = s.customer_id
),
candidates AS (
    SELECT p.customer_id, p.tz, a.value AS address, k.status AS consent,
           COALESCE(rc.n, 0) + COALESCE(o.n, 0) AS recent_n,
           COALESCE(rc.same_day, FALSE) AS same_day,
           {window_ok} AS window_ok,
           {send_at} AS send_at,
           ((hashtext((%(campaign)s)::text || ':' || p.customer_id::text) %% 100) + 100) %% 100 AS bucket,
           COALESCE(dr.address_rank, 1) AS address_rank
      FROM people p
      LEFT JOIN consent k ON k.customer_id = p.customer_id
      LEFT JOIN address a ON a.customer_id = p.customer_id
      LEFT JOIN recent rc ON rc.customer_id = p.customer_id
      LEFT JOIN outbound o ON o.customer_id = p.customer_id
      LEFT JOIN {profile} s ON s.customer_id = p.customer_id
      LEFT JOIN dup_rank dr ON dr.customer_id = p.customer_id
      CROSS JOIN fallback f
),
decided AS (
    SELECT c.*, CASE
             WHEN c.consent IS DISTINCT FROM 'granted' THEN 'no_consent'
             WHEN c.address IS NULL THEN 'no_identity'
             WHEN c.address_rank > 1 THEN 'duplicate'
             WHEN NOT c.window_ok THEN 'outside_window'
             WHEN %(daily_cap)s AND c.same_day THEN 'platform_cap'
             WHEN %(apply_cap)s AND c.recent_n >= %(cap)s THEN 'frequency_cap'
             WHEN {quiet} THEN 'quiet_hours'
           END AS reason
      FROM candidates c
),
{final}
"""


@dataclass
class PlanResult:
    planned: int = 0
    skipped: dict[str, int] = field(default_factory=dict)

    @property
    def skipped_total(self) -> int:
        return sum(self.skipped.values())


def plan_sql(
    campaign: Campaign, audience: Audience, *, step: int, start: datetime, variant_id: int | None = None,
    variants: list[Variant] | None = None, dry_run: bool = False,
) -> tuple[str, dict[str, Any]]:
    """The planning statement and its parameters (exposed for the benchmark and EXPLAIN)."""
    channel = campaign.channel
    window_hours = REPLY_WINDOW_HOURS.get(channel) if campaign.message_type == Campaign.MessageType.TEXT else None
    if window_hours:
        window_ok = (
            f"EXISTS (SELECT 1 FROM {_t(Interaction)} wi WHERE wi.customer_id = p.customer_id "
            "AND wi.occurred_at >= %(reply_open)s AND wi.channel = %(channel)s AND wi.kind = 'message_in')"
        )
    else:
        window_ok = "TRUE"
    if campaign.best_send_time:
        hour = "COALESCE(s.best_hour, f.hour)"
        send_at = (
            f"CASE WHEN {hour} IS NULL THEN %(start)s::timestamptz ELSE GREATEST(%(start)s::timestamptz, "
            f"date_trunc('hour', %(start)s::timestamptz) + make_interval(hours => "
            f"(({hour} - extract(hour FROM %(start)s::timestamptz AT TIME ZONE 'UTC')::int + 24) %% 24)::int)) END"
        )
    else:
        send_at = "%(start)s::timestamptz"
    if variant_id is not None:
        variant_expr = "%(fixed_variant)s::bigint"
    else:
        variant_expr, _ = _variant_sql(variants if variants is not None else list(campaign.variants.order_by("name", "id")))
    final = (_COUNT_SQL if dry_run else _INSERT_SQL).format(recipient=_t(CampaignRecipient), variant=variant_expr)
    sql = _PLAN_SQL.format(final=final,
        audience=audience.sql, customer=_t(Customer), consent=_t(Consent), identity=_t(Identity),
        recipient=_t(CampaignRecipient), campaign=_t(Campaign), interaction=_t(Interaction),
        profile=_t(SendTimeProfile), window_ok=window_ok, send_at=send_at,
        quiet=_quiet_sql(campaign.quiet_start, campaign.quiet_end),
    )
    params = {
        **audience.params,
        "tz": campaign.timezone or "UTC", "zones": time_zone_names(), "channel": channel, "purpose": campaign.purpose,
        "kinds": sendable_kinds(channel), "counted": list(COUNTED_STATUSES),
        "campaign": campaign.pk if campaign.pk else -1, "step": step, "start": start,
        "day_start": start - timedelta(days=1),
        "window_start": start - timedelta(days=campaign.frequency_days),
        "window_end": start + timedelta(days=campaign.frequency_days),
        "reply_open": start - timedelta(hours=window_hours or 0),
        "daily_cap": channel in DAILY_CAP_CHANNELS,
        "apply_cap": campaign.purpose == Consent.Purpose.MARKETING,
        "cap": campaign.frequency_cap,
        "quiet_start": campaign.quiet_start, "quiet_end": campaign.quiet_end,
        "fixed_variant": variant_id,
    }
    return sql, params


# Settings for the planning statement alone (restored after it, as it runs inside the
# caller's transaction). JIT is off: the CTE joins' row estimates are far too high, which
# made the planner JIT-compile the whole statement (1.3-2.7 s of a 1M plan, needed nowhere).
# work_mem stays the server's: at 256 MB nothing spilt (was ~600 MB of temp files) but a 1M
# plan took the same time (alternated, quiet machine) and its backend peaked at 1.3 GB.
PLAN_SETTINGS: dict[str, str] = {"jit": "off"}


@contextmanager
def _plan_settings(cursor: Any) -> Iterator[None]:
    names = list(PLAN_SETTINGS)
    cursor.execute("SELECT " + ", ".join(["current_setting(%s)"] * len(names)), names)
    before = dict(zip(names, cursor.fetchone(), strict=True))
    _set_local(cursor, PLAN_SETTINGS)
    yield
    _set_local(cursor, before)


def _set_local(cursor: Any, settings: dict[str, str]) -> None:
    cursor.execute("SELECT " + ", ".join(["set_config(%s, %s, true)"] * len(settings)),
                   [part for item in settings.items() for part in item])


def plan_recipients(
    campaign: Campaign, audience: Audience, *, step: int = 0, start: datetime | None = None,
    variant_id: int | None = None,
) -> PlanResult:
    """Insert one row per audience member for this step (planned or skipped with a reason).
    Customers already planned for the step are left alone, so it is safe to run again."""
    sql, params = plan_sql(campaign, audience, step=step, start=start or timezone.now(), variant_id=variant_id)
    result = PlanResult()
    with transaction.atomic(), connection.cursor() as cursor, _plan_settings(cursor):
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    for status, reason, count in rows:
        if status == CampaignRecipient.Status.PLANNED:
            result.planned += count
        else:
            result.skipped[reason] = result.skipped.get(reason, 0) + count
    return result


def estimate(campaign: Campaign, audience: Audience) -> PlanResult:
    """What planning would decide now, counted without writing anything (bounded by a
    statement timeout, for the builder's live estimate). Works for an unsaved campaign."""
    sql, params = plan_sql(campaign, audience, step=0, start=timezone.now(), variants=[], dry_run=True)
    result = PlanResult()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT set_config('statement_timeout', '15000', true)")
        cursor.execute(sql, params)
        for status, reason, count in cursor.fetchall():
            if status == CampaignRecipient.Status.PLANNED:
                result.planned += count
            else:
                result.skipped[reason] = result.skipped.get(reason, 0) + count
    return result


_BEST_HOUR_SQL = """
WITH hist AS (
    SELECT customer_id, extract(hour FROM occurred_at AT TIME ZONE 'UTC')::int AS hour, count(*) AS n
      FROM {interaction}
     WHERE occurred_at >= %(since)s AND kind <> ALL(%(outbound)s)
     GROUP BY 1, 2
), ranked AS (
    SELECT DISTINCT ON (customer_id) customer_id, hour, sum(n) OVER (PARTITION BY customer_id) AS samples
      FROM hist
     ORDER BY customer_id, n DESC, hour
)
INSERT INTO {profile} (customer_id, best_hour, samples, computed_at)
SELECT customer_id, hour, samples, %(now)s FROM ranked
ON CONFLICT (customer_id) DO UPDATE
   SET best_hour = EXCLUDED.best_hour, samples = EXCLUDED.samples, computed_at = EXCLUDED.computed_at
"""


def compute_best_send_hours(*, days: int = 90, now: datetime | None = None) -> int:
    """Each customer's most active hour (UTC) over the last `days`, from their own inbound
    activity — one statement for every customer. Returns how many profiles were written."""
    from customers.models import OUTBOUND_INTERACTION_KINDS

    now = now or timezone.now()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            _BEST_HOUR_SQL.format(interaction=_t(Interaction), profile=_t(SendTimeProfile)),
            {"since": now - timedelta(days=days), "outbound": [str(k) for k in OUTBOUND_INTERACTION_KINDS], "now": now},
        )
        return cursor.rowcount
