"""Realistic sandbox traffic into one brand: sandbox connectors, a mix of platform
deliveries (some redelivered, as platforms do), and a concurrent sender that records
each answer's status and latency. Used by `drive_sandbox_traffic` and bench/ingest.py."""

from __future__ import annotations

import random
import statistics
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from channels import services
from channels.models import Connector
from channels.sandboxes import deliveries
from channels.sandboxes.base import WebhookSender
from channels.sandboxes.deliveries import Delivery
from channels.sandboxes.meta import MetaSandbox
from channels.sandboxes.wechat import WeChatSandbox
from channels.sandboxes.x import XSandbox

# Fixed sandbox credentials: these connectors only ever talk to local sandboxes.
SANDBOX_AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
SANDBOX = {
    "wechat_oa": ("Sandbox WeChat OA", {"appid": "wxsandbox0001", "original_id": "gh_sandbox"},
                  {"token": "sandbox-wechat-token", "encoding_aes_key": SANDBOX_AES_KEY, "app_secret": "sandbox-wechat-secret"}),
    "facebook": ("Sandbox Facebook Page", {"page_id": "100200300"}, {"app_secret": "sandbox-meta-secret", "page_token": "sandbox-page-token"}),
    "x": ("Sandbox X account", {"user_id": "4242"}, {"consumer_secret": "sandbox-x-secret"}),
    "web_api": ("Sandbox website", {}, {"signing_secret": "sandbox-api-secret"}),
    "orders": ("Sandbox shop", {}, {"signing_secret": "sandbox-orders-secret"}),
}

ZH = ["你好，请问这款还有货吗？", "快递太慢了，等了一个星期", "质量很好，非常满意！", "客服态度很差", "活动什么时候开始？",
      "我想退货", "谢谢，问题解决了", "价格有点贵"]
EN = ["Where is my order?", "Love the new collection!", "The app keeps crashing, very frustrating", "Do you ship to Canada?",
      "Thanks for the quick reply", "My package arrived damaged"]


def ensure_sandbox_connectors() -> dict[str, Connector]:
    """The brand's sandbox connectors (created once, found by name afterwards)."""
    found = {}
    for kind, (name, config, secrets) in SANDBOX.items():
        connector = Connector.objects.filter(kind=kind, name=name).first()
        if connector is None:
            connector = services.create_connector(kind=kind, name=name, config=dict(config), secrets=dict(secrets), actor=None)
        found[kind] = connector
    return found


@dataclass
class Planned:
    path: str
    delivery: Delivery
    events: int  # interactions this delivery should create (0 for a redelivery)


def plan_traffic(connectors: dict[str, Connector], *, events: int, customers: int, seed: int = 7,
                 redelivery_rate: float = 0.05, kinds: tuple[str, ...] | None = None) -> Iterator[Planned]:
    """`events` single-event deliveries over `customers` people, plus redeliveries."""
    rng = random.Random(seed)
    wechat_conf, fb_conf = SANDBOX["wechat_oa"], SANDBOX["facebook"]
    wechat = WeChatSandbox(token=wechat_conf[2]["token"], appid=wechat_conf[1]["appid"], app_secret="",
                           original_id=wechat_conf[1]["original_id"], encoding_aes_key=SANDBOX_AES_KEY)
    meta = MetaSandbox(app_secret=fb_conf[2]["app_secret"], page_id=fb_conf[1]["page_id"], page_token="")
    x = XSandbox(consumer_secret=SANDBOX["x"][2]["consumer_secret"], user_id=SANDBOX["x"][1]["user_id"])
    mix = kinds or ("wechat_oa", "wechat_oa", "wechat_oa", "facebook", "facebook", "x", "web_api", "orders")
    run = f"{seed}-{int(time.time())}"
    for n in range(events):
        person = rng.randrange(customers)
        kind = mix[n % len(mix)]
        hook = f"/hooks/{connectors[kind].webhook_token}/"
        if kind == "wechat_oa":
            delivery = (wechat.event(f"o_{person}", "subscribe", created=1_600_000_000 + rng.randrange(10**8)) if rng.random() < 0.1
                        else wechat.text(f"o_{person}", rng.choice(ZH)))
        elif kind == "facebook":
            delivery = meta.messages([(f"psid_{person}", rng.choice(EN))])
        elif kind == "x":
            delivery = x.dm(f"9{person}", rng.choice(EN))
        else:
            hook = "/api/v1/events" if kind == "web_api" else "/api/v1/orders"
            item = {"id": f"{run}-{n}", "customer": {"email": f"person{person}@example.com"}}
            item |= ({"type": "page_view", "url": f"https://shop.example/p/{rng.randrange(500)}"} if kind == "web_api"
                     else {"type": "order", "amount": f"{rng.randrange(10, 2000)}.00", "items": [{"sku": f"SKU{rng.randrange(50)}", "qty": 1}]})
            secret = SANDBOX[kind][2]["signing_secret"]
            delivery = deliveries.scrm_api(api_key=connectors[kind].webhook_token, signing_secret=secret, items=item)
        yield Planned(hook, delivery, 1)
        if rng.random() < redelivery_rate:
            yield Planned(hook, delivery, 0)  # the platform did not hear our answer in time


@dataclass
class TrafficReport:
    sent: int = 0
    statuses: Counter = field(default_factory=Counter)
    latencies_ms: list[float] = field(default_factory=list)
    seconds: float = 0.0
    errors: int = 0

    def percentile(self, p: float) -> float:
        if not self.latencies_ms:
            return 0.0
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]

    @property
    def rate(self) -> float:
        return self.sent / self.seconds if self.seconds else 0.0

    @property
    def median_ms(self) -> float:
        return statistics.median(self.latencies_ms) if self.latencies_ms else 0.0


def send_all(sender: WebhookSender, planned: list[Planned], *, concurrency: int = 8) -> TrafficReport:
    report = TrafficReport()

    def one(item: Planned) -> tuple[int, float]:
        started = time.perf_counter()
        try:
            answer = sender.post(item.path, item.delivery)
        except OSError:
            return -1, 0.0
        return answer.status, (time.perf_counter() - started) * 1000

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        for status, ms in pool.map(one, planned):
            report.sent += 1
            report.statuses[status] += 1
            if status < 0:
                report.errors += 1
            else:
                report.latencies_ms.append(ms)
    report.seconds = time.perf_counter() - started
    return report
