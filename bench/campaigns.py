"""Benchmark campaign planning: every guard for N recipients in one statement.

    DATABASE_URL=... REDIS_URL=... .venv/bin/python -m bench.campaigns [--recipients 1000000]

Provisions a throw-away brand, generates N customers (customers.generator: identities,
consents with history, interactions, orders), puts them all in one segment, then times,
each in a rolled-back transaction so every run starts from the same rows:

- plan: `planning.plan_recipients` (consent latest-wins incl. "all", address, duplicates,
  reply window, platform cap, frequency cap across channels, quiet hours, A/B split, best
  send hour) vs a naive per-customer Python loop (a few queries per customer) over a
  subsample, extrapolated and labelled so, vs the hardware limit: one bare
  INSERT … SELECT of N rows into the same table with no guard at all;
- best send hour for every customer: `planning.compute_best_send_hours` (one statement);
- queueing: `services.send_batch` (claim, render, mark queued) over a sample, in messages/s.
  Platform delivery waits for the channels outbox, so this is the rate into our own
  delivery record, not a sandbox.

Peak memory: the Python process (ru_maxrss) and the database backend serving us (VmHWM of
pg_backend_pid(), which counts shared buffers it touched, so it is an upper bound), plus
temporary-file bytes PostgreSQL spilled. Prints a table; the lead records full-scale
results in bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
import resource
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any


def _backend_peak_mb() -> float | None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:  # the database runs elsewhere (or another user's /proc is hidden)
        return None
    return None


def _temp_bytes() -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT temp_bytes FROM pg_stat_database WHERE datname = current_database()")
        return cursor.fetchone()[0]


def _timed(func: Callable[[], Any]) -> tuple[float, Any]:
    from django.db import transaction

    with transaction.atomic():
        started = time.perf_counter()
        result = func()
        elapsed = time.perf_counter() - started
        transaction.set_rollback(True)
    return elapsed, result


def _naive_plan(campaign: Any, customer_ids: list[int], start: Any) -> int:
    """What a per-customer loop does: a query per guard per customer, one INSERT each."""
    from customers.models import Consent, Identity, Interaction
    from engagement.campaigns.models import CampaignRecipient
    from engagement.campaigns.planning import sendable_kinds

    kinds = sendable_kinds(campaign.channel)
    planned = 0
    for customer_id in customer_ids:
        consent = (Consent.objects.filter(customer_id=customer_id, channel__in=[campaign.channel, "all"], purpose="marketing")
                   .order_by("-recorded_at", "-id").values_list("status", flat=True).first())
        address = Identity.objects.filter(customer_id=customer_id, kind__in=kinds).values_list("value", flat=True).first()
        recent = CampaignRecipient.objects.filter(customer_id=customer_id, send_at__gte=start - timedelta(days=7)).exclude(status="skipped").count()
        recent += Interaction.objects.filter(customer_id=customer_id, kind="message_out", occurred_at__gte=start - timedelta(days=7)).count()
        duplicate = bool(address) and CampaignRecipient.objects.filter(campaign=campaign, address=address).exists()
        reason = ("no_consent" if consent != "granted" else "no_identity" if not address else "duplicate" if duplicate
                  else "frequency_cap" if recent >= campaign.frequency_cap else "")
        CampaignRecipient.objects.create(
            campaign=campaign, customer_id=customer_id, step=0, channel=campaign.channel, address=address or "",
            status="skipped" if reason else "planned", skip_reason=reason, send_at=start,
        )
        planned += not reason
    return planned


def _bare_insert(campaign: Any, start: Any) -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            """INSERT INTO engagement_campaignrecipient (campaign_id, customer_id, step, channel, address, status,
                   skip_reason, send_at, revenue, message, error)
               SELECT %s, customer_id, 0, 'wechat', '', 'planned', '', %s, 0, '{}'::jsonb, ''
                 FROM segments_segmentmembership WHERE segment_id IN (SELECT segment_id FROM engagement_campaign_segments WHERE campaign_id = %s)""",
            [campaign.pk, start, campaign.pk],
        )
        return cursor.rowcount


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipients", type=int, default=1_000_000)
    parser.add_argument("--naive-sample", type=int, default=2_000)
    parser.add_argument("--send-sample", type=int, default=20_000)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "scrm.settings.base")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    from customers.generator import generate
    from engagement.campaigns import planning, services
    from engagement.campaigns.models import Campaign, Variant
    from scrm import tenancy
    from segments.models import Segment

    call_command("migrate_schemas", "--shared", verbosity=0)
    tenancy.ensure_platform()
    slug = f"bench-campaigns-{os.getpid()}"
    brand = tenancy.provision_brand(name="Bench campaigns", slug=slug, admin_username="bench",
                                    admin_email="bench@example.com", admin_password="bench-pass-123").brand
    try:
        connection.set_tenant(brand)
        started = time.perf_counter()
        generate(customers=args.recipients)
        generated = time.perf_counter() - started
        segment = Segment.objects.create(name="Everyone", kind=Segment.Kind.STATIC)
        with connection.cursor() as cursor:
            cursor.execute("INSERT INTO segments_segmentmembership (segment_id, customer_id, entered_at) "
                           "SELECT %s, id, now() FROM customers_customer WHERE merged_into_id IS NULL", [segment.pk])
            audience = cursor.rowcount
            cursor.execute("ANALYZE")
        campaign = Campaign.objects.create(
            name="Bench", channel="wechat", message_type="template", status=Campaign.Status.SENDING, frequency_cap=3,
            quiet_start=22, quiet_end=8, best_send_time=True, public_base_url="https://bench.example",
        )
        campaign.segments.add(segment)
        Variant.objects.create(campaign=campaign, name="A", split_percent=50, text="Hi {{ name|friend }}", template_id="T",
                               template_data={"first": "Hi {{ name|friend }}"})
        Variant.objects.create(campaign=campaign, name="B", split_percent=50, text="Hello {{ name|friend }}", template_id="T",
                               template_data={"first": "Hello {{ name|friend }}"})
        start = timezone.now().replace(hour=3, minute=0, second=0, microsecond=0)

        rows: list[tuple[str, str, float, str]] = []
        best_seconds, written = _timed(lambda: planning.compute_best_send_hours(now=start))
        planning.compute_best_send_hours(now=start)  # keep them for the plan
        rows.append(("best hour", f"ours: one statement ({written:,} profiles)", best_seconds, f"{written / best_seconds:,.0f}/s"))

        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        temp_before = _temp_bytes()
        plan_seconds, result = _timed(lambda: planning.plan_recipients(campaign, planning.segment_audience(campaign), start=start))
        backend_peak = _backend_peak_mb()
        temp_mb = (_temp_bytes() - temp_before) / 2**20
        rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        rows.append(("plan", "ours: plan_recipients (every guard)", plan_seconds, f"{audience / plan_seconds:,.0f}/s"))

        sample_ids = list(segment.memberships.order_by("customer_id").values_list("customer_id", flat=True)[: args.naive_sample])
        naive_seconds, _planned = _timed(lambda: _naive_plan(campaign, sample_ids, start))
        naive_total = naive_seconds * audience / max(len(sample_ids), 1)
        rows.append(("plan", f"naive: loop over {len(sample_ids):,}, EXTRAPOLATED", naive_total, f"{len(sample_ids) / naive_seconds:,.0f}/s"))
        bare_seconds, bare_rows = _timed(lambda: _bare_insert(campaign, start))
        rows.append(("plan", "limit: bare INSERT … SELECT, no guard", bare_seconds, f"{bare_rows / bare_seconds:,.0f}/s"))

        def queue_sample() -> int:
            planning.plan_recipients(campaign, planning.segment_audience(campaign), start=start - timedelta(hours=12))
            Campaign.objects.filter(pk=campaign.pk).update(frequency_cap=100)
            sent, started_at = 0, time.perf_counter()
            while sent < args.send_sample:
                batch = services.send_batch(campaign.pk, limit=1000, now=start + timedelta(days=1))
                if not batch:
                    break
                sent += batch
            return sent, time.perf_counter() - started_at

        _total, (queued, queue_seconds) = _timed(queue_sample)
        rows.append(("queue", f"ours: send_batch ×1000 ({queued:,} messages)", queue_seconds, f"{queued / max(queue_seconds, 1e-9):,.0f}/s"))

        print(f"\n{audience:,} customers in the audience (generated in {generated:.0f} s); "
              f"planned {result.planned:,}, skipped {result.skipped_total:,}: "
              + ", ".join(f"{k} {v:,}" for k, v in sorted(result.skipped.items())) + "\n")
        print(f"{'step':<10} {'path':<48} {'seconds':>10} {'rate':>14}")
        for step, path, seconds, rate in rows:
            print(f"{step:<10} {path:<48} {seconds:>10.2f} {rate:>14}")
        print(f"\nplanning memory: Python process peak {rss_after:,.0f} MB (was {rss_before:,.0f} MB before the plan); "
              f"database backend peak RSS {backend_peak:,.0f} MB" if backend_peak is not None else "database backend: not measurable here",
              end="")
        print(f"; PostgreSQL temp files {temp_mb:,.1f} MB")
    finally:
        connection.set_schema_to_public()
        tenancy.drop_brand(brand)


if __name__ == "__main__":
    main()
