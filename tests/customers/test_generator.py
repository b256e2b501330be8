"""The synthetic-data generator: real rows, consistent aggregates, all or nothing."""

from collections import Counter

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.models import Count, Q, Sum

from customers.generator import generate
from customers.models import Consent, Customer, CustomerTag, Identity, Interaction, Order


@pytest.mark.parametrize("bulk", [False, True], ids=["incremental", "bulk"])
def test_generates_consistent_customers(brand, bulk):
    stats = generate(customers=400, seed=7, bulk=bulk)

    assert Customer.objects.count() == stats.customers == 400
    assert Identity.objects.count() == stats.identities >= 400
    assert Interaction.objects.count() == stats.interactions > 0
    assert Order.objects.count() == stats.orders > 0
    assert Consent.objects.count() == stats.consents > 0
    assert CustomerTag.objects.count() == stats.customer_tags
    # Every customer is reachable by at least one identity.
    assert not Customer.objects.filter(identities__isnull=True).exists()
    # Aggregates agree with the rows they summarize.
    paid = Order.objects.filter(status=Order.Status.PAID)
    for customer in Customer.objects.annotate(
        paid_orders=Count("orders", filter=Q(orders__status="paid")),
        paid_revenue=Sum("orders__amount", filter=Q(orders__status="paid")),
    ).filter(paid_orders__gt=0)[:50]:
        assert customer.order_count == customer.paid_orders
        assert customer.revenue == customer.paid_revenue
    assert paid.exists()


def test_bulk_load_restores_every_constraint_and_index(brand):
    def catalog():
        with connection.cursor() as cursor:
            cursor.execute(
                """SELECT conname FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace
                    WHERE n.nspname = current_schema() UNION ALL
                   SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()"""
            )
            return sorted(row[0] for row in cursor.fetchall())

    before = catalog()
    generate(customers=50, bulk=True)
    assert catalog() == before


def test_a_second_load_adds_people_without_colliding(brand):
    generate(customers=80, seed=3)
    generate(customers=80, seed=3)  # same seed: identities derive from fresh ids, so no clash
    assert Customer.objects.count() == 160
    assert Identity.objects.values("kind", "scope", "value").distinct().count() == Identity.objects.count()


def test_refuses_the_public_schema(db):
    with pytest.raises(RuntimeError):
        generate(customers=1)


def test_command_reports_counts(brand, capsys):
    call_command("generate_customers", "--brand", brand.slug, "--customers", "30")
    out = capsys.readouterr().out
    assert "30 customers" in out
    assert Customer.objects.count() == 30


def test_some_customers_were_brought_by_a_friend(brand):
    # given a brand generated in one chunk
    generate(customers=4000, seed=11)
    # when its referral graph is read back (a referral on the referrer names the friend)
    edges = list(
        Interaction.objects.filter(kind="referral", metadata__has_key="referred_id").values_list(
            "customer_id", "metadata__referred_id", "occurred_at"
        )
    )
    seen = dict(Customer.objects.values_list("id", "first_seen_at"))
    referred = [friend for _referrer, friend, _at in edges]
    # then about one customer in twenty came through a referral, each through one friend
    assert 0.03 * 4000 <= len(edges) <= 0.07 * 4000
    assert len(set(referred)) == len(referred)
    # a referrer is a customer of the brand, seen before the friend arrived, never the friend
    for referrer, friend, at in edges:
        assert referrer != friend
        assert friend in seen and seen[referrer] <= at
    # and referring is heavy-tailed: few customers refer at all, the best bring many
    per_referrer = sorted(Counter(referrer for referrer, _friend, _at in edges).values(), reverse=True)
    assert len(per_referrer) < 0.05 * 4000
    assert per_referrer[0] >= 5
    top_tenth = per_referrer[: max(1, len(per_referrer) // 10)]
    assert sum(top_tenth) >= 0.3 * len(edges)
