"""The outbox with a real worker process: SIGKILLed in the middle of a claim, it never
causes a second send of any row (rows caught "sending" become "unknown", never retried)."""

from __future__ import annotations

import time
from collections import Counter
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone
from django_tenants.utils import tenant_context

from channels import outbox
from channels.models import OutboundMessage
from channels.sandboxes.wechat import WeChatSandbox
from tests.channels.conftest import make_connector
from tests.channels.test_reliability import _kill_tree
from tests.conftest import wait_until

pytestmark = pytest.mark.worker


def test_sigkill_mid_claim_never_sends_a_row_twice(celery_worker, committed_brand):
    # given a platform that answers slowly and 600 queued messages for a worker to deliver
    sandbox = WeChatSandbox(token="wechat-token", appid="wx1234567890", app_secret="wechat-app-secret",
                            sends_per_second=10**6).start()
    answer = sandbox.server.routes[("POST", "/cgi-bin/message/custom/send")]
    sandbox.server.routes[("POST", "/cgi-bin/message/custom/send")] = lambda call: (time.sleep(0.02), answer(call))[1]
    recipients = [f"o_{index}" for index in range(600)]
    for openid in recipients:
        sandbox.last_inbound[openid] = time.time()
    try:
        with tenant_context(committed_brand):
            connector = make_connector("wechat_oa", config={"appid": "wx1234567890", "api_base": sandbox.server.url,
                                                            "sends_per_second": 200},
                                       secrets={"token": "wechat-token", "app_secret": "wechat-app-secret"})
            with transaction.atomic():
                outbox.queue_messages([OutboundMessage(connector=connector, recipient=openid, payload={"text": "hi"})
                                       for openid in recipients])

        # when the worker is SIGKILLed while it is sending
        wait_until(lambda: len(sandbox.sent) >= 100, timeout=120, interval=0.01)
        _kill_tree(celery_worker.proc)
        with tenant_context(committed_brand):
            assert OutboundMessage.objects.filter(status__in=["queued", "sending"]).exists()
            # five minutes later (the claim moved back), another delivery runs to the end
            OutboundMessage.objects.filter(status="sending").update(next_attempt_at=timezone.now() - timedelta(minutes=6))
            while outbox.deliver_due_messages().claimed:
                pass
            statuses = Counter(OutboundMessage.objects.values_list("status", flat=True))
            sent_to = set(OutboundMessage.objects.filter(status="sent").values_list("recipient", flat=True))

        # then no one got the message twice, every row is sent or honestly unknown, and
        # every row marked sent was received
        received = Counter(message["touser"] for message in sandbox.sent)
        assert received and max(received.values()) == 1
        assert statuses["sent"] + statuses["unknown"] == 600 and statuses["unknown"] > 0
        assert sent_to <= set(received)
    finally:
        sandbox.stop()
