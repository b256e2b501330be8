"""Benchmark data-subject requests: export and erase one person with a long history.

    DATABASE_URL=... REDIS_URL=... .venv/bin/python -m bench.privacy [--interactions 100000]

Provisions a throw-away brand, gives one person N interactions, N/10 orders, consents,
notes and identities, then times, each in a rolled-back transaction so every run starts
from the same rows (STYLE.md 13: our path beside a naive path and the hardware limit):

- export: `privacy.write_export` (streamed zip of JSON + CSV for every registered table)
  vs Django's serializer over model instances (naive) vs `COPY ... TO STDOUT` of the same
  tables (the database's own limit, no formatting);
- erase: `privacy.erase_customer` (one statement per table) vs an ORM loop saving each row
  (naive) vs the bare UPDATE/DELETE statements alone (limit).

Prints a table; the lead records full-scale results in bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import io
import os
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal


def _timed(func: Callable[[], object]) -> float:
    from django.db import transaction

    with transaction.atomic():
        started = time.perf_counter()
        func()
        elapsed = time.perf_counter() - started
        transaction.set_rollback(True)
    return elapsed


def _seed(interactions: int) -> int:
    from customers.models import Consent, Customer, Identity, Interaction, Note, Order

    now = datetime(2025, 6, 1, tzinfo=UTC)
    person = Customer.objects.create(display_name="Bench Person", city="Shanghai")
    Identity.objects.bulk_create([
        Identity(customer=person, kind="email", value="bench.person@example.com"),
        Identity(customer=person, kind="phone", value="+8613800000000"),
    ])
    Interaction.objects.bulk_create(
        (Interaction(customer=person, channel="wechat", kind="message_in", occurred_at=now - timedelta(minutes=i),
                     text=f"message {i} from Bench Person", metadata={"nick": "Bench Person"}, external_id=f"b-{i}")
         for i in range(interactions)), batch_size=5000)
    Order.objects.bulk_create(
        (Order(customer=person, external_id=f"BENCH-{i}", ordered_at=now - timedelta(hours=i), amount=Decimal("10.00"),
               channel="web", items=[{"sku": "S", "qty": 1, "note": "Bench Person"}])
         for i in range(max(1, interactions // 10))), batch_size=5000)
    Consent.objects.bulk_create(
        Consent(customer=person, channel="email", purpose="marketing", status=("granted", "withdrawn")[i % 2],
                recorded_at=now - timedelta(days=i), evidence={"ip": "198.51.100.1"}) for i in range(20))
    Note.objects.bulk_create(Note(customer=person, body=f"note {i} about Bench Person") for i in range(20))
    return person.pk


def _naive_export(customer_id: int) -> None:
    from django.core import serializers

    from customers import privacy
    from customers.models import Customer

    customer = Customer.objects.get(pk=customer_id)
    ids = privacy.subject_ids(customer)
    out = io.StringIO()
    for table in privacy.customer_tables():
        out.write(serializers.serialize("json", list(table.queryset(ids))))


def _copy_export(customer_id: int) -> None:
    from django.db import connection

    from customers import privacy
    from customers.models import Customer

    ids = privacy.subject_ids(Customer.objects.get(pk=customer_id))
    with connection.cursor() as cursor:
        for table in privacy.customer_tables():
            sql, params = table.queryset(ids).values(*[f.attname for f in table.model._meta.concrete_fields]).query.sql_with_params()
            query = cursor.mogrify(sql, params)
            with cursor.copy(f"COPY ({query}) TO STDOUT") as copy:
                for _block in copy:
                    pass


def _naive_erase(customer_id: int) -> None:
    from customers.models import Customer, Identity, Interaction, Note, Order

    customer = Customer.objects.get(pk=customer_id)
    for interaction in Interaction.objects.filter(customer=customer):
        interaction.text, interaction.metadata = "", {}
        interaction.save(update_fields=["text", "metadata"])
    for order in Order.objects.filter(customer=customer):
        order.external_id = f"erased-{order.pk}"
        order.save(update_fields=["external_id"])
    for model in (Identity, Note):
        for row in model.objects.filter(customer=customer):
            row.delete()
    customer.display_name, customer.erased_at = "", datetime.now(UTC)
    customer.save()


def _bare_erase(customer_id: int) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("UPDATE customers_interaction SET text = '', metadata = '{}' WHERE customer_id = %s", [customer_id])
        cursor.execute("UPDATE customers_order SET external_id = 'erased-' || id WHERE customer_id = %s", [customer_id])
        cursor.execute("DELETE FROM customers_identity WHERE customer_id = %s", [customer_id])
        cursor.execute("DELETE FROM customers_note WHERE customer_id = %s", [customer_id])
        cursor.execute("UPDATE customers_customer SET display_name = '', erased_at = now() WHERE id = %s", [customer_id])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--interactions", type=int, default=100_000)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "scrm.settings.base")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from customers import privacy
    from customers.models import Customer
    from scrm import tenancy

    call_command("migrate_schemas", "--shared", verbosity=0)
    tenancy.ensure_platform()
    slug = f"bench-privacy-{os.getpid()}"
    brand = tenancy.provision_brand(name="Bench privacy", slug=slug, admin_username="bench",
                                    admin_email="bench@example.com", admin_password="bench-pass-123").brand
    try:
        connection.set_tenant(brand)
        customer_id = _seed(args.interactions)
        rows = sum(t.queryset([customer_id]).count() for t in privacy.customer_tables())
        customer = Customer.objects.get(pk=customer_id)
        results = [
            ("export", "ours: write_export (zip, JSON + CSV)", _timed(lambda: privacy.write_export(customer, io.BytesIO()))),
            ("export", "naive: Django serializer", _timed(lambda: _naive_export(customer_id))),
            ("export", "limit: COPY TO STDOUT", _timed(lambda: _copy_export(customer_id))),
            ("erase", "ours: erase_customer (set-wise)", _timed(lambda: privacy.erase_customer(customer=customer))),
            ("erase", "naive: ORM save per row", _timed(lambda: _naive_erase(customer_id))),
            ("erase", "limit: bare UPDATE/DELETE", _timed(lambda: _bare_erase(customer_id))),
        ]
        print(f"\nOne person, {args.interactions:,} interactions, {rows:,} rows in all registered tables\n")
        print(f"{'request':<8} {'path':<40} {'seconds':>9} {'rows/s':>12}")
        for kind, path, seconds in results:
            print(f"{kind:<8} {path:<40} {seconds:>9.3f} {rows / seconds:>12,.0f}")
    finally:
        connection.set_schema_to_public()
        tenancy.drop_brand(brand)


if __name__ == "__main__":
    main()
