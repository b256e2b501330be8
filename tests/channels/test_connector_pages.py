"""Connector admin pages: add, edit (secrets write-only), test event, dead letters, roles."""

import pytest

from channels import pipeline
from channels.models import Connector, RawEvent
from scrm.staff.models import AuditEntry
from tests.channels.conftest import make_connector


def test_an_admin_adds_a_wechat_connector_and_its_secrets_are_never_shown_again(staff_client):
    client, _admin = staff_client("Admin")
    # when the admin fills the form for a WeChat account
    response = client.post("/channels/new/?kind=wechat_oa", {
        "kind": "wechat_oa", "name": "Brand OA", "enabled": "on", "config_appid": "wx42",
        "config_original_id": "gh_42", "secret_token": "s3cret-token-value",
    })
    connector = Connector.objects.get()
    assert response.status_code == 302
    # then the secret is stored encrypted, not in clear, and the page shows the webhook URL but not the secret
    assert connector.secret("token") == "s3cret-token-value"
    assert "s3cret-token-value" not in connector.secrets_encrypted
    page = client.get(f"/channels/{connector.pk}/").content.decode()
    assert f"/hooks/{connector.webhook_token}/" in page and connector.verify_token in page
    assert "s3cret-token-value" not in page
    assert "s3cret-token-value" not in str(list(AuditEntry.objects.values_list("changes", flat=True)))


def test_editing_with_blank_secrets_keeps_them(staff_client):
    client, _admin = staff_client("Admin")
    connector = make_connector("facebook")
    response = client.post(f"/channels/{connector.pk}/", {"name": "Renamed", "config_page_id": "1000", "secret_app_secret": ""})
    assert response.status_code == 302
    connector.refresh_from_db()
    assert connector.name == "Renamed" and not connector.enabled
    assert connector.secret("app_secret") == "meta-app-secret"


@pytest.mark.parametrize("kind", ["wechat_oa", "wecom", "weibo", "facebook", "instagram", "x", "web_api", "orders"])
def test_send_test_event_goes_through_the_real_accept_path(staff_client, kind):
    client, _admin = staff_client("Admin")
    connector = make_connector(kind)
    response = client.post(f"/channels/{connector.pk}/test-event/", follow=True)
    assert "Test event accepted" in response.content.decode()
    pipeline.process_pending_batch()
    assert RawEvent.objects.get().status == "done"


def test_the_list_shows_status_and_backlog(staff_client):
    client, _admin = staff_client("Admin")
    connector = make_connector("x")
    client.post(f"/channels/{connector.pk}/test-event/")
    page = client.get("/channels/").content.decode()
    assert connector.name in page and 'data-testid="backlog">1<' in page


def test_failed_events_show_their_error_and_can_be_retried(staff_client):
    client, _admin = staff_client("Admin")
    connector = make_connector("web_api")
    raw = RawEvent.objects.create(connector=connector, received_at="2025-01-01T00:00:00Z", body=b"{not json",
                                  dedupe_key="k1")
    pipeline.process_pending_batch()
    raw.refresh_from_db()
    assert raw.status == "failed" and "JSON" in raw.error
    page = client.get(f"/channels/{connector.pk}/events/?status=failed").content.decode()
    assert "malformed JSON" in page
    assert "malformed JSON" in client.get(f"/channels/{connector.pk}/").content.decode()  # the connector's last error
    client.post(f"/channels/{connector.pk}/retry/", {"event_ids": [raw.pk]})
    raw.refresh_from_db()
    assert raw.status == "pending" and raw.attempts == 0


@pytest.mark.parametrize("role", ["Marketer", "Agent"])
def test_only_admins_manage_connectors(staff_client, role):
    client, _user = staff_client(role)
    connector = make_connector("x")
    for url in ("/channels/", f"/channels/{connector.pk}/", f"/channels/{connector.pk}/events/", f"/channels/{connector.pk}/outbound/"):
        assert client.get(url).status_code == 403
    assert client.post(f"/channels/{connector.pk}/retry/").status_code == 403


def test_another_brands_connector_ids_and_tokens_are_404(staff_client, other_brand):
    from django_tenants.utils import tenant_context

    client, _admin = staff_client("Admin")
    with tenant_context(other_brand):
        theirs = make_connector("x", name="beta-secret-connector")
        ids = (theirs.pk, theirs.webhook_token)
    for url in (f"/channels/{ids[0]}/", f"/channels/{ids[0]}/events/", f"/channels/{ids[0]}/outbound/"):
        assert client.get(url).status_code == 404
    assert client.post(f"/channels/{ids[0]}/retry/").status_code == 404
    assert client.get(f"/hooks/{ids[1]}/", {"crc_token": "x"}).status_code == 404
