"""Listening alerts: a monitor's last hour well above its baseline.

Baseline: the same hour-long window on each of the previous BASELINE_DAYS days (same
time of day), for volume and for the negative share (mentions with sentiment below
NEGATIVE_BELOW). One grouped SQL query computes, for every enabled monitor at once, the
last hour's values and the baseline mean and standard deviation; z = (observed − mean) /
max(stddev, floor). An alert needs z ≥ the brand's threshold and at least its minimum
volume in the hour; there is at most one per monitor, kind and clock hour. Delivery (email,
signed webhook) happens in a task after commit, with a timeout and retries, so detection
never waits on a slow receiver.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.core.mail import send_mail
from django.db import connection, transaction
from django.utils import timezone

from engagement.inbox.models import ListeningAlert, ListeningAlertSettings, Mention, Monitor

logger = logging.getLogger(__name__)

BASELINE_DAYS = 7
NEGATIVE_BELOW = -0.2
# Floors on the deviation, so a flat baseline (all zeros) does not make any blip infinite.
VOLUME_STD_FLOOR = 1.0
SHARE_STD_FLOOR = 0.05
WEBHOOK_TIMEOUT = 5.0
SIGNATURE_HEADER = "X-SCRM-Signature"


def alert_settings() -> ListeningAlertSettings:
    settings = ListeningAlertSettings.objects.first()
    if settings is None:
        settings = ListeningAlertSettings.objects.create(webhook_secret=secrets.token_hex(32))
    return settings


@dataclass(frozen=True)
class Baseline:
    monitor_id: int
    volume: int
    negative_share: float | None
    volume_mean: float
    volume_std: float
    share_mean: float | None
    share_std: float | None


_BASELINE_SQL = """
WITH windows AS (
    SELECT k, %(now)s::timestamptz - make_interval(days => k) AS until FROM generate_series(0, %(days)s) AS k
), counts AS (
    SELECT m.id AS monitor_id, w.k, count(x.id) AS volume,
           count(x.id) FILTER (WHERE x.sentiment < %(negative)s) AS negative
    FROM {monitor} AS m CROSS JOIN windows AS w
    LEFT JOIN {mention} AS x
      ON x.monitor_id = m.id AND x.occurred_at > w.until - interval '1 hour' AND x.occurred_at <= w.until
    WHERE m.enabled
    GROUP BY m.id, w.k
)
SELECT monitor_id,
       max(volume) FILTER (WHERE k = 0),
       max(negative::float / nullif(volume, 0)) FILTER (WHERE k = 0),
       avg(volume) FILTER (WHERE k > 0),
       stddev_pop(volume) FILTER (WHERE k > 0),
       avg(negative::float / nullif(volume, 0)) FILTER (WHERE k > 0),
       stddev_pop(negative::float / nullif(volume, 0)) FILTER (WHERE k > 0)
FROM counts GROUP BY monitor_id ORDER BY monitor_id
"""


def baselines(*, now: datetime) -> list[Baseline]:
    sql = _BASELINE_SQL.format(
        monitor=connection.ops.quote_name(Monitor._meta.db_table), mention=connection.ops.quote_name(Mention._meta.db_table),
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, {"now": now, "days": BASELINE_DAYS, "negative": NEGATIVE_BELOW})
        rows = cursor.fetchall()
    return [
        Baseline(monitor_id=r[0], volume=int(r[1] or 0), negative_share=r[2], volume_mean=float(r[3] or 0),
                 volume_std=float(r[4] or 0), share_mean=r[5], share_std=r[6])
        for r in rows
    ]


def z_score(observed: float, mean: float, std: float, floor: float) -> float:
    return (observed - mean) / max(std, floor)


def detect_alerts(*, now: datetime | None = None) -> list[ListeningAlert]:
    """Record new alerts for this hour and request their delivery after commit."""
    now = now or timezone.now()
    settings = alert_settings()
    if not settings.enabled:
        return []
    hour = now.replace(minute=0, second=0, microsecond=0)
    candidates = []
    for b in baselines(now=now):  # one row per monitor, computed set-wise above
        if b.volume < settings.min_volume:
            continue
        volume_z = z_score(b.volume, b.volume_mean, b.volume_std, VOLUME_STD_FLOOR)
        if volume_z >= settings.z_threshold:
            candidates.append(ListeningAlert(
                monitor_id=b.monitor_id, kind=ListeningAlert.Kind.VOLUME, hour=hour, window_end=now, volume=b.volume,
                observed=b.volume, baseline_mean=b.volume_mean, baseline_std=b.volume_std, z_score=round(volume_z, 3),
            ))
        if b.negative_share is not None:
            share_z = z_score(b.negative_share, b.share_mean or 0.0, b.share_std or 0.0, SHARE_STD_FLOOR)
            if share_z >= settings.z_threshold:
                candidates.append(ListeningAlert(
                    monitor_id=b.monitor_id, kind=ListeningAlert.Kind.NEGATIVE, hour=hour, window_end=now,
                    volume=b.volume, observed=round(b.negative_share, 4), baseline_mean=round(b.share_mean or 0.0, 4),
                    baseline_std=round(b.share_std or 0.0, 4), z_score=round(share_z, 3),
                ))
    if not candidates:
        return []
    email = ListeningAlert.Delivery.PENDING if settings.recipients() else ListeningAlert.Delivery.NONE
    webhook = ListeningAlert.Delivery.PENDING if settings.webhook_url else ListeningAlert.Delivery.NONE
    for alert in candidates:
        alert.email_status, alert.webhook_status = email, webhook
    with transaction.atomic():
        ListeningAlert.objects.bulk_create(candidates, ignore_conflicts=True)
        # Only the ones this run created (an earlier run this hour may have made the rest).
        created = list(
            ListeningAlert.objects.filter(hour=hour, window_end=now, monitor_id__in={a.monitor_id for a in candidates})
        )
        for alert in created:
            if email or webhook:
                transaction.on_commit(lambda pk=alert.pk: _request_delivery(pk))
    return created


def _request_delivery(alert_id: int) -> None:
    from engagement.inbox.tasks import deliver_listening_alert_task

    try:
        deliver_listening_alert_task.apply_async(args=[alert_id], retry=False)
    except Exception as error:  # broker down: the alert is still shown in the app
        logger.warning("could not enqueue alert delivery", extra={"error": str(error), "alert": alert_id})


class WebhookFailed(Exception):
    """The receiver did not answer 2xx in time; the task retries with backoff."""


def alert_payload(alert: ListeningAlert) -> dict:
    return {
        "type": "listening.alert", "alert_id": alert.pk, "monitor": {"id": alert.monitor_id, "name": alert.monitor.name},
        "kind": alert.kind, "hour": alert.hour.isoformat(), "window_end": alert.window_end.isoformat(),
        "volume": alert.volume, "observed": alert.observed, "baseline_mean": alert.baseline_mean,
        "baseline_std": alert.baseline_std, "z_score": alert.z_score,
    }


def sign(secret: str, body: bytes, timestamp: str) -> str:
    return "sha256=" + hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def deliver_email(alert: ListeningAlert, settings: ListeningAlertSettings) -> None:
    if alert.email_status != ListeningAlert.Delivery.PENDING:
        return
    kind = alert.get_kind_display()
    send_mail(
        subject=f"[SCRM] {kind}: {alert.monitor.name}"[:200],
        message=(f"{alert.monitor.name}: {kind} {alert.observed} in the hour to {alert.window_end:%Y-%m-%d %H:%M} UTC "
                 f"(baseline {alert.baseline_mean} ± {alert.baseline_std}, z = {alert.z_score}; {alert.volume} mentions)."),
        from_email=None, recipient_list=settings.recipients(), fail_silently=False,
    )
    ListeningAlert.objects.filter(pk=alert.pk).update(email_status=ListeningAlert.Delivery.SENT)


def deliver_webhook(alert: ListeningAlert, settings: ListeningAlertSettings, *, final_attempt: bool) -> None:
    """POST the alert, signed: X-SCRM-Signature = sha256=HMAC(secret, "<timestamp>." + body)."""
    if alert.webhook_status != ListeningAlert.Delivery.PENDING or not settings.webhook_url:
        return
    body = json.dumps(alert_payload(alert), ensure_ascii=False).encode()
    timestamp = str(int(timezone.now().timestamp()))
    request = urllib.request.Request(settings.webhook_url, data=body, method="POST", headers={
        "Content-Type": "application/json", "X-SCRM-Timestamp": timestamp,
        SIGNATURE_HEADER: sign(settings.webhook_secret, body, timestamp),
    })
    ListeningAlert.objects.filter(pk=alert.pk).update(webhook_attempts=alert.webhook_attempts + 1)
    try:
        with urllib.request.urlopen(request, timeout=WEBHOOK_TIMEOUT) as response:  # noqa: S310 - admin-set http(s) URL
            status = response.status
    except (urllib.error.URLError, TimeoutError, OSError) as error:
        status, reason = 0, str(error)
    else:
        reason = f"HTTP {status}"
    if 200 <= status < 300:
        ListeningAlert.objects.filter(pk=alert.pk).update(webhook_status=ListeningAlert.Delivery.SENT, delivery_error="")
        return
    ListeningAlert.objects.filter(pk=alert.pk).update(
        delivery_error=reason[:500],
        **({"webhook_status": ListeningAlert.Delivery.FAILED} if final_attempt else {}),
    )
    raise WebhookFailed(reason)


def deliver_alert(alert_id: int, *, final_attempt: bool = False) -> None:
    alert = ListeningAlert.objects.select_related("monitor").filter(pk=alert_id).first()
    if alert is None:
        return
    settings = alert_settings()
    try:
        deliver_email(alert, settings)
    except OSError as error:
        ListeningAlert.objects.filter(pk=alert.pk).update(email_status=ListeningAlert.Delivery.FAILED, delivery_error=str(error)[:500])
    deliver_webhook(alert, settings, final_attempt=final_attempt)


def recent_alerts(*, hours: int = 24):  # noqa: ANN201 - a queryset
    return ListeningAlert.objects.select_related("monitor").filter(
        created_at__gte=timezone.now() - timedelta(hours=hours), dismissed_at__isnull=True,
    )
