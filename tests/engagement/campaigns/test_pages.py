"""Campaign pages: roles, list, builder with estimate, preview, send controls, progress,
report; public pages (escaped, CSRF, rate limit); another brand's ids give 404."""

from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse
from django_tenants.utils import tenant_context

from engagement.campaigns import planning, services
from engagement.campaigns.models import Campaign, CampaignRecipient, CouponPool, Poll, TrackedLink
from tests.customers.factories import OrderFactory
from tests.engagement.campaigns.helpers import campaign_for, segment_of, wechat_customer

HOSTILE = '<script>alert("x")</script>\u202e😀'


def test_agents_cannot_reach_campaigns(staff_client):
    client, _ = staff_client("Agent")
    assert client.get(reverse("engagement:campaign-list")).status_code == 403


def test_list_search_filter_and_empty_state(staff_client):
    client, _ = staff_client("Marketer")
    assert "empty-state" in client.get(reverse("engagement:campaign-list")).content.decode()
    Campaign.objects.create(name=HOSTILE)
    Campaign.objects.create(name="Autumn", status=Campaign.Status.DONE)

    page = client.get(reverse("engagement:campaign-list"), {"q": "script"}).content.decode()
    assert "&lt;script&gt;" in page and "<script>alert" not in page and "Autumn" not in page
    partial = client.get(reverse("engagement:campaign-list"), {"status": "done"}, HTTP_HX_REQUEST="true").content.decode()
    assert "Autumn" in partial and "<html" not in partial


def test_builder_saves_and_estimates(staff_client, brand):
    client, _ = staff_client("Marketer")
    ok, no = wechat_customer(), wechat_customer(consent=None)
    segment = segment_of([ok, no])
    form = {
        "name": "Spring", "kind": "broadcast", "channel": "wechat", "message_type": "template", "segments": [segment.pk],
        "frequency_cap": 3, "frequency_days": 7, "quiet_start": 0, "quiet_end": 0, "timezone": "Asia/Shanghai",
        "send_rate": 100, "attribution_days": 7, "winner_metric": "clicked", "a_text": "Hi {{ name|friend }}",
        "a_template_id": "TPL", "a_link_url": "https://shop.example/", "b_enabled": "on", "b_split": 30, "b_text": "B!",
    }

    estimate = client.post(reverse("engagement:campaign-estimate"), form).content.decode()
    assert 'data-testid="estimate-count">1<' in estimate and "No consent: 1" in estimate

    response = client.post(reverse("engagement:campaign-create"), form)
    campaign = Campaign.objects.get(name="Spring")
    assert response.status_code == 302
    assert dict(campaign.variants.values_list("name", "split_percent")) == {"A": 70, "B": 30}

    bad = client.post(reverse("engagement:campaign-create"), {**form, "timezone": "Nowhere/Land"})
    assert "Unknown time zone" in bad.content.decode()


def test_preview_for_a_chosen_customer_is_escaped(staff_client, brand):
    client, _ = staff_client("Marketer")
    customer = wechat_customer(display_name=HOSTILE)
    campaign = campaign_for(segment_of([customer]), message_type="text")

    html = client.get(reverse("engagement:campaign-preview", args=[campaign.pk]), {"customer": customer.pk}).content.decode()

    assert "Hi &lt;script&gt;" in html and "<script>alert" not in html


def test_send_controls_and_progress(staff_client, brand, django_capture_on_commit_callbacks):
    client, _ = staff_client("Marketer")
    campaign = campaign_for(segment_of([wechat_customer()]), status=Campaign.Status.DRAFT)

    with django_capture_on_commit_callbacks() as callbacks:
        client.post(reverse("engagement:campaign-action", args=[campaign.pk, "start"]))
    assert Campaign.objects.get(pk=campaign.pk).status == "planning" and len(callbacks) == 1
    services.plan_campaign(campaign.pk)
    client.post(reverse("engagement:campaign-action", args=[campaign.pk, "pause"]))
    assert Campaign.objects.get(pk=campaign.pk).status == "paused"

    progress = client.get(reverse("engagement:campaign-progress", args=[campaign.pk])).content.decode()
    assert 'data-testid="sent-count">0<' in progress and "Resume" in progress
    again = client.post(reverse("engagement:campaign-action", args=[campaign.pk, "start"]), follow=True)
    assert "already started" in again.content.decode()


def test_report_shows_funnel_skips_revenue_and_poll(staff_client, brand):
    client, _ = staff_client("Marketer")
    poll = services.create_poll(question="Tea?", options=["Green", "Black"], actor=None)
    buyer, skipped = wechat_customer(), wechat_customer(consent=None)
    campaign = campaign_for(segment_of([buyer, skipped]), poll=poll, coupon_pool=CouponPool.objects.create(name="P"))
    planning.plan_recipients(campaign, planning.segment_audience(campaign))
    services.send_batch(campaign.pk)
    OrderFactory(customer=buyer, amount=Decimal("120.00"), ordered_at=CampaignRecipient.objects.get(customer=buyer).queued_at)
    services.attribute_conversions(campaign)

    html = client.get(reverse("engagement:campaign-report", args=[campaign.pk])).content.decode()

    assert 'data-testid="funnel-0">2<' in html and 'data-testid="funnel-6">1<' in html
    assert "120.00" in html and 'data-testid="skip-no_consent"' in html and "Tea?" in html


def test_offers_page_creates_pools_polls_and_programs(staff_client):
    client, _ = staff_client("Marketer")
    client.post(reverse("engagement:coupon-pool-create"), {"name": "Gen", "kind": "generated", "prefix": "SP", "generate": 25})
    client.post(reverse("engagement:poll-create"), {"question": HOSTILE, "options": "One\nTwo"})
    client.post(reverse("engagement:referral-program-create"), {"name": "Friends", "reward_on": "signup"})

    assert CouponPool.objects.get(name="Gen").coupons.count() == 25
    html = client.get(reverse("engagement:offer-list")).content.decode()
    assert "&lt;script&gt;" in html and "Friends" in html


def test_public_poll_needs_csrf_and_escapes(brand):
    poll = services.create_poll(question=HOSTILE, options=["A", "B"], actor=None)
    customer = wechat_customer()
    campaign = campaign_for(segment_of([customer]), poll=poll)
    planning.plan_recipients(campaign, planning.segment_audience(campaign))
    row = CampaignRecipient.objects.get()
    url = reverse("engagement:public-poll", args=[poll.slug, services.recipient_token(row.pk)])
    client = Client(HTTP_HOST=brand.primary_host(), enforce_csrf_checks=True)

    page = client.get(url)
    assert page.status_code == 200 and "&lt;script&gt;" in page.content.decode()
    option = poll.options.get(label="B")
    assert client.post(url, {"option": option.pk}).status_code == 403  # no CSRF token
    token = page.cookies["csrftoken"].value
    voted = client.post(url, {"option": option.pk, "csrfmiddlewaretoken": token})
    assert 'data-testid="voted"' in voted.content.decode() and poll.votes.get().option == option
    assert Client(HTTP_HOST=brand.primary_host()).get(url.replace(row.pk.__str__() + "-", f"{row.pk}-x")).status_code == 404


def test_public_link_is_rate_limited(brand):
    campaign = campaign_for(segment_of([]))
    link = TrackedLink.objects.create(campaign=campaign, url="https://shop.example/")
    client = Client(HTTP_HOST=brand.primary_host(), REMOTE_ADDR="203.0.113.9")
    url = reverse("engagement:public-link-anonymous", args=[link.code])

    codes = [client.get(url).status_code for _ in range(125)]

    assert codes[0] == 302 and codes[-1] == 429
    assert Client(HTTP_HOST=brand.primary_host(), REMOTE_ADDR="203.0.113.10").get(url).status_code == 302


def test_referral_landing_signs_up_a_friend(brand):
    program = services.create_referral_program(name="Friends", reward_on="signup", reward="", landing_text=HOSTILE, actor=None)
    advocate = wechat_customer(display_name="Mei")
    link = services.referral_link_for(program=program, customer=advocate)
    client = Client(HTTP_HOST=brand.primary_host())
    url = reverse("engagement:public-referral", args=[link.code])

    assert "&lt;script&gt;" in client.get(url).content.decode()
    done = client.post(url, {"name": "Jun", "email": "jun@example.com"}).content.decode()
    twice = client.post(url, {"name": "Jun", "email": "jun@example.com"}).content.decode()

    assert 'data-testid="referral-done"' in done and 'data-testid="referral-error"' in twice
    assert program.referrals.get().referee.identities.get().value == "jun@example.com"


def test_coupon_claim_page(brand):
    pool = CouponPool.objects.create(name="Claim me", prefix="C")
    customer = wechat_customer()
    campaign = campaign_for(segment_of([customer]), coupon_pool=pool)
    planning.plan_recipients(campaign, planning.segment_audience(campaign))
    url = reverse("engagement:public-coupon", args=[services.recipient_token(CampaignRecipient.objects.get().pk)])
    client = Client(HTTP_HOST=brand.primary_host())

    client.post(url)
    client.post(url)

    assert pool.coupons.filter(customer=customer).count() == 1
    assert pool.coupons.get().code in client.get(url).content.decode()


@pytest.mark.parametrize("name", ["campaign-detail", "campaign-report", "campaign-progress", "campaign-edit", "campaign-preview"])
def test_another_brands_campaign_is_404(staff_client, other_brand, name):
    client, _ = staff_client("Admin")
    with tenant_context(other_brand):
        Campaign.objects.all().delete()
        foreign = Campaign.objects.create(name="beta only")
    for pk in (foreign.pk, foreign.pk + 100000):
        assert client.get(reverse(f"engagement:{name}", args=[pk])).status_code == 404
    assert client.post(reverse("engagement:campaign-action", args=[foreign.pk, "cancel"])).status_code == 404
    with tenant_context(other_brand):
        assert Campaign.objects.get(pk=foreign.pk).status == "draft"


def test_another_brands_link_poll_and_coupon_tokens_are_404(brand, other_brand):
    with tenant_context(other_brand):
        campaign = Campaign.objects.create(name="beta", coupon_pool=CouponPool.objects.create(name="beta pool"))
        link = TrackedLink.objects.create(campaign=campaign, url="https://beta.example/")
        poll = Poll.objects.create(question="beta?")
    client = Client(HTTP_HOST=brand.primary_host())
    assert client.get(reverse("engagement:public-link-anonymous", args=[link.code])).status_code == 404
    assert client.get(reverse("engagement:public-poll", args=[poll.slug, services.recipient_token(1)])).status_code == 404
    assert client.get(reverse("engagement:public-coupon", args=[services.recipient_token(1)])).status_code == 404
