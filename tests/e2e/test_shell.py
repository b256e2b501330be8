"""Browser: sign up a brand, log in as each role, see the right navigation, switch
language, log out."""

import re

import pytest
from django_tenants.utils import tenant_context
from playwright.sync_api import Page, expect

from scrm import tenancy
from scrm.models import Brand
from tests.conftest import make_staff

pytestmark = pytest.mark.e2e
PASSWORD = "Str0ng-pass!"


@pytest.fixture
def signed_up_slug(committed):  # noqa: ANN001, ANN201
    slug = "e2e-tea"
    yield slug
    brand = Brand.objects.filter(slug=slug).first()
    if brand:
        tenancy.drop_brand(brand)


def _log_in(page: Page, base: str, username: str) -> None:
    page.goto(f"{base}/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_test_id("who")).to_contain_text(username)


def _nav(page: Page) -> list[str]:
    return page.get_by_test_id("nav").locator("a").evaluate_all("els => els.map(e => e.dataset.nav)")


def test_sign_up_then_each_role_sees_its_navigation(page: Page, live_server_url: str, signed_up_slug: str):
    # given the public sign-up page
    page.goto(live_server_url + "/")
    # a reserved address is refused with a clear message, without a reload (HTMX)
    page.get_by_label("Brand name").fill("Tea House")
    page.get_by_label("Address").fill("admin")
    page.get_by_label("Your username").fill("boss")
    page.get_by_label("Your email").fill("boss@tea.example")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Create brand").click()
    expect(page.get_by_test_id("error-slug")).to_contain_text("reserved")
    # and the caret is put back in the field to fix
    expect(page.get_by_label("Address")).to_be_focused()
    # when a good address is used
    page.get_by_label("Address").fill(signed_up_slug)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Create brand").click()
    link = page.get_by_test_id("brand-login-link")
    expect(link).to_contain_text(f"{signed_up_slug}.localhost")
    base = re.sub(r"/login/$", "", link.get_attribute("href"))

    # then the new brand's admin logs in at the brand's own host and sees admin pages
    _log_in(page, base, "boss")
    assert {"home", "staff:staff-list", "staff:audit-log", "staff:system"} <= set(_nav(page))

    # and the other roles see only theirs
    with tenant_context(Brand.objects.get(slug=signed_up_slug)):
        make_staff("Marketer", username="mkt")
        make_staff("Agent", username="agt")
    for username in ("mkt", "agt"):
        page.get_by_test_id("logout").click()
        expect(page).to_have_url(re.compile(r"/login/"))
        page.get_by_label("Username").fill(username)
        page.get_by_label("Password").fill("test-pass-123")
        page.get_by_role("button", name="Log in").click()
        expect(page.get_by_test_id("who")).to_contain_text(username)
        nav = set(_nav(page))
        assert "home" in nav
        assert not nav & {"staff:staff-list", "staff:audit-log", "staff:system"}
        page.goto(base + "/staff/")
        expect(page.locator("h1")).to_have_text("403")
        page.goto(base + "/")

    # switching language turns the interface into Chinese and back
    page.get_by_test_id("language-switch").select_option("zh-hans")
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    expect(page.get_by_test_id("nav")).to_contain_text("首页")
    expect(page.get_by_test_id("logout")).to_have_text("退出登录")
    page.get_by_test_id("language-switch").select_option("en")
    expect(page.get_by_test_id("nav")).to_contain_text("Home")

    # log out ends the session
    page.get_by_test_id("logout").click()
    page.goto(base + "/")
    expect(page).to_have_url(re.compile(r"/login/\?next=/"))
