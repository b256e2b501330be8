"""Email over IMAP against the IMAP sandbox: messages land on the sender's profile once,
the UID cursor moves, hostile MIME is stored safely, login errors back off."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from email.message import EmailMessage

import pytest
from django.utils import timezone

from channels import pipeline, polling
from channels.adapters import email as email_adapter
from channels.models import Connector, RawEvent
from channels.sandboxes.imap import ImapSandbox
from channels.services import create_connector
from customers.models import Interaction
from tests.customers.factories import IdentityFactory


@pytest.fixture
def imap():
    sandbox = ImapSandbox(username="care@brand.example", password="imap-password").start()
    yield sandbox
    sandbox.stop()


def _connector(sandbox: ImapSandbox, password: str = "imap-password") -> Connector:
    return create_connector(
        kind="email", name="Customer care",
        config={"address": "care@brand.example", "imap_host": "127.0.0.1", "imap_port": sandbox.port,
                "imap_tls": "none", "username": "care@brand.example", "mailbox": "INBOX"},
        secrets={"password": password}, actor=None,
    )


def _mail(sender: str, subject: str, text: str, *, html: str | None = None, message_id: str | None = None) -> bytes:
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = sender, "care@brand.example", subject
    mail["Date"] = "Mon, 23 Nov 2026 10:00:00 +0800"
    if message_id:
        mail["Message-ID"] = message_id
    mail.set_content(text)
    if html is not None:
        mail.add_alternative(html, subtype="html")
    return bytes(mail)


def _make_due(connector: Connector) -> None:
    Connector.objects.filter(pk=connector.pk).update(next_poll_at=timezone.now() - timedelta(seconds=1))


def test_mail_lands_on_the_customer_with_that_email_once(brand, imap):
    # given a customer known by email, and two messages in the mailbox
    known = IdentityFactory(value="alice@example.com").customer
    imap.deliver(_mail("Alice <ALICE@example.com>", "订单问题", "我的订单还没到\n\nOn Mon, Bob wrote:\n> old text",
                       message_id="<a1@example.com>"))
    imap.deliver(_mail("new.person@example.org", "Hello", "Do you ship to Berlin?", message_id="<n1@example.org>"))
    connector = _connector(imap)
    # when the mailbox is polled and the pipeline runs
    assert polling.poll_connector(connector_id=connector.pk).stored == 2
    pipeline.process_pending_batch()
    # then Alice's message is on Alice's profile, quoted reply stripped, threading kept
    alice = Interaction.objects.get(customer=known)
    assert (alice.channel, alice.kind, alice.text) == ("email", "message_in", "我的订单还没到")
    assert alice.metadata["subject"] == "订单问题" and alice.metadata["message_id"] == "<a1@example.com>"
    # and the stranger got a new profile
    assert Interaction.objects.exclude(customer=known).get().text == "Do you ship to Berlin?"
    connector.refresh_from_db()
    assert connector.cursor["last_uid"] == 2

    # when polled again
    _make_due(connector)
    outcome = polling.poll_connector(connector_id=connector.pk)
    # then nothing was fetched again ("UID 3:*" answers UID 2, which the cursor filters)
    assert outcome.fetched == 0 and imap.fetched == [1, 2]
    # and a new reply is fetched alone
    imap.deliver(_mail("alice@example.com", "Re: 订单问题", "收到了，谢谢", message_id="<a2@example.com>"))
    _make_due(connector)
    assert polling.poll_connector(connector_id=connector.pk).stored == 1
    pipeline.process_pending_batch()
    assert Interaction.objects.filter(customer=known).count() == 2


def test_a_renumbered_mailbox_is_read_again_without_duplicates(brand, imap):
    connector = _connector(imap)
    imap.deliver(_mail("a@example.com", "one", "one", message_id="<one@example.com>"))
    polling.poll_connector(connector_id=connector.pk)
    # when the server rebuilds the mailbox (new UIDVALIDITY) and a message arrives
    imap.renumber()
    imap.deliver(_mail("b@example.com", "two", "two", message_id="<two@example.com>"))
    _make_due(connector)
    outcome = polling.poll_connector(connector_id=connector.pk)
    pipeline.process_pending_batch()
    # then both were read, but each message is stored and recorded once
    assert outcome.fetched == 2 and outcome.stored == 1
    assert Interaction.objects.count() == 2


def test_hostile_mime_is_stored_safely(brand, imap, monkeypatch):
    monkeypatch.setattr(email_adapter, "MAX_MESSAGE_BYTES", 200_000)
    # given: script in HTML, a huge message with an attachment, malformed MIME, NUL bytes
    imap.deliver(_mail("x@example.com", "<script>alert(1)</script>", "", message_id="<h1@example.com>",
                       html="<html><head><style>*{}</style><script>alert('x')</script></head>"
                            "<body><p onclick='evil()'>Click <a href='javascript:alert(1)'>here</a> &lt;b&gt;</p></body></html>"))
    huge = EmailMessage()
    huge["From"], huge["Subject"], huge["Message-ID"] = "big@example.com", "huge", "<big@example.com>"
    huge.set_content("start " + "x" * 300_000)
    huge.add_attachment(b"\x00" * 50_000, maintype="application", subtype="octet-stream", filename="payload.bin")
    imap.deliver(bytes(huge))
    imap.deliver(
        b"From: broken@example.com\r\nSubject: =?bogus-charset?Q?=E4=BD?=\r\nMessage-ID: <broken@example.com>\r\n"
        b"Content-Type: multipart/mixed; boundary=\"never-closed\"\r\nDate: not a date\r\n\r\n"
        b"--never-closed\r\nContent-Type: text/plain; charset=x-unknown-charset\r\n\r\nhello\x00 \xff\xfe world\r\n"
        b"--never-closed\r\nContent-Type: application/pdf; name=\"a\x00b.pdf\"\r\nContent-Disposition: attachment; filename=\"invoice.pdf\"\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\n!!!not base64!!!\r\n"
    )
    imap.deliver(b"no headers at all, just text\r\n")
    connector = _connector(imap)
    # when polled and processed
    assert polling.poll_connector(connector_id=connector.pk).stored == 4
    result = pipeline.process_pending_batch()
    # then nothing failed; the sender-less message is kept as unhandled
    assert result.failed == 0
    assert RawEvent.objects.filter(status="unhandled").count() == 1
    by_sender = {i.customer.identities.get().value: i for i in Interaction.objects.select_related("customer")}
    scripted = by_sender["x@example.com"]
    assert "<" not in scripted.text.replace("<b>", "") and "alert" not in scripted.text and "evil" not in scripted.text
    assert scripted.text.startswith("Click here")
    big = by_sender["big@example.com"]
    # only MAX_MESSAGE_BYTES were downloaded; the text is bounded
    assert len(big.text) <= email_adapter.MAX_TEXT and big.metadata["truncated_from_bytes"] > 200_000
    big_key = "msgid:" + hashlib.sha256(b"<big@example.com>").hexdigest()
    assert len(bytes(RawEvent.objects.get(dedupe_key=big_key).body)) == 200_000
    broken = by_sender["broken@example.com"]
    assert "\x00" not in broken.text and "hello" in broken.text
    assert [a["filename"] for a in broken.metadata["attachments"]] == ["invoice.pdf"]


def test_attachments_are_listed_not_stored_in_the_interaction(brand, imap):
    mail = EmailMessage()
    mail["From"], mail["Subject"], mail["Message-ID"] = "c@example.com", "receipt", "<r@example.com>"
    mail.set_content("see attached")
    mail.add_attachment(b"%PDF-1.4 fake", maintype="application", subtype="pdf", filename="receipt.pdf")
    imap.deliver(bytes(mail))
    polling.poll_connector(connector_id=_connector(imap).pk)
    pipeline.process_pending_batch()
    interaction = Interaction.objects.get()
    assert interaction.metadata["attachments"] == [{"filename": "receipt.pdf", "content_type": "application/pdf", "size": 13}]
    assert "PDF-1.4" not in interaction.text


def test_a_wrong_password_is_recorded_and_backs_off(brand, imap):
    connector = _connector(imap, password="wrong")
    imap.deliver(_mail("a@example.com", "hi", "hi"))
    outcome = polling.poll_connector(connector_id=connector.pk)
    connector.refresh_from_db()
    assert "AUTHENTICATIONFAILED" in outcome.error and "AUTHENTICATIONFAILED" in connector.last_error
    assert connector.poll_failures == 1 and connector.next_poll_at > timezone.now() + timedelta(seconds=60)
    assert RawEvent.objects.count() == 0


def test_an_unreachable_server_is_recorded(brand, imap):
    connector = _connector(imap)
    imap.stop()
    outcome = polling.poll_connector(connector_id=connector.pk)
    connector.refresh_from_db()
    assert outcome.error and connector.poll_failures == 1 and connector.last_error_at is not None
