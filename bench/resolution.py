"""Benchmark identity resolution: 100k events with 30% returning people.

    DATABASE_URL=... REDIS_URL=... .venv/bin/python -m bench.resolution [--scale 1.0]

Provisions a throwaway brand, then resolves the same stream of events three ways, each
on an empty brand schema (tables truncated between runs):

1. ours: customers.resolution.resolve() in batches of 10,000 claims;
2. naive: a get_or_create loop per event (Identity lookup, Customer + Identity insert),
   on a subsample, reported as events per second;
3. hardware limit: COPY of the same customer and identity rows the events produce into
   the same tables (no lookup, no dedupe: what the disk and PostgreSQL take at best).

--scale 0.01 (1,000 events) is a quick smoke run. Prints a table; writes nothing else.
"""

from __future__ import annotations

import argparse
import io
import os
import random
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "scrm.settings.base")

EVENTS = 100_000
RETURNING = 0.30
BATCH = 10_000
NAIVE_SAMPLE = 2_000
SLUG = "bench-resolution"


def event_people(count: int, seed: int = 7) -> list[int]:
    """The person behind each event: 30% of events come from someone seen before."""
    rng = random.Random(seed)
    people: list[int] = []
    for n in range(count):
        people.append(rng.choice(people) if people and rng.random() < RETURNING else n)
    return people


def claims_for(people: list[int]):  # noqa: ANN201
    from customers.resolution import Claim, IdentityClaim

    at = datetime(2025, 6, 1, tzinfo=UTC)
    return [
        Claim(
            identities=(
                IdentityClaim("wechat_openid", f"o-{person:08d}", scope="wx-bench"),
                IdentityClaim("phone", f"+86139{person:08d}"),
            ),
            display_name=f"Person {person}",
            seen_at=at,
        )
        for person in people
    ]


@contextmanager
def timed(results: dict[str, float], name: str) -> Iterator[None]:
    start = time.perf_counter()
    yield
    results[name] = time.perf_counter() - start


def truncate() -> None:
    from django.db import connection

    from customers.models import Customer, Identity

    with connection.cursor() as cursor:
        tables = ", ".join(
            connection.ops.quote_name(m._meta.db_table) for m in (Identity, Customer)
        )
        cursor.execute(f"TRUNCATE {tables} CASCADE")


def run_ours(people: list[int]) -> float:
    from customers.resolution import resolve

    claims = claims_for(people)
    start = time.perf_counter()
    for offset in range(0, len(claims), BATCH):
        resolve(claims[offset : offset + BATCH])
    return time.perf_counter() - start


def run_naive(people: list[int]) -> float:
    from django.db import transaction

    from customers.models import Customer, Identity

    start = time.perf_counter()
    for person in people:
        with transaction.atomic():
            identity = Identity.objects.filter(
                kind="wechat_openid", scope="wx-bench", value=f"o-{person:08d}"
            ).first()
            if identity is None:
                customer = Customer.objects.create(display_name=f"Person {person}")
                Identity.objects.create(
                    customer=customer,
                    kind="wechat_openid",
                    scope="wx-bench",
                    value=f"o-{person:08d}",
                )
                Identity.objects.create(
                    customer=customer, kind="phone", value=f"+86139{person:08d}"
                )
    return time.perf_counter() - start


def run_copy(people: list[int]) -> float:
    from django.db import connection

    from customers.models import Customer, Identity

    distinct = sorted(set(people))
    now = datetime.now(UTC).isoformat()
    start = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
            [Customer._meta.db_table, len(distinct)],
        )
        ids = [row[0] for row in cursor.fetchall()]
        customers = io.StringIO()
        identities = io.StringIO()
        for pk, person in zip(ids, distinct, strict=True):
            customers.write(
                f"{pk}\tPerson {person}\t\tunknown\t\t\t\t\t{{}}\t{now}\t{now}\t{{}}\t0\t0\t0\n"
            )
            identities.write(f"{pk}\twechat_openid\twx-bench\to-{person:08d}\tf\t\t{now}\n")
            identities.write(f"{pk}\tphone\t\t+86139{person:08d}\tf\t\t{now}\n")
        columns = (
            "id, display_name, avatar_url, gender, locale, city, province, country, attributes,"
            " created_at, updated_at, interaction_counts, total_interactions_30d, order_count, revenue"
        )
        with cursor.copy(f"COPY {Customer._meta.db_table} ({columns}) FROM STDIN") as copy:
            copy.write(customers.getvalue())
        with cursor.copy(
            f"COPY {Identity._meta.db_table} (customer_id, kind, scope, value, verified, source,"
            " created_at) FROM STDIN"
        ) as copy:
            copy.write(identities.getvalue())
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of 100k events")
    args = parser.parse_args()

    import django

    django.setup()
    from django.db import connection
    from django_tenants.utils import tenant_context

    from customers.models import Customer, Identity
    from scrm import tenancy
    from scrm.models import Brand

    events = max(100, int(EVENTS * args.scale))
    people = event_people(events)
    tenancy.ensure_platform()
    brand = Brand.objects.filter(slug=SLUG).first() or tenancy.provision_brand(
        name="Bench resolution", slug=SLUG, admin_username="bench",
        admin_email="bench@example.com", admin_password="bench-Pass-4821",
    ).brand  # fmt: skip
    try:
        with tenant_context(brand):
            truncate()
            ours = run_ours(people)
            made = (Customer.objects.count(), Identity.objects.count())
            truncate()
            sample = people[: min(NAIVE_SAMPLE, events)]
            naive = run_naive(sample)
            truncate()
            copy = run_copy(people)
            assert (Customer.objects.count(), Identity.objects.count()) == made, (
                "COPY made other rows"
            )
            truncate()
    finally:
        connection.set_schema_to_public()
        tenancy.drop_brand(brand)

    distinct = len(set(people))
    rows = [
        ("resolve(), batches of 10k", events, ours),
        (f"naive get_or_create loop ({len(sample)} events)", len(sample), naive),
        ("raw COPY of the resulting rows", events, copy),
    ]
    print(
        f"Identity resolution: {events:,} events, {distinct:,} people ({RETURNING:.0%} returning)"
    )
    print(f"{'path':<44} {'events':>9} {'seconds':>9} {'events/s':>11} {'vs COPY':>8}")
    for name, count, seconds in rows:
        rate = count / seconds if seconds else float("inf")
        ratio = (seconds / count) / (copy / events) if copy else float("inf")
        print(f"{name:<44} {count:>9,} {seconds:>9.2f} {rate:>11,.0f} {ratio:>7.1f}×")


if __name__ == "__main__":
    main()
