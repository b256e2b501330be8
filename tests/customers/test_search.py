"""The Customers search box and list at scale: each query type finds the right people
through the index-served UNION, wildcards are literal, counts stop at a cap, and another
brand's customers never appear."""

import pytest

from customers import selectors
from customers.models import Customer
from customers.paging import CappedPaginator
from tests.customers.factories import CustomerFactory, IdentityFactory, TagFactory


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
        ("2345678", {"Mei Lin"}),  # phone fragment
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
