"""Listening alerts: set-wise baselines, z-score detection, the banner and list, email
and signed webhook delivery with retries, audited settings."""

from __future__ import annotations

import hashlib
import hmac
import http.server
import json
import threading
from datetime import timedelta

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from customers.models import Interaction
from engagement.inbox import alerts
from engagement.inbox.models import ListeningAlert, Mention, Monitor
from scrm.staff.models import AuditEntry
from tests.customers.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def _mentions(monitor: Monitor, at, n: int, *, sentiment: float = 0.3) -> None:  # noqa: ANN001
    customer = CustomerFactory()
    for i in range(n):
        interaction = Interaction.objects.create(customer=customer, channel="x", kind="mention", occurred_at=at,
                                                 text="t", external_id=f"m-{monitor.pk}-{at.timestamp()}-{i}")
        Mention.objects.create(monitor=monitor, interaction=interaction, channel="x", text="t", sentiment=sentiment,
                               occurred_at=at - timedelta(minutes=i % 50))


@pytest.fixture
def spike(brand):  # noqa: ANN001, ANN201
    now = timezone.now()
    monitor = Monitor.objects.create(name="<b>Brand</b>", query="brand")
    quiet = Monitor.objects.create(name="Quiet", query="quiet")
    for day in range(1, 8):
        _mentions(monitor, now - timedelta(days=day), 3 + day % 2)
        _mentions(quiet, now - timedelta(days=day), 12)
    _mentions(monitor, now, 25, sentiment=-0.8)
    _mentions(quiet, now, 12)
    return monitor, quiet, now


def test_baselines_are_the_same_hour_on_the_previous_week(spike):
    monitor, quiet, now = spike
    rows = {b.monitor_id: b for b in alerts.baselines(now=now)}
    assert rows[monitor.pk].volume == 25 and rows[monitor.pk].negative_share == 1.0
    assert rows[monitor.pk].volume_mean == pytest.approx((4 + 3 + 4 + 3 + 4 + 3 + 4) / 7)
    assert rows[quiet.pk].volume == 12 and rows[quiet.pk].volume_std == 0


def test_a_spike_raises_volume_and_negative_alerts_once_per_hour(spike):
    monitor, _quiet, now = spike
    created = alerts.detect_alerts(now=now)
    assert sorted((a.monitor_id, a.kind) for a in created) == [(monitor.pk, "negative"), (monitor.pk, "volume")]
    # a minute later, but within the same hour (run at hh:59 the next minute is a new hour)
    later = min(now + timedelta(minutes=1), now.replace(minute=59, second=59, microsecond=999_999))
    assert alerts.detect_alerts(now=later) == [] or ListeningAlert.objects.count() == 2
    assert ListeningAlert.objects.count() == 2


def test_below_minimum_volume_or_threshold_no_alert(spike):
    settings = alerts.alert_settings()
    settings.min_volume = 30
    settings.save()
    assert alerts.detect_alerts(now=spike[2]) == []


def test_banner_and_list_show_alerts_escaped(spike, staff_client):
    alerts.detect_alerts(now=spike[2])
    client, _user = staff_client("Marketer")
    body = client.get(reverse("engagement:listening")).content.decode()
    assert 'data-testid="alert-banner"' in body and "&lt;b&gt;Brand&lt;/b&gt;" in body and "<b>Brand</b>" not in body
    listing = client.get(reverse("engagement:listening-alerts")).content.decode()
    assert listing.count("<tr>") == 3
    alert = ListeningAlert.objects.first()
    client.post(reverse("engagement:listening-alert-dismiss", args=[alert.pk]))
    assert ListeningAlert.objects.get(pk=alert.pk).dismissed_at is not None


def test_settings_are_admin_only_and_audited(staff_client):
    marketer, _m = staff_client("Marketer")
    assert marketer.get(reverse("engagement:listening-alert-settings")).status_code == 403
    admin, _a = staff_client("Admin")
    response = admin.post(reverse("engagement:listening-alert-settings"), {
        "enabled": "on", "z_threshold": "2.5", "min_volume": "5", "emails": "ops@example.com\n",
        "webhook_url": "https://hooks.example.com/x",
    })
    assert response.status_code == 302
    entry = AuditEntry.objects.get(action="listening.alerts.update")
    assert entry.changes["z_threshold"] == [3.0, 2.5] and entry.changes["webhook_url"] == ["", "https://hooks.example.com/x"]
    bad = admin.post(reverse("engagement:listening-alert-settings"), {"z_threshold": "2", "min_volume": "5", "emails": "nope"})
    assert bad.status_code == 200 and alerts.alert_settings().emails == "ops@example.com"


class _Receiver(http.server.BaseHTTPRequestHandler):
    calls: list = []
    fail_first = 0

    def do_POST(self) -> None:  # noqa: N802
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).calls.append((self.headers, body))
        status = 500 if len(type(self).calls) <= type(self).fail_first else 204
        self.send_response(status)
        self.end_headers()

    def log_message(self, *args) -> None:  # noqa: ANN002
        pass


def test_email_and_signed_webhook_with_retry(spike):
    server = http.server.HTTPServer(("127.0.0.1", 0), _Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    _Receiver.calls, _Receiver.fail_first = [], 1
    try:
        settings = alerts.alert_settings()
        settings.emails, settings.webhook_url = "ops@example.com", f"http://127.0.0.1:{server.server_port}/hook"
        settings.save()
        alert = next(a for a in alerts.detect_alerts(now=spike[2]) if a.kind == "volume")
        # the first attempt meets a 500 and raises for the task to retry; email went out once
        with pytest.raises(alerts.WebhookFailed):
            alerts.deliver_alert(alert.pk)
        assert len(mail.outbox) == 1 and "ops@example.com" in mail.outbox[0].to
        alerts.deliver_alert(alert.pk)
        alert.refresh_from_db()
        assert (alert.email_status, alert.webhook_status, alert.webhook_attempts) == ("sent", "sent", 2)
        assert len(mail.outbox) == 1
        headers, body = _Receiver.calls[-1]
        expected = "sha256=" + hmac.new(settings.webhook_secret.encode(), f"{headers['X-SCRM-Timestamp']}.".encode() + body,
                                        hashlib.sha256).hexdigest()
        assert hmac.compare_digest(headers["X-SCRM-Signature"], expected)
        assert json.loads(body)["monitor"]["name"] == "<b>Brand</b>"
    finally:
        server.shutdown()
