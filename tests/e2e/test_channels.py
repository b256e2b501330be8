"""Browser: an admin connects a WeChat account, sees its webhook URL, sends a test event
that reaches the connector's status, and never sees the secret again."""

import pytest
from django_tenants.utils import tenant_context
from playwright.sync_api import Page, expect

from tests.conftest import PASSWORD, make_staff

pytestmark = pytest.mark.e2e


def test_admin_adds_a_wechat_connector_and_sends_a_test_event(page: Page, live_server_url: str, committed_brand):
    with tenant_context(committed_brand):
        make_staff("Admin", username="channel-admin")
    base = live_server_url.replace("localhost", committed_brand.primary_host().split(":")[0])
    page.goto(f"{base}/login/")
    page.get_by_label("Username").fill("channel-admin")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    # given the Channels page, empty
    page.goto(f"{base}/channels/")
    expect(page.get_by_test_id("empty-state")).to_be_visible()
    # when the admin adds a WeChat Official Account
    page.get_by_label("Connect a platform").select_option("wechat_oa")
    page.get_by_role("button", name="Add connector").click()
    page.get_by_label("Name", exact=True).fill("Tea Shop OA")
    page.get_by_label("AppID").fill("wx0123456789")
    page.get_by_label("Token", exact=True).fill("browser-secret-token")
    page.get_by_role("button", name="Save").click()
    # then the page shows the webhook URL, and no secret
    expect(page.get_by_test_id("webhook-url")).to_contain_text("/hooks/")
    assert "browser-secret-token" not in page.content()
    # and a test event is accepted through the real webhook path
    page.get_by_test_id("send-test-event").click()
    expect(page.get_by_text("Test event accepted")).to_be_visible()
    page.goto(f"{base}/channels/")
    expect(page.get_by_test_id("connector-row")).to_contain_text("Tea Shop OA")
