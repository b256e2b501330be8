"""Benchmark imports (issue 3): customers and orders through our import path, against
Django's bulk_create and raw COPY into a staging table, on the same generated rows in the
same run; then customer-list search latency at the loaded scale, and the Profile 360 page
of a customer with 10,000 timeline items.

    DATABASE_URL=... REDIS_URL=... .venv/bin/python -m bench.imports --customers 20000 --orders 100000

Full scale (the issue's aims) is `--customers 1000000 --orders 5000000 --bulk-create-max 100000`
(bulk_create at that scale would take hours; run it at 100k beside). The database must
be migrated (`manage.py migrate_schemas --shared`); the benchmark provisions its own
brand ("bench-imports", dropped first if a previous run left it) and drops it at the end
unless --keep.

What each row measures, all inside the brand's schema:
- "our import path": `customers.imports.services.run_import` on a stored CSV, in process
  (the Celery task calls exactly this): decode, map, validate every cell (emails, E.164
  phones, dates, amounts, duplicates in the file and against the database), COPY into a
  staging table, set-wise upserts (customers, identities, tags / orders, aggregates), the
  error report. Customers first, then orders linked by member ID.
- "Django bulk_create": the same CSV read with the csv module, no validation beyond what
  a model needs, `bulk_create(batch_size=5000)` of customers, then identities, then orders
  (customer found through a dict of member IDs), then the same aggregate refresh.
- "raw COPY into staging": the CSV bytes COPYed into an UNLOGGED text-column table: the
  floor for "getting the rows into PostgreSQL" on this machine.
The tables are truncated between paths, so each starts from an empty brand.

Search latency and the profile page go through Django's test client in process (full
middleware, tenant routing, templates, no network), logged in as the brand's Admin; that
isolates our code from HTTP server tuning. Search: 200 queries mixing name fragments,
whole emails, phone fragments and member IDs. Profile: 30 loads of one customer with
10,000 interactions and orders (first page of the timeline; the rest is keyset-paged).
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "scrm.settings.base")
SLUG = "bench-imports"
PASSWORD = "bench-Pass-4821"
CITIES = ["上海", "北京", "深圳", "广州", "杭州", "成都", "Singapore", "London"]
SURNAMES = ["王", "李", "张", "刘", "陈", "杨", "黄", "赵", "Smith", "Garcia"]
TAGS = ["vip", "新客", "newsletter", "wholesale", "复购"]


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S', time.gmtime())}Z] {message}", flush=True)


# --- data ------------------------------------------------------------------------------------


def write_files(directory: Path, customers: int, orders: int, seed: int = 7) -> tuple[Path, Path]:
    rng = random.Random(seed)
    people = directory / "customers.csv"
    with open(people, "w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(["姓名", "邮箱", "手机", "会员号", "城市", "生日", "标签"])
        for i in range(customers):
            writer.writerow([
                f"{rng.choice(SURNAMES)}{i}", f"p{i}@example.com", f"13{i:09d}"[:11] if i < 10**9 else "",
                f"M{i:08d}", rng.choice(CITIES), f"19{rng.randint(50, 99)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
                rng.choice(TAGS) if rng.random() < 0.4 else "",
            ])
    sales = directory / "orders.csv"
    start = datetime(2023, 1, 1, tzinfo=UTC)
    with open(sales, "w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(["订单号", "会员号", "下单时间", "金额", "币种", "状态"])
        for i in range(orders):
            writer.writerow([
                f"SO{i:010d}", f"M{rng.randrange(customers):08d}",
                (start + timedelta(seconds=rng.randrange(3 * 365 * 86400))).strftime("%Y-%m-%d %H:%M:%S"),
                f"{rng.uniform(5, 2000):.2f}", "CNY", "paid" if rng.random() < 0.93 else "refunded",
            ])
    return people, sales


# --- the three paths -------------------------------------------------------------------------


def truncate() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE customers_order, customers_customertag, customers_identity, customers_interaction,"
            " customers_consent, customers_note, customers_customer, customers_importjob CASCADE"
        )


def our_path(path: Path, kind: str, actor) -> tuple[float, int, int]:  # noqa: ANN001
    from django.core.files import File

    from customers.imports import services
    from customers.models import ImportJob

    with open(path, "rb") as handle:
        job = ImportJob(kind=kind, original_name=path.name, created_by=actor, options={"language": "en"})
        job.file.save(path.name, File(handle), save=False)
    with open(path, "rb") as handle:
        header = next(csv.reader([handle.readline().decode("utf-8")]))
    from customers.imports.mapping import guess_mapping

    job.mapping = guess_mapping(header, kind)
    job.status = ImportJob.Status.QUEUED
    job.save()
    started = time.perf_counter()
    job = services.run_import(job_id=job.pk)
    seconds = time.perf_counter() - started
    if job.status != ImportJob.Status.DONE:
        raise RuntimeError(f"import failed: {job.error}")
    return seconds, job.imported_rows, job.error_rows


def bulk_create_path(people: Path, sales: Path) -> tuple[float, float]:
    from decimal import Decimal

    from django.db import transaction
    from django.utils import timezone

    from customers.models import Customer, Identity, Order
    from customers.services import refresh_customer_aggregates

    batch = 5000
    started = time.perf_counter()
    with transaction.atomic(), open(people, encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        next(reader)
        rows: list[list[str]] = []

        def flush() -> None:
            made = Customer.objects.bulk_create(
                [Customer(display_name=r[0], city=r[4], birthday=r[5] or None) for r in rows], batch_size=batch
            )
            identities = []
            for customer, r in zip(made, rows, strict=True):
                identities += [Identity(customer=customer, kind="email", value=r[1]),
                               Identity(customer=customer, kind="phone", value="+86" + r[2]),
                               Identity(customer=customer, kind="member_id", value=r[3])]
            Identity.objects.bulk_create(identities, batch_size=batch)
            rows.clear()

        for row in reader:
            rows.append(row)
            if len(rows) == batch:
                flush()
        if rows:
            flush()
    customers_seconds = time.perf_counter() - started
    started = time.perf_counter()
    with transaction.atomic(), open(sales, encoding="utf-8", newline="") as handle:
        member = dict(Identity.objects.filter(kind="member_id").values_list("value", "customer_id"))
        reader = csv.reader(handle)
        next(reader)
        zone = timezone.get_current_timezone()
        orders: list[Order] = []
        for r in reader:
            orders.append(Order(external_id=r[0], customer_id=member[r[1]],
                                ordered_at=datetime.strptime(r[2], "%Y-%m-%d %H:%M:%S").replace(tzinfo=zone),
                                amount=Decimal(r[3]), currency=r[4], status=r[5], channel="store"))
            if len(orders) == batch:
                Order.objects.bulk_create(orders)
                orders.clear()
        Order.objects.bulk_create(orders)
        refresh_customer_aggregates()
    return customers_seconds, time.perf_counter() - started


def raw_copy_path(path: Path, columns: int) -> float:
    from django.db import connection, transaction

    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        cols = ", ".join(f"c{i} text" for i in range(columns))
        cursor.execute(f"CREATE UNLOGGED TABLE IF NOT EXISTS bench_stage ({cols})")
        cursor.execute("TRUNCATE bench_stage")
        with open(path, "rb") as handle, cursor.copy("COPY bench_stage FROM STDIN WITH (FORMAT csv, HEADER true)") as copy:
            while data := handle.read(1 << 20):
                copy.write(data)
        cursor.execute("DROP TABLE bench_stage")
    return time.perf_counter() - started


# --- pages -----------------------------------------------------------------------------------


def latencies(get: Callable[[], int], times: int) -> tuple[float, float]:
    samples = []
    for _ in range(times):
        started = time.perf_counter()
        status = get()
        samples.append((time.perf_counter() - started) * 1000)
        if status != 200:
            raise RuntimeError(f"page answered {status}")
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.95) - 1]


def search_latency(client, customers: int) -> tuple[float, float]:  # noqa: ANN001
    rng = random.Random(3)
    queries = []
    for i in range(200):
        n = rng.randrange(customers)
        queries.append([f"{rng.choice(SURNAMES)}{n}", f"p{n}@example.com", f"13{n:09d}"[3:9], f"M{n:08d}"][i % 4])
    cycle = iter(queries)
    return latencies(lambda: client.get("/customers/", {"q": next(cycle)}).status_code, len(queries))


def profile_latency(client) -> tuple[float, float]:  # noqa: ANN001
    from customers.models import Customer, Interaction, Order

    now = datetime.now(tz=UTC)
    person = Customer.objects.create(display_name="Timeline Person")
    Interaction.objects.bulk_create(
        [Interaction(customer=person, channel="wechat", kind="message_in", occurred_at=now - timedelta(minutes=i),
                     text=f"消息 {i}", external_id=f"bench-{i}") for i in range(9000)], batch_size=5000)
    Order.objects.bulk_create(
        [Order(customer=person, external_id=f"bench-order-{i}", ordered_at=now - timedelta(hours=i), amount=10,
               channel="store") for i in range(1000)], batch_size=5000)
    return latencies(lambda: client.get(f"/customers/{person.pk}/").status_code, 30)


def _mode(kind: str) -> str:
    """A note for the table when the last import of `kind` ran in bulk mode (see customers.bulkload)."""
    from customers.models import ImportJob

    job = ImportJob.objects.filter(kind=kind).order_by("-pk").first()
    return " (bulk mode)" if job is not None and job.options.get("bulk") else ""


# --- main ------------------------------------------------------------------------------------


def profile_import(customers: int) -> None:
    """--profile: where our customer import spends its time (cProfile, top 25)."""
    import cProfile
    import pstats

    from django.contrib.auth.models import User

    with tempfile.TemporaryDirectory() as tmp:
        from django.conf import settings

        settings.MEDIA_ROOT = tmp
        people, _sales = write_files(Path(tmp), customers, 1)
        profiler = cProfile.Profile()
        profiler.runcall(our_path, people, "customers", User.objects.get(username="admin"))
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--keep", action="store_true", help="keep the benchmark brand afterwards")
    parser.add_argument("--profile", action="store_true", help="only profile our customer import")
    parser.add_argument("--skip-pages", action="store_true", help="imports only: no search or profile page timings")
    parser.add_argument("--bulk-create-max", type=int, default=None, metavar="ROWS",
                        help="skip the bulk_create path when a file has more rows (it runs ~1,000 rows/s on a"
                             " loaded 2-core machine: an hour and a half for 1M customers and 5M orders)")
    args = parser.parse_args(argv)

    import django

    django.setup()
    import logging

    from django.conf import settings
    from django.db import connection
    from django.test import Client
    from django.test.utils import setup_test_environment
    from django_tenants.utils import tenant_context

    from scrm import tenancy
    from scrm.models import Brand

    logging.getLogger("scrm.request").setLevel(logging.WARNING)  # one line per page load otherwise
    setup_test_environment()  # the test client's host checks and template signals
    settings.ALLOWED_HOSTS = ["*"]
    tenancy.ensure_platform()
    old = Brand.objects.filter(slug=SLUG).first()
    if old is not None:
        tenancy.drop_brand(old)
    brand = tenancy.provision_brand(name="Bench imports", slug=SLUG, admin_username="admin",
                                    admin_email="admin@bench.example", admin_password=PASSWORD).brand
    results: list[tuple[str, str, int, float]] = []
    try:
        if args.profile:
            with tenant_context(brand):
                profile_import(args.customers)
            return
        with tempfile.TemporaryDirectory() as tmp, tenant_context(brand):
            settings.MEDIA_ROOT = tmp
            log(f"writing {args.customers:,} customers and {args.orders:,} orders")
            people, sales = write_files(Path(tmp), args.customers, args.orders)
            from django.contrib.auth.models import User

            admin = User.objects.get(username="admin")

            log("raw COPY into staging")
            results.append(("raw COPY into staging", "customers", args.customers, raw_copy_path(people, 7)))
            results.append(("raw COPY into staging", "orders", args.orders, raw_copy_path(sales, 6)))

            if args.bulk_create_max is None or max(args.customers, args.orders) <= args.bulk_create_max:
                log("Django bulk_create")
                customers_s, orders_s = bulk_create_path(people, sales)
                results.append(("Django bulk_create", "customers", args.customers, customers_s))
                results.append(("Django bulk_create", "orders", args.orders, orders_s))
                truncate()

            log("our import path")
            seconds, imported, rejected = our_path(people, "customers", admin)
            assert (imported, rejected) == (args.customers, 0), (imported, rejected)
            results.append((f"our import path{_mode('customers')}", "customers", imported, seconds))
            log("our import path: orders")
            seconds, imported, rejected = our_path(sales, "orders", admin)
            assert (imported, rejected) == (args.orders, 0), (imported, rejected)
            results.append((f"our import path{_mode('orders')}", "orders", imported, seconds))
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")

            search = profile = None
            if not args.skip_pages:
                client = Client(HTTP_HOST=brand.primary_host())
                client.force_login(admin, backend="django.contrib.auth.backends.ModelBackend")
                log("search latency")
                search = search_latency(client, args.customers)
                log("profile page with 10,000 timeline items")
                profile = profile_latency(client)
    finally:
        connection.set_schema_to_public()
        if not args.keep:
            tenancy.drop_brand(brand)

    copy_rate = {kind: rows / s for path, kind, rows, s in results if path.startswith("raw")}
    print(f"\n## Imports (issue 3) — {args.customers:,} customers, {args.orders:,} orders, {sys.platform}, {os.cpu_count()} CPUs\n")
    print(f"load average at the end: {' '.join(open('/proc/loadavg').read().split()[:3])}\n")
    print("| path | table | rows | seconds | rows/s | × raw COPY time |")
    print("|---|---|---:|---:|---:|---:|")
    for path, kind, rows, seconds in results:
        print(f"| {path} | {kind} | {rows:,} | {seconds:.2f} | {rows / seconds:,.0f} | {copy_rate[kind] / (rows / seconds):.1f} |")
    if search is None or profile is None:
        return
    print(f"\n| page | p50 ms | p95 ms |\n|---|---:|---:|\n| customer search ({args.customers:,} customers, 200 queries) | {search[0]:.1f} | {search[1]:.1f} |")
    print(f"| profile 360, 10,000 timeline items (30 loads) | {profile[0]:.1f} | {profile[1]:.1f} |")


if __name__ == "__main__":
    main()
