"""Benchmark segments and scores (issue 6).

    DATABASE_URL=... REDIS_URL=... .venv/bin/python -m bench.segments [--customers 1000000]

Uses (and creates on first run) a brand "bench-segments" in DATABASE_URL, filled with
customers.generator to --customers. Prints one table, each figure beside the issue's aim,
with the naive paths and a hardware limit in the same run (STYLE.md 13):

1. a 6-condition nested segment: count (compiled SQL) and materialize (set-wise refresh),
   against a pandas filter (COPY-out + filter, load and filter timed apart) and a
   per-customer Python loop (one query per customer; timed on a sample, extrapolated);
   hardware limit: a bare count(*) scan of the customer table.
2. all scores recomputed: wall time and peak memory of this process (PostgreSQL's own
   memory is bounded by work_mem).
3. refresh after 1 % of customers changed (incremental, only their ids).
4. marketer dashboard p95 (Django test client, warm).
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

RULE: dict[str, Any] = {"all": [
    {"field": "city", "op": "in", "value": ["上海", "北京", "广州", "深圳", "杭州", "Shanghai"]},
    {"any": [
        {"field": "interactions", "op": "gte", "value": 2, "channel": "wechat", "days": 30},
        {"field": "orders_sum", "op": "gte", "value": 500},
    ]},
    {"field": "attr.vip_level", "op": "in", "value": ["gold", "platinum", "silver"]},
    {"not": {"field": "tags", "op": "has_any", "value": ["沉睡客户"]}},
    {"field": "last_seen_at", "op": "in_last_days", "value": 365},
]}  # fmt: skip


# Attribute and tag conditions only (no behaviour window): the preview's ≤ 300 ms aim.
ATTRIBUTE_RULE: dict[str, Any] = {"all": [RULE["all"][0], RULE["all"][2], RULE["all"][3]]}


def timed(fn: Callable[[], Any], repeat: int = 1) -> tuple[float, Any]:
    best, result = float("inf"), None
    for _ in range(repeat):
        started = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - started)
    return best, result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--loop-sample", type=int, default=2_000)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "scrm.settings.base")
    import django

    django.setup()
    from django.db import connection
    from django_tenants.utils import tenant_context

    from scrm import tenancy
    from scrm.models import Brand

    tenancy.ensure_platform()
    brand = Brand.objects.filter(slug="bench-segments").first() or tenancy.provision_brand(
        name="Bench segments", slug="bench-segments", admin_username="bench",
        admin_email="bench@example.com", admin_password="bench-pass-123",
    ).brand
    with tenant_context(brand):
        rows = run(args)
    connection.set_schema_to_public()
    width = max(len(r[0]) for r in rows)
    sys.stdout.write(f"\nSegments and scores, {args.customers:,} customers\n")
    sys.stdout.write(f"{'measure'.ljust(width)}  {'result':>14}  aim\n")
    for name, value, aim in rows:
        sys.stdout.write(f"{name.ljust(width)}  {value:>14}  {aim}\n")


def run(args: argparse.Namespace) -> list[tuple[str, str, str]]:  # noqa: PLR0915
    import pandas as pd
    from django.db import connection
    from django.test import Client

    from customers.generator import generate
    from customers.models import Customer, CustomerTag, Interaction, Order
    from customers.selectors import live_customers
    from segments import selectors as segment_selectors
    from segments import services
    from segments.models import Segment
    from segments.rules import compile_rule
    from segments.scores import compute_scores

    missing = args.customers - Customer.objects.count()
    if missing > 0:
        generate(customers=missing, seed=7)
    n = Customer.objects.count()
    rows: list[tuple[str, str, str]] = []
    ms = lambda s: f"{s * 1000:,.0f} ms"  # noqa: E731

    with connection.cursor() as cursor:
        scan, _ = timed(lambda: cursor.execute(f"SELECT count(*) FROM {Customer._meta.db_table}") or cursor.fetchone(), 3)
    rows.append(("hardware: count(*) scan of customers", ms(scan), "—"))

    count_time, count = timed(lambda: live_customers().filter(compile_rule(RULE)).count(), 3)
    rows.append(("6-condition segment: count (SQL)", ms(count_time), "≤ 1 s with behaviour windows"))
    # The builder's live preview (count + sample, segments.selectors.preview), p95 of 20 warm runs:
    # attribute/tag rules alone, then the whole rule with its behaviour windows.
    for label, rule, aim in (("attribute/tag rule", ATTRIBUTE_RULE, "≤ 300 ms"), ("6-condition rule", RULE, "≤ 1 s")):
        segment_selectors.preview(rule)
        samples = []
        for _ in range(20):
            started = time.perf_counter()
            segment_selectors.preview(rule)
            samples.append(time.perf_counter() - started)
        rows.append((f"preview p95: {label}", ms(statistics.quantiles(samples, n=20)[-1]), aim))
    Segment.objects.filter(name="bench").delete()
    segment = Segment.objects.create(name="bench", rule=RULE)
    materialize_time, result = timed(lambda: services.refresh_segment(segment=segment))
    rows.append(("6-condition segment: materialize (first)", ms(materialize_time), "≤ 2 s"))
    rows.append(("  members", f"{result.size:,}", f"count said {count:,}"))

    # pandas: COPY-out the columns the rule needs, then filter in memory.
    def load() -> pd.DataFrame:
        customers = pd.DataFrame.from_records(live_customers().values(
            "id", "city", "attributes", "interaction_counts", "revenue", "last_seen_at").iterator(chunk_size=50_000))
        sleepy = set(CustomerTag.objects.filter(tag__name="沉睡客户").values_list("customer_id", flat=True))
        customers["sleepy"] = customers.id.isin(sleepy)
        return customers

    load_time, frame = timed(load)

    def pandas_filter() -> int:
        from datetime import timedelta

        from django.utils import timezone

        wechat30 = frame.interaction_counts.map(lambda c: int((c.get("wechat") or {}).get("30", 0)))
        vip = frame.attributes.map(lambda a: a.get("vip_level"))
        mask = (
            frame.city.isin(RULE["all"][0]["value"])
            & ((wechat30 >= 2) | (frame.revenue.astype(float) >= 500))
            & vip.isin(["gold", "platinum", "silver"]) & ~frame.sleepy
            & (frame.last_seen_at >= timezone.now() - timedelta(days=365))
        )
        return int(mask.sum())

    filter_time, pandas_count = timed(pandas_filter)
    rows.append(("pandas: load columns (values())", ms(load_time), "naive"))
    rows.append(("pandas: filter in memory", ms(filter_time), f"count {pandas_count:,}"))

    # per-customer Python loop: every customer read and checked with its own queries.
    sample = list(live_customers().values_list("id", flat=True)[: args.loop_sample])

    def loop() -> int:
        matched = 0
        for pk in sample:
            c = Customer.objects.get(pk=pk)
            if c.city not in RULE["all"][0]["value"]:
                continue
            wechat = Interaction.objects.filter(customer_id=pk, channel="wechat").count()
            spent = sum(o.amount for o in Order.objects.filter(customer_id=pk, status="paid"))
            sleepy = CustomerTag.objects.filter(customer_id=pk, tag__name="沉睡客户").exists()
            matched += int((wechat >= 2 or spent >= 500) and c.attributes.get("vip_level") in ("gold", "platinum", "silver") and not sleepy)
        return matched

    loop_time, _ = timed(loop)
    rows.append((f"per-customer loop (x{n / max(len(sample), 1):,.0f} from {len(sample):,})", ms(loop_time * n / max(len(sample), 1)), "naive"))

    started = time.perf_counter()
    run_result = compute_scores()
    score_time = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    rows.append(("all scores recomputed", f"{score_time:,.1f} s", "≤ 30 s"))
    rows.append(("  peak memory (this process, MB)", f"{peak:,.0f}", "≤ 3 GB"))
    rows.append(("  referral edges", f"{run_result.edges:,}", "—"))
    for phase, seconds in run_result.phases.items():
        rows.append((f"  phase: {phase}", f"{seconds:,.1f} s", "—"))
    # the floor under "interactions": one bare scan of the year the scores read (after the
    # run, so it is timed warm and does not warm the cache for the scores)
    with connection.cursor() as cursor:
        year_scan, _ = timed(lambda: cursor.execute(
            f"SELECT count(*) FROM {Interaction._meta.db_table} WHERE occurred_at >= now() - interval '365 days'"
        ) or cursor.fetchone())
    rows.append(("  hardware: one scan of a year of interactions", f"{year_scan:,.1f} s", "—"))

    changed = list(live_customers().order_by("?").values_list("id", flat=True)[: max(1, n // 100)])
    Customer.objects.filter(pk__in=changed[: len(changed) // 2]).update(city="上海")
    Customer.objects.filter(pk__in=changed[len(changed) // 2 :]).update(city="Nowhere")
    incremental, delta = timed(lambda: services.refresh_segment(segment=segment, customer_ids=changed))
    rows.append(("refresh after 1 % changed", ms(incremental), "≤ 200 ms"))
    with connection.cursor() as cursor:  # its floor: fetching the changed rows by key, nothing else
        lookups, _ = timed(lambda: cursor.execute(
            f"SELECT count(*) FROM unnest(%s::bigint[]) AS changed(id) JOIN {Customer._meta.db_table} c ON c.id = changed.id",
            [sorted(changed)],
        ) or cursor.fetchone(), 3)
    rows.append(("  hardware: 1 % of customers fetched by key", ms(lookups), "—"))
    rows.append(("  entered / left", f"{delta.entered:,} / {delta.left:,}", "—"))

    from django.contrib.auth import get_user_model

    from scrm.staff.roles import Role
    from scrm.staff.services import create_staff_user

    user = get_user_model().objects.filter(username="bench-marketer").first() or create_staff_user(
        username="bench-marketer", email="m@example.com", role=Role.MARKETER, password="bench-pass-123", actor=None)
    client = Client(HTTP_HOST=connection.tenant.primary_host())
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    client.get("/segments/dashboard/")
    samples = []
    for _ in range(30):
        started = time.perf_counter()
        assert client.get("/segments/dashboard/").status_code == 200
        samples.append(time.perf_counter() - started)
    p95 = statistics.quantiles(samples, n=20)[-1]
    rows.append(("dashboard p95 (warm)", ms(p95), "≤ 150 ms"))
    segment.delete()
    return rows


if __name__ == "__main__":
    main()
