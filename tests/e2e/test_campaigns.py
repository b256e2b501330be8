"""Browser: a marketer creates a segment-targeted WeChat campaign with a coupon and a
tracked link and sends it (a real worker plans, queues into the outbox and delivers through
the WeChat adapter to the WeChat sandbox); the sandbox receives exactly the consenting
customers, once each; sent and delivered come back from the outbox, and a click and an
order flow back; all show in the report."""

import re
from datetime import timedelta
from decimal import Decimal
from urllib.parse import urlsplit

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context
from playwright.sync_api import Page, expect

from channels.sandboxes.wechat import WeChatSandbox
from customers.models import Interaction
from engagement.campaigns import services
from engagement.campaigns.models import Campaign, CampaignRecipient, CouponPool
from tests.conftest import PASSWORD, make_staff
from tests.customers.factories import OrderFactory
from tests.engagement.campaigns.helpers import (
    SANDBOX_APPID,
    SANDBOX_SECRET,
    SANDBOX_TOKEN,
    segment_of,
    wechat_connector,
    wechat_customer,
)

pytestmark = pytest.mark.e2e


@pytest.fixture
def sandbox():
    sandbox = WeChatSandbox(token=SANDBOX_TOKEN, appid=SANDBOX_APPID, app_secret=SANDBOX_SECRET).start()
    yield sandbox
    sandbox.stop()


def test_marketer_sends_a_coupon_campaign_and_sees_clicks_and_orders(
    page: Page, live_server_url, committed_brand, celery_worker, sandbox,
):
    # given the brand's WeChat account (the sandbox), and consenting and non-consenting
    # customers in a segment who all wrote to the account an hour ago, and a coupon pool
    port = urlsplit(live_server_url).port
    with tenant_context(committed_brand):
        make_staff("Marketer", username="mkt")
        wechat_connector(api_base=sandbox.server.url)
        consenting = [wechat_customer(display_name=f"Fan {i}") for i in range(3)]
        refusing = [wechat_customer(consent="withdrawn"), wechat_customer(consent=None)]
        for customer in consenting + refusing:
            Interaction.objects.create(customer=customer, channel="wechat", kind="message_in", external_id=f"in-{customer.pk}",
                                       occurred_at=timezone.now() - timedelta(hours=1))
            sandbox.last_inbound[f"o-{customer.pk}"] = timezone.now().timestamp()
        segment_of(consenting + refusing, name="Tea lovers")
        CouponPool.objects.create(name="Spring 20% off", prefix="SPRING")
        host = committed_brand.primary_host()
    base = f"http://{host}:{port}"
    target = f"{base}/healthz"

    # when the marketer logs in and builds the campaign
    page.goto(f"{base}/login/")
    page.get_by_label("Username").fill("mkt")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.locator("[data-nav='engagement:campaign-list']").click()
    expect(page.get_by_test_id("empty-state")).to_be_visible()
    page.get_by_test_id("new-campaign").click()
    page.get_by_label("Name").fill("Spring tea")
    page.get_by_label("Channel").select_option("wechat")
    page.get_by_label("Message type").select_option("text")
    page.get_by_label("Audience segments").select_option(label="Tea lovers")
    page.get_by_label("Message A").fill("Hi {{ name | friend }}, your code {{ coupon }}: {{ link }}")
    page.get_by_label("Link A (tracked)").fill(target)
    page.get_by_label("WeChat template ID A").fill("TPL-SPRING")
    page.get_by_label("Coupon pool").select_option(label="Spring 20% off")
    page.get_by_label("Quiet hours from (hour)").fill("0")
    page.get_by_label("Quiet hours until (hour)").fill("0")
    page.get_by_label("Quiet hours until (hour)").dispatch_event("change")
    # the live estimate counts only the consenting customers
    expect(page.get_by_test_id("estimate-count")).to_have_text("3")
    page.get_by_test_id("save-campaign").click()
    expect(page.get_by_test_id("campaign-name")).to_have_text("Spring tea")

    # and sends it; the progress bar follows the real worker to the end
    page.get_by_test_id("send").click()
    expect(page.get_by_test_id("campaign-status")).to_have_text("Done", timeout=60_000)
    expect(page.get_by_test_id("sent-count")).to_have_text("3")

    # then the sandbox received exactly the consenting customers, once each, with their own code
    assert sorted(m["touser"] for m in sandbox.sent) == sorted(f"o-{c.pk}" for c in consenting)
    with tenant_context(committed_brand):
        campaign = Campaign.objects.get(name="Spring tea")
        delivered = CampaignRecipient.objects.filter(campaign=campaign, status="delivered")
        assert set(delivered.values_list("customer_id", flat=True)) == {c.pk for c in consenting}
        first = delivered.get(customer=consenting[0])
        text = first.message["text"]
        code = consenting[0].coupons.get().code
        assert text.startswith(f"Hi Fan 0, your code {code}: ")
        assert {"touser": f"o-{consenting[0].pk}", "msgtype": "text", "text": {"content": text}} in sandbox.sent
        tracked = re.search(r"http://\S+/p/l/\S+/", text).group(0)

    # when the customer clicks the tracked link and buys within the window
    page.goto(tracked)
    expect(page).to_have_url(target)
    with tenant_context(committed_brand):
        OrderFactory(customer=consenting[0], amount=Decimal("128.00"), ordered_at=first.queued_at + timedelta(hours=1))
        services.attribute_recent_conversions()
        assert consenting[0].interactions.filter(kind="campaign_clicked").exists()

    # then the report shows the click, the conversion, the revenue and the skipped
    page.goto(f"{base}/campaigns/{campaign.pk}/report/")
    expect(page.get_by_test_id("funnel-0")).to_have_text("5")
    expect(page.get_by_test_id("funnel-2")).to_have_text("3")  # sent, as the outbox reported
    expect(page.get_by_test_id("funnel-3")).to_have_text("3")  # delivered
    expect(page.get_by_test_id("failed")).to_have_text("0")
    expect(page.get_by_test_id("funnel-5")).to_have_text("1")
    expect(page.get_by_test_id("funnel-6")).to_have_text("1")
    expect(page.get_by_test_id("revenue")).to_contain_text("128.00")
    expect(page.get_by_test_id("skip-no_consent")).to_contain_text("2")
    expect(page.get_by_test_id("coupon-stats")).to_contain_text("3 of 3")
