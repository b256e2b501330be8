"""Identity resolution: one customer per person, found and created set-wise."""

import threading
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext

from customers.models import Customer, Identity, Interaction, Merge, MergeRule
from customers.resolution import Claim, IdentityClaim, identity_ref, resolve
from tests.customers.factories import IdentityFactory, InteractionFactory

T0 = datetime(2025, 5, 1, 9, 0, tzinfo=UTC)
APP = "wx-app-1"


def openid(value, app=APP, **kwargs):
    return IdentityClaim("wechat_openid", value, scope=app, **kwargs)


def unionid(value):
    return IdentityClaim("wechat_unionid", value)


def email(value, verified=False):
    return IdentityClaim("email", value, verified=verified)


def phone(value, verified=False):
    return IdentityClaim("phone", value, verified=verified)


def claim(*identities, name="", at=None):
    return Claim(identities=tuple(identities), display_name=name, seen_at=at)


def test_new_people_get_new_customers_with_their_identities(brand):
    # when
    ids = resolve([claim(openid("o-1"), name="小明", at=T0), claim(openid("o-2"), name="Ana")])

    # then
    assert len(set(ids)) == 2
    first = Customer.objects.get(pk=ids[0])
    assert first.display_name == "小明"
    assert first.first_seen_at == first.last_seen_at == T0
    assert Identity.objects.get(kind="wechat_openid", value="o-1").customer_id == ids[0]


def test_returning_people_resolve_to_their_profile_and_their_new_identities_attach(brand):
    # given
    [known] = resolve([claim(openid("o-1"), name="Old name", at=T0)])

    # when
    [again] = resolve(
        [claim(openid("o-1"), phone("138 1234 5678"), name="New name", at=T0 + timedelta(days=1))]
    )

    # then
    assert again == known
    assert Customer.objects.count() == 1
    customer = Customer.objects.get(pk=known)
    assert customer.display_name == "New name"
    assert customer.last_seen_at == T0 + timedelta(days=1)
    assert customer.first_seen_at == T0
    assert Identity.objects.get(kind="phone").value == "+8613812345678"


def test_an_older_event_does_not_overwrite_a_newer_name(brand):
    [pk] = resolve([claim(openid("o-1"), name="Current", at=T0)])
    resolve([claim(openid("o-1"), name="Stale", at=T0 - timedelta(days=3))])
    customer = Customer.objects.get(pk=pk)
    assert customer.display_name == "Current"
    assert customer.first_seen_at == T0 - timedelta(days=3)


def test_duplicates_inside_one_batch_are_one_person(brand):
    # when: the same sender three times, and a second sender, in one batch
    ids = resolve(
        [
            claim(openid("o-1"), name="A", at=T0),
            claim(openid("o-2"), name="B"),
            claim(openid("o-1"), email("a@example.com"), name="A2", at=T0 + timedelta(hours=1)),
            claim(openid("o-1")),
        ]
    )

    # then
    assert ids[0] == ids[2] == ids[3] != ids[1]
    assert Customer.objects.count() == 2
    assert Customer.objects.get(pk=ids[0]).display_name == "A2"
    assert Identity.objects.get(kind="email").customer_id == ids[0]


def test_openids_are_scoped_by_official_account(brand):
    ids = resolve([claim(openid("same", app="app-A")), claim(openid("same", app="app-B"))])
    assert ids[0] != ids[1]
    assert Identity.objects.filter(value="same").count() == 2


def test_same_unionid_merges_two_profiles_into_the_oldest(brand):
    # given: two OpenIDs of one person in two official accounts, seen separately
    older, newer = resolve([claim(openid("o-a", app="app-A"))]), None
    [newer] = resolve([claim(openid("o-b", app="app-B"), unionid("u-1"))])
    InteractionFactory(customer_id=newer, text="from account B")

    # when: an event says account A's OpenID has the same UnionID
    [resolved] = resolve([claim(openid("o-a", app="app-A"), unionid("u-1"))])

    # then
    assert resolved == older[0]
    merge = Merge.objects.get()
    assert (merge.survivor_id, merge.merged_id, merge.rule) == (older[0], newer, MergeRule.UNIONID)
    assert Customer.objects.get(pk=newer).merged_into_id == older[0]
    assert set(Identity.objects.values_list("customer_id", flat=True)) == {older[0]}
    assert Interaction.objects.get().customer_id == older[0]


@pytest.mark.parametrize(
    ("identity", "rule"),
    [
        (email("Li@Example.com", verified=True), MergeRule.VERIFIED_EMAIL),
        (phone("+86 138-1234-5678", verified=True), MergeRule.VERIFIED_PHONE),
        (IdentityClaim("member_id", "M-0042"), MergeRule.MEMBER_ID),
    ],
)
def test_strong_identifiers_merge(brand, identity, rule):
    # given: the identifier is on file, verified, for one person
    [first] = resolve([claim(openid("o-1"), identity)])
    [second] = resolve([claim(IdentityClaim("weibo_uid", "w-9"))])

    # when: the other person's event carries the same identifier
    [resolved] = resolve([claim(IdentityClaim("weibo_uid", "w-9"), identity)])

    # then
    assert resolved == first
    assert Merge.objects.get().rule == rule
    assert Customer.objects.get(pk=second).merged_into_id == first


@pytest.mark.parametrize(
    "weak",
    [email("li@example.com"), phone("13812345678"), IdentityClaim("device_id", "tablet-1")],
    ids=["unverified-email", "unverified-phone", "device"],
)
def test_weak_identifiers_never_merge(brand, weak):
    # given
    [first] = resolve([claim(openid("o-1"), weak)])
    [second] = resolve([claim(openid("o-2"))])

    # when
    [resolved] = resolve([claim(openid("o-2"), weak)])

    # then: the sender is still the second person and nobody was merged
    assert resolved == second != first
    assert not Merge.objects.exists()
    assert Identity.objects.get(kind=weak.kind).customer_id == first


def test_verified_email_on_file_as_unverified_does_not_merge_but_is_verified_for_its_owner(brand):
    [first] = resolve([claim(openid("o-1"), email("li@example.com"))])
    [second] = resolve([claim(openid("o-2"))])

    # when: someone else verifies the address
    resolve([claim(openid("o-2"), email("li@example.com", verified=True))])
    # then: no merge, still unverified (it is first's, and contested)
    assert not Merge.objects.exists()
    assert not Identity.objects.get(kind="email").verified

    # when: the owner verifies it
    assert resolve([claim(openid("o-1"), email("LI@example.com", verified=True))]) == [first]
    assert Identity.objects.get(kind="email").verified
    assert second != first


def test_a_known_weak_handle_identifies_a_person_when_nothing_else_does(brand):
    [first] = resolve([claim(openid("o-1"), email("li@example.com"))])
    assert resolve([claim(email("li@example.com"))]) == [first]
    assert resolve([claim(email("li@example.com"), IdentityClaim("x_user_id", "x-1"))]) == [first]
    assert Identity.objects.get(kind="x_user_id").customer_id == first


def test_unionid_inside_one_batch_joins_two_new_senders(brand):
    ids = resolve(
        [
            claim(openid("o-a", app="A"), unionid("u-7")),
            claim(openid("o-b", app="B"), unionid("u-7")),
        ]
    )
    assert ids[0] == ids[1]
    assert Customer.objects.count() == 1


def test_a_weak_handle_shared_inside_one_batch_does_not_join_senders(brand):
    ids = resolve(
        [
            claim(openid("o-a"), IdentityClaim("device_id", "d")),
            claim(openid("o-b"), IdentityClaim("device_id", "d")),
        ]
    )
    assert ids[0] != ids[1]
    assert Identity.objects.get(kind="device_id").customer_id == ids[0]


def test_one_claim_spanning_three_profiles_merges_them_all(brand):
    a = IdentityFactory(kind="wechat_unionid", value="u-1").customer_id
    b = IdentityFactory(kind="member_id", value="M-1").customer_id
    c = IdentityFactory(kind="wechat_openid", scope=APP, value="o-c").customer_id

    [resolved] = resolve([claim(unionid("u-1"), IdentityClaim("member_id", "M-1"), openid("o-c"))])

    assert resolved == min(a, b, c)
    assert Merge.objects.count() == 2
    assert Customer.objects.filter(merged_into__isnull=True).count() == 1


def test_invalid_and_hostile_values_never_crash(brand):
    huge = "x" * 100_000
    ids = resolve(
        [
            claim(email("not-an-email", verified=True), name="<script>alert(1)</script>"),
            claim(phone("12", verified=True), name="nul\x00byte \u202eRTL 😀"),
            claim(email(huge + "@example.com"), openid("o-huge" + huge), name=huge),
            claim(openid("\x00")),
            claim(),
        ]
    )

    assert len(set(ids)) == 5
    bad_email = Identity.objects.get(kind="email")
    assert (bad_email.value, bad_email.verified) == ("not-an-email", False)
    assert Identity.objects.get(kind="phone").value == "12"
    assert not Identity.objects.get(kind="phone").verified
    assert Customer.objects.get(pk=ids[1]).display_name == "nulbyte \u202eRTL 😀"
    assert len(Customer.objects.get(pk=ids[2]).display_name) == 200
    assert Identity.objects.count() == 2  # the oversized and empty values were not stored


def test_unknown_kind_is_a_programming_error(brand):
    with pytest.raises(ValueError, match="unknown identity kind"):
        resolve([claim(IdentityClaim("fax", "123"))])


def test_identity_ref_names_the_stored_identity(brand):
    assert identity_ref(email(" Li@Example.COM ")) == {
        "kind": "email",
        "scope": "",
        "value": "li@example.com",
    }
    assert identity_ref(email("x" * 300)) is None


def test_number_of_queries_does_not_grow_with_the_batch(brand):
    def batch(start, size):
        return [
            claim(
                openid(f"o-{n % (size // 2) + start}"),
                phone(f"139{start:04d}{n:04d}"),
                name=f"P{n}",
                at=T0,
            )
            for n in range(size)
        ]

    resolve(batch(0, 10))  # each later batch: some returning people, some new

    def count(claims):
        with CaptureQueriesContext(connection) as queries:
            resolve(claims)
        return len(queries)

    small, large = count(batch(3, 10)), count(batch(3, 400))
    assert small == large
    assert large <= 10


def test_ten_thousand_claims_in_one_batch(brand):
    claims = [claim(openid(f"o-{n % 7000}"), name=f"P{n}") for n in range(10_000)]
    with CaptureQueriesContext(connection) as queries:
        ids = resolve(claims)
    assert len(set(ids)) == 7000
    assert Customer.objects.count() == 7000
    assert len(queries) <= 10


# --- concurrency: two workers, two connections, committed data ---------------------------


def test_two_workers_resolving_overlapping_batches_create_one_customer_per_person(committed_brand):
    batch_a = [claim(openid(f"o-{n}"), name=f"A{n}") for n in range(0, 300)]
    batch_b = [claim(openid(f"o-{n}"), name=f"B{n}") for n in range(150, 450)]
    barrier = threading.Barrier(2)
    results: dict[str, list[int]] = {}
    errors: list[BaseException] = []

    def work(name, claims):
        try:
            connection.set_tenant(committed_brand)
            barrier.wait()
            results[name] = resolve(claims)
        except BaseException as error:  # reported to the test thread below
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=work, args=a) for a in (("a", batch_a), ("b", batch_b))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert not errors
    connection.set_tenant(committed_brand)
    assert Customer.objects.count() == 450
    assert Identity.objects.count() == 450
    # The overlap resolved to the same people in both workers.
    assert results["a"][150:] == results["b"][:150]
    by_value = dict(Identity.objects.values_list("value", "customer_id"))
    assert [by_value[f"o-{n}"] for n in range(300)] == results["a"]


def test_a_worker_that_loses_the_race_re_reads_the_winners_rows(committed_brand):
    # given: a second connection holds an uncommitted insert of the same identity
    from django.db import transaction

    connection.set_tenant(committed_brand)
    started, release = threading.Event(), threading.Event()
    winner: list[int] = []

    def hold():
        connection.set_tenant(committed_brand)
        with transaction.atomic():
            winner.extend(resolve([claim(openid("contested"))]))
            started.set()
            release.wait(30)
        connections.close_all()

    thread = threading.Thread(target=hold)
    thread.start()
    started.wait(30)

    # when: we resolve the same identity (our insert waits for theirs), then they commit
    timer = threading.Timer(0.5, release.set)
    timer.start()
    [ours] = resolve([claim(openid("contested"), name="late")])
    thread.join()

    # then
    assert ours == winner[0]
    assert Customer.objects.count() == 1
