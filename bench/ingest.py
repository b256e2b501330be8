"""Benchmark the ingestion spine (issue 4): webhook POST → interaction on the profile.

    DATABASE_URL=... REDIS_URL=... .venv/bin/python -m bench.ingest --events 100000

Uses the database and Redis in DATABASE_URL / REDIS_URL (migrated first with
`python -m scrm migrate`), provisions a throw-away brand with sandbox connectors, runs
gunicorn and Celery workers as real processes, and drops the brand at the end. Traffic
is single-event signed webhooks from the sandboxes (WeChat safe mode, Messenger, X, our
events and orders API), 5 % redelivered, over N/10 customers, from a loopback load
generator. Figures, in one run (STYLE.md 13):

1. accept: webhooks/s and ack latency p50/p99 with no worker running (pure accept path);
2. drain: the stored backlog processed onto profiles by 1 and by 2 ingest workers
   (events/s), then the sentiment follow-up (analytics queue) on its own worker (texts/s);
3. live end to end: traffic and workers (ingest and analytics) at once, 1 and 2 workers
   (events/s, lag p95 from a delivery's receipt to its row being done, and how long after
   the last profile write the last sentiment lands);
4. naive baseline: one event at a time through the ORM (get_or_create per identity and
   interaction, sentiment inline, aggregates per customer), in process — no broker cost, so it flatters
   the naive path;
5. hardware limit: COPY of the same interaction rows into a scratch table.

Prints a table; does not write bench/RESULTS.md (the lead records full-scale runs).
"""

from __future__ import annotations

import argparse
import io
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, proc: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit("server exited early")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.2)
    sys.exit("server did not start")


def setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "scrm.settings.base")
    os.environ.setdefault("SCRM_LOG_LEVEL", "WARNING")
    import django

    django.setup()


class Worker:
    def __init__(self, concurrency: int, log_path: Path, *, queues: str = "ingest,default") -> None:
        self.log_path = log_path
        self.out = open(log_path, "ab")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "scrm", "worker", "--loglevel", "INFO", "-Q", queues,
             "--concurrency", str(concurrency), "--without-gossip", "--without-mingle", "--without-heartbeat",
             "-n", f"bench-{os.getpid()}-{queues.split(',')[0]}-{concurrency}@%h"],
            cwd=BASE_DIR, env=dict(os.environ), stdout=self.out, stderr=subprocess.STDOUT,
        )

    def wait_ready(self, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while b"ready." not in self.log_path.read_bytes():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                sys.exit(f"worker did not start; see {self.log_path}")
            time.sleep(0.2)

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=60)
        self.out.close()


def reset_brand_data() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE channels_rawevent, customers_interaction, customers_consent, customers_order, "
            "customers_identity, customers_customer RESTART IDENTITY CASCADE"
        )


def pending() -> int:
    from channels.models import RawEvent

    return RawEvent.objects.filter(status=RawEvent.Status.PENDING).count()


def wait_drained(timeout: float) -> float:
    started = time.perf_counter()
    while pending():
        if time.perf_counter() - started > timeout:
            sys.exit("backlog did not drain in time")
        time.sleep(0.2)
    return time.perf_counter() - started


def interactions() -> int:
    from customers.models import Interaction

    return Interaction.objects.count()


def unscored() -> int:
    from channels.enrichment import SCORED_LANGUAGES
    from customers.models import Interaction

    return Interaction.objects.filter(sentiment__isnull=True, language__in=SCORED_LANGUAGES).exclude(text="").count()


def wait_scored(timeout: float) -> float:
    started = time.perf_counter()
    while unscored():
        if time.perf_counter() - started > timeout:
            sys.exit("sentiment did not catch up in time")
        time.sleep(0.2)
    return time.perf_counter() - started


def kick() -> None:
    from channels import services

    services.requeue_stale_pending(older_than_seconds=0)


def lag_p95_seconds() -> float:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT percentile_cont(0.95) WITHIN GROUP (ORDER BY extract(epoch FROM processed_at - received_at)) "
            "FROM channels_rawevent WHERE processed_at IS NOT NULL"
        )
        return float(cursor.fetchone()[0] or 0)


def naive_pipeline(raw_ids: list[int]) -> int:
    """One event at a time, the way a first version is usually written."""
    from django.db import transaction

    from channels.adapters import adapter_for
    from channels.enrichment import enrich, sentiment
    from channels.models import RawEvent
    from customers.models import Customer, Identity, Interaction
    from customers.services import refresh_customer_aggregates

    made = 0
    for raw_id in raw_ids:
        with transaction.atomic():
            raw = RawEvent.objects.select_related("connector").get(pk=raw_id)
            for event in adapter_for(raw.connector.kind).parse(raw.connector, raw).events:
                enrich([event])
                event.sentiment = sentiment(event.text, event.language) if event.text else None
                claim = event.claim.identities[0]
                identity = Identity.objects.filter(kind=claim.kind, scope=claim.scope, value=claim.value).first()
                if identity is None:
                    customer = Customer.objects.create(display_name=event.claim.display_name)
                    identity = Identity.objects.create(customer=customer, kind=claim.kind, scope=claim.scope, value=claim.value)
                if event.kind:
                    _obj, created = Interaction.objects.get_or_create(
                        channel=event.channel, external_id=event.external_id,
                        defaults={"customer_id": identity.customer_id, "kind": event.kind, "occurred_at": event.occurred_at,
                                  "text": event.text, "metadata": event.metadata, "language": event.language,
                                  "sentiment": event.sentiment},
                    )
                    made += created
                refresh_customer_aggregates(customer_ids=[identity.customer_id])
            raw.status = RawEvent.Status.DONE
            raw.save(update_fields=["status"])
    return made


def copy_limit() -> tuple[int, float]:
    """COPY the brand's interaction rows into a scratch table: the write ceiling."""
    from django.db import connection

    with connection.cursor() as cursor:
        buffer = io.BytesIO()
        with cursor.cursor.copy(
            "COPY (SELECT customer_id, channel, kind, occurred_at, text, metadata, sentiment, language, external_id "
            "FROM customers_interaction) TO STDOUT"
        ) as copy:
            for chunk in copy:
                buffer.write(chunk)
        cursor.execute("CREATE TEMP TABLE bench_copy (LIKE customers_interaction INCLUDING DEFAULTS INCLUDING CONSTRAINTS)")
        cursor.execute("ALTER TABLE bench_copy DROP COLUMN id")
        rows = cursor.execute("SELECT count(*) FROM customers_interaction").fetchone()[0]
        started = time.perf_counter()
        with cursor.cursor.copy(
            "COPY bench_copy (customer_id, channel, kind, occurred_at, text, metadata, sentiment, language, external_id) FROM STDIN"
        ) as copy:
            copy.write(buffer.getvalue())
        seconds = time.perf_counter() - started
        cursor.execute("DROP TABLE bench_copy")
    return rows, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=16, help="load generator connections")
    parser.add_argument("--naive-events", type=int, default=0, help="events for the naive path (default min(events, 2000))")
    args = parser.parse_args()
    if not (os.environ.get("DATABASE_URL") and os.environ.get("REDIS_URL")):
        sys.exit("set DATABASE_URL and REDIS_URL (a scratch database: a brand is created and dropped)")
    tmp = Path(os.environ.get("TMPDIR", "/tmp")) / f"bench-ingest-{os.getpid()}"
    tmp.mkdir(parents=True, exist_ok=True)
    log("migrating")
    subprocess.run([sys.executable, "-m", "scrm", "migrate"], cwd=BASE_DIR, check=True, stdout=subprocess.DEVNULL)
    setup_django()
    from django.db import connection
    from django_tenants.utils import tenant_context

    from channels.models import RawEvent
    from channels.sandboxes.base import WebhookSender
    from channels.sandboxes.traffic import ensure_sandbox_connectors, plan_traffic, send_all
    from scrm import tenancy

    slug = f"bench-ingest-{int(time.time()) % 100000}"
    brand = tenancy.provision_brand(name="Bench ingest", slug=slug, admin_username="bench", admin_email="bench@example.com",
                                    admin_password="bench-Pass-4821").brand
    port = free_port()
    web = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "scrm.wsgi:application", "--bind", f"127.0.0.1:{port}", "--workers", "2",
         "--threads", "4", "--timeout", "120"],
        cwd=BASE_DIR, env=dict(os.environ), stdout=open(tmp / "web.log", "wb"), stderr=subprocess.STDOUT,  # noqa: SIM115
    )
    wait_for_port(port, web)
    sender = WebhookSender(f"http://127.0.0.1:{port}", tenancy.host_for(slug))
    customers = max(1, args.events // 10)
    rows: list[tuple[str, str]] = []
    try:
        with tenant_context(brand):
            connectors = ensure_sandbox_connectors()
            for workers in (1, 2):
                reset_brand_data()
                planned = list(plan_traffic(connectors, events=args.events, customers=customers, seed=workers))
                expected = sum(p.events for p in planned)
                # 1. accept only (no worker)
                report = send_all(sender, planned, concurrency=args.concurrency)
                ok = sum(n for status, n in report.statuses.items() if 200 <= status < 300)
                if workers == 1:
                    rows.append(("accept: single-event webhooks/s (no worker)", f"{report.rate:,.0f}/s ({ok}/{report.sent} 2xx)"))
                    rows.append(("accept: ack p50 / p99", f"{report.median_ms:.1f} ms / {report.percentile(99):.1f} ms"))
                stored = RawEvent.objects.count()
                # 2. drain the backlog
                worker = Worker(workers, tmp / f"worker{workers}.log")
                worker.wait_ready()
                time.sleep(2 * workers)  # each pool process loads the sentiment models
                kick()
                seconds = wait_drained(timeout=3600)
                made = interactions()
                rows.append((f"drain: {stored:,} stored deliveries onto profiles, {workers} worker(s)",
                             f"{stored / seconds:,.0f} events/s ({made:,} interactions, {expected:,} expected)"))
                # 2b. the sentiment follow-up (analytics queue), on its own worker afterwards
                waiting = unscored()
                analytics = Worker(workers, tmp / f"analytics{workers}.log", queues="analytics")
                analytics.wait_ready()
                time.sleep(2 * workers)
                seconds = wait_scored(timeout=3600)
                rows.append((f"sentiment follow-up: {waiting:,} texts scored, {workers} worker(s)",
                             f"{waiting / seconds:,.0f} texts/s"))
                # 3. live end to end with the worker(s) running
                reset_brand_data()
                planned = list(plan_traffic(connectors, events=args.events, customers=customers, seed=10 + workers))
                started = time.perf_counter()
                report = send_all(sender, planned, concurrency=args.concurrency)
                wait_drained(timeout=3600)
                total = time.perf_counter() - started
                rows.append((f"live: webhook → profile, {workers} worker(s) (+ analytics worker)",
                             f"{interactions() / total:,.0f} events/s; ack p50 {report.median_ms:.1f} ms, p99 "
                             f"{report.percentile(99):.1f} ms; lag p95 {lag_p95_seconds():.2f} s"))
                behind = wait_scored(timeout=3600)
                rows.append((f"live: sentiment complete after the last profile write, {workers} worker(s)", f"{behind:.1f} s"))
                worker.stop()
                analytics.stop()
            # 4. naive baseline over stored deliveries
            reset_brand_data()
            naive_n = args.naive_events or min(args.events, 2000)
            planned = list(plan_traffic(connectors, events=naive_n, customers=max(1, naive_n // 10), seed=99, redelivery_rate=0))
            send_all(sender, planned, concurrency=args.concurrency)
            ids = list(RawEvent.objects.order_by("id").values_list("id", flat=True))
            started = time.perf_counter()
            made = naive_pipeline(ids)
            seconds = time.perf_counter() - started
            rows.append(("naive: one event at a time through the ORM (in process)", f"{len(ids) / seconds:,.0f} events/s ({made:,} interactions)"))
            # 5. hardware limit
            copied, seconds = copy_limit()
            rows.append(("limit: COPY of the same interaction rows", f"{copied / seconds:,.0f} rows/s ({copied:,} rows)"))
    finally:
        web.terminate()
        web.wait(timeout=30)
        connection.set_schema_to_public()
        tenancy.drop_brand(brand)
    width = max(len(name) for name, _ in rows)
    print(f"\nIngestion benchmark: {args.events:,} events over {customers:,} customers, load generator concurrency {args.concurrency}")
    print(f"{'measure'.ljust(width)} | figure")
    print(f"{'-' * width}-+-{'-' * 40}")
    for name, figure in rows:
        print(f"{name.ljust(width)} | {figure}")


if __name__ == "__main__":
    main()
