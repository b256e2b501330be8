"""Browser: a marketer opens a moderated idea board; a customer reaches it from a campaign
message and shares an idea; the marketer approves it in place (HTMX); the customer votes
and takes the vote back (HTMX), the count following each click."""

import pytest
from django.urls import reverse
from django_tenants.utils import tenant_context
from playwright.sync_api import Page, expect

from engagement.campaigns import planning, services
from engagement.campaigns.models import CampaignRecipient, Idea, IdeaBoard
from tests.conftest import PASSWORD, make_staff
from tests.engagement.campaigns.helpers import campaign_for, segment_of, wechat_customer

pytestmark = pytest.mark.e2e


def test_a_customer_shares_an_idea_the_marketer_approves_it_and_votes_toggle(page: Page, live_server_url, committed_brand):
    # given a marketer
    port = live_server_url.rsplit(":", 1)[1]
    with tenant_context(committed_brand):
        make_staff("Marketer", username="mkt")
        host = committed_brand.primary_host()
    base = f"http://{host}:{port}"

    # when they open a board from the campaigns pages
    page.goto(f"{base}/login/")
    page.get_by_label("Username").fill("mkt")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.locator("[data-nav='engagement:campaign-list']").click()
    page.get_by_test_id("ideas-link").click()
    expect(page.get_by_test_id("empty-state")).to_be_visible()
    page.get_by_test_id("new-idea-board").click()
    page.get_by_label("Title").fill("Our next tea")
    page.get_by_label("Description").fill("What should we brew next?")
    page.get_by_test_id("create-idea-board").click()
    expect(page.get_by_test_id("idea-board-title")).to_have_text("Our next tea")

    # and a campaign carries it to a customer
    with tenant_context(committed_brand):
        board = IdeaBoard.objects.get()
        assert board.moderated
        campaign = campaign_for(segment_of([wechat_customer(display_name="Fan")]), idea_board=board)
        planning.plan_recipients(campaign, planning.segment_audience(campaign))
        token = services.recipient_token(CampaignRecipient.objects.get(campaign=campaign).pk)
    public = base + reverse("engagement:public-ideas", args=[board.slug, token])

    # when the customer shares an idea
    customer = page.context.browser.new_context().new_page()
    customer.goto(public)
    expect(customer.get_by_test_id("no-ideas")).to_be_visible()
    customer.get_by_label("Your idea").fill("Rose oolong")
    customer.get_by_test_id("submit-idea").click()
    expect(customer.get_by_test_id("idea-submitted")).to_be_visible()
    with tenant_context(committed_brand):
        idea = Idea.objects.get()
    # then it waits for approval: the customer cannot vote yet
    expect(customer.get_by_test_id(f"vote-{idea.pk}")).to_be_disabled()

    # when the marketer approves it in the list
    page.reload()
    row = page.get_by_test_id("idea-row")
    expect(row).to_contain_text("Rose oolong")
    row.get_by_test_id("approve").click()
    expect(page.get_by_test_id("idea-moderation")).to_have_text("Approved")
    expect(page.get_by_test_id("approve")).to_have_count(0)

    # then the customer votes, and takes the vote back, without leaving the page
    customer.reload()
    customer.get_by_test_id(f"vote-{idea.pk}").click()
    expect(customer.get_by_test_id(f"votes-{idea.pk}")).to_have_text("1")
    expect(customer.get_by_test_id(f"vote-{idea.pk}")).to_have_attribute("aria-pressed", "true")
    customer.get_by_test_id(f"vote-{idea.pk}").click()
    expect(customer.get_by_test_id(f"votes-{idea.pk}")).to_have_text("0")

    # and the marketer's list shows the board's numbers
    page.reload()
    expect(page.get_by_test_id("idea-count")).to_have_text("1")
    expect(page.get_by_test_id("idea-pending")).to_have_text("0")
