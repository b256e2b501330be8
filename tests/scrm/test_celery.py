"""Celery end to end with a real worker process: heartbeats, brand-scoped tasks, fan-out."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone
from django_tenants.utils import schema_context, tenant_context

from scrm import health, tenancy
from scrm.staff.models import BrandHeartbeat
from scrm.tasks import fan_out_task, record_brand_heartbeat_task, record_worker_heartbeat_task
from tests.conftest import wait_until

pytestmark = pytest.mark.worker


def _beats(brand) -> int:  # noqa: ANN001
    with tenant_context(brand):
        beat = BrandHeartbeat.objects.filter(key="worker").first()
        return beat.beats if beat else 0


def test_worker_heartbeat_reaches_healthz(celery_worker, committed_brand):
    # given a running worker
    # when the beat's heartbeat task is queued
    record_worker_heartbeat_task.delay()
    # then /healthz on a brand host reports a fresh heartbeat
    wait_until(lambda: health.worker_heartbeat()[0] is not None)
    response = Client(HTTP_HOST=committed_brand.primary_host()).get("/healthz")
    status = response.json()
    assert response.status_code == 200
    assert status["db"] == "ok" and status["redis"] == "ok"
    assert status["worker_ok"] is True
    assert status["worker_heartbeat_age_s"] < 60


def test_a_brand_task_writes_only_its_own_brands_schema(celery_worker, committed_brand, brands):
    # given two brands
    other = brands["beta"]
    before_other = _beats(other)
    # when a task is queued from inside the first brand
    with tenant_context(committed_brand):
        record_brand_heartbeat_task.delay()
    # then the worker ran it in that brand's schema, and the other brand is untouched
    wait_until(lambda: _beats(committed_brand) == 1)
    assert _beats(other) == before_other
    with schema_context("public"), connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass('public.staff_brandheartbeat')")
        assert cursor.fetchone()[0] is None  # nothing brand-private in public


def test_fan_out_queues_the_task_once_per_brand(celery_worker, committed_brand):
    fan_out_task.delay("scrm.tasks.record_brand_heartbeat_task")
    wait_until(lambda: _beats(committed_brand) >= 1)
    assert _beats(committed_brand) == 1


def test_a_brand_task_without_a_brand_refuses_to_run(committed, caplog):
    connection.set_schema_to_public()
    result = record_brand_heartbeat_task.apply()
    assert result.result is None
    assert "brand task refused" in caplog.text


def test_a_probed_sweep_is_queued_only_for_brands_with_work_due(db, brands):
    from channels.models import OutboundMessage
    from channels.tasks import sweep_outbound_task
    from tests.channels.conftest import make_connector

    alpha, beta = brands["alpha"], brands["beta"]
    # given a reply due in alpha, and in beta one due only in an hour
    for brand, delay in ((alpha, timedelta(0)), (beta, timedelta(hours=1))):
        with tenant_context(brand):
            connector = make_connector("wechat_oa")
            OutboundMessage.objects.create(connector=connector, recipient="o_1", payload={"text": "hi"},
                                           next_attempt_at=timezone.now() + delay)
    # when the beat asks which brands to sweep, then only alpha is named
    assert tenancy.brands_where(sweep_outbound_task.due_sql, [alpha, beta]) == [alpha]
    # and a probe that cannot run (a table missing mid-migration) sweeps them all rather than none
    missing = "EXISTS (SELECT 1 FROM {schema}.no_such_table)"
    assert tenancy.brands_where(missing, [alpha, beta]) == [alpha, beta]


def test_the_ingest_and_polling_sweeps_are_probed_too(db, brands):
    from channels import services
    from channels.models import RawEvent
    from channels.polling import poll_due_connectors_task
    from channels.tasks import sweep_pending_events_task
    from tests.channels.conftest import make_connector

    alpha, beta = brands["alpha"], brands["beta"]
    # given a delivery waiting 20 s in alpha (its task lost) and one just received in beta
    for brand, age in ((alpha, 20), (beta, 1)):
        with tenant_context(brand):
            connector = make_connector("web_api")
            services.store_raw_event(connector=connector, body=b"{}", dedupe_key="d1", headers={})
            RawEvent.objects.update(received_at=timezone.now() - timedelta(seconds=age))
    # and a Weibo connector due to poll in beta only
    with tenant_context(beta):
        make_connector("weibo")
    # then each sweep names only the brand with work for it
    assert tenancy.brands_where(sweep_pending_events_task.due_sql, [alpha, beta]) == [alpha]
    assert tenancy.brands_where(poll_due_connectors_task.due_sql, [alpha, beta]) == [beta]


def test_the_inbox_minute_sweeps_are_probed(db, brands):
    from engagement.inbox.models import Conversation
    from engagement.inbox.tasks import (
        notify_queue_positions_task,
        reassign_overdue_conversations_task,
        wake_snoozed_conversations_task,
    )
    from tests.channels.conftest import make_connector
    from tests.customers.factories import CustomerFactory
    from tests.engagement.inbox.helpers import agent

    alpha, beta = brands["alpha"], brands["beta"]
    past = timezone.now() - timedelta(minutes=5)
    with tenant_context(alpha):  # assigned and overdue; snoozed until a minute ago
        connector = make_connector("wechat_oa")
        Conversation.objects.create(customer=CustomerFactory(), connector=connector, channel="wechat", status="open",
                                    assignee=agent(), awaiting_since=past, first_response_due_at=past)
        Conversation.objects.create(customer=CustomerFactory(), connector=connector, channel="wechat", status="snoozed",
                                    snoozed_until=past)
    with tenant_context(beta):  # waiting in the queue
        connector = make_connector("wechat_oa")
        Conversation.objects.create(customer=CustomerFactory(), connector=connector, channel="wechat", status="open",
                                    queued_at=past, awaiting_since=past)
    assert tenancy.brands_where(reassign_overdue_conversations_task.due_sql, [alpha, beta]) == [alpha]
    assert tenancy.brands_where(wake_snoozed_conversations_task.due_sql, [alpha, beta]) == [alpha]
    assert tenancy.brands_where(notify_queue_positions_task.due_sql, [alpha, beta]) == [beta]
