"""Browser: a marketer opens a draft journey from its campaign page and builds send → wait →
branch(clicked: yes → end, no → reminder) with the mouse and the keyboard; a send without
a message is refused with why; editing a step opens in place with focus on it; the steps are saved."""

from urllib.parse import urlsplit

import pytest
from django_tenants.utils import tenant_context
from playwright.sync_api import Page, expect

from engagement.campaigns.models import Campaign, JourneyStep, Variant
from tests.conftest import PASSWORD, make_staff
from tests.engagement.campaigns.helpers import segment_of, wechat_customer

pytestmark = pytest.mark.e2e


def test_marketer_builds_a_journey_with_a_branch(page: Page, live_server_url, committed_brand):
    # given a draft journey campaign with two messages
    port = urlsplit(live_server_url).port
    with tenant_context(committed_brand):
        make_staff("Marketer", username="journey-mkt")
        campaign = Campaign.objects.create(name="Welcome path", kind=Campaign.Kind.JOURNEY, channel="wechat")
        campaign.segments.add(segment_of([wechat_customer()], name="New fans"))
        Variant.objects.create(campaign=campaign, name="A", text="Welcome!")
        Variant.objects.create(campaign=campaign, name="reminder", text="Still there?", split_percent=0)
        host = committed_brand.primary_host()
    base = f"http://{host}:{port}"
    page.goto(f"{base}/login/")
    page.get_by_label("Username").fill("journey-mkt")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()

    # when the marketer opens the journey from the campaign page
    page.goto(f"{base}/campaigns/{campaign.pk}/")
    page.get_by_test_id("journey-link").click()
    expect(page.get_by_test_id("empty-state")).to_be_visible()
    add = page.get_by_test_id("add-form")

    # and adds a send with the mouse
    add.get_by_label("Step").select_option("send")
    add.get_by_label("Message to send").select_option(label="A")
    add.get_by_test_id("add-step").click()
    expect(page.get_by_test_id("step-1")).to_contain_text("Send")

    # and a send without a message: the server refuses it, saying why
    add.get_by_label("Step").select_option("send")
    add.get_by_test_id("add-step").click()
    expect(page.get_by_test_id("error-variant")).to_have_text("A send step needs a message.")
    expect(page.get_by_test_id("step-2")).to_have_count(0)

    # and a wait of zero days from the keyboard: the browser holds it back (min 1)
    add.get_by_label("Step").select_option("wait")
    add.get_by_label("Wait", exact=True).fill("0")
    add.get_by_label("Wait", exact=True).press("Enter")
    assert add.get_by_label("Wait", exact=True).evaluate("input => input.validity.rangeUnderflow")
    expect(page.get_by_test_id("step-2")).to_have_count(0)
    # then two days, again from the keyboard
    add.get_by_label("Wait", exact=True).fill("2")
    add.get_by_label("Unit").select_option("days")
    add.get_by_label("Wait", exact=True).press("Enter")
    expect(page.get_by_test_id("step-2")).to_contain_text("2 days")

    # and an End step, then the reminder
    add.get_by_label("Step").select_option("end")
    add.get_by_test_id("add-step").click()
    expect(page.get_by_test_id("step-3")).to_contain_text("End")
    add.get_by_label("Step").select_option("send")
    add.get_by_label("Message to send").select_option(label="reminder")
    add.get_by_test_id("add-step").click()
    expect(page.get_by_test_id("step-4")).to_contain_text("reminder")

    # and inserts before the End step a branch on clicks: yes → End, no → the reminder
    add.get_by_label("Step").select_option("branch")
    add.get_by_label("If the customer").select_option("clicked")
    add.get_by_label("Then go to").select_option(label="3. End")
    add.get_by_label("Otherwise go to").select_option(label="4. Send: reminder")
    add.get_by_label("Where").select_option(label="Before 3. End")
    add.get_by_test_id("add-step").focus()
    page.keyboard.press("Enter")

    # then the flow shows the branch with both arrows, pointing at the moved steps
    expect(page.get_by_test_id("branch-yes-3")).to_contain_text("step 4")
    expect(page.get_by_test_id("branch-no-3")).to_contain_text("step 5")
    expect(page.get_by_test_id("step-4")).to_contain_text("from step 3: yes")

    # when the marketer edits the wait: the form opens in its card with the focus in it
    page.get_by_test_id("edit-2").click()
    edit = page.get_by_test_id("edit-form")
    expect(edit.get_by_label("Step")).to_be_focused()
    edit.get_by_label("Wait", exact=True).fill("36")
    edit.get_by_label("Unit").select_option("hours")
    edit.get_by_label("Wait", exact=True).press("Enter")
    expect(page.get_by_test_id("step-2")).to_contain_text("36 hours")
    expect(page.get_by_test_id("edit-form")).to_have_count(0)

    # then the journey is saved as built
    with tenant_context(committed_brand):
        steps = list(JourneyStep.objects.filter(campaign=campaign).select_related("variant"))
        assert [(s.action, s.variant.name if s.variant else None, s.wait_hours, s.condition, s.if_true, s.if_false) for s in steps] == [
            ("send", "A", 0, "", None, None),
            ("wait", None, 36, "", None, None),
            ("branch", None, 0, "clicked", 3, 4),
            ("end", None, 0, "", None, None),
            ("send", "reminder", 0, "", None, None),
        ]
