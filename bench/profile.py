"""Benchmark the Profile 360 page of a customer with a long history.

    DATABASE_URL=... REDIS_URL=... .venv/bin/python -m bench.profile --brand bench1m [--items 10000]

Inside one transaction that is rolled back at the end (the brand's data is left as it
was), it gives one new customer `--items` timeline items (interactions and 1 in 10 orders,
written set-wise with INSERT … SELECT generate_series), identities, consents and notes, then
times in process with Django's test client as a logged-in admin (STYLE.md 13):

- ours: GET /customers/<id>/ (the whole page), the timeline's next pages as infinite scroll
  asks for them (GET …/timeline/?before=<cursor>, the 2nd and the 20th page), and a
  filtered timeline (kind=order);
- naive: the history read the obvious way — every interaction and order of the customer,
  merged and sorted in Python, the first 50 kept;
- limit: EXPLAIN ANALYZE execution time of the one index read a perfect plan needs (the
  newest 51 interactions by interaction_customer_time).

Prints p50/p95 in milliseconds.
"""

from __future__ import annotations

import argparse
import os
import re

from bench.search import _percentiles, _time

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "scrm.settings.base")


class Rollback(Exception):
    """Raised to undo the scratch customer."""


def _scratch_customer(items: int) -> int:
    """A customer with `items` timeline items, written set-wise; returns its id."""
    from django.db import connection

    from customers.models import Customer, Identity, Note

    person = Customer.objects.create(display_name="Bench Timeline Person", city="上海")
    Identity.objects.bulk_create([
        Identity(customer=person, kind="email", value=f"bench.timeline.{person.pk}@example.com"),
        Identity(customer=person, kind="phone", value=f"+86139{person.pk % 10**8:08d}"),
        Identity(customer=person, kind="wechat_openid", scope="bench", value=f"o-bench-{person.pk}"),
    ])
    orders = items // 10
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO customers_interaction
                (customer_id, channel, kind, occurred_at, text, metadata, language, external_id)
            SELECT %s, (ARRAY['wechat','weibo','email','web'])[1 + n %% 4],
                   (ARRAY['message_in','message_out','page_view','click'])[1 + n %% 4],
                   now() - n * interval '7 minutes', 'bench message ' || n, '{}', '', ''
            FROM generate_series(1, %s) n
            """,
            [person.pk, items - orders],
        )
        cursor.execute(
            """
            INSERT INTO customers_order
                (external_id, customer_id, ordered_at, amount, currency, items, store, channel, status)
            SELECT 'bench-' || %s || '-' || n, %s, now() - n * interval '70 minutes', 99.50,
                   'CNY', '[]', '', 'web', 'paid'
            FROM generate_series(1, %s) n
            """,
            [person.pk, person.pk, orders],
        )
    Note.objects.bulk_create([Note(customer=person, body=f"note {n}") for n in range(20)])
    return person.pk


def _naive(customer_id: int) -> None:
    from customers.models import Interaction, Order

    entries = [(i.occurred_at, i) for i in Interaction.objects.filter(customer_id=customer_id)]
    entries += [(o.ordered_at, o) for o in Order.objects.filter(customer_id=customer_id)]
    entries.sort(key=lambda entry: entry[0], reverse=True)
    entries[:50]  # noqa: B018


def _limit(customer_id: int) -> tuple[float, float]:
    from django.db import connection

    samples = []
    with connection.cursor() as cursor:
        for _ in range(6):
            cursor.execute(
                "EXPLAIN (ANALYZE, FORMAT JSON) SELECT * FROM customers_interaction"
                " WHERE customer_id = %s ORDER BY occurred_at DESC, id DESC LIMIT 51",
                [customer_id],
            )
            samples.append(cursor.fetchone()[0][0]["Execution Time"] / 1000)
    return _percentiles(samples[1:])


def _cursor_after(client, url: str, pages: int) -> str:  # noqa: ANN001
    """The `before` cursor infinite scroll sends for page `pages` + 1."""
    cursor = ""
    for _ in range(pages):
        body = client.get(url, {"before": cursor} if cursor else {}).content.decode()
        found = re.search(r"before=([^\"&]+)", body)
        assert found, "no next-page cursor in the timeline"
        from urllib.parse import unquote

        cursor = unquote(found.group(1).replace("&amp;", "&"))
    return cursor


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.profile", description=__doc__)
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("--brand", default="bench1m", help="slug of an existing brand")
    parser.add_argument("--items", type=int, default=10_000, help="timeline items of the customer")
    parser.add_argument("--repeat", type=int, default=20, help="timed requests per case")
    parser.add_argument("--naive-repeat", type=int, default=3, help="timed naive runs")
    args = parser.parse_args(argv)

    import logging

    import django

    django.setup()
    logging.getLogger("scrm.request").setLevel(logging.WARNING)
    from django.contrib.auth import get_user_model
    from django.db import transaction
    from django.test import Client
    from django_tenants.utils import schema_context

    from scrm.models import Brand

    brand = Brand.objects.get(slug=args.brand)
    client = Client(HTTP_HOST=brand.primary_host())
    with schema_context(brand.schema_name):
        admin = get_user_model().objects.filter(is_active=True, groups__name="Admin").first()
        client.force_login(admin, backend="django.contrib.auth.backends.ModelBackend")
        try:
            with transaction.atomic():
                customer_id = _scratch_customer(args.items)
                page = f"/customers/{customer_id}/"
                timeline = f"/customers/{customer_id}/timeline/"
                second = _cursor_after(client, timeline, 1)
                twentieth = _cursor_after(client, timeline, 19)
                cases = [
                    ("profile page", page, {}),
                    ("timeline, page 2", timeline, {"before": second}),
                    ("timeline, page 20", timeline, {"before": twentieth}),
                    ("timeline, orders only", timeline, {"kind": "order"}),
                ]
                print(f"brand {args.brand}: one customer with {args.items:,} timeline items; ms, p50 / p95"
                      f" (ours x{args.repeat}, naive x{args.naive_repeat}, limit x5)")
                print(f"{'case':<24} {'ours p50':>9} {'ours p95':>9}")
                for label, url, params in cases:
                    def ours(url: str = url, params: dict = params) -> None:
                        response = client.get(url, params)
                        assert response.status_code == 200, response.status_code

                    p50, p95 = _time(ours, args.repeat)
                    print(f"{label:<24} {p50:9.1f} {p95:9.1f}", flush=True)
                naive = _time(lambda: _naive(customer_id), args.naive_repeat)
                print(f"{'naive (read all, sort)':<24} {naive[0]:9.1f} {naive[1]:9.1f}")
                limit = _limit(customer_id)
                print(f"{'limit (51 by index)':<24} {limit[0]:9.1f} {limit[1]:9.1f}")
                raise Rollback
        except Rollback:
            pass
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
