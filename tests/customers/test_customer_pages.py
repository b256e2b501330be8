"""Staff find customers, tag them in bulk, and read a Profile 360 with its timeline."""

import re
from datetime import timedelta

import pytest

from customers.models import Customer, CustomerTag, Note
from scrm.staff.models import AuditEntry
from tests.customers.factories import (
    NOW,
    ConsentFactory,
    CustomerFactory,
    IdentityFactory,
    InteractionFactory,
    OrderFactory,
    TagFactory,
)

HOSTILE = "<script>alert(1)</script>"


def names_in(response) -> str:  # noqa: ANN001
    return response.content.decode()


@pytest.mark.parametrize("query", ["王小明", "小明", "Wang", "wang xiao"])
def test_search_finds_a_customer_by_chinese_or_english_name(staff_client, query):
    # given two customers
    client, _user = staff_client("Agent")
    CustomerFactory(display_name="王小明 Wang Xiaoming")
    CustomerFactory(display_name="Alice Smith")
    # when an agent searches by part of a name
    body = names_in(client.get("/customers/", {"q": query}))
    # then only the match is listed
    assert "Wang Xiaoming" in body
    assert "Alice Smith" not in body


def test_search_finds_a_customer_by_email_phone_or_id(staff_client):
    client, _user = staff_client("Marketer")
    mei = IdentityFactory(value="mei.lin@example.com").customer
    mei.display_name = "Mei Lin"
    mei.save()
    IdentityFactory(customer=mei, kind="phone", value="+8613812345678")
    CustomerFactory(display_name="Bob Jones")
    for query in ("MEI.LIN@example.com", "13812345678", "+86 138 1234 5678", str(mei.pk)):
        body = names_in(client.get("/customers/", {"q": query}))
        assert "Mei Lin" in body, query
        assert "Bob Jones" not in body, query
    # a wildcard in the query is matched literally, not as "anything"
    assert "Mei Lin" not in names_in(client.get("/customers/", {"q": "%"}))


def test_live_search_returns_only_the_table_partial(staff_client):
    client, _user = staff_client("Agent")
    CustomerFactory(display_name="Partial Person")
    response = client.get("/customers/", {"q": "Partial"}, HTTP_HX_REQUEST="true")
    body = names_in(response)
    assert body.lstrip().startswith('<div id="customer-table">')
    assert "Partial Person" in body
    assert "<html" not in body


def test_filters_by_channel_tag_city_consent_and_last_seen(staff_client):
    client, _user = staff_client("Marketer")
    wechat = IdentityFactory(kind="wechat_openid", scope="wx1", value="o-abc").customer
    wechat.display_name, wechat.city = "On WeChat", "Beijing"
    wechat.save()
    tagged = CustomerFactory(display_name="Tagged VIP", city="Shenzhen")
    CustomerTag.objects.create(customer=tagged, tag=TagFactory(name="vip"))
    stale = CustomerFactory(display_name="Long Gone", last_seen_at=NOW - timedelta(days=400))
    opted_in = CustomerFactory(display_name="Opted In")
    ConsentFactory(customer=opted_in, channel="email", status="granted", recorded_at=NOW - timedelta(days=2))
    opted_out = CustomerFactory(display_name="Opted Out")
    ConsentFactory(customer=opted_out, channel="email", status="granted", recorded_at=NOW - timedelta(days=2))
    ConsentFactory(customer=opted_out, channel="email", status="withdrawn", recorded_at=NOW - timedelta(days=1))
    Customer.objects.exclude(pk=stale.pk).update(last_seen_at=NOW.now(NOW.tzinfo))

    def listed(**params: str) -> set[str]:
        body = names_in(client.get("/customers/", params))
        everyone = ("On WeChat", "Tagged VIP", "Long Gone", "Opted In", "Opted Out")
        return {name for name in everyone if name in body}

    assert listed(channel="wechat") == {"On WeChat"}
    assert listed(tag="vip") == {"Tagged VIP"}
    assert listed(city="Beijing") == {"On WeChat"}
    assert listed(consent="email") == {"Opted In"}
    assert "Long Gone" not in listed(last_seen="30")
    assert "Long Gone" in listed()


def test_sorting_by_revenue_puts_the_biggest_spender_first(staff_client):
    client, _user = staff_client("Agent")
    CustomerFactory(display_name="Small Spender", revenue=10)
    CustomerFactory(display_name="Big Spender", revenue=9000)
    body = names_in(client.get("/customers/", {"sort": "-revenue"}))
    assert body.index("Big Spender") < body.index("Small Spender")
    body = names_in(client.get("/customers/", {"sort": "name"}))
    assert body.index("Big Spender") < body.index("Small Spender")


def test_merged_and_erased_customers_are_not_listed(staff_client):
    client, _user = staff_client("Agent")
    survivor = CustomerFactory(display_name="Survivor")
    CustomerFactory(display_name="Merged Away", merged_into=survivor)
    CustomerFactory(display_name="Erased One", erased_at=NOW)
    body = names_in(client.get("/customers/"))
    assert "Survivor" in body
    assert "Merged Away" not in body
    assert "Erased One" not in body


def test_an_empty_search_shows_the_empty_state(staff_client):
    client, _user = staff_client("Agent")
    assert 'data-testid="empty-state"' in names_in(client.get("/customers/", {"q": "nobody-at-all"}))


def test_marketer_tags_and_untags_the_checked_customers(staff_client):
    # given a marketer and three customers
    client, marketer = staff_client("Marketer")
    first, second, third = CustomerFactory.create_batch(3)
    CustomerTag.objects.create(customer=first, tag=TagFactory(name="vip"))
    # when they tag two of them (one already tagged)
    response = client.post(
        "/customers/tags/", {"customer_ids": [first.pk, second.pk], "tag": "vip", "action": "tag", "next": "/customers/?q=x"}
    )
    # then both carry the tag once, the third does not, and it is audited
    assert response.status_code == 302
    assert response["Location"] == "/customers/?q=x"
    assert set(CustomerTag.objects.filter(tag__name="vip").values_list("customer_id", flat=True)) == {first.pk, second.pk}
    entry = AuditEntry.objects.get(action="customers.tagged")
    assert entry.actor == marketer
    assert entry.object_repr == "vip"
    # when they untag the first and third
    client.post("/customers/tags/", {"customer_ids": [first.pk, third.pk], "tag": "vip", "action": "untag"})
    # then only the second keeps the tag
    assert list(CustomerTag.objects.filter(tag__name="vip").values_list("customer_id", flat=True)) == [second.pk]
    assert AuditEntry.objects.get(action="customers.untagged").changes == {"customers": [1, None]}


def test_bulk_tag_ignores_merged_customers_and_off_site_next(staff_client):
    client, _user = staff_client("Admin")
    survivor = CustomerFactory()
    merged = CustomerFactory(merged_into=survivor)
    response = client.post(
        "/customers/tags/", {"customer_ids": [merged.pk, survivor.pk], "tag": "new", "action": "tag", "next": "https://evil.example/"}
    )
    assert response["Location"] == "/customers/"
    assert list(CustomerTag.objects.values_list("customer_id", flat=True)) == [survivor.pk]


def test_an_agent_cannot_bulk_tag(staff_client):
    client, _user = staff_client("Agent")
    customer = CustomerFactory()
    response = client.post("/customers/tags/", {"customer_ids": [customer.pk], "tag": "vip", "action": "tag"})
    assert response.status_code == 403
    assert not CustomerTag.objects.exists()
    assert 'id="bulk-form"' not in names_in(client.get("/customers/"))


def test_profile_shows_identities_consent_tags_and_timeline(staff_client):
    # given a customer with identities, consent history, a tag, messages and an order
    client, _user = staff_client("Agent")
    customer = CustomerFactory(display_name="Li Na", order_count=3, revenue=597)
    IdentityFactory(customer=customer, value="li.na@example.com", verified=True)
    IdentityFactory(customer=customer, kind="wechat_openid", scope="wx1", value="o-lina")
    ConsentFactory(customer=customer, channel="email", status="granted", recorded_at=NOW - timedelta(days=5))
    ConsentFactory(customer=customer, channel="email", status="withdrawn", recorded_at=NOW - timedelta(days=1))
    ConsentFactory(customer=customer, channel="sms", purpose="service", status="granted")
    CustomerTag.objects.create(customer=customer, tag=TagFactory(name="loyal"))
    InteractionFactory(customer=customer, text="where is my parcel?", occurred_at=NOW - timedelta(hours=2))
    OrderFactory(customer=customer, external_id="SO-LINA-1", ordered_at=NOW - timedelta(hours=1))
    # when an agent opens the profile
    response = client.get(f"/customers/{customer.pk}/")
    body = names_in(response)
    # then everything shows, the latest consent per channel and purpose wins, newest first
    assert response.status_code == 200
    assert "li.na@example.com" in body and "o-lina" in body and "Verified" in body and "WeChat" in body
    assert body.count('data-testid="consent"') == 2
    assert "Withdrawn" in body and "loyal" in body
    assert body.index("SO-LINA-1") < body.index("where is my parcel?")


def test_timeline_filters_by_channel_and_kind(staff_client):
    client, _user = staff_client("Agent")
    customer = CustomerFactory()
    InteractionFactory(customer=customer, channel="weibo", kind="comment", text="weibo comment")
    InteractionFactory(customer=customer, channel="wechat", text="wechat message")
    OrderFactory(customer=customer, external_id="SO-FILTER", channel="web")
    body = names_in(client.get(f"/customers/{customer.pk}/timeline/", {"channel": "weibo"}))
    assert "weibo comment" in body and "wechat message" not in body and "SO-FILTER" not in body
    body = names_in(client.get(f"/customers/{customer.pk}/timeline/", {"kind": "order"}))
    assert "SO-FILTER" in body and "weibo comment" not in body


def test_timeline_pages_by_cursor_without_gaps_or_repeats(staff_client):
    # given 120 entries, some sharing a timestamp
    client, _user = staff_client("Agent")
    customer = CustomerFactory()
    for n in range(100):
        InteractionFactory(customer=customer, text=f"msg-{n:03d}.", occurred_at=NOW - timedelta(minutes=n // 2))
    for n in range(20):
        OrderFactory(customer=customer, external_id=f"SO-P{n:03d}", ordered_at=NOW - timedelta(minutes=n))
    # when the profile's timeline is followed page by page through its "revealed" loader
    seen: list[str] = []
    body = names_in(client.get(f"/customers/{customer.pk}/"))
    assert 'hx-trigger="revealed"' in body
    pages = 1
    while 'data-testid="timeline-more"' in body:
        url = body.split('data-testid="timeline-more"')[0].rsplit('hx-get="', 1)[1].split('"')[0].replace("&amp;", "&")
        seen += re.findall(r"(?:msg-|SO-P)\d{3}", body)
        body = names_in(client.get(url, HTTP_HX_REQUEST="true"))
        pages += 1
    seen += re.findall(r"(?:msg-|SO-P)\d{3}", body)
    # then every entry appears exactly once, over three pages of 50
    assert pages == 3
    assert len(seen) == 120 and len(set(seen)) == 120


@pytest.mark.parametrize("page", ["list", "detail"])
def test_hostile_customer_text_is_escaped(staff_client, page):
    client, _user = staff_client("Admin")
    name = f"{HOSTILE}\u202e\u200fمرحبا 😀" + "x" * 150
    customer = CustomerFactory(display_name=name[:200], city=HOSTILE)
    TagFactory(name=HOSTILE[:64])
    CustomerTag.objects.create(customer=customer, tag=TagFactory(name=HOSTILE[:64]))
    IdentityFactory(customer=customer, value=f"{HOSTILE}@example.com")
    InteractionFactory(customer=customer, text=HOSTILE + "y" * 100_000)
    Note.objects.create(customer=customer, body=HOSTILE + "z" * 100_000)
    url = "/customers/" if page == "list" else f"/customers/{customer.pk}/"
    response = client.get(url)
    body = names_in(response)
    assert response.status_code == 200
    assert HOSTILE not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body
    assert "😀" in body
    assert len(body) < 60_000  # the 100k-char texts are shortened, not dumped


def test_staff_add_a_note_with_htmx_and_it_is_escaped(staff_client):
    client, agent = staff_client("Agent")
    customer = CustomerFactory()
    response = client.post(f"/customers/{customer.pk}/notes/", {"body": f"called back {HOSTILE}"}, HTTP_HX_REQUEST="true")
    body = names_in(response)
    assert response.status_code == 200
    assert body.lstrip().startswith('<section class="card" id="notes"')
    assert "called back &lt;script&gt;" in body and HOSTILE not in body
    assert Note.objects.get(customer=customer).author == agent
    empty = client.post(f"/customers/{customer.pk}/notes/", {"body": ""}, HTTP_HX_REQUEST="true")
    assert 'class="error"' in names_in(empty)
    assert Note.objects.count() == 1


@pytest.mark.parametrize("state", ["merged", "erased", "missing"])
def test_profile_of_a_merged_erased_or_missing_customer_is_404(staff_client, state):
    client, _user = staff_client("Agent")
    survivor = CustomerFactory()
    target = {
        "merged": lambda: CustomerFactory(merged_into=survivor).pk,
        "erased": lambda: CustomerFactory(erased_at=NOW).pk,
        "missing": lambda: survivor.pk + 1000,
    }[state]()
    assert client.get(f"/customers/{target}/").status_code == 404
    assert client.get(f"/customers/{target}/timeline/").status_code == 404
    assert client.post(f"/customers/{target}/notes/", {"body": "hi"}).status_code == 404
