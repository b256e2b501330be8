"""Benchmark the synthetic-data generator (foundation issue: "generator rate").

    .venv/bin/python -m bench.generator [--customers 1000000] [--naive 2000]

Uses DATABASE_URL / REDIS_URL when set, else the embedded servers (SCRM_VAR_DIR). Creates
(or empties) the brand ``bench-gen`` and measures, in the same run:

- ours: ``customers.generator.generate`` (numpy-built COPY text, producer thread, bulk
  mode dropping and rebuilding constraints and indexes, set-wise aggregates);
- naive: the same shape of data written with the ORM one object at a time, on a
  subsample (``--naive`` customers), rate extrapolated and labelled so;
- limit: raw COPY of the very same rows (pre-built in memory) into constraint-free,
  index-free copies of the tables: what PostgreSQL alone can take.

Prints a Markdown table; paste it into bench/RESULTS.md with the machine and date printed.
"""

from __future__ import annotations

import argparse
import os
import random
import time
from datetime import timedelta

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "scrm.settings.base")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.generator")
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--naive", type=int, default=2_000)
    args = parser.parse_args()

    import django

    django.setup()
    from django.db import connection
    from django_tenants.utils import schema_context

    from bench.foundation import describe_machine
    from customers.generator import generate
    from scrm import tenancy
    from scrm.models import Brand

    brand = Brand.objects.filter(slug="bench-gen").first()
    if brand is not None:
        tenancy.drop_brand(brand)
    brand = tenancy.provision_brand(
        name="Generator bench", slug="bench-gen", admin_username="admin",
        admin_email="bench@example.com", admin_password="bench-Pass-4821",
    ).brand
    machine = describe_machine()

    with schema_context(brand.schema_name):
        limit_rows, limit_s = copy_limit(args.customers)
        stats = generate(customers=args.customers, seed=1)
        naive_rows, naive_s = naive_orm(args.naive, stats)
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_size_pretty(pg_database_size(current_database()))")
            size = cursor.fetchone()[0]

    per_customer = stats.rows / stats.customers
    print(f"\nMachine: {machine.cpus} CPUs ({machine.cpu_model}), {machine.ram_gib:.1f} GiB; "
          f"{machine.postgres.split(',')[0]}; {machine.date}")
    print(f"Dataset: {stats.customers:,} customers, {stats.identities:,} identities, "
          f"{stats.interactions:,} interactions, {stats.orders:,} orders, {stats.consents:,} consents, "
          f"{stats.customer_tags:,} customer tags ({stats.rows:,} rows, {per_customer:.1f} per customer); "
          f"database now {size}\n")
    print("| Path | Customers/s | Rows/s | Time | Note |")
    print("|---|---|---|---|---|")
    phases = ", ".join(f"{name} {secs:.1f} s" for name, secs in stats.phases.items())
    print(f"| ours: generate() (bulk={stats.bulk}) | {stats.customers_per_second:,.0f} | "
          f"{stats.rows_per_second:,.0f} | {stats.seconds:.1f} s | {phases} |")
    print(f"| naive: ORM, one object at a time ({args.naive:,} customers) | "
          f"{naive_rows / per_customer / naive_s:,.0f} | {naive_rows / naive_s:,.0f} | "
          f"{naive_s:.1f} s | {args.customers:,} customers would take "
          f"{stats.rows / (naive_rows / naive_s) / 3600:.1f} h |")
    print(f"| limit: raw COPY of the same rows, no constraints or indexes | "
          f"{limit_rows / per_customer / limit_s:,.0f} | {limit_rows / limit_s:,.0f} | {limit_s:.1f} s | "
          "rows pre-built in memory |")


def copy_limit(customers: int) -> tuple[int, float]:
    """COPY the generator's own rows into bare copies of the tables (LIKE, no indexes)."""
    from django.db import connection, transaction
    from django.utils import timezone

    from customers import generator as g

    with transaction.atomic():
        tag_ids = g._ensure_tags()
        vocab = g._Vocabulary(seed=1, now=timezone.now(), tag_ids=tag_ids)
        ids = g._reserve_customer_ids(customers)
        chunks = list(g._produce_in_background(vocab, ids, seed=1, chunk_size=g.DEFAULT_CHUNK))
        qn = connection.ops.quote_name
        with connection.cursor() as cursor:
            for model in g._COLUMNS:
                table = model._meta.db_table
                cursor.execute(f"CREATE TEMP TABLE {qn('bare_' + table)} (LIKE {qn(table)} INCLUDING DEFAULTS INCLUDING IDENTITY)")
        rows = 0
        started = time.perf_counter()
        for chunk in chunks:
            for model, (payload, count) in chunk.items():
                columns = ", ".join(qn(c) for c in g._COLUMNS[model])
                with connection.cursor() as cursor, cursor.copy(
                    f"COPY {qn('bare_' + model._meta.db_table)} ({columns}) FROM STDIN"
                ) as copy:
                    copy.write(payload)
                rows += count
        elapsed = time.perf_counter() - started
        transaction.set_rollback(True)
    return rows, elapsed


def naive_orm(customers: int, stats) -> tuple[int, float]:  # noqa: ANN001
    """One INSERT per object, the shape of the generated data (per-customer averages)."""
    from django.db import transaction
    from django.utils import timezone

    from customers.models import Consent, Customer, Identity, Interaction, Order

    rng = random.Random(1)
    now = timezone.now()
    per = {
        "identities": stats.identities / stats.customers,
        "interactions": stats.interactions / stats.customers,
        "orders": stats.orders / stats.customers,
        "consents": stats.consents / stats.customers,
    }

    def count(mean: float) -> int:
        whole = int(mean)
        return whole + (rng.random() < mean - whole)

    rows = 0
    started = time.perf_counter()
    with transaction.atomic():
        for n in range(customers):
            customer = Customer.objects.create(display_name=f"Naive {n}", city="Shanghai", last_seen_at=now)
            rows += 1
            for k in range(count(per["identities"])):
                Identity.objects.create(customer=customer, kind="email", value=f"naive{n}.{k}@example.com")
                rows += 1
            for k in range(count(per["interactions"])):
                Interaction.objects.create(
                    customer=customer, channel="wechat", kind="message_in", text="你好",
                    occurred_at=now - timedelta(days=rng.randint(0, 900)), external_id=f"naive-{n}-{k}",
                )
                rows += 1
            for k in range(count(per["orders"])):
                Order.objects.create(
                    external_id=f"NAIVE-{n}-{k}", customer=customer, ordered_at=now, amount=99,
                    channel="wechat", status="paid",
                )
                rows += 1
            for _k in range(count(per["consents"])):
                Consent.objects.create(
                    customer=customer, channel="wechat", purpose="marketing", status="granted", recorded_at=now,
                )
                rows += 1
        elapsed = time.perf_counter() - started
        transaction.set_rollback(True)
    return rows, elapsed


if __name__ == "__main__":
    main()
