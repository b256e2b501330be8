from django.core.cache import cache

from tests.customers.factories import CustomerFactory, IdentityFactory


def test_home_page_shows_customer_figures_and_charts(staff_client):
    # given a brand with customers on two channels
    cache.delete("home:brand-summary")
    IdentityFactory(kind="email", customer=CustomerFactory(display_name="<b>张伟</b>"))
    IdentityFactory(kind="wechat_openid", customer=CustomerFactory())
    client, _user = staff_client("Marketer")
    # when a marketer opens the home page
    body = client.get("/").content.decode()
    # then the count and both charts are there
    assert 'data-testid="customer-count">2<' in body
    assert body.count('data-testid="chart"') == 2
    assert "<svg" in body
    cache.delete("home:brand-summary")
