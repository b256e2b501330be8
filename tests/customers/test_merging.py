"""Merge and unmerge: every row moves, both people come back, history is kept."""

from datetime import timedelta
from decimal import Decimal

import pytest

from customers import merging
from customers.merging import MergeError, merge, register_customer_relation, unmerge
from customers.models import (
    Customer,
    CustomerTag,
    DataRequest,
    Identity,
    Interaction,
    Merge,
    MergeRule,
    MergeSuggestion,
    Note,
    Order,
)
from customers.resolution import VIA_IDENTITY
from scrm.staff.models import AuditEntry
from tests.conftest import make_staff
from tests.customers.factories import (
    NOW,
    ConsentFactory,
    CustomerFactory,
    IdentityFactory,
    InteractionFactory,
    OrderFactory,
    TagFactory,
)


def person(name, **fields):
    customer = CustomerFactory(display_name=name, **fields)
    identity = IdentityFactory(
        customer=customer, kind="wechat_openid", scope="app", value=f"o-{name}"
    )
    return customer, identity


def via(identity):
    return {VIA_IDENTITY: {"kind": identity.kind, "scope": identity.scope, "value": identity.value}}


def test_merge_moves_everything_hung_on_the_merged_profile(brand):
    # given
    survivor, _ = person("Li")
    merged, merged_identity = person("Li Wei")
    InteractionFactory(customer=survivor, text="survivor's")
    InteractionFactory(customer=merged, text="merged's", occurred_at=NOW - timedelta(days=2))
    OrderFactory(customer=merged, amount=Decimal("50.00"))
    ConsentFactory(customer=merged)
    Note.objects.create(customer=merged, body="called back")
    shared, own = TagFactory(name="vip"), TagFactory(name="new")
    CustomerTag.objects.create(customer=survivor, tag=shared)
    CustomerTag.objects.create(customer=merged, tag=shared)
    CustomerTag.objects.create(customer=merged, tag=own)

    # when
    record = merge(survivor, merged, rule=MergeRule.MANUAL, reason="same person")

    # then
    assert Identity.objects.get(pk=merged_identity.pk).customer_id == survivor.pk
    assert set(Interaction.objects.values_list("customer_id", flat=True)) == {survivor.pk}
    assert Order.objects.get().customer_id == survivor.pk
    assert survivor.consents.count() == 1 and survivor.notes.count() == 1
    assert sorted(survivor.tags.values_list("name", flat=True)) == ["new", "vip"]
    assert CustomerTag.objects.filter(customer=survivor, tag=shared).count() == 1
    merged.refresh_from_db()
    assert merged.merged_into_id == survivor.pk and not merged.is_live
    assert record.moved["customers.interaction"] and record.moved["customers.identity"]
    # aggregates follow the rows
    assert survivor.order_count == 1 and survivor.revenue == Decimal("50.00")
    assert Customer.objects.get(pk=merged.pk).order_count == 0


def test_survivorship_latest_verified_value_wins_and_losers_are_kept(brand):
    # given: the merged profile has a verified identity and newer data
    survivor, _ = person("Old", city="Beijing", locale="", attributes={"size": "M", "vip": True})
    merged, identity = person(
        "Verified",
        city="Shanghai",
        locale="zh-CN",
        last_seen_at=NOW + timedelta(days=1),
        attributes={"size": "L"},
    )
    identity.verified = True
    identity.save()

    # when
    record = merge(survivor, merged, rule=MergeRule.MANUAL)

    # then
    survivor.refresh_from_db()
    assert (survivor.display_name, survivor.city, survivor.locale) == (
        "Verified",
        "Shanghai",
        "zh-CN",
    )
    assert survivor.attributes == {"size": "L", "vip": True}
    conflicts = record.attributes["conflicts"]
    assert conflicts["city"] == {"kept": "Shanghai", "lost": "Beijing", "from": "merged"}
    assert conflicts["attributes.size"]["lost"] == "M"
    assert "locale" not in conflicts  # a blank is not a conflict


def test_an_unverified_profile_does_not_override_a_verified_one_even_if_newer(brand):
    survivor, identity = person("Trusted", city="Beijing")
    identity.verified = True
    identity.save()
    merged, _ = person("Newer", city="Shenzhen", last_seen_at=NOW + timedelta(days=30))

    record = merge(survivor, merged, rule=MergeRule.MANUAL)

    survivor.refresh_from_db()
    assert survivor.city == "Beijing"
    assert record.attributes["conflicts"]["city"]["from"] == "survivor"


def test_manual_merges_and_unmerges_are_audited_deterministic_merges_are_not(brand):
    staff = make_staff("Marketer")
    a, _ = person("A")
    b, _ = person("B")
    c, _ = person("C")

    merge(a, c, rule=MergeRule.UNIONID)
    assert not AuditEntry.objects.filter(action="customer.merge").exists()

    record = merge(a, b, rule=MergeRule.MANUAL, actor=staff, reason="same phone on the receipt")
    entry = AuditEntry.objects.get(action="customer.merge")
    assert (entry.actor, entry.changes["merged"], entry.changes["reason"]) == (
        staff,
        b.pk,
        "same phone on the receipt",
    )

    unmerge(record, actor=staff)
    assert AuditEntry.objects.get(action="customer.unmerge").changes["restored"] == b.pk


def test_unmerge_round_trip_restores_both_people_after_new_activity(brand):
    # given
    survivor, survivor_identity = person("Li", city="Beijing")
    merged, merged_identity = person("Wei", city="Shanghai", last_seen_at=NOW + timedelta(hours=1))
    before_survivor = InteractionFactory(customer=survivor)
    before_merged = InteractionFactory(customer=merged)
    merged_order = OrderFactory(customer=merged)
    tag = TagFactory(name="vip")
    CustomerTag.objects.create(customer=survivor, tag=tag)
    CustomerTag.objects.create(customer=merged, tag=tag)
    record = merge(survivor, merged, rule=MergeRule.MANUAL)
    survivor.refresh_from_db()
    assert survivor.city == "Shanghai"

    # new activity on the merged profile: one through each person's identity, one anonymous
    later_merged = InteractionFactory(customer=survivor, metadata=via(merged_identity))
    later_survivor = InteractionFactory(customer=survivor, metadata=via(survivor_identity))
    later_unknown = InteractionFactory(customer=survivor)

    # when
    restored = unmerge(record)

    # then: the rows the merge moved, and later activity through the merged person's
    # identities, are theirs again; the rest stays with the survivor
    assert restored.pk == merged.pk and restored.is_live
    assert set(Interaction.objects.filter(customer=merged).values_list("pk", flat=True)) == {
        before_merged.pk,
        later_merged.pk,
    }
    assert set(Interaction.objects.filter(customer=survivor).values_list("pk", flat=True)) == {
        before_survivor.pk,
        later_survivor.pk,
        later_unknown.pk,
    }
    assert Order.objects.get(pk=merged_order.pk).customer_id == merged.pk
    assert Identity.objects.get(pk=merged_identity.pk).customer_id == merged.pk
    assert CustomerTag.objects.filter(tag=tag).count() == 2
    survivor.refresh_from_db()
    assert survivor.city == "Beijing" and survivor.display_name == "Li"
    record.refresh_from_db()
    assert record.undone_at is not None
    assert record.attributes["returned_interactions"] == [later_merged.pk]
    assert Customer.objects.get(pk=merged.pk).order_count == 1
    assert survivor.order_count == 0


def test_an_edit_made_after_the_merge_survives_the_unmerge(brand):
    survivor, _ = person("Li", city="")
    merged, _ = person("Wei", city="Shanghai")
    record = merge(survivor, merged, rule=MergeRule.MANUAL)
    Customer.objects.filter(pk=survivor.pk).update(city="Hangzhou")

    unmerge(record)

    survivor.refresh_from_db()
    assert survivor.city == "Hangzhou"


def test_chains_of_merges_unmerge_independently(brand):
    # given: A←B, then A←C
    a, _ = person("A")
    b, b_identity = person("B")
    c, c_identity = person("C")
    first = merge(a, b, rule=MergeRule.MANUAL)
    merge(a, c, rule=MergeRule.UNIONID)

    # when
    unmerge(first)

    # then
    assert Identity.objects.get(pk=b_identity.pk).customer_id == b.pk
    assert Identity.objects.get(pk=c_identity.pk).customer_id == a.pk
    assert Customer.objects.get(pk=c.pk).merged_into_id == a.pk
    assert Customer.objects.get(pk=b.pk).is_live


def test_a_profile_that_absorbed_someone_can_itself_be_merged_and_unmerged(brand):
    # given: B←D, then A←B
    a, _ = person("A")
    b, _ = person("B")
    d, d_identity = person("D")
    inner = merge(b, d, rule=MergeRule.MANUAL)
    outer = merge(a, b, rule=MergeRule.MANUAL)
    assert Identity.objects.get(pk=d_identity.pk).customer_id == a.pk

    # when: the inner merge is undone while B is still merged into A
    unmerge(inner)

    # then: D's rows come back from A, where they travelled
    assert Identity.objects.get(pk=d_identity.pk).customer_id == d.pk
    unmerge(outer)
    assert set(Customer.objects.filter(merged_into__isnull=True).values_list("pk", flat=True)) == {
        a.pk,
        b.pk,
        d.pk,
    }


def test_no_merge_limit(brand):
    survivor, _ = person("Hub")
    others = [person(f"P{n}")[0] for n in range(12)]
    for other in others:
        merge(survivor, other, rule=MergeRule.MANUAL)
    assert survivor.identities.count() == 13
    assert Merge.objects.filter(survivor=survivor).count() == 12


def test_refuses_impossible_merges(brand):
    a, _ = person("A")
    b, _ = person("B")
    c, _ = person("C")
    with pytest.raises(MergeError):
        merge(a, a, rule=MergeRule.MANUAL)
    record = merge(a, b, rule=MergeRule.MANUAL)
    with pytest.raises(MergeError):
        merge(c, b, rule=MergeRule.MANUAL)  # b is merged already
    unmerge(record)
    with pytest.raises(MergeError):
        unmerge(record)


def test_merging_accepts_their_open_suggestion(brand):
    a, _ = person("A")
    b, _ = person("B")
    suggestion = MergeSuggestion.objects.create(customer_a=a, customer_b=b, score=0.9)
    merge(b, a, rule=MergeRule.MANUAL)
    suggestion.refresh_from_db()
    assert suggestion.status == MergeSuggestion.Status.ACCEPTED


@pytest.fixture
def data_requests_registered():
    register_customer_relation(DataRequest)
    yield
    merging._RELATIONS.pop("customers.datarequest")


def test_other_apps_register_their_customer_tables(brand, data_requests_registered):
    # given
    a, _ = person("A")
    b, _ = person("B")
    request = DataRequest.objects.create(customer=b, subject_label="B", kind="export")

    # when / then
    record = merge(a, b, rule=MergeRule.MANUAL)
    assert DataRequest.objects.get(pk=request.pk).customer_id == a.pk
    assert record.moved["customers.datarequest"] == [request.pk]
    unmerge(record)
    assert DataRequest.objects.get(pk=request.pk).customer_id == b.pk


def test_registry_reads_unique_constraints_so_duplicates_stay_behind(brand):
    relation = {r.label: r for r in merging.customer_relations()}["customers.customertag"]
    assert relation.unique_with == (("tag_id",),)


def test_every_table_with_a_customer_foreign_key_moves_on_merge_or_says_why_not():
    from django.apps import apps

    from customers.models import Customer

    registered = {relation.label for relation in merging.customer_relations()}
    missing = sorted(
        model._meta.label_lower
        for model in apps.get_models()
        for field in model._meta.get_fields()
        if field.is_relation and field.many_to_one and field.related_model is Customer
        and model._meta.label_lower not in registered and model._meta.label_lower not in merging.NOT_MOVED
    )
    assert not missing, f"register with customers.merging.register_customer_relation or list in NOT_MOVED: {missing}"
