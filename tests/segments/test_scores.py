"""Scores: RFM matches a pandas reference on generated, real-shaped data; every other
score follows its stated definition; the tier preview shows who would move."""

from datetime import timedelta
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest

from customers.generator import generate
from customers.models import Customer, Order
from segments.models import CustomerScore, ScoringSettings, SocialCapitalSnapshot
from segments.scores import compute_scores, pagerank, preview_tiers, score_reasons
from tests.customers.factories import NOW, CustomerFactory, InteractionFactory, OrderFactory


def reference_rfm(now) -> pd.DataFrame:  # noqa: ANN001
    """RFM the textbook way with pandas: quintiles by sorted position (ties by id)."""
    orders = pd.DataFrame.from_records(
        Order.objects.filter(status="paid", ordered_at__lte=now).values("customer_id", "ordered_at", "amount")
    )
    live = set(Customer.objects.filter(merged_into__isnull=True, erased_at__isnull=True).values_list("id", flat=True))
    orders = orders[orders.customer_id.isin(live)]
    orders["amount"] = orders.amount.astype(float)
    per = orders.groupby("customer_id").agg(last=("ordered_at", "max"), n=("amount", "size"), total=("amount", "sum"))
    per = per.reset_index()

    def quintile(column: str) -> pd.Series:
        ranked = per.sort_values([column, "customer_id"]).customer_id.to_numpy()
        tiles = np.concatenate([np.full(len(part), i + 1) for i, part in enumerate(np.array_split(ranked, 5))])
        return pd.Series(tiles, index=ranked)

    r, f, m = quintile("last"), quintile("n"), quintile("total")
    per = per.set_index("customer_id")
    per["r"], per["f"], per["m"] = r, f, m
    return per


def test_rfm_matches_a_pandas_reference_on_generated_data(brand):
    # given a real-shaped brand: heavy-tailed orders, refunds, several channels
    generate(customers=400, seed=3, now=NOW)
    # when the scores are computed
    run = compute_scores(now=NOW)
    # then R, F, M and the raw figures agree with pandas for every buyer
    expected = reference_rfm(NOW)
    got = pd.DataFrame.from_records(
        CustomerScore.objects.filter(r__gt=0).values("customer_id", "r", "f", "m", "frequency", "monetary")
    ).set_index("customer_id").sort_index()
    assert run.customers == Customer.objects.count()
    assert len(expected) > 50
    assert list(got.index) == sorted(expected.index)
    expected = expected.sort_index()
    assert (got.r.to_numpy() == expected.r.to_numpy()).all()
    assert (got.f.to_numpy() == expected.f.to_numpy()).all()
    assert (got.m.to_numpy() == expected.m.to_numpy()).all()
    assert (got.frequency.to_numpy() == expected.n.to_numpy()).all()
    assert np.allclose(got.monetary.astype(float).to_numpy(), expected.total.to_numpy())
    # and non-buyers have no RFM, and a group that says so
    assert set(CustomerScore.objects.filter(r=0).values_list("rfm_group", flat=True)) <= {"none"}
    # the snapshot carries the dashboard breakdowns
    snapshot = SocialCapitalSnapshot.objects.get()
    assert sum(n for _k, n in snapshot.breakdown["tier"]) == run.customers
    assert sum(c for _r, _f, c in snapshot.breakdown["rfm_grid"]) == len(expected)
    assert 0 <= snapshot.trust <= 1


def test_erased_and_merged_buyers_are_not_ranked_in_rfm(brand):
    from django.utils import timezone

    # given buyers of whom some were erased and one merged away (their orders stay behind)
    generate(customers=300, seed=5, now=NOW)
    buyers = list(Order.objects.filter(status="paid").values_list("customer_id", flat=True).distinct().order_by("customer_id"))
    Customer.objects.filter(pk__in=buyers[:15]).update(erased_at=timezone.now())
    Customer.objects.filter(pk=buyers[15]).update(merged_into_id=buyers[16])
    # when the scores are computed
    compute_scores(now=NOW)
    # then the quintiles are those of the live buyers alone
    expected = reference_rfm(NOW).sort_index()
    got = pd.DataFrame.from_records(
        CustomerScore.objects.filter(r__gt=0).values("customer_id", "r", "f", "m")
    ).set_index("customer_id").sort_index()
    assert list(got.index) == list(expected.index) and not set(got.index) & set(buyers[:16])
    assert (got[["r", "f", "m"]].to_numpy() == expected[["r", "f", "m"]].to_numpy()).all()


def test_scores_follow_their_definitions(brand):
    # given a creator who referred a buyer, a silent reader, a lapsed buyer and a newcomer
    creator = CustomerFactory(display_name="Creator", first_seen_at=NOW - timedelta(days=400))
    buyer = CustomerFactory(display_name="Referred buyer", first_seen_at=NOW - timedelta(days=400))
    reader = CustomerFactory(display_name="Reader", first_seen_at=NOW - timedelta(days=400))
    lapsed = CustomerFactory(display_name="Lapsed", first_seen_at=NOW - timedelta(days=900))
    newcomer = CustomerFactory(display_name="New", first_seen_at=NOW - timedelta(days=10))
    for day in range(8):
        InteractionFactory(customer=creator, kind="comment", occurred_at=NOW - timedelta(days=day))
    InteractionFactory(customer=creator, kind="share", occurred_at=NOW - timedelta(days=1), metadata={"followers": 5000})
    InteractionFactory(customer=buyer, kind="referral", occurred_at=NOW - timedelta(days=3), metadata={"referrer_id": creator.pk})
    OrderFactory(customer=buyer, ordered_at=NOW - timedelta(days=2))
    for day in range(6):
        InteractionFactory(customer=reader, kind="campaign_read", occurred_at=NOW - timedelta(days=day))
    OrderFactory(customer=lapsed, ordered_at=NOW - timedelta(days=300), amount=Decimal("5000.00"))
    InteractionFactory(customer=newcomer, kind="like", occurred_at=NOW - timedelta(days=1))
    # when
    compute_scores(now=NOW)
    scores = {s.customer.display_name: s for s in CustomerScore.objects.select_related("customer")}
    # then
    assert scores["Creator"].participation == "creator"
    assert scores["Reader"].participation == "silent"
    assert scores["Lapsed"].participation == "inactive"
    assert scores["Creator"].referrals_converted == 1
    assert scores["Creator"].centrality > scores["Referred buyer"].centrality
    assert scores["Creator"].reach == 5000
    assert scores["Creator"].influence > scores["Reader"].influence
    assert scores["Creator"].activity > scores["Reader"].activity > 0
    assert scores["Lapsed"].lifecycle == "lapsed"
    assert scores["New"].lifecycle == "new"
    assert scores["Lapsed"].recency_days == 300
    assert scores["Referred buyer"].r > scores["Lapsed"].r
    reasons = score_reasons(scores["Creator"])
    assert any("referrals" in line for line in reasons["influence"])


def test_half_life_and_weights_come_from_the_brand_settings(brand):
    customer = CustomerFactory()
    InteractionFactory(customer=customer, kind="comment", occurred_at=NOW - timedelta(days=10))
    settings_row = ScoringSettings.current()
    settings_row.half_life_days, settings_row.kind_weights = 10, {"comment": 4}
    settings_row.save()
    compute_scores(now=NOW)
    assert CustomerScore.objects.get(customer=customer).activity == pytest.approx(2.0)


def test_tier_preview_shows_moves_without_saving(brand):
    for amount in range(1, 21):
        OrderFactory(customer=CustomerFactory(), amount=Decimal(amount))
    compute_scores(now=NOW)
    before = list(CustomerScore.objects.order_by("pk").values_list("tier", flat=True))
        # when the preview puts all the weight on spend and makes half the customers key
    moves = preview_tiers(weight_consumption=1, weight_social=0, weight_activity=0, key_percent=50, middle_percent=25)
    # then it counts who would land where, and nothing is saved
    assert sum(moves.values()) == 20
    assert sum(n for (_old, new), n in moves.items() if new == "key") == 10
    assert list(CustomerScore.objects.order_by("pk").values_list("tier", flat=True)) == before


def test_pagerank_credits_who_brings_whom():
    # 1 referred 2 and 3; 2 referred 4
    nodes, ranks = pagerank(np.array([1, 1, 2]), np.array([2, 3, 4]))
    score = dict(zip(nodes.tolist(), ranks.tolist(), strict=True))
    assert score[1] > score[2] > score[4]
    assert sum(score.values()) == pytest.approx(len(score))


def test_snapshot_breakdowns_count_the_score_table(brand):
    # given scored, real-shaped customers
    from collections import Counter

    generate(customers=300, seed=5, now=NOW)
    # when the scores (and with them the snapshot) are computed
    run = compute_scores(now=NOW)
    breakdown = SocialCapitalSnapshot.objects.get().breakdown
    # then every breakdown is exactly a count over the score table
    rows = list(CustomerScore.objects.values_list("lifecycle", "tier", "participation", "rfm_group", "r", "f"))
    for i, name in enumerate(("lifecycle", "tier", "participation", "rfm_group")):
        expected = Counter(row[i] for row in rows)
        assert {k: n for k, n in breakdown[name] if n} == dict(expected)
    grid = Counter((r, f) for *_rest, r, f in rows if r > 0)
    assert {(r, f): c for r, f, c in breakdown["rfm_grid"]} == dict(grid)
    for name in ("value_histogram", "activity_histogram", "influence_histogram"):
        assert sum(c for _low, _high, c in breakdown[name]) == run.customers
    values = list(CustomerScore.objects.values_list("value", flat=True))
    assert breakdown["value_histogram"][-1][:2] == [90.0, 100.0]
    assert breakdown["value_histogram"][-1][2] == sum(1 for v in values if v >= 90)


def _catalog(table: str) -> list[tuple[str, str]]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = %s::regclass
               UNION ALL
               SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() AND tablename = %s
               ORDER BY 1""",
            [table, table],
        )
        return cursor.fetchall()


def test_a_run_replaces_the_score_table_with_the_same_indexes_and_constraints(brand):
    # given a brand scored once, with a score for someone who has since been erased
    kept, erased = CustomerFactory(), CustomerFactory()
    OrderFactory(customer=kept, amount=Decimal("10.00"))
    compute_scores(now=NOW)
    before = _catalog(CustomerScore._meta.db_table)
    Customer.objects.filter(pk=erased.pk).update(erased_at=NOW)
    # when the scores are computed again
    run = compute_scores(now=NOW + timedelta(days=1))
    # then the table is a fresh one under the same name, indexes and constraints
    assert _catalog(CustomerScore._meta.db_table) == before
    assert any("FOREIGN KEY" in definition for _name, definition in before)
    assert not [t for t, in _tables_named("next_%")]
    # holding exactly the live customers, computed by this run
    assert run.customers == 1
    assert list(CustomerScore.objects.values_list("customer_id", flat=True)) == [kept.pk]
    assert CustomerScore.objects.get().computed_at == NOW + timedelta(days=1)
    # and the foreign key still guards it
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        CustomerScore.objects.create(customer_id=kept.pk + 10_000, computed_at=NOW)
        from django.db import connection

        connection.check_constraints()


def _foreign_keys(table: str) -> list[tuple[str, bool, str]]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT conname, convalidated, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = %s::regclass AND contype = 'f'",
            [table],
        )
        return cursor.fetchall()


def test_the_swap_adds_the_foreign_key_unchecked_and_it_is_checked_after(brand):
    # given a scored brand
    from django.db import connection, transaction

    from segments.table_swap import fresh_copy, validate_foreign_keys

    OrderFactory(customer=CustomerFactory(), amount=Decimal("10.00"))
    compute_scores(now=NOW)
    table = CustomerScore._meta.db_table
    before = _catalog(table)
    assert [checked for _name, checked, _definition in _foreign_keys(table)] == [True]
    # when a fresh copy is swapped in
    with transaction.atomic(), fresh_copy(table) as new, connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {new} SELECT * FROM {connection.ops.quote_name(table)}")
    # then its foreign key guards new rows but has not checked the old ones (no long pause
    # for writers of customers while the swap holds its locks)
    assert [checked for _name, checked, _definition in _foreign_keys(table)] == [False]
    # and checking it afterwards leaves the catalog as it was, deleting nothing
    assert validate_foreign_keys(table) == 0
    assert _catalog(table) == before


def test_checking_the_foreign_key_deletes_scores_of_customers_deleted_meanwhile(brand):
    # given scores swapped in with an unchecked foreign key, one of them for a customer
    # deleted outright while the scores were computed (so no cascade reached the new table)
    from django.db import connection

    from segments.table_swap import validate_foreign_keys

    kept = CustomerFactory()
    compute_scores(now=NOW)
    table = CustomerScore._meta.db_table
    before = _catalog(table)
    [(name, _checked, definition)] = _foreign_keys(table)
    quoted, constraint = connection.ops.quote_name(table), connection.ops.quote_name(name)
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # no deferred checks pending on customers
        cursor.execute(f"ALTER TABLE {quoted} DROP CONSTRAINT {constraint}")
        others = ", ".join(
            connection.ops.quote_name(f.column) for f in CustomerScore._meta.concrete_fields if f.column != "customer_id"
        )
        cursor.execute(f"INSERT INTO {quoted} (customer_id, {others}) SELECT customer_id + 10000, {others} FROM {quoted}")
        cursor.execute(f"ALTER TABLE {quoted} ADD CONSTRAINT {constraint} {definition} NOT VALID")
    assert CustomerScore.objects.count() == 2
    # when the foreign key is checked
    removed = validate_foreign_keys(table)
    # then that score went (as the cascade would have taken it) and the key is checked, as
    # it was before
    assert removed == 1
    assert list(CustomerScore.objects.values_list("customer_id", flat=True)) == [kept.pk]
    assert _catalog(table) == before


def _tables_named(pattern: str) -> list[tuple[str]]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() AND tablename LIKE %s", [pattern]
        )
        return cursor.fetchall()


def test_generated_referrals_feed_the_influence_score(brand):
    # given a generated brand, where some customers brought friends
    from collections import Counter

    from customers.models import Interaction

    generate(customers=3000, seed=11, now=NOW)
    edges = list(
        Interaction.objects.filter(kind="referral", metadata__has_key="referred_id").values_list(
            "customer_id", "metadata__referred_id"
        )
    )
    # when the scores are computed
    run = compute_scores(now=NOW)
    # then every referral is an edge of the graph
    assert run.edges == len(edges) > 50
    scores = {s.customer_id: s for s in CustomerScore.objects.all()}
    # the busiest referrer is more central than anyone who brought no one
    top, _friends = Counter(referrer for referrer, _friend in edges).most_common(1)[0]
    referrers = {referrer for referrer, _friend in edges}
    assert scores[top].centrality > max(s.centrality for pk, s in scores.items() if pk not in referrers)
    # and a referral converted when the friend has paid
    buyers = set(Order.objects.filter(status="paid").values_list("customer_id", flat=True))
    converted = Counter(referrer for referrer, friend in edges if friend in buyers)
    assert {pk: s.referrals_converted for pk, s in scores.items() if s.referrals_converted} == dict(converted)
