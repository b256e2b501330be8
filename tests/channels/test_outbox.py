"""The outbox against the WeChat and Meta sandboxes: sends, reply windows, consent,
transient errors retried with backoff, final errors recorded with the platform's code."""

from collections import Counter
from datetime import timedelta

import pytest
from django.utils import timezone

from channels import outbox
from channels.models import OutboundMessage
from channels.sandboxes.meta import MetaSandbox
from channels.sandboxes.wechat import WeChatSandbox
from customers.models import Consent, Interaction
from tests.channels.conftest import make_connector
from tests.customers.factories import CustomerFactory


@pytest.fixture
def wechat_sandbox():
    sandbox = WeChatSandbox(token="wechat-token", appid="wx1234567890", app_secret="wechat-app-secret").start()
    yield sandbox
    sandbox.stop()


@pytest.fixture
def meta_sandbox():
    sandbox = MetaSandbox(app_secret="meta-app-secret", page_id="1000", page_token="page-token", quota=1).start()
    yield sandbox
    sandbox.stop()


def _customer_who_wrote(channel: str, ago: timedelta):
    customer = CustomerFactory()
    Interaction.objects.create(customer=customer, channel=channel, kind="message_in", occurred_at=timezone.now() - ago,
                               external_id=f"in-{customer.pk}")
    return customer


def test_a_wechat_reply_inside_48_hours_is_sent_once(brand, wechat_sandbox):
    connector = make_connector("wechat_oa", config={"appid": "wx1234567890", "api_base": wechat_sandbox.server.url},
                               secrets={"token": "wechat-token", "app_secret": "wechat-app-secret"})
    customer = _customer_who_wrote("wechat", timedelta(hours=3))
    wechat_sandbox.last_inbound["o_1"] = timezone.now().timestamp()
    message = outbox.queue_message(connector=connector, recipient="o_1", text="您好，订单已发货", customer_id=customer.pk)
    assert outbox.deliver_due_messages().sent == 1
    assert outbox.deliver_due_messages().sent == 0  # nothing sent twice
    message.refresh_from_db()
    assert message.status == "sent"
    assert wechat_sandbox.sent == [{"touser": "o_1", "msgtype": "text", "text": {"content": "您好，订单已发货"}}]
    assert Interaction.objects.filter(customer=customer, kind="message_out").count() == 1


def test_outside_the_window_the_reply_is_refused_with_a_reason_before_calling_the_platform(brand, wechat_sandbox):
    connector = make_connector("wechat_oa", config={"appid": "wx1234567890", "api_base": wechat_sandbox.server.url},
                               secrets={"token": "wechat-token", "app_secret": "wechat-app-secret"})
    customer = _customer_who_wrote("wechat", timedelta(hours=49))
    message = outbox.queue_message(connector=connector, recipient="o_1", text="hello", customer_id=customer.pk)
    outbox.deliver_due_messages()
    message.refresh_from_db()
    assert message.status == "failed" and message.error_code == "outside_window" and "48 h" in message.error
    assert wechat_sandbox.sent == []


def test_the_platforms_own_window_error_is_recorded_with_its_code(brand, wechat_sandbox):
    # our record says the customer wrote recently; the platform disagrees (45015)
    connector = make_connector("wechat_oa", config={"appid": "wx1234567890", "api_base": wechat_sandbox.server.url},
                               secrets={"token": "wechat-token", "app_secret": "wechat-app-secret"})
    customer = _customer_who_wrote("wechat", timedelta(hours=1))
    message = outbox.queue_message(connector=connector, recipient="o_never_wrote", text="hi", customer_id=customer.pk)
    outbox.deliver_due_messages()
    message.refresh_from_db()
    assert message.status == "failed" and message.error_code == "45015"


def test_marketing_needs_consent(brand, wechat_sandbox):
    connector = make_connector("wechat_oa", config={"appid": "wx1234567890", "api_base": wechat_sandbox.server.url},
                               secrets={"token": "wechat-token", "app_secret": "wechat-app-secret"})
    customer = _customer_who_wrote("wechat", timedelta(hours=1))
    message = outbox.queue_message(connector=connector, recipient="o_1", text="sale!", customer_id=customer.pk, purpose="marketing")
    outbox.deliver_due_messages()
    message.refresh_from_db()
    assert message.status == "failed" and message.error_code == "no_consent"
    Consent.objects.create(customer=customer, channel="wechat", purpose="marketing", status="granted", recorded_at=timezone.now())
    wechat_sandbox.last_inbound["o_1"] = timezone.now().timestamp()
    again = outbox.queue_message(connector=connector, recipient="o_1", text="sale!", customer_id=customer.pk, purpose="marketing")
    outbox.deliver_due_messages()
    again.refresh_from_db()
    assert again.status == "sent"


def test_meta_rate_limits_are_retried_with_backoff_and_window_errors_are_final(brand, meta_sandbox):
    connector = make_connector("facebook", config={"page_id": "1000", "graph_base": meta_sandbox.server.url},
                               secrets={"app_secret": "meta-app-secret", "page_token": "page-token"})
    customer = _customer_who_wrote("facebook", timedelta(hours=1))
    meta_sandbox.last_inbound["psid-1"] = timezone.now().timestamp()
    first = outbox.queue_message(connector=connector, recipient="psid-1", text="one", customer_id=customer.pk)
    second = outbox.queue_message(connector=connector, recipient="psid-1", text="two", customer_id=customer.pk)
    stranger = outbox.queue_message(connector=connector, recipient="psid-unknown", text="three", customer_id=customer.pk)
    outbox.deliver_due_messages()
    for message in (first, second, stranger):
        message.refresh_from_db()
    # the app's quota allows one send: one sent, the next rate limited (613) and rescheduled
    statuses = sorted([first.status, second.status])
    assert statuses == ["queued", "sent"]
    retried = first if first.status == "queued" else second
    assert retried.error_code == "613" and retried.next_attempt_at > timezone.now()
    assert stranger.status == "failed" and stranger.error_code == "10/2018278"
    assert OutboundMessage.objects.filter(status="sent").count() == 1


def test_the_outbound_page_shows_the_platforms_error_code(staff_client, wechat_sandbox):
    client, _admin = staff_client("Admin")
    connector = make_connector("wechat_oa", config={"appid": "wx1234567890", "api_base": wechat_sandbox.server.url},
                               secrets={"token": "wechat-token", "app_secret": "wechat-app-secret"})
    customer = _customer_who_wrote("wechat", timedelta(hours=1))
    outbox.queue_message(connector=connector, recipient="o_never_wrote", text="<b>hi</b>", customer_id=customer.pk)
    outbox.deliver_due_messages()
    page = client.get(f"/channels/{connector.pk}/outbound/").content.decode()
    assert "45015" in page and "response out of time limit" in page


def test_an_answer_that_is_not_wechats_is_never_counted_as_sent(brand, wechat_sandbox):
    # given a proxy in front of the API that answers its own 404 page (an API this account lacks)
    wechat_sandbox.server.routes[("POST", "/cgi-bin/message/custom/send")] = lambda call: (404, {"error": "not found"})
    connector = make_connector("wechat_oa", config={"appid": "wx1234567890", "api_base": wechat_sandbox.server.url},
                               secrets={"token": "wechat-token", "app_secret": "wechat-app-secret"})
    customer = _customer_who_wrote("wechat", timedelta(hours=1))
    wechat_sandbox.last_inbound["o_1"] = timezone.now().timestamp()
    message = outbox.queue_message(connector=connector, recipient="o_1", text="hi", customer_id=customer.pk)
    outbox.deliver_due_messages()
    message.refresh_from_db()
    assert message.status == "failed" and message.error_code == "http-404"


def test_the_send_rate_is_a_one_second_window(brand, monkeypatch):
    from channels import coordination

    clock = [1_900_000_000.2]
    monkeypatch.setattr(coordination.time, "time", lambda: clock[0])
    within_first_second = [coordination.over_rate_limit(-999_001, per_second=3) for _ in range(4)]
    clock[0] += 1.0  # the next second: a fresh allowance, not the rest of a two-second window
    next_second = [coordination.over_rate_limit(-999_001, per_second=3) for _ in range(4)]
    assert within_first_second == [False, False, False, True]
    assert next_second == [False, False, False, True]


def test_a_claim_larger_than_the_connectors_window_is_paced_not_requeued(brand, wechat_sandbox):
    # given a connector allowed 3 sends a second and 7 replies due at once
    connector = make_connector("wechat_oa", config={"appid": "wx1234567890", "api_base": wechat_sandbox.server.url,
                                                    "sends_per_second": 3},
                               secrets={"token": "wechat-token", "app_secret": "wechat-app-secret"})
    for index in range(7):
        wechat_sandbox.last_inbound[f"o_{index}"] = timezone.now().timestamp()
        outbox.queue_message(connector=connector, recipient=f"o_{index}", text="hi")

    # when one delivery runs
    report = outbox.deliver_due_messages()

    # then it waited for the next windows instead of handing rows back to the queue, and
    # no wall-clock second saw more than the window (plus the one row its single send
    # thread may still have in flight as a second turns)
    assert report.sent == 7 and OutboundMessage.objects.filter(status="sent").count() == 7
    sends = [call.at for call in wechat_sandbox.server.calls if call.path == "/cgi-bin/message/custom/send"]
    per_second = Counter(int(at) for at in sends)
    assert len(sends) == 7 and len(per_second) >= 2 and max(per_second.values()) <= 3 + 1


def test_one_recipients_messages_reach_the_platform_in_the_order_they_were_queued(brand, wechat_sandbox):
    # given a connector with several send lanes and interleaved replies to three customers
    connector = make_connector("wechat_oa", config={"appid": "wx1234567890", "api_base": wechat_sandbox.server.url,
                                                    "sends_per_second": 100},
                               secrets={"token": "wechat-token", "app_secret": "wechat-app-secret"})
    assert outbox.lanes_for(100, 30) > 1
    for index in range(30):
        recipient = f"o_{index % 3}"
        wechat_sandbox.last_inbound[recipient] = timezone.now().timestamp()
        outbox.queue_message(connector=connector, recipient=recipient, text=f"part {index}")
    # when one delivery sends them side by side
    assert outbox.deliver_due_messages().sent == 30
    # then each customer received their messages in the order the agent wrote them
    for person in range(3):
        received = [sent["text"]["content"] for sent in wechat_sandbox.sent if sent["touser"] == f"o_{person}"]
        assert received == [f"part {index}" for index in range(person, 30, 3)]
