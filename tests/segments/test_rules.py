"""Each field and operator of the rule language selects who a person would expect, and
bad rules are refused with a reason."""

from datetime import timedelta
from decimal import Decimal

import pytest

from customers.models import AttributeDefinition, CustomerTag
from customers.services import refresh_customer_aggregates
from segments.rules import RuleError, compile_rule
from segments.selectors import matching_customers
from tests.customers.factories import (
    NOW,
    ConsentFactory,
    CustomerFactory,
    IdentityFactory,
    InteractionFactory,
    OrderFactory,
    TagFactory,
)


def picked(rule, now=NOW):  # noqa: ANN001, ANN201
    return set(matching_customers(rule, now=now).values_list("display_name", flat=True))


def cond(field, op, value=None, **params):  # noqa: ANN001, ANN003, ANN201
    node = {"field": field, "op": op, **params}
    if value is not None:
        node["value"] = value
    return node


@pytest.fixture
def people(brand):  # noqa: ANN001, ANN201
    ann = CustomerFactory(display_name="Ann", city="Shanghai", gender="female", birthday="1990-05-01",
                          attributes={"vip_level": "gold", "newsletter": True, "points": 120, "joined": "2024-02-01"})
    bob = CustomerFactory(display_name="Bob", city="Beijing", gender="male", last_seen_at=NOW - timedelta(days=40),
                          attributes={"vip_level": "silver", "points": "lots"})
    cat = CustomerFactory(display_name="Cat", city="", last_seen_at=None)
    return {"ann": ann, "bob": bob, "cat": cat}


@pytest.mark.parametrize(("rule", "expected"), [
    (cond("city", "eq", "Shanghai"), {"Ann"}),
    (cond("city", "neq", "Shanghai"), {"Bob", "Cat"}),
    (cond("city", "contains", "jing"), {"Bob"}),
    (cond("city", "not_contains", "JING"), {"Ann", "Cat"}),
    (cond("city", "in", ["Shanghai", "Beijing"]), {"Ann", "Bob"}),
    (cond("city", "not_in", ["Shanghai"]), {"Bob", "Cat"}),
    (cond("city", "is_set"), {"Ann", "Bob"}),
    (cond("city", "not_set"), {"Cat"}),
    (cond("gender", "eq", "female"), {"Ann"}),
    (cond("birthday", "before", "1991-01-01"), {"Ann"}),
    (cond("birthday", "not_set"), {"Bob", "Cat"}),
    (cond("birthday", "between", ["1990-05-01", "1990-05-01"]), {"Ann"}),
    (cond("last_seen_at", "in_last_days", 30), {"Ann"}),
    (cond("last_seen_at", "more_than_days_ago", 30), {"Bob"}),
    (cond("last_seen_at", "after", "2025-05-31"), {"Ann"}),
    (cond("attr.vip_level", "eq", "gold"), {"Ann"}),
    (cond("attr.vip_level", "in", ["gold", "silver"]), {"Ann", "Bob"}),
    (cond("attr.vip_level", "not_set"), {"Cat"}),
    (cond("attr.newsletter", "is_true"), {"Ann"}),
    (cond("attr.newsletter", "is_false"), {"Bob", "Cat"}),
    (cond("attr.points", "gte", 100), {"Ann"}),  # Bob's "lots" is not a number: no error
    (cond("attr.points", "neq", 120), {"Bob", "Cat"}),
    (cond("attr.joined", "after", "2024-01-01"), {"Ann"}),
])
def test_profile_and_custom_attribute_operators(people, rule, expected):
    # given custom attributes of every type
    AttributeDefinition.objects.create(key="vip_level", label="VIP", type="choice", choices=["gold", "silver"])
    AttributeDefinition.objects.create(key="newsletter", label="News", type="bool")
    AttributeDefinition.objects.create(key="points", label="Points", type="number")
    AttributeDefinition.objects.create(key="joined", label="Joined", type="date")
    # then the rule selects exactly the expected people
    assert picked(rule) == expected


def test_nested_groups_and_not(people):
    rule = {"any": [
        {"all": [cond("city", "eq", "Shanghai"), cond("gender", "eq", "female")]},
        {"not": {"any": [cond("city", "is_set")]}},
    ]}
    assert picked(rule) == {"Ann", "Cat"}
    assert picked({"all": []}) == {"Ann", "Bob", "Cat"}
    assert picked({"any": []}) == set()


def test_tags_identities_and_consent(people):
    vip, churn = TagFactory(name="vip"), TagFactory(name="churn-risk")
    CustomerTag.objects.create(customer=people["ann"], tag=vip)
    CustomerTag.objects.create(customer=people["ann"], tag=churn)
    CustomerTag.objects.create(customer=people["bob"], tag=vip)
    IdentityFactory(customer=people["bob"], kind="wechat_openid", scope="wx1", value="o-bob")
    ConsentFactory(customer=people["ann"], channel="email", status="granted", recorded_at=NOW - timedelta(days=2))
    ConsentFactory(customer=people["ann"], channel="email", status="withdrawn", recorded_at=NOW - timedelta(days=1))
    ConsentFactory(customer=people["bob"], channel="all", status="granted")
    assert picked(cond("tags", "has_any", ["vip"])) == {"Ann", "Bob"}
    assert picked(cond("tags", "has_all", ["vip", "churn-risk"])) == {"Ann"}
    assert picked(cond("tags", "has_none", ["vip"])) == {"Cat"}
    assert picked(cond("identity", "has", "wechat")) == {"Bob"}
    assert picked(cond("identity", "has_not", "wechat")) == {"Ann", "Cat"}
    consent = {"channel": "email", "purpose": "marketing"}
    assert picked(cond("consent", "eq", "withdrawn", **consent)) == {"Ann"}  # latest row wins
    assert picked(cond("consent", "eq", "granted", **consent)) == {"Bob"}  # "all channels" counts
    assert picked(cond("consent", "eq", "unknown", **consent)) == {"Cat"}
    assert picked(cond("consent", "neq", "granted", **consent)) == {"Ann", "Cat"}


def test_behaviour_orders_sentiment_and_campaigns(people):
    ann, bob = people["ann"], people["bob"]
    for days in (1, 2, 3):
        InteractionFactory(customer=ann, channel="wechat", kind="comment", occurred_at=NOW - timedelta(days=days), sentiment=0.8)
    InteractionFactory(customer=bob, channel="weibo", kind="like", occurred_at=NOW - timedelta(days=50), sentiment=-0.5)
    InteractionFactory(customer=bob, channel="email", kind="campaign_clicked", occurred_at=NOW - timedelta(days=5),
                       metadata={"campaign_id": 7})
    OrderFactory(customer=ann, amount=Decimal("100.00"), ordered_at=NOW - timedelta(days=10),
                 items=[{"sku": "SK-1", "qty": 1}])
    OrderFactory(customer=ann, amount=Decimal("300.00"), ordered_at=NOW - timedelta(days=100))
    OrderFactory(customer=bob, amount=Decimal("50.00"), status="refunded")
    refresh_customer_aggregates(now=NOW)
    # denormalized window (any kind, 7 days on wechat) and a counted one (comments, 5 days)
    assert picked(cond("interactions", "gte", 3, channel="wechat", days=7)) == {"Ann"}
    assert picked(cond("interactions", "eq", 0, channel="wechat", days=7)) == {"Bob", "Cat"}
    assert picked(cond("interactions", "gte", 2, kind="comment", days=2)) == {"Ann"}
    assert picked(cond("interactions", "gte", 1, kind="like", days=90)) == {"Bob"}
    assert picked(cond("interactions", "lt", 1, days=30)) == {"Cat"}  # a campaign click is activity
    assert picked(cond("last_interaction_at", "more_than_days_ago", 30, kind="like")) == {"Bob"}
    assert picked(cond("first_interaction_at", "not_set")) == {"Cat"}
    assert picked(cond("orders_count", "eq", 2)) == {"Ann"}
    assert picked(cond("orders_count", "eq", 1, days=30)) == {"Ann"}
    assert picked(cond("orders_sum", "gte", 400)) == {"Ann"}
    assert picked(cond("orders_sum", "lt", 150, days=30)) == {"Ann", "Bob", "Cat"}
    assert picked(cond("orders_avg", "eq", 200)) == {"Ann"}
    assert picked(cond("orders_avg", "lt", 1000)) == {"Ann"}  # no paid orders: no average
    assert picked(cond("bought_product", "has", ["SK-1"])) == {"Ann"}
    assert picked(cond("bought_product", "has_not", "SK-1, SK-2")) == {"Bob", "Cat"}
    assert picked(cond("sentiment", "gt", 0.5)) == {"Ann"}
    assert picked({"not": cond("sentiment", "gt", 0.5)}) == {"Bob", "Cat"}
    assert picked(cond("campaign_response", "has", kind="campaign_clicked", campaign="7")) == {"Bob"}
    assert picked(cond("campaign_response", "has", kind="campaign_clicked", campaign="8")) == set()
    assert picked(cond("campaign_response", "has_not", kind="campaign_read")) == {"Ann", "Bob", "Cat"}


def test_a_ten_thousand_value_in_list_is_one_parameter(people):
    ids = list(range(10_000_000, 10_010_000)) + [people["bob"].pk]
    qs = matching_customers(cond("id", "in", ids), now=NOW)
    sql, params = qs.query.sql_with_params()
    assert picked(cond("id", "in", ids)) == {"Bob"}
    assert sql.count("%s") < 10  # the list is bound once, as an array
    assert picked(cond("city", "in", [f"city {n}" for n in range(10_000)] + ["Beijing"])) == {"Bob"}


@pytest.mark.parametrize(("rule", "message"), [
    (cond("shoe_size", "eq", "42"), "unknown field"),
    (cond("city", "gt", "A"), "does not apply"),
    (cond("orders_count", "gte", "many"), "expects a number"),
    (cond("birthday", "before", "yesterday"), "expects a date"),
    (cond("city", "eq", "a\x00b"), "NUL"),
    (cond("city", "eq", "x", colour="red"), "unknown key"),
    (cond("gender", "eq", "robot"), "not one of the choices"),
    (cond("interactions", "gte", 1, days=0), "at least one day"),
    ({"all": {"field": "city"}}, "must be a list"),
    ({"not": [1]}, "exactly one"),
    ("city = 'x'", "expected a group"),
    (cond("segment", "has", 999999), "does not exist"),
])
def test_bad_rules_are_refused_with_a_reason(brand, rule, message):
    with pytest.raises(RuleError) as error:
        compile_rule(rule, now=NOW)
    assert message in str(error.value)


def test_every_error_is_reported_with_where_it_is(brand):
    rule = {"all": [cond("city", "eq", "x"), {"any": [cond("nope", "eq", 1), cond("city", "gt", 1)]}]}
    with pytest.raises(RuleError) as error:
        compile_rule(rule)
    assert len(error.value.errors) == 2
    assert error.value.errors[0].startswith("2.1")
    assert error.value.errors[1].startswith("2.2 City")


def test_a_rule_on_a_deleted_attribute_fails_clearly(brand):
    AttributeDefinition.objects.create(key="skin", label="Skin", type="text", deleted_at=NOW)
    with pytest.raises(RuleError, match="“skin” was deleted"):
        compile_rule(cond("attr.skin", "eq", "dry"))


def test_hostile_text_is_a_bound_parameter(people):
    hostile = "'; DROP TABLE customers_customer; --"
    assert picked(cond("display_name", "eq", hostile)) == set()
    assert picked(cond("display_name", "contains", "%")) == set()  # LIKE wildcards are escaped
    assert picked(cond("display_name", "contains", "_")) == set()


def test_deleting_an_attribute_flags_the_segments_using_it_and_restoring_clears_them(
    brand, django_capture_on_commit_callbacks
):
    from customers.attributes import set_definition_deleted
    from segments.models import Segment

    definition = AttributeDefinition.objects.create(key="skin", label="Skin", type="text")
    segment = Segment.objects.create(name="Dry skin", rule=cond("attr.skin", "eq", "dry"))
    with django_capture_on_commit_callbacks(execute=True):
        set_definition_deleted(definition=definition, deleted=True, actor=None)
    segment.refresh_from_db()
    assert "skin" in segment.problem

    with django_capture_on_commit_callbacks(execute=True):
        set_definition_deleted(definition=definition, deleted=False, actor=None)
    segment.refresh_from_db()
    assert segment.problem == ""
