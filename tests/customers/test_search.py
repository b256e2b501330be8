"""The Customers search box and list at scale: each query type finds the right people
through the index-served UNION, exact matches come first, searched and filtered lists page
by Previous/Next without skipping or repeating anyone, wildcards are literal, the whole
list's count stops at a cap, and another brand's customers never appear."""

import re
from datetime import timedelta

import pytest

from customers import selectors
from customers.models import Customer
from customers.paging import CappedPaginator
from tests.customers.factories import NOW, CustomerFactory, IdentityFactory, TagFactory


def found(query: str, **filters: str) -> set[str]:
    return set(selectors.customer_search(query=query, **filters).values_list("display_name", flat=True))


@pytest.fixture
def people(brand):  # noqa: ANN001, ANN201
    mei = CustomerFactory(display_name="Mei Lin", city="上海")
    IdentityFactory(customer=mei, kind="email", value="mei.lin@example.com")
    IdentityFactory(customer=mei, kind="phone", value="+8613812345678")
    wang = CustomerFactory(display_name="王小明", city="北京")
    IdentityFactory(customer=wang, kind="wechat_openid", scope="wx1", value="oAbC_123-xyz")
    IdentityFactory(customer=wang, kind="member_id", value="VIP-000042")
    bob = CustomerFactory(display_name="Bob 100% Real_Name")
    IdentityFactory(customer=bob, kind="weibo_uid", value="5566778899")
    return {"mei": mei, "wang": wang, "bob": bob}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("mei", {"Mei Lin"}),  # latin name fragment (trigram branch)
        ("王", {"王小明"}),  # one CJK character (no trigram: plain name filter)
        ("小明", {"王小明"}),  # two CJK characters
        ("王小明", {"王小明"}),
        ("MEI.LIN@EXAMPLE.COM", {"Mei Lin"}),  # email, any case (normalized exact + trigram)
        ("lin@exam", {"Mei Lin"}),  # email fragment
        ("+86 138-1234-5678", {"Mei Lin"}),  # phone in another spelling (normalized exact)
        ("13812345678", {"Mei Lin"}),
        ("2345678", {"Mei Lin"}),  # the last digits of a phone
        ("8613812", {"Mei Lin"}),  # the first digits of a phone, with the country code
        ("1381234", {"Mei Lin"}),  # … or without it (a home-country number)
        ("oAbC_123-xyz", {"王小明"}),  # a platform handle, exact, in a scoped kind
        ("5566778899", {"Bob 100% Real_Name"}),  # a handle of a kind without a trigram index
        ("vip-0000", {"王小明"}),  # member number fragment
        ("nobody-at-all", set()),
    ],
)
def test_each_query_type_finds_the_right_customers(people, query, expected):
    assert found(query) == expected


def test_search_by_customer_id(people):
    assert found(str(people["wang"].pk)) == {"王小明"}
    assert found("9" * 30) == set()  # beyond bigint: no crash, no match


def test_handle_fragments_of_platform_ids_are_not_matched(people):
    # OpenIDs are matched whole only (no trigram index on them)
    assert found("AbC_12") == set()


@pytest.mark.parametrize("query", ["%", "_", "\\", "100%", "m_i"])
def test_wildcards_and_backslashes_are_literal(people, query):
    expected = {"Bob 100% Real_Name"} if query in ("%", "_", "100%") else set()
    assert found(query) == expected


def test_hostile_queries_do_not_crash(people):
    for query in ("'; DROP TABLE customers_customer; --", "\x00", "a" * 200, "\u202e王", "😀"):
        assert isinstance(found(query), set)
    assert Customer.objects.count() == 3


def test_search_combines_with_filters_and_skips_merged_or_erased(people):
    assert found("mei", city="上海") == {"Mei Lin"}
    assert found("mei", city="北京") == set()
    vip = TagFactory(name="vip")
    people["wang"].customer_tags.create(tag=vip)
    assert found("", tag="vip") == {"王小明"}
    assert found("", tag="no-such-tag") == set()
    Customer.objects.filter(pk=people["mei"].pk).update(erased_at=people["mei"].created_at)
    assert found("mei.lin@example.com") == set()


def test_cities_lists_each_live_city_once(people):
    CustomerFactory(display_name="Another", city="上海")
    CustomerFactory(display_name="Gone", city="广州", erased_at=people["mei"].created_at)
    CustomerFactory(display_name="Nowhere", city="")
    # people's third customer lives in the factory's default city
    assert selectors.customer_cities() == sorted(["上海", "北京", "Shanghai"])


def test_the_count_stops_at_the_cap(brand):
    CustomerFactory.create_batch(7)
    capped = CappedPaginator(selectors.customer_search(), 2, cap=5)
    assert (capped.count, capped.is_capped, capped.num_pages) == (5, True, 3)
    exact = CappedPaginator(selectors.customer_search(), 2, cap=50)
    assert (exact.count, exact.is_capped, exact.num_pages) == (7, False, 4)


def test_the_list_shows_a_capped_count(staff_client, monkeypatch):
    from customers import views

    client, _user = staff_client("Agent")
    CustomerFactory.create_batch(4)
    monkeypatch.setattr(views, "LIST_CAP", 3)
    body = client.get("/customers/").content.decode()
    assert "3+ customers" in body
    body = client.get("/customers/", {"q": "no such person"}).content.decode()
    assert "3+ customers" not in body


def test_search_never_shows_another_brands_customers(staff_client, other_brand):
    from django_tenants.utils import tenant_context

    client, _user = staff_client("Agent")
    with tenant_context(other_brand):
        beta = Customer.objects.create(pk=990_101, display_name="Beta Only Person")
        beta.identities.create(kind="email", value="beta.only@example.com")
    for query in ("Beta Only", "beta.only@example.com", str(beta.pk)):
        assert "Beta Only Person" not in client.get("/customers/", {"q": query}).content.decode()


def test_digits_find_ids_and_phones_only(people):
    # given Bob's name holds digits and Wang's member number too
    # then digits match neither: only ids, whole identities and phones by ending/beginning
    assert found("100") == set()
    assert found("000042") == set()
    assert found("3456") == set()  # inside the phone, neither its end nor its beginning
    assert found("5678") == {"Mei Lin"}


def page_of(query: str = "", number: int = 1, per_page: int = 2, **search):  # noqa: ANN001, ANN201
    search.setdefault("sort", selectors.DEFAULT_SORT)
    return selectors.customer_page(
        number=number, per_page=per_page, max_pages=100, exact_first=True, query=query, **search
    )


def test_exact_matches_come_first(brand):
    # given many recent "Lin"s, and the person whose email, id or whole name is typed
    for n in range(5):
        CustomerFactory(display_name=f"Lin {n}", last_seen_at=NOW)
    wanted = CustomerFactory(display_name="Old Lin", last_seen_at=NOW - timedelta(days=900))
    IdentityFactory(customer=wanted, kind="email", value="lin@example.com")
    # when the search names them exactly, they lead the first page; a fragment does not
    for query in ("lin@example.com", "LIN@EXAMPLE.COM", "Old Lin", str(wanted.pk)):
        assert page_of(query).object_list[0] == wanted, query
    assert wanted not in page_of("lin").object_list


def test_a_picked_sort_is_kept_while_searching(staff_client):
    client, _user = staff_client("Agent")
    CustomerFactory(display_name="Ann Lin")
    zed = CustomerFactory(display_name="Zed Lin")
    IdentityFactory(customer=zed, kind="email", value="zed.lin@example.com")
    body = client.get("/customers/", {"q": "zed.lin@example.com"}).content.decode()
    assert 'name="sort" value=""' in body  # no sort picked: the search ranks
    body = client.get("/customers/", {"q": "lin", "sort": "name"}).content.decode()
    assert body.index("Ann Lin") < body.index("Zed Lin")
    assert 'name="sort" value="name"' in body


def next_link(body: str) -> str | None:
    found_link = re.search(r'href="\?([^"]*)" rel="next"', body)
    return found_link.group(1).replace("&amp;", "&") if found_link else None


def previous_link(body: str) -> str | None:
    found_link = re.search(r'href="\?([^"]*)" rel="prev"', body)
    return found_link.group(1).replace("&amp;", "&") if found_link else None


def row_names(body: str) -> list[str]:
    return re.findall(r'<a href="/customers/\d+/">([^<]*)</a>', body)


@pytest.mark.parametrize("params", [{"q": "pager"}, {"city": "Pagetown"}, {"q": "pager", "sort": "name"}])
def test_next_and_previous_visit_every_match_once(staff_client, params):
    # given 60 matching customers, many sharing a last-seen time (ties are broken by id)
    client, _user = staff_client("Agent")
    for n in range(60):
        CustomerFactory(display_name=f"Pager {n:02d}", city="Pagetown",
                        last_seen_at=NOW - timedelta(hours=n % 4))
    CustomerFactory.create_batch(3, city="Elsewhere")
    # when staff follow Next to the end
    pages, query = [], "&".join(f"{k}={v}" for k, v in params.items())
    while query is not None:
        body = client.get(f"/customers/?{query}").content.decode()
        pages.append((query, row_names(body)))
        assert "customer-count" not in body  # a narrowed list is not counted
        assert f"Page {len(pages)}" in body
        query = next_link(body)
    # then every match was shown exactly once, 25 a page
    shown = [name for _query, names in pages for name in names]
    assert sorted(shown) == [f"Pager {n:02d}" for n in range(60)]
    assert [len(names) for _query, names in pages] == [25, 25, 10]
    # and Previous from the last page shows the page before it again
    body = client.get(f"/customers/?{previous_link(body)}").content.decode()
    assert row_names(body) == pages[1][1]


def test_the_common_fragment_walk_finds_the_same_people(brand, monkeypatch):
    # given matches by name, by email fragment, and one merged away
    for n in range(7):
        CustomerFactory(display_name=f"Walker {n}", last_seen_at=NOW - timedelta(days=n))
    by_email = CustomerFactory(display_name="Someone", last_seen_at=NOW - timedelta(days=3))
    IdentityFactory(customer=by_email, kind="email", value="the.walker@example.com")
    IdentityFactory(kind="wechat_openid", scope="wx1", value="walker-openid")  # not searchable by fragment
    gone = CustomerFactory(display_name="Walker Gone")
    Customer.objects.filter(pk=gone.pk).update(merged_into=by_email)
    expected = list(selectors.customer_search(query="walker").values_list("display_name", flat=True))
    # when the fragment counts as common, pages walk the list instead of reading every match
    monkeypatch.setattr(selectors, "COMMON_FRAGMENT", 2)
    assert selectors._walks_the_list("walker", {"query": "walker", "sort": selectors.DEFAULT_SORT})
    walked = [c.display_name for n in (1, 2, 3) for c in page_of("walker", n, per_page=3).object_list]
    # then the same people in the same order, the merged one left out
    assert walked == expected
    assert "Walker Gone" not in walked and "Someone" in walked


def test_list_badges_show_each_channel_once_and_escape_tag_names(staff_client):
    client, _user = staff_client("Agent")
    mei = CustomerFactory(display_name="Mei Lin")
    IdentityFactory(customer=mei, kind="email", value="a@example.com")
    IdentityFactory(customer=mei, kind="email", value="b@example.com")
    IdentityFactory(customer=mei, kind="phone", value="+8613812345678")
    mei.customer_tags.create(tag=TagFactory(name="<b>vip</b>"))
    body = client.get("/customers/", {"q": "Mei"}).content.decode()
    assert body.count(">Email address</span>") == 1
    assert body.count(">Phone number</span>") == 1
    assert "&lt;b&gt;vip&lt;/b&gt;" in body and "<b>vip</b>" not in body


def test_a_page_number_past_the_end_or_malformed_does_not_fail(staff_client):
    client, _user = staff_client("Agent")
    CustomerFactory(display_name="Only One")
    for page in ("999999", "-3", "abc", "1e9"):
        response = client.get("/customers/", {"q": "Only", "page": page})
        assert response.status_code == 200
    assert "Only One" in client.get("/customers/", {"q": "Only", "page": "abc"}).content.decode()


def test_a_big_brand_list_says_more_than_the_cap_without_counting(staff_client, monkeypatch):
    # given a customer table the planner believes holds ten times the cap
    from customers import views

    client, _user = staff_client("Agent")
    CustomerFactory.create_batch(2)
    monkeypatch.setattr(views, "LIST_CAP", 3)
    monkeypatch.setattr(selectors, "customer_table_estimate", lambda: 30)
    # then the page says "3+" though only two exist: it did not count them
    assert "3+ customers" in client.get("/customers/").content.decode()


@pytest.mark.parametrize("params", [{}, {"q": "Person"}, {"q": "person1@example.com"}, {"city": "上海"}])
def test_the_list_costs_the_same_queries_whatever_its_rows_hold(staff_client, params):
    # given customers with several identities and tags each
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client, _user = staff_client("Agent")
    vip, new = TagFactory(name="vip"), TagFactory(name="新客")

    def add_people(start: int, count: int) -> None:
        for i in range(start, start + count):
            person = CustomerFactory(display_name=f"Person {i}", city="上海")
            IdentityFactory(customer=person, kind="email", value=f"person{i}@example.com")
            IdentityFactory(customer=person, kind="phone", value=f"+86138{i:08d}")
            person.tags.add(vip, new)

    add_people(0, 3)
    client.get("/customers/", params)
    with CaptureQueriesContext(connection) as few:
        body = client.get("/customers/", params).content.decode()
    assert "vip" in body and "新客" in body and "Email address" in body
    # when the page fills up with more of them
    add_people(3, 30)
    with CaptureQueriesContext(connection) as many:
        client.get("/customers/", params)
    # then the page runs as many queries as before: badges come with the rows
    assert len(many.captured_queries) == len(few.captured_queries)


def test_an_email_search_looks_in_identities_not_names(people):
    # given a customer whose display name is an address they have no identity for
    CustomerFactory(display_name="named.like@an-address.example")
    # then an email-shaped query finds identities only, and a plain fragment still finds the name
    assert found("named.like@an-address.example") == set()
    assert found("lin@example") == {"Mei Lin"}
    assert found("named.like") == {"named.like@an-address.example"}
