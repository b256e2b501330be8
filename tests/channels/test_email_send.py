"""Email sends through the outbox to the SMTP sink: the message as delivered, and the
platform's answers (permanent refusals final, temporary ones retried)."""

from __future__ import annotations

import pytest

from channels import outbox
from channels.models import Connector
from channels.sandboxes.smtp import SmtpSink
from channels.services import create_connector
from customers.models import Interaction
from tests.customers.factories import CustomerFactory


@pytest.fixture
def smtp():
    sink = SmtpSink(username="care@brand.example", password="smtp-password").start()
    yield sink
    sink.stop()


def _connector(sink: SmtpSink) -> Connector:
    return create_connector(
        kind="email", name="Customer care",
        config={"address": "care@brand.example", "imap_host": "127.0.0.1", "username": "care@brand.example",
                "smtp_host": "127.0.0.1", "smtp_port": sink.port, "smtp_tls": "none"},
        secrets={"password": "smtp-password"}, actor=None,
    )


def test_a_reply_is_delivered_with_text_html_and_threading(brand, smtp):
    # given a customer's email and a reply queued in the outbox
    customer = CustomerFactory()
    connector = _connector(smtp)
    message = outbox.queue_message(
        connector=connector, recipient="alice@example.com", customer_id=customer.pk,
        payload={"subject": "Re: 订单问题", "text": "您好，<订单>已发货\n谢谢", "in_reply_to": "<a1@example.com>"},
    )
    # when the outbox delivers
    assert outbox.deliver_due_messages().sent == 1
    # then the sink received one message, from the connector's address, with both parts
    (received,) = smtp.received
    assert received.mail_from == "care@brand.example" and received.rcpt_tos == ["alice@example.com"]
    mail = received.message()
    assert mail["Subject"] == "Re: 订单问题" and "care@brand.example" in mail["From"]
    assert mail["In-Reply-To"] == "<a1@example.com>"
    assert mail.get_body(("plain",)).get_content().replace("\r\n", "\n").strip() == "您好，<订单>已发货\n谢谢"
    assert "&lt;订单&gt;" in mail.get_body(("html",)).get_content()
    # and the Message-ID is recorded on the row and the customer's timeline
    message.refresh_from_db()
    assert message.status == "sent" and message.platform_message_id == mail["Message-ID"]
    assert Interaction.objects.get(customer=customer).kind == "message_out"


def test_marketing_mail_carries_one_click_unsubscribe(brand, smtp):
    connector = _connector(smtp)
    outbox.queue_message(connector=connector, recipient="bob@example.com", purpose="marketing",
                         payload={"subject": "Sale", "text": "50% off", "unsubscribe_url": "https://brand.example/u/abc"})
    outbox.deliver_due_messages()
    mail = smtp.received[0].message()
    assert mail["List-Unsubscribe"] == "<https://brand.example/u/abc>"
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_a_refused_recipient_fails_with_the_smtp_code_and_a_busy_one_is_retried(brand, smtp):
    connector = _connector(smtp)
    smtp.refuse.add("nobody@example.com")
    smtp.defer.add("busy@example.com")
    refused = outbox.queue_message(connector=connector, recipient="nobody@example.com", payload={"subject": "x", "text": "x"})
    busy = outbox.queue_message(connector=connector, recipient="busy@example.com", payload={"subject": "x", "text": "x"})
    outbox.deliver_due_messages()
    refused.refresh_from_db()
    busy.refresh_from_db()
    assert (refused.status, refused.error_code) == ("failed", "550") and "No such user" in refused.error
    assert (busy.status, busy.error_code) == ("queued", "451") and busy.attempts == 1
    assert smtp.received == []


def test_header_injection_in_the_recipient_is_refused_before_sending(brand, smtp):
    connector = _connector(smtp)
    message = outbox.queue_message(connector=connector, recipient="a@example.com\r\nBcc: victim@example.com",
                                   payload={"subject": "hi", "text": "hi"})
    outbox.deliver_due_messages()
    message.refresh_from_db()
    assert (message.status, message.error_code) == ("failed", "invalid_message")
    assert smtp.received == []


def test_wrong_smtp_credentials_are_a_final_error(brand, smtp):
    connector = _connector(smtp)
    connector.set_secrets({"smtp_password": "wrong"})
    connector.save()
    message = outbox.queue_message(connector=connector, recipient="a@example.com", payload={"subject": "hi", "text": "hi"})
    outbox.deliver_due_messages()
    message.refresh_from_db()
    assert (message.status, message.error_code) == ("failed", "535")
