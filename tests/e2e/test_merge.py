"""Browser: a marketer merges two profiles from the profile page, sees one timeline with
both people's interactions, then unmerges."""

import re

import pytest
from django_tenants.utils import tenant_context
from playwright.sync_api import Page, expect

from tests.conftest import PASSWORD, make_staff
from tests.customers.factories import CustomerFactory, IdentityFactory, InteractionFactory

pytestmark = pytest.mark.e2e


def test_merge_two_profiles_then_unmerge(page: Page, live_server_url: str, committed_brand):
    # given: two profiles of one person, each with its own interaction (committed)
    with tenant_context(committed_brand):
        make_staff("Marketer", username="mia")
        keep = CustomerFactory(display_name="Zhang Wei", city="Beijing")
        other = CustomerFactory(display_name="Wei Zhang", city="Tianjin")
        IdentityFactory(customer=other, kind="email", value="zhang.wei@example.com")
        InteractionFactory(customer=keep, text="WeChat: where is my order?")
        InteractionFactory(customer=other, channel="email", text="Email: thanks for the coupon")
    base = live_server_url.replace("//localhost", f"//{committed_brand.slug}.localhost")
    page.goto(f"{base}/login/")
    page.get_by_label("Username").fill("mia")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_test_id("who")).to_contain_text("mia")

    # when: on the first profile, "Merge with…" finds the other by email, then confirms
    page.goto(f"{base}/customers/{keep.pk}/")
    page.get_by_test_id("merge-search").fill("zhang.wei@example.com")
    page.get_by_test_id("merge-search").press("Enter")
    page.get_by_test_id("merge-candidate").get_by_role("link").click()
    expect(page.get_by_test_id("merge-compare")).to_contain_text("Tianjin")
    page.get_by_label("Why are these the same person?").fill("same email on the receipt")
    page.get_by_test_id("confirm-merge").click()

    # then: one timeline holds both people's interactions, and the history says why
    expect(page).to_have_url(re.compile(rf"/customers/{keep.pk}/$"))
    timeline = page.get_by_test_id("timeline")
    expect(timeline).to_contain_text("where is my order?")
    expect(timeline).to_contain_text("thanks for the coupon")
    expect(page.get_by_test_id("identities")).to_contain_text("zhang.wei@example.com")
    expect(page.get_by_test_id("merge-record")).to_contain_text("same email on the receipt")

    # when: unmerged
    page.get_by_test_id("unmerge").click()

    # then: the other profile is back with its own interaction, and this one lost it
    expect(page).to_have_url(re.compile(rf"/customers/{other.pk}/$"))
    expect(page.get_by_test_id("timeline")).to_contain_text("thanks for the coupon")
    expect(page.get_by_test_id("timeline")).not_to_contain_text("where is my order?")
    page.goto(f"{base}/customers/{keep.pk}/")
    expect(page.get_by_test_id("timeline")).not_to_contain_text("thanks for the coupon")
    expect(page.get_by_test_id("merge-record")).to_contain_text("Undone")
