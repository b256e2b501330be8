"""Benchmark the agent inbox (issue 5): list and conversation latency while agents poll.

    DATABASE_URL=... REDIS_URL=... .venv/bin/python -m bench.inbox --conversations 100000 --agents 50

Provisions a throw-away brand, generates customers (customers.generator) and one WeChat
conversation per customer with three messages each (set-wise SQL), starts gunicorn, and
has N agents (logged-in sessions) poll like the workspace does: every `--interval`
seconds each agent fetches its inbox list and one conversation thread, sending the ETag
it last saw (If-None-Match). Figures, in one run (STYLE.md 13):

1. ours: conditional polls (mostly 304) of the list and the thread, p50 / p95;
2. full renders: the same requests without If-None-Match (every poll renders), p50 / p95;
3. naive baseline (in process): the list as an OFFSET page with COUNT(*) per view and one
   query per row for its customer — what a straightforward ORM list costs per poll;
4. limit: /healthz (no database, no template) on the same server under the same load,
   and the list's SQL alone (one indexed query) over psycopg;
5. webhook → visible under ingest load (`--ingest-rate`, default 500 events/s): Celery
   ingest workers run, a paced sender (its own process) posts signed sandbox webhooks —
   WeChat one message per POST, Messenger batched `--meta-batch` messages per POST as Meta
   does — while the agents keep polling and probe customers write on WeChat; each probe's
   agent polls its open conversation every 100 ms (ETag) and records the time from the
   webhook POST to the message in the thread. The workspace itself polls every 2 s, so
   an agent sees a message up to 2 s after these figures.

Data is set-wise: customers by COPY (customers.generator), conversations and three
messages each by INSERT … SELECT; agents are real staff users with sessions; pollers are
threads in their own process (the ingest sender in another), against a gunicorn started
here.

Prints a table; does not write bench/RESULTS.md (the lead records full-scale runs).
"""

from __future__ import annotations

import argparse
import http.client
import itertools
import multiprocessing
import os
import random
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

from bench.ingest import BASE_DIR, free_port, log, setup_django, wait_for_port


def percentile(values: list[float], pct: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(pct / 100 * (len(ordered) - 1))))]


def fill(conversations: int, agents: int) -> tuple[list[int], list[int]]:
    """Customers, agents and conversations with messages; returns (agent ids, conversation ids sample)."""
    from django.contrib.auth.models import User
    from django.db import connection

    from channels.models import Connector
    from customers.generator import generate
    from engagement.inbox.models import AgentProfile, Conversation, Message, Team
    from scrm.staff.roles import Role
    from scrm.staff.services import create_staff_user

    generate(customers=conversations)
    connector = Connector.objects.create(kind="wechat_oa", name="Bench WeChat", config={"appid": "wxbench"})
    team = Team.objects.create(name="Support", is_default=True)
    agent_ids = []
    for n in range(agents):
        user = create_staff_user(username=f"agent{n}", email=f"agent{n}@example.com", role=Role.AGENT,
                                 password="bench-Pass-4821", actor=None)
        AgentProfile.objects.create(user=user, availability="online", capacity=10_000)
        team.members.add(user)
        agent_ids.append(user.pk)
    from customers.models import Customer

    conv, msg, cust = (connection.ops.quote_name(m._meta.db_table) for m in (Conversation, Message, Customer))
    with connection.cursor() as cursor:
        cursor.execute(f"""
            INSERT INTO {conv} (customer_id, connector_id, channel, recipient, status, priority, team_id, assignee_id,
                labels, language, sentiment, unread_count, version, sla_breached, reassignments, awaiting_since,
                first_response_due_at, opened_at, last_message_at, last_inbound_at, last_message_preview,
                created_at, updated_at)
            SELECT c.id, %s, 'wechat', 'o_' || c.id,
                   (ARRAY['open','open','open','pending','resolved'])[1 + (c.id %% 5)], (c.id %% 4)::int, %s,
                   (%s::bigint[])[1 + (c.id %% %s)], '[]'::jsonb, 'zh', ((c.id %% 21) - 10) / 10.0, (c.id %% 3)::int, 1,
                   false, 0, t - interval '10 minutes', t + interval '50 minutes', t - interval '1 hour', t, t,
                   '消息 ' || c.id, t, t
            FROM (SELECT id, now() - (random() * interval '30 days') AS t FROM {cust}) AS c
        """, [connector.pk, team.pk, agent_ids, len(agent_ids)])
        cursor.execute(f"""
            INSERT INTO {msg} (conversation_id, direction, text, attachments, delivery_status, delivery_error, mentions,
                               client_key, created_at)
            SELECT c.id, CASE WHEN n = 2 THEN 'out' ELSE 'in' END, '第 ' || n || ' 条消息 for #' || c.id, '[]'::jsonb,
                   CASE WHEN n = 2 THEN 'sent' ELSE 'received' END, '', '[]'::jsonb, '', c.last_message_at - (3 - n) * interval '1 minute'
            FROM {conv} AS c CROSS JOIN generate_series(1, 3) AS n
        """)
        cursor.execute(f"ANALYZE {conv}; ANALYZE {msg}")
    sample = list(Conversation.objects.order_by("?").values_list("id", flat=True)[:1000])
    assert User.objects.filter(pk__in=agent_ids).count() == agents
    return agent_ids, sample


def sessions(agent_ids: list[int], host: str) -> list[str]:
    from django.contrib.auth.models import User
    from django.test import Client

    cookies = []
    for user in User.objects.filter(pk__in=agent_ids):
        client = Client(HTTP_HOST=host)
        client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
        cookies.append(client.cookies["sessionid"].value)
    return cookies


class Poller(threading.Thread):
    """One agent: every `interval` s, the list then a thread, with or without ETags."""

    def __init__(self, port: int, host: str, cookie: str, conversations: list[int], *, conditional: bool,
                 interval: float, seconds: float, paths: tuple[str, ...] | None = None) -> None:
        super().__init__(daemon=True)
        self.port, self.host, self.cookie, self.conversations = port, host, cookie, conversations
        self.conditional, self.interval, self.seconds, self.paths = conditional, interval, seconds, paths
        self.until = 0.0
        self.timings: dict[str, list[float]] = {"list": [], "thread": [], "other": []}
        self.statuses: dict[int, int] = {}
        self.etags: dict[str, str] = {}

    def get(self, connection: http.client.HTTPConnection, path: str, kind: str, *, record: bool = True) -> None:
        headers = {"Host": self.host, "Cookie": f"sessionid={self.cookie}", "HX-Request": "true"}
        if self.conditional and path in self.etags:
            headers["If-None-Match"] = self.etags[path]
        started = time.perf_counter()
        connection.request("GET", path, headers=headers)
        response = connection.getresponse()
        response.read()
        if record:
            self.timings[kind].append((time.perf_counter() - started) * 1000)
            self.statuses[response.status] = self.statuses.get(response.status, 0) + 1
        if response.getheader("ETag"):
            self.etags[path] = response.getheader("ETag")

    def run(self) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        rng = random.Random(hash(self.cookie))
        mine = rng.sample(self.conversations, min(5, len(self.conversations)))
        # Warm-up (untimed): the agent's first load of each URL, as when the page opens.
        try:
            for path in self.paths or ("/inbox/list/?view=open", *(f"/inbox/c/{pk}/thread/" for pk in mine)):
                self.get(connection, path, "other", record=False)
        except (OSError, http.client.HTTPException) as error:
            log(f"warm-up failed: {error!r}")
            connection.close()
            connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        self.until = time.monotonic() + self.seconds
        time.sleep(rng.random() * self.interval)  # agents do not poll in lockstep
        while time.monotonic() < self.until:
            tick = time.monotonic()
            try:
                if self.paths:
                    for path in self.paths:
                        self.get(connection, path, "other")
                else:
                    self.get(connection, "/inbox/list/?view=open", "list")
                    self.get(connection, f"/inbox/c/{rng.choice(mine)}/thread/", "thread")
            except (OSError, http.client.HTTPException) as error:
                log(f"poll failed: {error!r}")
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
            time.sleep(max(0.0, self.interval - (time.monotonic() - tick)))


def wait_ready(port: int, host: str, cookie: str, *, workers: int, timeout: float = 300) -> None:
    """gunicorn binds before its workers have loaded Django: wait until the inbox answers
    quickly several times in a row (each worker warmed), so no round measures start-up."""
    deadline = time.monotonic() + timeout
    fast = 0
    while fast < 4 * workers:
        if time.monotonic() > deadline:
            sys.exit("the web server did not become ready")
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        started = time.perf_counter()
        try:
            connection.request("GET", "/inbox/list/?view=open", headers={"Host": host, "Cookie": f"sessionid={cookie}"})
            status = connection.getresponse().status
        except (OSError, http.client.HTTPException):
            status = 0
        finally:
            connection.close()
        fast = fast + 1 if status == 200 and time.perf_counter() - started < 1.0 else 0
        if status != 200:
            time.sleep(0.5)


def poll_round(port: int, host: str, cookies: list[str], sample: list[int], *, conditional: bool, seconds: float,
               interval: float, paths: tuple[str, ...] | None = None) -> dict[str, object]:
    pollers = [Poller(port, host, cookie, sample, conditional=conditional, interval=interval, seconds=seconds, paths=paths)
               for cookie in cookies]
    for poller in pollers:
        poller.start()
    for poller in pollers:
        poller.join()
    merged: dict[str, list[float]] = {"list": [], "thread": [], "other": []}
    statuses: dict[int, int] = {}
    for poller in pollers:
        for kind, values in poller.timings.items():
            merged[kind] += values
        for status, n in poller.statuses.items():
            statuses[status] = statuses.get(status, 0) + n
    return {"timings": merged, "statuses": statuses}


def naive_list(user_id: int, repeats: int) -> list[float]:
    """OFFSET page + COUNT(*) per view + one customer query per row, in process."""
    from customers.models import Customer
    from engagement.inbox.models import Conversation

    timings = []
    for _ in range(repeats):
        started = time.perf_counter()
        base = Conversation.objects.filter(status="open")
        counts = [base.count(), base.filter(assignee_id=user_id).count(), base.filter(assignee__isnull=True).count(),
                  Conversation.objects.filter(status="pending").count()]
        rows = list(base.order_by("-last_message_at")[25:50])
        names = [Customer.objects.get(pk=row.customer_id).display_name for row in rows]
        assert counts and len(names) == len(rows)
        timings.append((time.perf_counter() - started) * 1000)
    return timings


def raw_list_sql(repeats: int) -> list[float]:
    from django.db import connection

    from engagement.inbox.models import Conversation

    table = connection.ops.quote_name(Conversation._meta.db_table)
    timings = []
    with connection.cursor() as cursor:
        for _ in range(repeats):
            started = time.perf_counter()
            cursor.execute(f"SELECT id, customer_id, last_message_preview FROM {table} WHERE status = 'open' "
                           f"ORDER BY last_message_at DESC, id DESC LIMIT 51")
            cursor.fetchall()
            timings.append((time.perf_counter() - started) * 1000)
    return timings


# --- webhook → visible under ingest load --------------------------------------------------


def plan_ingest(connectors: dict, *, rate: float, seconds: float, customers: int, meta_batch: int,
                wechat_share: float, seed: int = 5) -> list[tuple[float, str, object, int]]:
    """(send at, hook path, delivery, events) for `rate` events/s over `seconds`."""
    from channels.sandboxes.meta import MetaSandbox
    from channels.sandboxes.traffic import EN, SANDBOX, SANDBOX_AES_KEY, ZH
    from channels.sandboxes.wechat import WeChatSandbox

    rng = random.Random(seed)
    wechat_conf, fb_conf = SANDBOX["wechat_oa"], SANDBOX["facebook"]
    wechat = WeChatSandbox(token=wechat_conf[2]["token"], appid=wechat_conf[1]["appid"], app_secret="",
                           original_id=wechat_conf[1]["original_id"], encoding_aes_key=SANDBOX_AES_KEY)
    meta = MetaSandbox(app_secret=fb_conf[2]["app_secret"], page_id=fb_conf[1]["page_id"], page_token="")
    wechat_hook = f"/hooks/{connectors['wechat_oa'].webhook_token}/"
    meta_hook = f"/hooks/{connectors['facebook'].webhook_token}/"
    plan: list[tuple[float, str, object, int]] = []
    events = 0
    total = int(rate * seconds)
    while events < total:
        at = events / rate
        if rng.random() < wechat_share:
            plan.append((at, wechat_hook, wechat.text(f"o_{rng.randrange(customers)}", rng.choice(ZH)), 1))
            events += 1
        else:
            batch = [(f"psid_{rng.randrange(customers)}", rng.choice(EN)) for _ in range(meta_batch)]
            plan.append((at, meta_hook, meta.messages(batch), meta_batch))
            events += meta_batch
    return plan


def paced_send(port: int, host: str, plan: list, concurrency: int, results: multiprocessing.Queue) -> None:
    """Child process: post each delivery at its time (as fast as possible when behind)."""
    from channels.sandboxes.base import WebhookSender

    sender = WebhookSender(f"http://127.0.0.1:{port}", host, timeout=30)
    counter, lock = itertools.count(), threading.Lock()
    acks: list[float] = []
    statuses: dict[int, int] = {}
    done_events = [0]
    start = time.monotonic() + 0.2

    def work() -> None:
        while True:
            with lock:
                index = next(counter)
            if index >= len(plan):
                return
            at, path, delivery, events = plan[index]
            delay = start + at - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            began = time.perf_counter()
            try:
                status = sender.post(path, delivery).status
            except (OSError, http.client.HTTPException):
                status = -1
            with lock:
                acks.append((time.perf_counter() - began) * 1000)
                statuses[status] = statuses.get(status, 0) + 1
                if 200 <= status < 300:
                    done_events[0] += events

    threads = [threading.Thread(target=work, daemon=True) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    results.put({"seconds": time.monotonic() - start, "acks": acks, "statuses": statuses, "events": done_events[0],
                 "posts": len(plan)})


class Probe(threading.Thread):
    """A WeChat customer who writes, and the agent who has their conversation open."""

    def __init__(self, port: int, host: str, cookie: str, hook: str, openid: str, conversation_id: int, *,
                 seconds: float, poll_every: float = 0.1, timeout: float = 60.0) -> None:
        super().__init__(daemon=True)
        self.port, self.host, self.cookie, self.hook, self.openid = port, host, cookie, hook, openid
        self.conversation_id, self.seconds, self.poll_every, self.timeout = conversation_id, seconds, poll_every, timeout
        self.visible_ms: list[float] = []
        self.missed = 0

    def run(self) -> None:
        from channels.sandboxes.base import WebhookSender
        from channels.sandboxes.traffic import SANDBOX, SANDBOX_AES_KEY
        from channels.sandboxes.wechat import WeChatSandbox

        conf = SANDBOX["wechat_oa"]
        wechat = WeChatSandbox(token=conf[2]["token"], appid=conf[1]["appid"], app_secret="",
                               original_id=conf[1]["original_id"], encoding_aes_key=SANDBOX_AES_KEY)
        sender = WebhookSender(f"http://127.0.0.1:{self.port}", self.host, timeout=30)
        agent = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        path = f"/inbox/c/{self.conversation_id}/thread/"
        headers = {"Host": self.host, "Cookie": f"sessionid={self.cookie}", "HX-Request": "true"}
        etag = ""
        until = time.monotonic() + self.seconds
        n = 0
        while time.monotonic() < until:
            n += 1
            marker = f"probe {self.openid} {n} {random.randrange(10**9)}"
            delivery = wechat.text(self.openid, marker)
            sent = time.perf_counter()
            try:
                sender.post(self.hook, delivery)
                seen = False
                while time.perf_counter() - sent < self.timeout and not seen:
                    agent.request("GET", path, headers=headers | ({"If-None-Match": etag} if etag else {}))
                    response = agent.getresponse()
                    body = response.read()
                    etag = response.getheader("ETag") or etag
                    seen = response.status == 200 and marker.encode() in body
                    if not seen:
                        time.sleep(self.poll_every)
            except (OSError, http.client.HTTPException) as error:
                log(f"probe failed: {error!r}")
                agent.close()
                agent = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
                seen = False
            if seen:
                self.visible_ms.append((time.perf_counter() - sent) * 1000)
            else:
                self.missed += 1
            time.sleep(0.5)


def probe_conversations(port: int, host: str, hook: str, count: int) -> list[tuple[str, int]]:
    """One first message per probe customer, then their conversation ids once the pipeline made them."""
    from channels.sandboxes.base import WebhookSender
    from channels.sandboxes.traffic import SANDBOX, SANDBOX_AES_KEY
    from channels.sandboxes.wechat import WeChatSandbox
    from customers.models import Identity
    from engagement.inbox.models import Conversation

    conf = SANDBOX["wechat_oa"]
    wechat = WeChatSandbox(token=conf[2]["token"], appid=conf[1]["appid"], app_secret="",
                           original_id=conf[1]["original_id"], encoding_aes_key=SANDBOX_AES_KEY)
    sender = WebhookSender(f"http://127.0.0.1:{port}", host, timeout=30)
    openids = [f"probe_{n}_{os.getpid()}" for n in range(count)]
    for openid in openids:
        sender.post(hook, wechat.text(openid, "hello, is anyone there?"))
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        found = dict(
            Conversation.objects.filter(
                customer__identities__kind="wechat_openid", customer__identities__value__in=openids,
                channel="wechat",
            ).values_list("customer__identities__value", "id")
        )
        if len(found) == len(openids):
            return [(openid, found[openid]) for openid in openids]
        time.sleep(0.5)
    sys.exit(f"probe conversations did not appear (found {Identity.objects.filter(value__in=openids).count()} identities)")


def ingest_round(port: int, host: str, cookies: list[str], sample: list[int], connectors: dict, args: argparse.Namespace,
                 tmp: Path) -> list[tuple[str, str]]:
    from bench.ingest import Worker, pending

    rows: list[tuple[str, str]] = []
    worker = Worker(args.ingest_workers, tmp / "ingest-worker.log")
    try:
        worker.wait_ready()
        hook = f"/hooks/{connectors['wechat_oa'].webhook_token}/"
        probes_at = probe_conversations(port, host, hook, args.probes)
        log(f"planning {args.ingest_rate:g} events/s for {args.seconds:g} s")
        plan = plan_ingest(connectors, rate=args.ingest_rate, seconds=args.seconds, customers=args.conversations,
                           meta_batch=args.meta_batch, wechat_share=args.wechat_share)
        results: multiprocessing.Queue = multiprocessing.get_context("fork").Queue()
        sender = multiprocessing.get_context("fork").Process(
            target=paced_send, args=(port, host, plan, args.ingest_concurrency, results), daemon=True)
        probes = [Probe(port, host, cookies[n % len(cookies)], hook, openid, conversation_id, seconds=args.seconds)
                  for n, (openid, conversation_id) in enumerate(probes_at)]
        outcome: dict[str, object] = {}
        pollers = threading.Thread(target=lambda: outcome.update(poll_round(
            port, host, cookies, sample, conditional=True, seconds=args.seconds, interval=args.interval)))
        sender.start()
        pollers.start()
        for probe in probes:
            probe.start()
        report = results.get(timeout=args.seconds * 20 + 600)
        sender.join(timeout=60)
        for probe in probes:
            probe.join()
        pollers.join()
        visible = [ms for probe in probes for ms in probe.visible_ms]
        missed = sum(probe.missed for probe in probes)
        offered = f"{args.ingest_rate:g} events/s offered"
        rows.append((f"ingest: events accepted ({offered}; Messenger ×{args.meta_batch} per POST)",
                     f"{report['events'] / report['seconds']:,.0f} events/s over {report['posts']:,} POSTs "
                     f"({', '.join(f'{k}: {v:,}' for k, v in sorted(report['statuses'].items()))})"))
        rows.append(("ingest: webhook ack", fmt(report["acks"])))
        rows.append((f"webhook → visible in the open thread ({offered}, {args.ingest_workers} ingest worker(s))",
                     fmt(visible).replace("requests", "messages") + (f", {missed} not seen within 60 s" if missed else "")))
        timings = outcome["timings"]
        rows.append((f"during ingest: list poll with ETag ({len(cookies)} agents)", fmt(timings["list"])))
        rows.append((f"during ingest: thread poll with ETag ({len(cookies)} agents)", fmt(timings["thread"])))
        rows.append(("ingest: deliveries still pending when the round ended", f"{pending():,}"))
    finally:
        for name, figure in rows:
            log(f"{name}: {figure}")  # kept even if stopping the worker fails
        worker.proc.terminate()
        try:
            worker.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:  # a batch still running: the backlog is not ours to finish
            worker.proc.kill()
            worker.proc.wait(timeout=30)
        worker.out.close()
    return rows


def fmt(values: list[float]) -> str:
    if not values:
        return "no samples"
    return f"p50 {statistics.median(values):.1f} ms / p95 {percentile(values, 95):.1f} ms ({len(values):,} requests)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--conversations", type=int, default=100_000)
    parser.add_argument("--agents", type=int, default=50, help="concurrent polling agents")
    parser.add_argument("--seconds", type=float, default=30, help="duration of each polling round")
    parser.add_argument("--interval", type=float, default=2.0, help="seconds between an agent's polls")
    parser.add_argument("--web-workers", type=int, default=4)
    parser.add_argument("--ingest-rate", type=float, default=500, help="events/s offered in round 5 (0: skip it)")
    parser.add_argument("--ingest-workers", type=int, default=2, help="Celery ingest worker processes")
    parser.add_argument("--ingest-concurrency", type=int, default=16, help="sender connections")
    parser.add_argument("--meta-batch", type=int, default=10, help="Messenger messages per delivery")
    parser.add_argument("--wechat-share", type=float, default=0.3, help="share of deliveries that are WeChat")
    parser.add_argument("--probes", type=int, default=5, help="probe customers measuring webhook → visible")
    args = parser.parse_args()
    if not (os.environ.get("DATABASE_URL") and os.environ.get("REDIS_URL")):
        sys.exit("set DATABASE_URL and REDIS_URL (a scratch database: a brand is created and dropped)")
    tmp = Path(os.environ.get("TMPDIR", "/tmp")) / f"bench-inbox-{os.getpid()}"
    tmp.mkdir(parents=True, exist_ok=True)
    log("migrating")
    subprocess.run([sys.executable, "-m", "scrm", "migrate"], cwd=BASE_DIR, check=True, stdout=subprocess.DEVNULL)
    setup_django()
    from django.db import connection
    from django_tenants.utils import tenant_context

    from channels.sandboxes.traffic import ensure_sandbox_connectors
    from scrm import tenancy

    slug = f"bench-inbox-{int(time.time()) % 100000}"
    brand = tenancy.provision_brand(name="Bench inbox", slug=slug, admin_username="bench", admin_email="bench@example.com",
                                    admin_password="bench-Pass-4821").brand
    host = tenancy.host_for(slug)
    rows: list[tuple[str, str]] = []
    web = None
    try:
        with tenant_context(brand):
            log(f"generating {args.conversations:,} customers and conversations")
            started = time.perf_counter()
            agent_ids, sample = fill(args.conversations, args.agents)
            connectors = ensure_sandbox_connectors()
            log(f"generated in {time.perf_counter() - started:.1f} s")
            cookies = sessions(agent_ids, host)
            port = free_port()
            web = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "scrm.wsgi:application", "--bind", f"127.0.0.1:{port}",
                 "--workers", str(args.web_workers), "--threads", "8", "--timeout", "120", "--keep-alive", "30"],
                cwd=BASE_DIR, env=dict(os.environ), stdout=open(tmp / "web.log", "wb"), stderr=subprocess.STDOUT,  # noqa: SIM115
            )
            wait_for_port(port, web)
            wait_ready(port, host, cookies[0], workers=args.web_workers)
            load = f"{args.agents} agents, every {args.interval:g} s"
            log("round 1: conditional polling (ours)")
            ours = poll_round(port, host, cookies, sample, conditional=True, seconds=args.seconds, interval=args.interval)
            rows.append((f"ours: list poll with ETag ({load})", fmt(ours["timings"]["list"])))
            rows.append((f"ours: thread poll with ETag ({load})", fmt(ours["timings"]["thread"])))
            rows.append(("ours: answers by status", ", ".join(f"{k}: {v:,}" for k, v in sorted(ours["statuses"].items()))))
            log("round 2: full renders")
            full = poll_round(port, host, cookies, sample, conditional=False, seconds=args.seconds, interval=args.interval)
            rows.append((f"full render: list, no ETag ({load})", fmt(full["timings"]["list"])))
            rows.append((f"full render: thread, no ETag ({load})", fmt(full["timings"]["thread"])))
            log("round 3: naive baseline and limits")
            rows.append(("naive: OFFSET page + COUNT(*) ×4 + query per row (in process)", fmt(naive_list(agent_ids[0], 50))))
            floor = poll_round(port, host, cookies, sample, conditional=False, seconds=min(args.seconds, 10),
                               interval=args.interval / 2, paths=("/healthz",))
            rows.append((f"limit: /healthz on the same server ({args.agents} clients, 2 req per {args.interval:g} s)",
                         fmt(floor["timings"]["other"])))
            rows.append(("limit: the list's SQL alone (psycopg)", fmt(raw_list_sql(200))))
            for name, figure in rows:
                log(f"{name}: {figure}")
            if args.ingest_rate > 0:
                log(f"round 4: webhook → visible at {args.ingest_rate:g} events/s offered")
                rows += ingest_round(port, host, cookies, sample, connectors, args, tmp)
    finally:
        if web is not None:
            web.terminate()
            web.wait(timeout=30)
        connection.set_schema_to_public()
        tenancy.drop_brand(brand)
    width = max(len(name) for name, _ in rows)
    print(f"\nInbox benchmark: {args.conversations:,} conversations, {args.agents} agents polling, {args.seconds:g} s per round; "
          f"load average at the end {' '.join(Path('/proc/loadavg').read_text().split()[:3])}")
    print(f"{'measure'.ljust(width)} | figure")
    print(f"{'-' * width}-+-{'-' * 40}")
    for name, figure in rows:
        print(f"{name.ljust(width)} | {figure}")


if __name__ == "__main__":
    main()
