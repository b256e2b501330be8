"""In-process drain benchmark with a phase breakdown (issue 4): where a batch's time goes.

    DATABASE_URL=... REDIS_URL=... .venv/bin/python -m bench.drain --events 6000 --batch 2000

Provisions a throw-away brand with the sandbox connectors, stores --events signed
deliveries through the real webhook view (in process, Django's test client), then drains
them with `pipeline.process_pending_batch(limit=--batch)` in this process, timing each
phase (parsing, identity resolution, interactions, each hook subscriber, aggregates, the
status write-back). No Celery, no HTTP server: the pipeline's own cost, apart from the
broker and the web tier (bench/ingest.py measures those). Drops the brand at the end.
"""

from __future__ import annotations

import argparse
import collections
import os
import sys
import time
from collections.abc import Callable
from typing import Any


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=6000)
    parser.add_argument("--batch", type=int, default=2000)
    args = parser.parse_args()
    if not (os.environ.get("DATABASE_URL") and os.environ.get("REDIS_URL")):
        sys.exit("set DATABASE_URL and REDIS_URL (a scratch database: a brand is created and dropped)")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "scrm.settings.base")
    os.environ.setdefault("SCRM_LOG_LEVEL", "WARNING")
    import django

    django.setup()
    from django.db import connection
    from django.test import Client
    from django_tenants.utils import tenant_context

    import engagement.inbox.services as inbox
    from channels import hooks, pipeline
    from channels.models import RawEvent
    from channels.sandboxes.traffic import ensure_sandbox_connectors, plan_traffic
    from customers.models import Interaction
    from scrm import tenancy

    timings: dict[str, float] = collections.defaultdict(float)

    def timed(label: str, function: Callable[..., Any]) -> Callable[..., Any]:
        def run(*a: Any, **k: Any) -> Any:
            started = time.perf_counter()
            try:
                return function(*a, **k)
            finally:
                timings[label] += time.perf_counter() - started
        return run

    slug = f"bench-drain-{int(time.time()) % 100000}"
    brand = tenancy.provision_brand(name="Bench drain", slug=slug, admin_username="bench", admin_email="bench@example.com",
                                    admin_password="bench-Pass-4821").brand
    try:
        with tenant_context(brand):
            connectors = ensure_sandbox_connectors()
            client = Client(HTTP_HOST=tenancy.host_for(slug))
            started = time.perf_counter()
            for planned in plan_traffic(connectors, events=args.events, customers=max(1, args.events // 10), seed=3):
                delivery = planned.delivery
                query = "&".join(f"{k}={v}" for k, v in delivery.query.items())
                headers = {"HTTP_" + k.upper().replace("-", "_"): v for k, v in delivery.headers.items()}
                answer = client.generic("POST", planned.path + ("?" + query if query else ""), delivery.body,
                                        content_type=delivery.content_type, **headers)
                assert answer.status_code < 300, answer.status_code
            stored = RawEvent.objects.count()
            print(f"stored {stored:,} deliveries in {time.perf_counter() - started:.1f} s (through the webhook view)")

            for name in ("resolve_claims", "_insert_interactions", "_upsert_orders", "_record_consents",
                         "add_interactions_to_aggregates", "refresh_customer_aggregates", "_mark"):
                setattr(pipeline, name, timed(name, getattr(pipeline, name)))
            pipeline.enrichment.enrich = timed("enrich (language)", pipeline.enrichment.enrich)
            hooks._subscribers[:] = [timed(f"hook: {cb.__module__}.{cb.__name__}", cb) for cb in hooks._subscribers]
            for name in ("_lock_conversations", "_route", "update_unnest", "insert_unnest", "drain_queues"):
                setattr(inbox, name, timed(f"  inbox {name}", getattr(inbox, name)))
            adapter_for = pipeline.adapter_for

            class TimedAdapter:
                def __init__(self, adapter: Any) -> None:
                    self.adapter = adapter

                def parse(self, *a: Any, **k: Any) -> Any:
                    return timed("parse", self.adapter.parse)(*a, **k)

            pipeline.adapter_for = lambda kind: TimedAdapter(adapter_for(kind))

            drained, started, cpu = 0, time.perf_counter(), time.process_time()
            while claimed := pipeline.process_pending_batch(limit=args.batch).claimed:
                drained += claimed
            wall, cpu = time.perf_counter() - started, time.process_time() - cpu
            made = Interaction.objects.count()
    finally:
        connection.set_schema_to_public()
        tenancy.drop_brand(brand)
    print(f"\nDrain in process: {drained:,} deliveries, batches of {args.batch:,}: {wall:.2f} s wall = {drained / wall:,.0f} "
          f"events/s; {cpu:.2f} s CPU in this process; {made:,} interactions; load {open('/proc/loadavg').read().split()[0]}")
    print(f"{'phase':<58} | {'ms':>7} | share")
    for label, seconds in sorted(timings.items(), key=lambda item: -item[1]):
        print(f"{label:<58} | {seconds * 1000:7.0f} | {seconds / wall:5.1%}")


if __name__ == "__main__":
    main()
