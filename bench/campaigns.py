"""Benchmark campaign planning: every guard for N recipients in one statement.

    DATABASE_URL=... REDIS_URL=... .venv/bin/python -m bench.campaigns [--recipients 1000000]

Provisions a throw-away brand, generates N customers (customers.generator: identities,
consents with history, interactions, orders), puts them all in one segment, then times,
each in a rolled-back transaction so every run starts from the same rows (the foreign
keys' checks, deferred to a commit, are timed apart with SET CONSTRAINTS ALL IMMEDIATE):

- plan: `planning.plan_recipients` (consent latest-wins incl. "all", address, duplicates,
  reply window, platform cap, frequency cap across channels, quiet hours, A/B split, best
  send hour) vs a naive per-customer Python loop (a few queries per customer) over a
  subsample, extrapolated and labelled so, vs the hardware limit: one bare
  INSERT … SELECT of N rows into the same table with no guard at all;
- best send hour for every customer: `planning.compute_best_send_hours` (one statement);
- queueing: `services.send_batch` (claim, render, mark queued, write the outbox rows) over a
  sample, in messages/s;
- delivery into the WeChat sandbox (its HTTP server, its rate limit, answering 45009 over
  it): `send_batch` queues N text messages into the channels outbox, real Celery workers
  (queue `outbound`) run `deliver_outbound_task` through the WeChat adapter, and the bench
  stands in for beat by enqueueing `sweep_outbound_task` every --sweep-interval seconds
  (beat's own schedule is 5 s); timed from the commit of that batch until every outbox row
  is finished (the send_batch itself is shown apart),
  vs the limit: the adapter's send in a loop against an unthrottled sandbox (no database,
  no queue, on as many threads as the outbox gives the connector), and vs the sandbox's own
  limit: bare keep-alive POSTs of a prepared message on as many connections. Both limits
  run in a forked child, as the worker is a process apart from the sandboxes. Reports the
  platform's rate-limit refusals (45009), which should be none.

Peak memory: the Python process (ru_maxrss) and the database backend serving us (VmHWM of
pg_backend_pid(), which counts shared buffers it touched, so it is an upper bound), plus
temporary-file bytes PostgreSQL spilled. Prints a table; the lead records full-scale
results in bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
import resource
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any


def _backend_peak_mb() -> float | None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:  # the database runs elsewhere (or another user's /proc is hidden)
        return None
    return None


def _temp_bytes() -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT temp_bytes FROM pg_stat_database WHERE datname = current_database()")
        return cursor.fetchone()[0]


def _timed(func: Callable[[], Any]) -> tuple[float, Any]:
    from django.db import transaction

    with transaction.atomic():
        started = time.perf_counter()
        result = func()
        elapsed = time.perf_counter() - started
        transaction.set_rollback(True)
    return elapsed, result


def _naive_plan(campaign: Any, customer_ids: list[int], start: Any) -> int:
    """What a per-customer loop does: a query per guard per customer, one INSERT each."""
    from customers.models import Consent, Identity, Interaction
    from engagement.campaigns.models import CampaignRecipient
    from engagement.campaigns.planning import sendable_kinds

    kinds = sendable_kinds(campaign.channel)
    planned = 0
    for customer_id in customer_ids:
        consent = (Consent.objects.filter(customer_id=customer_id, channel__in=[campaign.channel, "all"], purpose="marketing")
                   .order_by("-recorded_at", "-id").values_list("status", flat=True).first())
        address = Identity.objects.filter(customer_id=customer_id, kind__in=kinds).values_list("value", flat=True).first()
        recent = CampaignRecipient.objects.filter(customer_id=customer_id, send_at__gte=start - timedelta(days=7)).exclude(status="skipped").count()
        recent += Interaction.objects.filter(customer_id=customer_id, kind="message_out", occurred_at__gte=start - timedelta(days=7)).count()
        duplicate = bool(address) and CampaignRecipient.objects.filter(campaign=campaign, address=address).exists()
        reason = ("no_consent" if consent != "granted" else "no_identity" if not address else "duplicate" if duplicate
                  else "frequency_cap" if recent >= campaign.frequency_cap else "")
        CampaignRecipient.objects.create(
            campaign=campaign, customer_id=customer_id, step=0, channel=campaign.channel, address=address or "",
            status="skipped" if reason else "planned", skip_reason=reason, send_at=start,
        )
        planned += not reason
    return planned


def _bare_insert(campaign: Any, start: Any) -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            """INSERT INTO engagement_campaignrecipient (campaign_id, customer_id, step, channel, address, status,
                   skip_reason, send_at, revenue, message, error)
               SELECT %s, customer_id, 0, 'wechat', '', 'planned', '', %s, 0, '{}'::jsonb, ''
                 FROM segments_segmentmembership WHERE segment_id IN (SELECT segment_id FROM engagement_campaign_segments WHERE campaign_id = %s)""",
            [campaign.pk, start, campaign.pk],
        )
        return cursor.rowcount


def _outbound_worker(concurrency: int, log_path: Any) -> Any:
    import subprocess
    import sys
    from pathlib import Path

    out = open(log_path, "ab")  # noqa: SIM115 - closed by the caller through the process
    proc = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "scrm", "worker", "--loglevel", "INFO", "-Q", "outbound",
         "--concurrency", str(concurrency), "--without-gossip", "--without-mingle", "--without-heartbeat",
         "-n", f"bench-outbound-{os.getpid()}@%h"],
        cwd=Path(__file__).resolve().parent.parent, env=dict(os.environ), stdout=out, stderr=subprocess.STDOUT,
    )
    return proc


def _rate_in_child(send: Callable[[int], None], count: int, *, threads: int) -> float:
    """Seconds a forked child takes to call `send(i)` for i < count on `threads` threads."""
    import multiprocessing
    import threading

    def run(out: Any) -> None:
        indexes = iter(range(count))
        lock = threading.Lock()

        def lane() -> None:
            while True:
                with lock:
                    index = next(indexes, None)
                if index is None:
                    return
                send(index)

        started = time.perf_counter()
        workers = [threading.Thread(target=lane) for _ in range(threads)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        out.send(time.perf_counter() - started)

    context = multiprocessing.get_context("fork")
    receiver, sender = context.Pipe(duplex=False)
    child = context.Process(target=run, args=(sender,))
    child.start()
    seconds = receiver.recv()
    child.join()
    return seconds


def _raw_poster(base_url: str, token: str) -> Callable[[int], None]:
    """A bare keep-alive POST of a prepared customer-service message (one connection per thread)."""
    import http.client
    import json
    import socket
    import threading
    from urllib.parse import urlsplit

    local = threading.local()
    netloc = urlsplit(base_url).netloc
    path = f"/cgi-bin/message/custom/send?access_token={token}"

    def post(index: int) -> None:
        if not hasattr(local, "connection"):
            local.connection = http.client.HTTPConnection(netloc, timeout=10)
            local.connection.connect()
            local.connection.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # see channels.adapters.http
        body = json.dumps({"touser": f"o{index}", "msgtype": "text", "text": {"content": "hi"}}).encode()
        local.connection.request("POST", path, body=body, headers={"Content-Type": "application/json"})
        answer = local.connection.getresponse()
        answer.read()

    return post


def _delivery(*, campaign_fields: dict[str, Any], messages: int, workers: int, sweep_interval: float,
              platform_rate: int, connector_rate: int) -> list[tuple[str, str, float, str]]:
    """Queue `messages` text sends through the outbox into a WeChat sandbox and time the
    real workers delivering them."""
    import tempfile
    from types import SimpleNamespace

    from django.db import connection
    from django.db.models import Count
    from django.utils import timezone

    from channels import services as channel_services
    from channels.adapters.wechat import _access_token as wechat_access_token
    from channels.adapters.wechat import send_custom_message
    from channels.models import OutboundMessage
    from channels.sandboxes.wechat import WeChatSandbox
    from channels.tasks import sweep_outbound_task
    from engagement.campaigns import planning, services
    from engagement.campaigns.models import Campaign, Variant
    from segments.models import Segment

    rows: list[tuple[str, str, float, str]] = []
    secrets_ = {"token": "bench-token", "app_secret": "bench-secret"}
    sandbox = WeChatSandbox(token="bench-token", appid="wxbench", app_secret="bench-secret", sends_per_second=platform_rate).start()
    open_sandbox = WeChatSandbox(token="bench-token", appid="wxbench", app_secret="bench-secret", sends_per_second=10**9).start()
    log = tempfile.NamedTemporaryFile(prefix="bench-outbound-", suffix=".log", delete=False).name
    worker = _outbound_worker(workers, log)
    try:
        connector = channel_services.create_connector(
            kind="wechat_oa", name="Bench WeChat", actor=None, secrets=secrets_,
            config={"appid": "wxbench", "api_base": sandbox.server.url, "sends_per_second": connector_rate},
        )
        # Customers reachable on WeChat who wrote an hour ago (inside the 48 h window).
        segment = Segment.objects.create(name="Wrote recently", kind=Segment.Kind.STATIC)
        with connection.cursor() as cursor:
            cursor.execute(
                """WITH reachable AS (
                       SELECT DISTINCT ON (customer_id) customer_id, value FROM customers_identity
                        WHERE kind = 'wechat_openid' ORDER BY customer_id LIMIT %(n)s)
                   , seg AS (INSERT INTO segments_segmentmembership (segment_id, customer_id, entered_at)
                             SELECT %(segment)s, customer_id, now() FROM reachable)
                   , wrote AS (INSERT INTO customers_interaction (customer_id, channel, kind, occurred_at, text, metadata,
                                                                 language, external_id)
                               SELECT customer_id, 'wechat', 'message_in', now() - interval '1 hour', '', '{}', '',
                                      'bench-in-' || customer_id FROM reachable
                               ON CONFLICT DO NOTHING)
                   -- every openid they have: planning may address any of them
                   SELECT i.value FROM customers_identity i JOIN reachable r USING (customer_id)
                    WHERE i.kind = 'wechat_openid'""",
                {"n": messages * 3, "segment": segment.pk},
            )
            now = time.time()
            for (openid,) in cursor.fetchall():
                sandbox.last_inbound[openid] = now
        campaign = Campaign.objects.create(**{**campaign_fields, "name": "Bench delivery", "message_type": "text",
                                              "quiet_start": 0, "quiet_end": 0, "frequency_cap": 1000, "best_send_time": False,
                                              "connector": connector})
        campaign.segments.add(segment)
        Variant.objects.create(campaign=campaign, name="A", text="Hi {{ name|friend }}, spring tea is in")
        planning.plan_recipients(campaign, planning.segment_audience(campaign), start=timezone.now())

        # worker ready: a first tiny delivery goes through before the clock starts
        deadline = time.monotonic() + 120
        while b"ready" not in open(log, "rb").read() and time.monotonic() < deadline:
            time.sleep(0.2)
        queue_started = time.perf_counter()
        queued = services.send_batch(campaign.pk, limit=messages)  # one transaction; delivery requested on commit
        started = time.perf_counter()
        rows.append(("deliver", f"(queueing: send_batch of {queued:,}, not counted)", started - queue_started,
                     f"{queued / (started - queue_started):,.0f}/s"))
        outbound = OutboundMessage.objects.filter(connector=connector)
        next_sweep = time.perf_counter() + sweep_interval
        while outbound.filter(status__in=["queued", "sending"]).exists():
            time.sleep(0.05)
            if time.perf_counter() >= next_sweep:  # beat's stand-in
                sweep_outbound_task.delay()
                next_sweep += sweep_interval
            if time.perf_counter() - started > 600:
                break
        seconds = time.perf_counter() - started
        sent = outbound.filter(status="sent").count()
        refused = outbound.filter(error_code="45009").count()
        distinct = len({m["touser"] for m in sandbox.sent})
        failures = dict(outbound.filter(status="failed").values_list("error_code").annotate(n=Count("id")))
        rows.append(("deliver", f"ours: outbox, {workers} worker ({sent:,}/{queued:,} sent)", seconds, f"{sent / seconds:,.0f}/s"))
        print(f"\ndelivery: {queued:,} queued, {sent:,} sent, {len(sandbox.sent):,} received by the sandbox "
              f"({distinct:,} distinct recipients), platform rate-limit refusals (45009): {refused:,}; "
              f"platform limit {platform_rate}/s, connector limit {connector_rate}/s, {workers} worker process(es), "
              f"sweep every {sweep_interval:g} s; failed by code: {failures or 'none'}")

        # the limits, each in a child process (the sandboxes serve from this one, as they
        # serve the worker): the adapter alone on as many threads as the outbox gives this
        # connector, no database or queue; then bare keep-alive POSTs, the sandbox's own limit
        from channels.outbox import lanes_for

        lanes = lanes_for(connector_rate, 10**9)
        open_connector = SimpleNamespace(pk=-connector.pk, config={"api_base": open_sandbox.server.url, "appid": "wxbench"},
                                         secret=secrets_.get)
        sample = max(min(queued, 5000), 1)
        for index in range(sample):
            open_sandbox.last_inbound[f"o{index}"] = time.time()

        def adapter_send(index: int) -> None:
            send_custom_message(open_connector, SimpleNamespace(recipient=f"o{index}", kind="text", payload={"text": "hi"}))

        seconds = _rate_in_child(adapter_send, sample, threads=lanes)
        rows.append(("deliver", f"limit: adapter.send, {lanes} threads, no DB/queue", seconds, f"{sample / seconds:,.0f}/s"))
        token = wechat_access_token(open_connector)
        seconds = _rate_in_child(_raw_poster(open_sandbox.server.url, token), sample, threads=lanes)
        rows.append(("deliver", f"limit: the sandbox, {lanes} keep-alive connections", seconds, f"{sample / seconds:,.0f}/s"))
    finally:
        worker.terminate()
        worker.wait(timeout=60)
        sandbox.stop()
        open_sandbox.stop()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipients", type=int, default=1_000_000)
    parser.add_argument("--brand", help="plan for an existing brand's customers instead of generating a throw-away "
                        "brand (its rows are kept; what the bench creates in it is deleted at the end)")
    parser.add_argument("--naive-sample", type=int, default=2_000)
    parser.add_argument("--send-sample", type=int, default=20_000)
    parser.add_argument("--deliver", type=int, default=20_000, help="messages delivered into the WeChat sandbox (0: skip)")
    parser.add_argument("--workers", type=int, default=1, help="outbound worker processes")
    parser.add_argument("--sweep-interval", type=float, default=5.0, help="seconds between outbox sweeps (beat: 5)")
    parser.add_argument("--platform-rate", type=int, default=2000, help="the sandbox's sends per second")
    parser.add_argument("--connector-rate", type=int, default=1500, help="the connector's sends per second")
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "scrm.settings.base")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    from customers.generator import generate
    from engagement.campaigns import planning, services
    from engagement.campaigns.models import Campaign, Variant
    from scrm import tenancy
    from segments.models import Segment

    call_command("migrate_schemas", "--shared", verbosity=0)
    tenancy.ensure_platform()
    from scrm.models import Brand

    if args.brand:
        brand = Brand.objects.get(slug=args.brand, is_template=False)
    else:
        slug = f"bench-campaigns-{os.getpid()}"
        brand = tenancy.provision_brand(name="Bench campaigns", slug=slug, admin_username="bench",
                                        admin_email="bench@example.com", admin_password="bench-pass-123").brand
    created: list[Any] = []
    try:
        connection.set_tenant(brand)
        started = time.perf_counter()
        if not args.brand:
            generate(customers=args.recipients)
        generated = time.perf_counter() - started
        segment = Segment.objects.create(name="Bench everyone", kind=Segment.Kind.STATIC)
        created.append(segment)
        with connection.cursor() as cursor:
            cursor.execute("INSERT INTO segments_segmentmembership (segment_id, customer_id, entered_at) "
                           "SELECT %s, id, now() FROM customers_customer WHERE merged_into_id IS NULL", [segment.pk])
            audience = cursor.rowcount
            cursor.execute("ANALYZE")
            # Every timed step below is rolled back and leaves ~1M dead recipient rows; a run
            # after runs would otherwise scan and extend their remains (--brand keeps them).
            cursor.execute("VACUUM engagement_campaignrecipient")
        campaign = Campaign.objects.create(
            name="Bench", channel="wechat", message_type="template", status=Campaign.Status.SENDING, frequency_cap=3,
            quiet_start=22, quiet_end=8, best_send_time=True, public_base_url="https://bench.example",
        )
        created.insert(0, campaign)
        campaign.segments.add(segment)
        # The account the queueing sample writes its outbox rows for (never delivered: rolled back).
        from channels import services as channel_services

        campaign.connector = channel_services.create_connector(
            kind="wechat_oa", name="Bench queueing", actor=None, config={"appid": "wxq", "api_base": "http://127.0.0.1:9"},
            secrets={"token": "t", "app_secret": "s"},
        )
        campaign.save(update_fields=["connector"])
        created.append(campaign.connector)
        Variant.objects.create(campaign=campaign, name="A", split_percent=50, text="Hi {{ name|friend }}", template_id="T",
                               template_data={"first": "Hi {{ name|friend }}"})
        Variant.objects.create(campaign=campaign, name="B", split_percent=50, text="Hello {{ name|friend }}", template_id="T",
                               template_data={"first": "Hello {{ name|friend }}"})
        start = timezone.now().replace(hour=3, minute=0, second=0, microsecond=0)

        rows: list[tuple[str, str, float, str]] = []
        best_seconds, written = _timed(lambda: planning.compute_best_send_hours(now=start))
        planning.compute_best_send_hours(now=start)  # keep them for the plan
        rows.append(("best hour", f"ours: one statement ({written:,} profiles)", best_seconds, f"{written / best_seconds:,.0f}/s"))

        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        temp_before = _temp_bytes()

        def plan_and_check() -> tuple[Any, float]:
            result = planning.plan_recipients(campaign, planning.segment_audience(campaign), start=start)
            started = time.perf_counter()
            with connection.cursor() as cursor:  # what a commit would check (the FKs are deferred)
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            return result, time.perf_counter() - started

        plan_seconds, (result, fk_seconds) = _timed(plan_and_check)
        plan_seconds -= fk_seconds
        backend_peak = _backend_peak_mb()
        temp_mb = (_temp_bytes() - temp_before) / 2**20
        rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        rows.append(("plan", "ours: plan_recipients (every guard)", plan_seconds, f"{audience / plan_seconds:,.0f}/s"))
        rows.append(("plan", "  then the commit's deferred FK checks", fk_seconds, f"{audience / fk_seconds:,.0f}/s"))

        sample_ids = list(segment.memberships.order_by("customer_id").values_list("customer_id", flat=True)[: args.naive_sample])
        naive_seconds, _planned = _timed(lambda: _naive_plan(campaign, sample_ids, start))
        naive_total = naive_seconds * audience / max(len(sample_ids), 1)
        rows.append(("plan", f"naive: loop over {len(sample_ids):,}, EXTRAPOLATED", naive_total, f"{len(sample_ids) / naive_seconds:,.0f}/s"))
        bare_seconds, bare_rows = _timed(lambda: _bare_insert(campaign, start))
        rows.append(("plan", "limit: bare INSERT … SELECT, no guard", bare_seconds, f"{bare_rows / bare_seconds:,.0f}/s"))

        def queue_sample() -> int:
            planning.plan_recipients(campaign, planning.segment_audience(campaign), start=start - timedelta(hours=12))
            Campaign.objects.filter(pk=campaign.pk).update(frequency_cap=100)
            sent, started_at = 0, time.perf_counter()
            while sent < args.send_sample:
                batch = services.send_batch(campaign.pk, limit=1000, now=start + timedelta(days=1))
                if not batch:
                    break
                sent += batch
            return sent, time.perf_counter() - started_at

        _total, (queued, queue_seconds) = _timed(queue_sample)
        rows.append(("queue", f"ours: send_batch ×1000 ({queued:,} messages)", queue_seconds, f"{queued / max(queue_seconds, 1e-9):,.0f}/s"))
        if args.deliver:
            rows += _delivery(
                campaign_fields={"channel": "wechat", "status": Campaign.Status.SENDING, "public_base_url": "https://bench.example"},
                messages=args.deliver, workers=args.workers, sweep_interval=args.sweep_interval,
                platform_rate=args.platform_rate, connector_rate=args.connector_rate,
            )

        print(f"\n{audience:,} customers in the audience (generated in {generated:.0f} s); "
              f"planned {result.planned:,}, skipped {result.skipped_total:,}: "
              + ", ".join(f"{k} {v:,}" for k, v in sorted(result.skipped.items())) + "\n")
        print(f"{'step':<10} {'path':<48} {'seconds':>10} {'rate':>14}")
        for step, path, seconds, rate in rows:
            print(f"{step:<10} {path:<48} {seconds:>10.2f} {rate:>14}")
        print(f"\nplanning memory: Python process peak {rss_after:,.0f} MB (was {rss_before:,.0f} MB before the plan); "
              f"database backend peak RSS {backend_peak:,.0f} MB" if backend_peak is not None else "database backend: not measurable here",
              end="")
        print(f"; PostgreSQL temp files {temp_mb:,.1f} MB")
    finally:
        if args.brand:  # keep the brand, remove what the bench made in it
            connection.set_tenant(brand)
            for obj in created:
                type(obj).objects.filter(pk=obj.pk).delete()
            connection.set_schema_to_public()
        else:
            connection.set_schema_to_public()
            tenancy.drop_brand(brand)


if __name__ == "__main__":
    main()
