"""Benchmark the ingestion spine (issue 4): webhook POST → interaction on the profile.

    DATABASE_URL=... REDIS_URL=... .venv/bin/python -m bench.ingest --events 100000

Uses the database and Redis in DATABASE_URL / REDIS_URL (migrated first with
`python -m scrm migrate`), provisions a throw-away brand with sandbox connectors, runs
gunicorn (gthread, --web-workers x --web-threads) and Celery workers as real processes,
and drops the brand at the end. Single-event traffic is signed webhooks from the
sandboxes (WeChat safe mode, Messenger, X, our events and orders API), 5 % redelivered,
over N/10 customers; the load generator (bench/loadgen.py) sends pre-rendered requests
over kept-alive sockets from forked processes, so its own cost stays small next to the
server's on the shared cores. Figures, in one run (STYLE.md 13), each with the 1-minute
load average beside it:

1. accept: single-event webhooks/s and ack p50/p99 with no worker running (pure accept
   path), twice (before the 1- and the 2-worker drain);
2. drain: the stored backlog processed onto profiles by 1 and by 2 ingest workers
   (events/s); with --sentiment, then the sentiment follow-up on its own worker (texts/s);
3. live: traffic offered at --rate webhooks/s (paced) with 1 and 2 workers running
   (offered rate reached, drain rate, ack p50/p99, lag p95 from a delivery's receipt to
   its row being done);
4. accept, batched: deliveries of --batch events each (Meta entry[], our events API item
   list), events/s and ack p50/p99;
5. with --old-client, accept through the old thread-pool http.client sender (what the
   generator itself costs);
6. naive baseline: one event at a time through the ORM (get_or_create per identity and
   interaction, sentiment inline, aggregates per customer), in process — no broker cost,
   so it flatters the naive path;
7. hardware limit: COPY of the same interaction rows into a scratch table.

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
    """Empty the brand's tables. A running worker's last look (FOR UPDATE on the raw
    events) can deadlock with the TRUNCATE; PostgreSQL aborts one side, so try again."""
    from django.db import OperationalError, connection

    for attempt in range(5):
        try:
            with connection.cursor() as cursor:
                cursor.execute(
                    "TRUNCATE channels_rawevent, customers_interaction, customers_consent, customers_order, "
                    "customers_identity, customers_customer RESTART IDENTITY CASCADE"
                )
            return
        except OperationalError:
            if attempt == 4:
                raise
            time.sleep(1)


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


def rendered(host: str, planned: list) -> list[bytes]:
    from bench import loadgen

    return [loadgen.render(host, item.path, body=item.delivery.body, content_type=item.delivery.content_type,
                           query=item.delivery.query, headers=item.delivery.headers) for item in planned]


def plan_batched(connectors: dict, *, events: int, customers: int, per_delivery: int, seed: int) -> list:
    """Deliveries carrying `per_delivery` events each, as platforms batch them: Meta's
    entry[] (one messaging item each) and our events API's item list, half and half."""
    import random

    from channels.sandboxes import deliveries
    from channels.sandboxes.meta import MetaSandbox
    from channels.sandboxes.traffic import EN, SANDBOX, Planned

    rng = random.Random(seed)
    fb = SANDBOX["facebook"]
    meta = MetaSandbox(app_secret=fb[2]["app_secret"], page_id=fb[1]["page_id"], page_token="")
    planned, made = [], 0
    while made < events:
        size = min(per_delivery, events - made)
        if len(planned) % 2 == 0:
            delivery = meta.messages([(f"psid_{rng.randrange(customers)}", rng.choice(EN)) for _ in range(size)])
            path = f"/hooks/{connectors['facebook'].webhook_token}/"
        else:
            items = [{"id": f"b{seed}-{made + n}-{int(time.time())}", "type": "page_view",
                      "url": f"https://shop.example/p/{rng.randrange(500)}",
                      "customer": {"email": f"person{rng.randrange(customers)}@example.com"}} for n in range(size)]
            delivery = deliveries.scrm_api(api_key=connectors["web_api"].webhook_token,
                                           signing_secret=SANDBOX["web_api"][2]["signing_secret"], items=items)
            path = "/api/v1/events"
        planned.append(Planned(path, delivery, size))
        made += size
    return planned


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--connections", type=int, default=32, help="load generator connections (kept alive)")
    parser.add_argument("--client-processes", type=int, default=2, help="load generator processes")
    parser.add_argument("--web-workers", type=int, default=2, help="gunicorn worker processes")
    parser.add_argument("--web-threads", type=int, default=16, help="gunicorn threads per worker (gthread)")
    parser.add_argument("--batch", type=int, default=100, help="events per batched delivery")
    parser.add_argument("--rate", type=float, default=1000, help="offered single-event webhooks/s for the lag run")
    parser.add_argument("--naive-events", type=int, default=0, help="events for the naive path (default min(events, 500))")
    parser.add_argument("--old-client", action="store_true",
                        help="also accept through the thread-pool http.client sender (the generator's own cost)")
    parser.add_argument("--sentiment", action="store_true", help="also run the sentiment follow-up (analytics worker)")
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

    from bench import loadgen
    from channels.models import RawEvent
    from channels.sandboxes.base import WebhookSender
    from channels.sandboxes.traffic import ensure_sandbox_connectors, plan_traffic, send_all
    from scrm import tenancy

    slug = f"bench-ingest-{int(time.time()) % 100000}"
    brand = tenancy.provision_brand(name="Bench ingest", slug=slug, admin_username="bench", admin_email="bench@example.com",
                                    admin_password="bench-Pass-4821").brand
    port = free_port()
    web = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "scrm.wsgi:application", "--bind", f"127.0.0.1:{port}",
         "--workers", str(args.web_workers), "--worker-class", "gthread", "--threads", str(args.web_threads),
         "--keep-alive", "30", "--backlog", "2048", "--timeout", "120"],
        cwd=BASE_DIR, env=dict(os.environ), stdout=open(tmp / "web.log", "wb"), stderr=subprocess.STDOUT,  # noqa: SIM115
    )
    wait_for_port(port, web)
    host = tenancy.host_for(slug)
    customers = max(1, args.events // 10)
    rows: list[tuple[str, str]] = []

    def load() -> str:
        return open("/proc/loadavg").read().split()[0]

    def accept(planned: list, label: str, *, rate: float | None = None) -> loadgen.LoadReport:
        report = loadgen.run(port, rendered(host, planned), connections=args.connections,
                             processes=args.client_processes, rate=rate)
        log(f"{label}: {report.sent} sent, statuses {dict(report.statuses)}, {report.rate:,.0f}/s")
        return report

    try:
        with tenant_context(brand):
            connectors = ensure_sandbox_connectors()
            # 0. warm the web processes (imports, connector memo) off the record
            reset_brand_data()
            accept(list(plan_traffic(connectors, events=200, customers=20, seed=0)), "warm-up")
            for workers in (1, 2):
                reset_brand_data()
                planned = list(plan_traffic(connectors, events=args.events, customers=customers, seed=workers))
                expected = sum(p.events for p in planned)
                # 1. accept only (no worker)
                report = accept(planned, f"accept singles ({workers})")
                rows.append((f"accept: single-event webhooks/s, no worker (run {workers})",
                             f"{report.rate:,.0f}/s ({report.ok}/{report.sent} 2xx); ack p50 {report.median_ms:.1f} ms, "
                             f"p99 {report.percentile(99):.1f} ms; load {load()}"))
                stored = RawEvent.objects.count()
                # 2. drain the backlog
                worker = Worker(workers, tmp / f"worker{workers}.log")
                worker.wait_ready()
                time.sleep(2 * workers)  # each pool process loads the sentiment models
                kick()
                seconds = wait_drained(timeout=3600)
                made = interactions()
                rows.append((f"drain: {stored:,} stored deliveries onto profiles, {workers} worker(s)",
                             f"{stored / seconds:,.0f} events/s ({made:,} interactions, {expected:,} expected); load {load()}"))
                if args.sentiment:
                    waiting = unscored()
                    analytics = Worker(workers, tmp / f"analytics{workers}.log", queues="analytics")
                    analytics.wait_ready()
                    time.sleep(2 * workers)
                    seconds = wait_scored(timeout=3600)
                    rows.append((f"sentiment follow-up: {waiting:,} texts scored, {workers} worker(s)",
                                 f"{waiting / seconds:,.0f} texts/s"))
                # 3. live end to end at an offered rate, the worker(s) running
                reset_brand_data()
                planned = list(plan_traffic(connectors, events=args.events, customers=customers, seed=10 + workers))
                started = time.perf_counter()
                report = accept(planned, f"live ({workers})", rate=args.rate)
                wait_drained(timeout=3600)
                total = time.perf_counter() - started
                rows.append((f"live: {args.rate:,.0f}/s offered, webhook → profile, {workers} worker(s)",
                             f"offered {report.rate:,.0f}/s ({report.ok}/{report.sent} 2xx), drained {interactions() / total:,.0f} "
                             f"events/s; ack p50 {report.median_ms:.1f} ms, p99 {report.percentile(99):.1f} ms; "
                             f"lag p95 {lag_p95_seconds():.2f} s; load {load()}"))
                if args.sentiment:
                    behind = wait_scored(timeout=3600)
                    rows.append((f"live: sentiment complete after the last profile write, {workers} worker(s)", f"{behind:.1f} s"))
                    analytics.stop()
                worker.stop()
            # 4. batched deliveries, no worker
            reset_brand_data()
            planned = plan_batched(connectors, events=args.events, customers=customers, per_delivery=args.batch, seed=5)
            report = accept(planned, "accept batched")
            events = sum(p.events for p in planned)
            rows.append((f"accept: batched deliveries of {args.batch} events, no worker",
                         f"{events / report.seconds:,.0f} events/s ({report.rate:,.0f} deliveries/s, {report.ok}/{report.sent} 2xx); "
                         f"ack p50 {report.median_ms:.1f} ms, p99 {report.percentile(99):.1f} ms; load {load()}"))
            if args.old_client:
                reset_brand_data()
                planned = list(plan_traffic(connectors, events=min(args.events, 3000), customers=customers, seed=21))
                old = send_all(WebhookSender(f"http://127.0.0.1:{port}", host), planned, concurrency=16)
                rows.append(("accept: single-event, old thread-pool http.client generator (16 threads)",
                             f"{old.rate:,.0f}/s; ack p50 {old.median_ms:.1f} ms, p99 {old.percentile(99):.1f} ms; load {load()}"))
            # 5. naive baseline over stored deliveries
            reset_brand_data()
            naive_n = args.naive_events or min(args.events, 500)
            planned = list(plan_traffic(connectors, events=naive_n, customers=max(1, naive_n // 10), seed=99, redelivery_rate=0))
            accept(planned, "naive backlog")
            ids = list(RawEvent.objects.order_by("id").values_list("id", flat=True))
            started = time.perf_counter()
            made = naive_pipeline(ids)
            seconds = time.perf_counter() - started
            rows.append(("naive: one event at a time through the ORM (in process)",
                         f"{len(ids) / seconds:,.0f} events/s ({made:,} interactions); load {load()}"))
            # 6. hardware limit
            copied, seconds = copy_limit()
            rows.append(("limit: COPY of the same interaction rows", f"{copied / seconds:,.0f} rows/s ({copied:,} rows)"))
    finally:
        web.terminate()
        web.wait(timeout=30)
        connection.set_schema_to_public()
        tenancy.drop_brand(brand)
    width = max(len(name) for name, _ in rows)
    print(f"\nIngestion benchmark: {args.events:,} events over {customers:,} customers; gunicorn {args.web_workers} workers x "
          f"{args.web_threads} threads; load generator {args.client_processes} processes, {args.connections} connections")
    print(f"{'measure'.ljust(width)} | figure")
    print(f"{'-' * width}-+-{'-' * 40}")
    for name, figure in rows:
        print(f"{name.ljust(width)} | {figure}")


if __name__ == "__main__":
    main()
