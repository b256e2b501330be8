"""Browser: a marketer builds a nested segment, watches the live count change, saves it
and sees its members."""

import pytest
from django.db import connection
from django_tenants.utils import tenant_context
from playwright.sync_api import Page, expect

from customers.models import Customer, Order
from customers.services import refresh_customer_aggregates
from tests.conftest import PASSWORD, make_staff

pytestmark = pytest.mark.e2e


@pytest.fixture
def shop(committed_brand):  # noqa: ANN001, ANN201
    with tenant_context(committed_brand):
        make_staff("Marketer", username="mia")
        buyer = Customer.objects.create(display_name="Shanghai buyer", city="Shanghai")
        Customer.objects.create(display_name="Shanghai browser", city="Shanghai")
        Customer.objects.create(display_name="Beijing buyer", city="Beijing")
        from django.utils import timezone

        Order.objects.create(customer=buyer, external_id="E2E-1", ordered_at=timezone.now(), amount=10, channel="web")
        refresh_customer_aggregates()
    connection.set_schema_to_public()
    return committed_brand


def test_build_a_nested_segment_watch_the_count_and_see_members(page: Page, live_server_url: str, shop):
    base = live_server_url.replace("localhost", shop.primary_host())
    page.goto(f"{base}/login/")
    page.get_by_label("Username").fill("mia")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.goto(f"{base}/segments/")
    page.get_by_test_id("new-segment").click()

    # the default condition (city is …, empty) matches no one yet
    count = page.get_by_test_id("live-count")
    value = page.get_by_test_id("condition-value").first
    value.fill("Shanghai")
    expect(count).to_have_text("2")

    # add a nested "any of" group holding "number of paid orders at least 1"
    page.get_by_test_id("add-group").first.click()
    expect(page.get_by_test_id("rule-group")).to_have_count(2)
    idle = "() => !document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling')"
    page.wait_for_function(idle)
    nested = page.get_by_test_id("rule-group").nth(1)
    nested.get_by_test_id("group-match").select_option("any")
    # Choosing a field or an operator re-renders the whole builder (new widgets): wait for
    # each response and its swap before the next step, or a step lands on a widget about
    # to be replaced.
    with page.expect_response(lambda response: "/segments/builder/" in response.url):
        nested.get_by_test_id("condition-field").select_option("orders_count")
    page.wait_for_function(idle)
    expect(nested.get_by_test_id("condition-op")).to_have_value("eq")
    with page.expect_response(lambda response: "/segments/builder/" in response.url):
        nested.get_by_test_id("condition-op").select_option("gte")
    page.wait_for_function(idle)
    expect(nested.get_by_test_id("condition-op")).to_have_value("gte")
    nested.get_by_test_id("condition-value").fill("1")
    expect(nested.get_by_test_id("condition-value")).to_have_value("1")
    expect(count).to_have_text("1")

    # save: the detail page lists the one member
    page.get_by_label("Name").fill("Shanghai buyers")
    page.get_by_test_id("save-segment").click()
    expect(page.get_by_test_id("segment-name")).to_have_text("Shanghai buyers")
    expect(page.get_by_test_id("member-row")).to_have_count(1)
    expect(page.get_by_test_id("members")).to_contain_text("Shanghai buyer")
    expect(page.get_by_test_id("members")).not_to_contain_text("Beijing")
