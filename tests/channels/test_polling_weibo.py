"""Weibo comments and mentions polled from the Weibo API sandbox: each fetched once, the
cursor moving, rate limits backing off, and a real worker driving the beat fan-out."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from channels import pipeline, polling
from channels.adapters import weibo_poll
from channels.models import Connector, RawEvent
from channels.sandboxes.weibo_api import WeiboApiSandbox
from customers.models import Identity, Interaction
from tests.channels.conftest import make_connector
from tests.conftest import wait_until


@pytest.fixture
def weibo_api():
    sandbox = WeiboApiSandbox(access_token="weibo-access-token", uid="5550001").start()
    yield sandbox
    sandbox.stop()


def _connector(sandbox: WeiboApiSandbox, **config) -> Connector:  # noqa: ANN003
    return make_connector("weibo", config={"uid": "5550001", "api_base": sandbox.server.url, **config},
                          secrets={"app_secret": "weibo-app-secret", "access_token": "weibo-access-token"})


def _make_due(connector: Connector) -> None:
    Connector.objects.filter(pk=connector.pk).update(next_poll_at=timezone.now() - timedelta(seconds=1))


def test_a_poll_fetches_new_comments_and_mentions_once(brand, weibo_api):
    # given two comments and a mention waiting on Weibo
    connector = _connector(weibo_api)
    weibo_api.comment("7001", "质量很好，已回购")
    weibo_api.comment("7002", "物流太慢了")
    weibo_api.mention("7001", "@品牌 新品什么时候上？")
    # when the connector is polled and the pipeline runs
    outcome = polling.poll_connector(connector_id=connector.pk)
    pipeline.process_pending_batch()
    # then each became one raw event and one interaction on the commenter's profile
    assert (outcome.fetched, outcome.stored) == (3, 3)
    assert sorted(Interaction.objects.values_list("kind", flat=True)) == ["comment", "comment", "mention"]
    fan = Identity.objects.get(kind="weibo_uid", value="7001").customer
    assert set(Interaction.objects.filter(customer=fan).values_list("text", flat=True)) == {"质量很好，已回购", "@品牌 新品什么时候上？"}
    # and the cursor holds the newest ids
    connector.refresh_from_db()
    assert connector.cursor["comments"] == {"since_id": weibo_api.comments[-1]["id"]}
    assert connector.last_poll_at is not None and connector.next_poll_at > timezone.now()

    # when polled again with nothing new
    _make_due(connector)
    again = polling.poll_connector(connector_id=connector.pk)
    # then the platform was asked only for newer items and nothing was stored twice
    assert (again.fetched, again.stored) == (0, 0)
    assert weibo_api.server.calls[-2].query["since_id"] == str(weibo_api.comments[-1]["id"])
    assert RawEvent.objects.count() == 3

    # and a later comment is fetched on the next poll, alone
    weibo_api.comment("7003", "客服回复很快 👍")
    _make_due(connector)
    assert polling.poll_connector(connector_id=connector.pk).stored == 1
    pipeline.process_pending_batch()
    assert Interaction.objects.count() == 4


def test_a_poll_that_is_not_due_does_nothing(brand, weibo_api):
    connector = _connector(weibo_api)
    weibo_api.comment("7001", "hello")
    assert polling.poll_connector(connector_id=connector.pk).polled
    weibo_api.comment("7002", "too early")
    # when polled again before its interval has passed
    outcome = polling.poll_connector(connector_id=connector.pk)
    # then the platform is not called
    assert not outcome.polled and RawEvent.objects.count() == 1


def test_a_backlog_larger_than_one_poll_is_read_across_polls_without_gaps(brand, weibo_api, monkeypatch):
    # given 13 comments and pages of 2 (5 pages per poll: 10 comments)
    monkeypatch.setattr(weibo_poll, "MAX_PAGES_PER_POLL", 5)
    connector = _connector(weibo_api, page_size=2)
    comments = [weibo_api.comment(str(8000 + n), f"comment {n}") for n in range(13)]
    # when polled twice
    first = polling.poll_connector(connector_id=connector.pk)
    connector.refresh_from_db()
    # then the first poll read the newest ten, asked to come back at once, and kept since_id
    assert first.stored == 10 and connector.next_poll_at <= timezone.now()
    assert connector.cursor["comments"]["since_id"] == 0
    second = polling.poll_connector(connector_id=connector.pk)
    connector.refresh_from_db()
    # and the second read the older three; the cursor now sits on the newest
    assert second.stored == 3
    assert connector.cursor["comments"] == {"since_id": comments[-1]["id"]}
    keys = set(RawEvent.objects.values_list("dedupe_key", flat=True))
    assert keys == {f"comments:{c['id']}" for c in comments}


def test_a_rate_limit_backs_off_and_is_recorded(brand, weibo_api):
    # given Weibo's hourly quota is spent
    connector = _connector(weibo_api)
    weibo_api.comment("7001", "hello")
    weibo_api.reset_quota(0)
    # when the connector is polled
    outcome = polling.poll_connector(connector_id=connector.pk)
    # then nothing is stored, the error is recorded and the next poll waits
    connector.refresh_from_db()
    assert "10023" in outcome.error and "10023" in connector.last_error
    assert connector.poll_failures == 1
    assert connector.next_poll_at >= timezone.now() + timedelta(seconds=weibo_poll.RATE_LIMIT_WAIT_SECONDS - 5)
    assert RawEvent.objects.count() == 0 and connector.cursor == {}
    # and a poll before then does not call the platform
    calls = len(weibo_api.server.calls)
    assert not polling.poll_connector(connector_id=connector.pk).polled
    assert len(weibo_api.server.calls) == calls

    # when the quota resets and the poll is due again
    weibo_api.reset_quota(None)
    _make_due(connector)
    assert polling.poll_connector(connector_id=connector.pk).stored == 1
    connector.refresh_from_db()
    assert connector.poll_failures == 0


def test_repeated_errors_back_off_exponentially(brand, weibo_api):
    connector = _connector(weibo_api, poll_interval_seconds="30")
    Connector.objects.filter(pk=connector.pk).update(secrets_encrypted="")  # no token: 21332
    delays = []
    for _ in range(3):
        _make_due(connector)
        polling.poll_connector(connector_id=connector.pk)
        connector.refresh_from_db()
        delays.append((connector.next_poll_at - connector.last_poll_at).total_seconds())
    assert "21332" in connector.last_error
    assert delays == [60.0, 120.0, 240.0]


def test_hostile_comments_are_stored_safely(brand, weibo_api):
    # given a comment with script in its source, NUL bytes, RTL marks and 100k characters
    connector = _connector(weibo_api)
    weibo_api.comment("7009", "<script>alert(1)</script>\x00\u202e" + "长" * 100_000,
                      source='<a href="javascript:alert(1)"><script>steal()</script>客户端</a>')
    # when polled and processed
    polling.poll_connector(connector_id=connector.pk)
    result = pipeline.process_pending_batch()
    # then the interaction holds plain, bounded text without NUL and a source without markup
    assert result.failed == 0
    interaction = Interaction.objects.get()
    assert "\x00" not in interaction.text and len(interaction.text) <= weibo_poll.MAX_TEXT
    assert interaction.metadata["source"] == "客户端"


def test_the_brands_own_replies_are_not_recorded_as_customer_comments(brand, weibo_api):
    connector = _connector(weibo_api)
    weibo_api.comment("5550001", "感谢支持！")
    polling.poll_connector(connector_id=connector.pk)
    pipeline.process_pending_batch()
    assert Interaction.objects.count() == 0
    assert RawEvent.objects.get().status == "done"


def test_only_due_enabled_polling_connectors_are_fanned_out(brand, weibo_api):
    due = _connector(weibo_api)
    disabled = _connector(weibo_api)
    Connector.objects.filter(pk=disabled.pk).update(enabled=False)
    later = _connector(weibo_api)
    Connector.objects.filter(pk=later.pk).update(next_poll_at=timezone.now() + timedelta(minutes=5))
    make_connector("web_api")
    assert polling.due_connector_ids() == [due.pk]


@pytest.mark.worker
def test_the_beat_fan_out_polls_through_a_real_worker(celery_worker, committed_brand):
    # given a brand with a Weibo connector and comments waiting
    sandbox = WeiboApiSandbox(access_token="weibo-access-token", uid="5550001").start()
    try:
        sandbox.comment("7101", "第一条")
        sandbox.mention("7102", "@品牌 你好")
        with tenant_context(committed_brand):
            _connector(sandbox)
            # when beat's per-brand task runs
            polling.poll_due_connectors_task.delay()
        # then the worker polls, stores and processes them onto profiles
        def landed() -> bool:
            with tenant_context(committed_brand):
                return Interaction.objects.filter(channel="weibo").count() == 2
        wait_until(landed, timeout=60, interval=0.3)
        with tenant_context(committed_brand):
            assert RawEvent.objects.filter(status="done").count() == 2
    finally:
        sandbox.stop()


def test_the_connector_page_shows_the_poll_state(staff_client, weibo_api):
    client, _admin = staff_client("Admin")
    connector = _connector(weibo_api)
    weibo_api.comment("7001", "hello")
    weibo_api.reset_quota(0)
    polling.poll_connector(connector_id=connector.pk)
    page = client.get(f"/channels/{connector.pk}/").content.decode()
    assert 'data-testid="last-poll"' in page and "10023" in page and "backing off after 1 failed poll" in page
    weibo_api.reset_quota(None)
    _make_due(connector)
    polling.poll_connector(connector_id=connector.pk)
    page = client.get(f"/channels/{connector.pk}/").content.decode()
    assert f"since_id&#x27;: {weibo_api.comments[-1]['id']}" in page


def test_an_email_connector_is_added_with_typed_settings_and_a_hidden_password(staff_client):
    client, _admin = staff_client("Admin")
    response = client.post("/channels/new/?kind=email", {
        "kind": "email", "name": "Care inbox", "enabled": "on", "config_address": "care@brand.example",
        "config_imap_host": "imap.brand.example", "config_imap_port": "993", "config_imap_tls": "ssl",
        "config_username": "care", "config_mailbox": "INBOX", "config_smtp_tls": "starttls",
        "config_poll_interval_seconds": "30", "secret_password": "s3cret-imap",
    })
    assert response.status_code == 302
    connector = Connector.objects.get(name="Care inbox")
    assert connector.config["imap_port"] == 993 and connector.config["imap_tls"] == "ssl"
    assert connector.secret("password") == "s3cret-imap" and "s3cret-imap" not in connector.secrets_encrypted
    page = client.get(f"/channels/{connector.pk}/").content.decode()
    assert "s3cret-imap" not in page and 'data-testid="poll-cursor"' in page
    # a bad port is refused
    bad = client.post(f"/channels/{connector.pk}/", {"name": "Care inbox", "config_address": "care@brand.example",
                                                      "config_imap_host": "x", "config_username": "care", "config_imap_port": "70000"})
    assert bad.status_code == 200 and Connector.objects.get(pk=connector.pk).config["imap_port"] == 993


def test_another_brands_polling_connector_is_neither_shown_nor_polled(staff_client, other_brand, weibo_api):
    client, _admin = staff_client("Admin")
    with tenant_context(other_brand):
        theirs = _connector(weibo_api)
    weibo_api.comment("7001", "for beta only")
    # the page of their connector is 404 here, and a poll of its id from here does nothing
    assert client.get(f"/channels/{theirs.pk}/").status_code == 404
    assert not polling.poll_connector(connector_id=theirs.pk).polled
    assert weibo_api.server.calls == [] and RawEvent.objects.count() == 0
