"""The ingestion spine with real processes: gunicorn, Celery workers, Redis, and sandboxes
sending signed webhooks. Nothing answered 200 is lost; nothing is recorded twice."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import psutil
import pytest
from django_tenants.utils import tenant_context

from channels import services
from channels.models import RawEvent
from channels.sandboxes.base import WebhookSender
from channels.sandboxes.traffic import (
    SANDBOX,
    SANDBOX_AES_KEY,
    ensure_sandbox_connectors,
    plan_traffic,
    send_all,
)
from channels.sandboxes.wechat import WeChatSandbox
from customers.models import Interaction
from tests.conftest import (
    BASE_DIR,
    CeleryWorker,
    _free_port,
    _process_env,
    _wait_for_port,
    wait_until,
)

pytestmark = pytest.mark.worker


def _counts(brand) -> dict[str, int]:  # noqa: ANN001
    with tenant_context(brand):
        by_status = dict.fromkeys(RawEvent.Status.values, 0)
        for status in RawEvent.objects.values_list("status", flat=True):
            by_status[status] += 1
        by_status["interactions"] = Interaction.objects.count()
        by_status["distinct"] = Interaction.objects.values("channel", "external_id").distinct().count()
        return by_status


def _settled(brand, expected_interactions: int):  # noqa: ANN001, ANN202
    counts = _counts(brand)
    if counts["pending"] == 0 and counts["interactions"] >= expected_interactions:
        return counts
    return None


def _wechat_sandbox() -> WeChatSandbox:
    _name, config, secrets = SANDBOX["wechat_oa"]
    return WeChatSandbox(token=secrets["token"], appid=config["appid"], app_secret=secrets["app_secret"],
                         original_id=config["original_id"], encoding_aes_key=SANDBOX_AES_KEY)


def test_sandbox_traffic_lands_on_profiles_exactly_once(live_server_url, celery_worker, committed_brand):
    # given a brand with sandbox connectors, a web server and a worker
    with tenant_context(committed_brand):
        connectors = ensure_sandbox_connectors()
    sender = WebhookSender(live_server_url, committed_brand.primary_host())
    planned = list(plan_traffic(connectors, events=80, customers=8, redelivery_rate=0.2))
    # and one WeChat message the platform delivers three times (the first two answers "lost")
    wechat = _wechat_sandbox()
    hook = f"/hooks/{connectors['wechat_oa'].webhook_token}/"
    repeated = wechat.text("o_repeat", "同一条消息", msg_id=987654321)
    answers = [sender.post(hook, repeated) for _ in range(3)]
    # when the traffic arrives
    report = send_all(sender, planned, concurrency=4)
    # then every delivery was answered 2xx
    assert [a.body for a in answers] == [b"success"] * 3
    assert all(200 <= status < 300 for status in report.statuses), report.statuses
    # and every distinct event became exactly one interaction
    expected = sum(p.events for p in planned) + 1
    counts = wait_until(lambda: _settled(committed_brand, expected), timeout=120, interval=0.5)
    assert counts["interactions"] == counts["distinct"] == expected
    with tenant_context(committed_brand):
        assert Interaction.objects.filter(text="同一条消息").count() == 1


def _kill_tree(proc: subprocess.Popen) -> None:
    parent = psutil.Process(proc.pid)
    for process in [*parent.children(recursive=True), parent]:
        process.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)


def test_sigkill_of_the_worker_mid_batch_loses_and_duplicates_nothing(celery_worker, committed_brand):
    # given 2,500 stored events and a worker working through them
    with tenant_context(committed_brand):
        connectors = ensure_sandbox_connectors()
        planned = list(plan_traffic(connectors, events=2500, customers=250, redelivery_rate=0, kinds=("wechat_oa",)))
        for item in planned:
            services.store_raw_event(connector=connectors["wechat_oa"], body=item.delivery.body,
                                     dedupe_key=f"k{id(item)}", headers={}, query=item.delivery.query)
    wait_until(lambda: _counts(committed_brand)["done"] >= 500, timeout=120, interval=0.05)
    # when the worker is SIGKILLed while events are still pending
    _kill_tree(celery_worker.proc)
    at_kill = _counts(committed_brand)
    assert at_kill["pending"] > 0
    # and a new worker starts, and the sweeper runs
    celery_worker.start()
    with tenant_context(committed_brand):
        services.requeue_stale_pending(older_than_seconds=0)
    # then every event is processed exactly once
    counts = wait_until(lambda: _settled(committed_brand, 2500), timeout=300, interval=0.5)
    assert counts["done"] + counts["unhandled"] == 2500 and counts["failed"] == 0
    assert counts["interactions"] == counts["distinct"] == 2500


class PrivateStack:
    """A private redis-server plus gunicorn, worker and beat pointed at it (so the test can
    stop Redis without disturbing anyone else)."""

    def __init__(self, tmp: Path) -> None:
        self.tmp, self.redis_port, self.web_port = tmp, _free_port(), _free_port()
        env = _process_env()
        env["REDIS_URL"] = f"redis://127.0.0.1:{self.redis_port}/0"
        self.env = env
        self.redis: subprocess.Popen | None = None
        self.procs: list[subprocess.Popen] = []

    def start_redis(self) -> None:
        self.redis = subprocess.Popen(
            ["redis-server", "--port", str(self.redis_port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        _wait_for_port(self.redis_port, self.redis, self.tmp / "none.log")

    def stop_redis(self) -> None:
        assert self.redis is not None
        self.redis.terminate()
        self.redis.wait(timeout=10)

    def start(self) -> None:
        self.start_redis()
        log = open(self.tmp / "web.log", "wb")  # noqa: SIM115
        web = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "scrm.wsgi:application", "--bind", f"127.0.0.1:{self.web_port}",
             "--workers", "2", "--timeout", "60"], cwd=BASE_DIR, env=self.env, stdout=log, stderr=subprocess.STDOUT,
        )
        self.procs.append(web)
        _wait_for_port(self.web_port, web, self.tmp / "web.log")
        self.worker = CeleryWorker(self.env, self.tmp / "worker.log")
        self.worker.start()
        beat_log = open(self.tmp / "beat.log", "wb")  # noqa: SIM115
        self.procs.append(subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "scrm", "beat", "--loglevel", "INFO", "--schedule", str(self.tmp / "beat.db")],
            cwd=BASE_DIR, env=self.env, stdout=beat_log, stderr=subprocess.STDOUT,
        ))

    def stop(self) -> None:
        self.worker.stop()
        for proc in self.procs:
            proc.terminate()
            proc.wait(timeout=20)
        if self.redis and self.redis.poll() is None:
            self.stop_redis()


@pytest.fixture
def private_stack(committed, brands, tmp_path):  # noqa: ANN001, ANN201
    stack = PrivateStack(tmp_path)
    stack.start()
    yield stack
    stack.stop()


def test_events_answered_200_while_redis_is_down_are_processed_after_it_returns(private_stack, committed_brand):
    with tenant_context(committed_brand):
        connectors = ensure_sandbox_connectors()
    sender = WebhookSender(f"http://127.0.0.1:{private_stack.web_port}", committed_brand.primary_host())
    # given traffic flowing normally
    before = list(plan_traffic(connectors, events=20, customers=5, redelivery_rate=0, seed=1))
    assert set(send_all(sender, before, concurrency=2).statuses) == {200, 202}
    wait_until(lambda: _settled(committed_brand, 20), timeout=120, interval=0.5)
    # when Redis goes down and webhooks keep arriving
    private_stack.stop_redis()
    during = list(plan_traffic(connectors, events=30, customers=5, redelivery_rate=0, seed=2))
    report = send_all(sender, during, concurrency=2)
    # then they are still answered and every one is stored in PostgreSQL; those not taken
    # by a batch that was already running when Redis stopped wait as pending
    assert set(report.statuses) <= {200, 202} and report.sent == 30
    stored = _counts(committed_brand)
    assert sum(stored[status] for status in RawEvent.Status.values) == 50
    assert stored["pending"] > 0 and stored["failed"] == 0
    # and when Redis returns, the sweeper (beat → worker) enqueues them and all are processed
    private_stack.start_redis()
    counts = wait_until(lambda: _settled(committed_brand, 50), timeout=180, interval=1)
    assert counts["interactions"] == counts["distinct"] == 50


def test_drive_sandbox_traffic_command_delivers_signed_webhooks(live_server_url, committed_brand):
    import io

    from django.core.management import call_command

    out = io.StringIO()
    call_command("drive_sandbox_traffic", brand=committed_brand.slug, events=24, base_url=live_server_url,
                 concurrency=2, stdout=out)
    answers = out.getvalue().split("answers ")[1].split(";")[0]  # "200: 16, 202: 9"
    assert {int(part.split(":")[0]) for part in answers.split(", ")} <= {200, 202}
    with tenant_context(committed_brand):
        assert RawEvent.objects.count() == 24  # redeliveries stored once
