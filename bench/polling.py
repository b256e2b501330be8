"""Benchmark polling connectors (issue 4): fetched items → stored RawEvents.

    DATABASE_URL=... REDIS_URL=... .venv/bin/python -m bench.polling --items 10000

Provisions a throw-away brand, fills the Weibo API sandbox with N comments and the IMAP
sandbox with N/10 messages, then in one run (STYLE.md 13):

1. our path: `polling.poll_connector` until drained (HTTP or IMAP fetch + one INSERT …
   ON CONFLICT per poll), items/s;
2. naive baseline: the same Weibo pages fetched, each item stored with its own
   `store_raw_event` call (one transaction per item, as a webhook does);
3. hardware limit: COPY of the same rows into a scratch table.

Prints a table; does not write bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from email.message import EmailMessage

from bench.ingest import BASE_DIR, log, setup_django


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--items", type=int, default=2000)
    args = parser.parse_args()
    if not (os.environ.get("DATABASE_URL") and os.environ.get("REDIS_URL")):
        sys.exit("set DATABASE_URL and REDIS_URL (a scratch database: a brand is created and dropped)")
    log("migrating")
    subprocess.run([sys.executable, "-m", "scrm", "migrate"], cwd=BASE_DIR, check=True, stdout=subprocess.DEVNULL)
    setup_django()
    from django.db import connection
    from django.utils import timezone
    from django_tenants.utils import tenant_context

    from channels import polling, services
    from channels.adapters import weibo_poll
    from channels.models import Connector, RawEvent
    from channels.sandboxes.imap import ImapSandbox
    from channels.sandboxes.weibo_api import WeiboApiSandbox
    from scrm import tenancy

    weibo_poll.MAX_PAGES_PER_POLL = 1000
    slug = f"bench-poll-{int(time.time()) % 100000}"
    brand = tenancy.provision_brand(name="Bench polling", slug=slug, admin_username="bench",
                                    admin_email="bench@example.com", admin_password="bench-Pass-4821").brand
    weibo = WeiboApiSandbox(access_token="token", uid="1").start()
    imap = ImapSandbox(username="bench", password="bench").start()
    for n in range(args.items):
        weibo.comment(str(10_000 + n % 1000), f"评论 {n}")
    for n in range(max(1, args.items // 10)):
        mail = EmailMessage()
        mail["From"], mail["Subject"], mail["Message-ID"] = f"p{n % 100}@example.com", f"s{n}", f"<m{n}@bench>"
        mail.set_content(f"message {n}")
        imap.deliver(bytes(mail))
    rows: list[tuple[str, int, float]] = []
    try:
        with tenant_context(brand):
            connector = services.create_connector(kind="weibo", name="weibo", actor=None,
                                                  config={"uid": "1", "api_base": weibo.server.url, "page_size": 200},
                                                  secrets={"app_secret": "x", "access_token": "token"})
            started = time.perf_counter()
            polling.poll_connector(connector_id=connector.pk)  # pages until drained (MAX_PAGES raised above)
            rows.append(("weibo poll → RawEvents (ours)", RawEvent.objects.count(), time.perf_counter() - started))

            naive = services.create_connector(kind="weibo", name="naive", actor=None,
                                              config={"uid": "1", "api_base": weibo.server.url, "page_size": 200},
                                              secrets={"app_secret": "x", "access_token": "token"})
            started = time.perf_counter()
            batch = weibo_poll.poll(naive)
            for item in batch.items:
                services.store_raw_event(connector=naive, body=item.body, dedupe_key=item.dedupe_key, headers={}, query=item.query)
            rows.append(("weibo fetch + store_raw_event each (naive)", len(batch.items), time.perf_counter() - started))

            email = services.create_connector(kind="email", name="mail", actor=None,
                                              config={"address": "b@bench", "imap_host": "127.0.0.1", "imap_port": imap.port,
                                                      "imap_tls": "none", "username": "bench"},
                                              secrets={"password": "bench"})
            started = time.perf_counter()
            stored = 0
            while True:
                outcome = polling.poll_connector(connector_id=email.pk)
                stored += outcome.stored
                if not outcome.polled or Connector.objects.get(pk=email.pk).next_poll_at > timezone.now():
                    break
            rows.append(("IMAP poll → RawEvents (ours)", stored, time.perf_counter() - started))

            bodies = [json.dumps(entry, ensure_ascii=False) for entry in weibo.comments]
            with connection.cursor() as cursor:
                cursor.execute("CREATE TEMP TABLE bench_copy (LIKE channels_rawevent INCLUDING DEFAULTS)")
                started = time.perf_counter()
                with cursor.cursor.copy("COPY bench_copy (id, connector_id, received_at, headers, query, body, dedupe_key, status,"
                                        " attempts, error, unhandled_types) FROM STDIN") as copy:
                    now = timezone.now()
                    for n, body in enumerate(bodies):
                        copy.write_row((n, connector.pk, now, "{}", '{"poll": "comments"}', body.encode(), f"c:{n}",
                                        "pending", 0, "", "[]"))
                rows.append(("COPY of the same rows (limit)", len(bodies), time.perf_counter() - started))
                cursor.execute("DROP TABLE bench_copy")
    finally:
        weibo.stop()
        imap.stop()
        connection.set_schema_to_public()
        tenancy.drop_brand(brand)
    print(f"\n{'path':<46} {'items':>8} {'seconds':>9} {'items/s':>10}")
    for name, count, seconds in rows:
        print(f"{name:<46} {count:>8} {seconds:>9.2f} {count / seconds if seconds else 0:>10.0f}")
    log("done")


if __name__ == "__main__":
    main()
