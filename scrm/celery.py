"""The Celery app. tenant-schemas-celery stamps each task with the schema it was queued
from and switches the worker's connection to it, so tasks never name a schema.

Reliability (DESIGN.md): acks_late + reject_on_worker_lost, prefetch 1, idempotent tasks,
no long countdowns (the database schedules, the sweeper re-enqueues).
"""

import os

from celery.schedules import crontab
from kombu import Queue
from tenant_schemas_celery.app import CeleryApp

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "scrm.settings.base")

app = CeleryApp("scrm")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.task_queues = [Queue(name) for name in ("ingest", "outbound", "analytics", "default")]
app.conf.task_routes = {
    "channels.tasks.*_outbound_task": {"queue": "outbound"},
    "channels.*": {"queue": "ingest"},
    "scrm.tasks.*": {"queue": "default"},
    "segments.tasks.*": {"queue": "analytics"},
}
app.conf.beat_schedule = {
    # Nightly: every customer's windowed counts aged (ingestion only ever adds).
    "customer-aggregates-fan-out": {
        "task": "scrm.tasks.fan_out_task",
        "schedule": crontab(hour=3, minute=17),
        "args": ("customers.tasks.refresh_all_aggregates_task",),
    },
    "worker-heartbeat": {
        "task": "scrm.tasks.record_worker_heartbeat_task",
        "schedule": 10.0,
    },
    "brand-heartbeat-fan-out": {
        "task": "scrm.tasks.fan_out_task",
        "schedule": 60.0,
        "args": ("scrm.tasks.record_brand_heartbeat_task",),
    },
    # Ingestion sweeper: enqueue RawEvents left pending (lost task, Redis outage), in the
    # brands where some wait (its due_sql); sentiment lost the same way, every minute.
    "ingest-sweeper-fan-out": {
        "task": "scrm.tasks.fan_out_task",
        "schedule": 10.0,
        "args": ("channels.tasks.sweep_pending_events_task",),
    },
    "sentiment-sweeper-fan-out": {
        "task": "scrm.tasks.fan_out_task",
        "schedule": 60.0,
        "args": ("channels.tasks.sweep_unscored_task",),
    },
    # Only brands with rows due (sweep_outbound_task.due_sql); every brand each 5 minutes,
    # which also settles rows a killed worker left "sending".
    "outbound-sweeper-fan-out": {
        "task": "scrm.tasks.fan_out_task",
        "schedule": 5.0,
        "args": ("channels.tasks.sweep_outbound_task",),
    },
    "outbound-sweeper-all-fan-out": {
        "task": "scrm.tasks.fan_out_task",
        "schedule": 300.0,
        "args": ("channels.tasks.sweep_outbound_task",),
        "kwargs": {"all_brands": True},
    },
    "raw-event-retention-fan-out": {
        "task": "scrm.tasks.fan_out_task",
        "schedule": 3600.0,
        "args": ("channels.tasks.purge_processed_raw_events_task",),
    },
    # Polling connectors (Weibo comments and mentions, IMAP): brands with one due (due_sql).
    "polling-fan-out": {
        "task": "scrm.tasks.fan_out_task",
        "schedule": 15.0,
        "args": ("channels.polling.poll_due_connectors_task",),
    },
    "segments-refresh-fan-out": {
        "task": "scrm.tasks.fan_out_task",
        "schedule": 900.0,
        "args": ("segments.tasks.refresh_segments_task",),
    },
    "scores-fan-out": {
        "task": "scrm.tasks.fan_out_task",
        "schedule": 6 * 3600.0,
        "args": ("segments.tasks.compute_scores_task",),
    },
    # Inbox: requeue conversations whose assignee missed the SLA; wake snoozed ones.
    "inbox-sla-fan-out": {
        "task": "scrm.tasks.fan_out_task",
        "schedule": 60.0,
        "args": ("engagement.inbox.tasks.reassign_overdue_conversations_task",),
    },
    "inbox-snooze-fan-out": {
        "task": "scrm.tasks.fan_out_task",
        "schedule": 60.0,
        "args": ("engagement.inbox.tasks.wake_snoozed_conversations_task",),
    },
    # Inbox: tell waiting customers a much better queue position; listening alerts.
    "inbox-queue-notices-fan-out": {
        "task": "scrm.tasks.fan_out_task",
        "schedule": 60.0,
        "args": ("engagement.inbox.tasks.notify_queue_positions_task",),
    },
    "listening-alerts-fan-out": {
        "task": "scrm.tasks.fan_out_task",
        "schedule": 600.0,
        "args": ("engagement.inbox.tasks.detect_listening_alerts_task",),
    },
    "campaigns-tick-fan-out": {
        "task": "scrm.tasks.fan_out_task",
        "schedule": 60.0,
        "args": ("engagement.campaigns.tasks.tick_campaigns_task",),
    },
    "campaigns-best-hours-fan-out": {
        "task": "scrm.tasks.fan_out_task",
        "schedule": 24 * 3600.0,
        "args": ("engagement.campaigns.tasks.compute_best_send_hours_task",),
    },
}
app.autodiscover_tasks()
