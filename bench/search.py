"""Benchmark the Customers page at a brand's scale: list, filters, sort and search.

    DATABASE_URL=... REDIS_URL=... .venv/bin/python -m bench.search --brand bench1m [--repeat 20]

Read-only: it runs against an existing brand (generate one with
`manage.py generate_customers --brand demo --customers N`). For every case it times, in
process with Django's test client as a logged-in admin, the whole GET /customers/ request
(our path), and beside it (STYLE.md 13):

- naive: the query shape this page had before — one OR across the name and an EXISTS over
  every identity, an exact COUNT(*) for the paginator — evaluated the same way (count,
  first page, prefetches), without the template;
- limit: the bare index access a perfect plan cannot avoid (EXPLAIN ANALYZE execution time
  of the first page's index scan), the hardware floor for that case.

Prints p50/p95 in milliseconds; the lead records full-scale results in bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "scrm.settings.base")


def _percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return statistics.median(ordered) * 1000, p95 * 1000


def _time(func: Callable[[], object], repeat: int) -> tuple[float, float]:
    func()  # warm the cache: the page is read from memory in normal use
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        func()
        samples.append(time.perf_counter() - started)
    return _percentiles(samples)


def _naive(params: dict[str, str]) -> None:
    """The previous query shape: OR across joins, exact count, first page."""
    from django.core.paginator import Paginator
    from django.db.models import Exists, F, OuterRef, Prefetch, Q

    from customers.models import Customer, CustomerTag, Identity
    from customers.normalize import normalize_phone
    from customers.selectors import SORTS, ILikeContains

    customers = Customer.objects.filter(merged_into__isnull=True, erased_at__isnull=True)
    query = params.get("q", "").strip()
    if query:
        identity_matches = Q(ILikeContains(F("value"), query))
        phone = normalize_phone(query) if any(c.isdigit() for c in query) else None
        if phone:
            identity_matches |= Q(value=phone)
        matches = Q(ILikeContains(F("display_name"), query)) | Q(
            Exists(Identity.objects.filter(identity_matches, customer=OuterRef("pk")))
        )
        if query.isdigit():
            matches |= Q(pk=int(query))
        customers = customers.filter(matches)
    if params.get("tag"):
        customers = customers.filter(
            Exists(CustomerTag.objects.filter(customer=OuterRef("pk"), tag__name=params["tag"]))
        )
    if params.get("city"):
        customers = customers.filter(city=params["city"])
    customers = customers.prefetch_related(
        Prefetch("identities", queryset=Identity.objects.only("id", "customer_id", "kind")), "tags"
    ).order_by(*SORTS[params.get("sort", "-last_seen_at")])
    list(Customer.objects.filter(merged_into__isnull=True, erased_at__isnull=True)
         .exclude(city="").order_by("city").values_list("city", flat=True).distinct()[:200])
    page = Paginator(customers, 25).get_page(1)
    list(page.object_list)
    page.paginator.num_pages  # noqa: B018  (the exact count)


def _limit(sql: str, params: list) -> tuple[float, float]:
    """EXPLAIN ANALYZE execution time of the bare index access, p50 and p95 of 5 runs."""
    from django.db import connection

    samples = []
    with connection.cursor() as cursor:
        for _ in range(6):
            cursor.execute(f"EXPLAIN (ANALYZE, FORMAT JSON) {sql}", params)
            samples.append(cursor.fetchone()[0][0]["Execution Time"] / 1000)
    return _percentiles(samples[1:])


def _cases() -> list[tuple[str, dict[str, str], str, list]]:
    """(label, GET parameters, bare index access SQL, its parameters)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT value FROM customers_identity WHERE kind = 'email' ORDER BY id LIMIT 1 OFFSET 4242")
        email = cursor.fetchone()[0]
        cursor.execute("SELECT value FROM customers_identity WHERE kind = 'phone' AND value LIKE '+86%%'"
                       " ORDER BY id LIMIT 1 OFFSET 4242")
        phone = cursor.fetchone()[0]
        cursor.execute("SELECT display_name FROM customers_customer WHERE display_name ~ '^[^ -~]{3}$'"
                       " ORDER BY id LIMIT 1 OFFSET 4242")
        zh_name = cursor.fetchone()[0]
        cursor.execute("SELECT max(id) / 2 FROM customers_customer")
        some_id = str(cursor.fetchone()[0])
    live = "merged_into_id IS NULL AND erased_at IS NULL"
    first_page = f"SELECT id FROM customers_customer WHERE {live} ORDER BY last_seen_at DESC NULLS LAST, id DESC LIMIT 25"
    name_scan = "SELECT id FROM customers_customer WHERE display_name ILIKE %s"
    exact = "SELECT customer_id FROM customers_identity WHERE kind = %s AND scope = '' AND value = %s"
    return [
        ("list, no filter", {}, first_page, []),
        ("list, sort by name", {"sort": "name"},
         f"SELECT id FROM customers_customer WHERE {live} ORDER BY display_name, id LIMIT 25", []),
        ("list, tag", {"tag": "VIP"}, first_page, []),
        ("list, city", {"city": "上海"},
         f"SELECT id FROM customers_customer WHERE city = %s AND {live} LIMIT 25", ["上海"]),
        ("search, zh 1 char", {"q": "王"}, first_page, []),
        ("search, zh full name", {"q": zh_name}, name_scan, [f"%{zh_name}%"]),
        ("search, latin fragment", {"q": "peters"}, name_scan, ["%peters%"]),
        ("search, email", {"q": email.upper()}, exact, ["email", email]),
        ("search, phone", {"q": phone[3:]}, exact, ["phone", phone]),
        ("search, id", {"q": some_id}, "SELECT id FROM customers_customer WHERE id = %s", [int(some_id)]),
        ("search, no match", {"q": "zzqxjvw"}, name_scan, ["%zzqxjvw%"]),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.search", description=__doc__)
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("--brand", default="bench1m", help="slug of an existing brand")
    parser.add_argument("--repeat", type=int, default=20, help="timed requests per case")
    parser.add_argument("--naive-repeat", type=int, default=3,
                        help="timed naive runs per case (0: skip the naive path)")
    args = parser.parse_args(argv)

    import django

    django.setup()
    import logging

    logging.getLogger("scrm.request").setLevel(logging.WARNING)  # one line per page load otherwise
    from django.contrib.auth import get_user_model
    from django.test import Client
    from django_tenants.utils import schema_context

    from scrm.models import Brand

    brand = Brand.objects.get(slug=args.brand)
    client = Client(HTTP_HOST=brand.primary_host())
    with schema_context(brand.schema_name):
        from customers.models import Customer

        admin = get_user_model().objects.filter(is_active=True, groups__name="Admin").first()
        client.force_login(admin, backend="django.contrib.auth.backends.ModelBackend")
        total = Customer.objects.count()
        cases = _cases()
    print(f"brand {args.brand}: {total:,} customers; ms, p50 / p95 "
          f"(ours x{args.repeat}, naive x{args.naive_repeat}, limit x5)")
    print(f"{'case':<24} {'ours p50':>9} {'ours p95':>9} {'naive p50':>10} {'naive p95':>10}"
          f" {'limit p50':>10} {'limit p95':>10}")
    for label, params, limit_sql, limit_params in cases:
        def ours(params: dict[str, str] = params) -> None:
            response = client.get("/customers/", params)
            assert response.status_code == 200, response.status_code

        ours_p = _time(ours, args.repeat)
        with schema_context(brand.schema_name):
            naive_p = (_time(lambda params=params: _naive(params), args.naive_repeat)
                       if args.naive_repeat else (float("nan"), float("nan")))
            limit_p = _limit(limit_sql, limit_params)
        print(f"{label:<24} {ours_p[0]:9.1f} {ours_p[1]:9.1f} {naive_p[0]:10.1f} {naive_p[1]:10.1f}"
              f" {limit_p[0]:10.1f} {limit_p[1]:10.1f}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
