"""Merge suggestions: blocked in SQL, scored with rapidfuzz, decided by a person."""

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from customers import suggestions
from customers.models import Customer, Merge, MergeRule, MergeSuggestion
from customers.suggestions import (
    SuggestionClosed,
    accept_suggestion,
    dismiss_suggestion,
    open_suggestions,
    open_suggestions_for,
    suggest_merges,
)
from scrm.staff.models import AuditEntry
from tests.conftest import make_staff, wait_until
from tests.customers.factories import CustomerFactory, IdentityFactory, InteractionFactory


def pair_of(suggestion):
    return {suggestion.customer_a_id, suggestion.customer_b_id}


def test_similar_names_in_the_same_city_are_suggested_never_merged(brand):
    # given
    a = CustomerFactory(display_name="Wei Zhang", city="Chengdu")
    b = CustomerFactory(display_name="Zhang  wei", city="Chengdu")
    CustomerFactory(display_name="Wendy Park", city="Chengdu")  # same block, different name
    CustomerFactory(display_name="Wei Zhang", city="Harbin")  # same name, nothing shared

    # when
    made = suggest_merges()

    # then
    assert made == 1
    suggestion = MergeSuggestion.objects.get()
    assert pair_of(suggestion) == {a.pk, b.pk}
    assert suggestion.reasons == ["similar_name", "city"]
    assert suggestion.status == MergeSuggestion.Status.OPEN
    assert not Merge.objects.exists()
    assert Customer.objects.filter(merged_into__isnull=False).count() == 0


def test_a_shared_phone_prefix_blocks_and_adds_confidence(brand):
    a = CustomerFactory(display_name="李小明", city="Beijing")
    b = CustomerFactory(display_name="李小明", city="Beijing")
    IdentityFactory(customer=a, kind="phone", value="+8613812340001")
    IdentityFactory(customer=b, kind="phone", value="+8613812349999")
    c = CustomerFactory(display_name="李小明", city="")
    IdentityFactory(customer=c, kind="phone", value="+8613812345555")

    suggest_merges()

    by_pair = {frozenset(pair_of(s)): s for s in MergeSuggestion.objects.all()}
    assert by_pair[frozenset({a.pk, b.pk})].reasons == ["similar_name", "city", "phone_prefix"]
    assert by_pair[frozenset({a.pk, c.pk})].reasons == ["similar_name", "phone_prefix"]
    assert by_pair[frozenset({a.pk, b.pk})].score > by_pair[frozenset({a.pk, c.pk})].score


def test_a_shared_device_blocks(brand):
    a = CustomerFactory(display_name="Ana Lima", city="")
    b = CustomerFactory(display_name="Ana  Lima", city="")
    IdentityFactory(customer=a, kind="device_id", value="tablet-42")
    InteractionFactory(customer=b, metadata={"device_id": "tablet-42"})

    suggest_merges()

    assert MergeSuggestion.objects.get().reasons == ["similar_name", "device"]


def test_merged_decided_and_oversized_blocks_are_left_out(brand, monkeypatch):
    # given: a decided pair, a merged profile, and a crowded block
    a = CustomerFactory(display_name="Li Na", city="Xi'an")
    b = CustomerFactory(display_name="Li Na", city="Xi'an")
    MergeSuggestion.objects.create(
        customer_a=a, customer_b=b, score=0.9, status=MergeSuggestion.Status.DISMISSED
    )
    CustomerFactory(display_name="Li Na", city="Xi'an", merged_into=a)
    for _ in range(4):
        CustomerFactory(display_name="Wang Fang", city="Lhasa")
    monkeypatch.setattr(suggestions, "MAX_BLOCK", 3)

    # when / then
    assert suggest_merges() == 0


def test_runs_in_chunks_and_twice_makes_nothing_new(brand):
    people = [CustomerFactory(display_name="Chen Jie", city="Wuhan") for _ in range(5)]
    chunks = list(suggestions.candidate_pairs(chunk_size=3))
    assert [len(chunk) for chunk in chunks] == [3, 3, 3, 1]
    assert suggest_merges(chunk_size=3) == 10
    assert suggest_merges(chunk_size=3) == 0
    assert open_suggestions_for(people[0]).count() == 4


def test_limited_to_some_customers(brand):
    a, b = (CustomerFactory(display_name="Zhou Min", city="Nanjing") for _ in range(2))
    c, d = (CustomerFactory(display_name="Xu Lei", city="Suzhou") for _ in range(2))
    assert suggest_merges(customer_ids=[c.pk]) == 1
    assert pair_of(MergeSuggestion.objects.get()) == {c.pk, d.pk}
    assert {a.pk, b.pk}


def test_accepting_merges_into_the_older_profile_and_is_audited(brand):
    staff = make_staff("Marketer")
    a = CustomerFactory(display_name="Li Na", city="Xi'an")
    b = CustomerFactory(display_name="Li Na", city="Xi'an")
    suggest_merges()
    suggestion = MergeSuggestion.objects.get()

    record = accept_suggestion(suggestion, actor=staff)

    assert (record.survivor_id, record.merged_id, record.rule) == (a.pk, b.pk, MergeRule.SUGGESTION)
    assert suggestion.status == MergeSuggestion.Status.ACCEPTED
    assert suggestion.decided_by == staff
    assert AuditEntry.objects.filter(action="customer.merge", actor=staff).exists()
    assert not open_suggestions().exists()
    with pytest.raises(SuggestionClosed):
        accept_suggestion(suggestion, actor=staff)


def test_accepting_can_keep_either_profile(brand):
    a = CustomerFactory(display_name="Li Na", city="Xi'an")
    b = CustomerFactory(display_name="Li Na", city="Xi'an")
    suggestion = MergeSuggestion.objects.create(customer_a=a, customer_b=b, score=0.9)
    record = accept_suggestion(suggestion, actor=None, keep=b)
    assert (record.survivor_id, record.merged_id) == (b.pk, a.pk)


def test_dismissing_closes_the_pair_for_good(brand):
    staff = make_staff("Agent")
    a = CustomerFactory(display_name="Li Na", city="Xi'an")
    CustomerFactory(display_name="Li Na", city="Xi'an")
    suggest_merges()
    suggestion = MergeSuggestion.objects.get()

    dismiss_suggestion(suggestion, actor=staff)

    assert suggestion.status == MergeSuggestion.Status.DISMISSED
    assert suggestion.decided_at <= timezone.now()
    assert suggest_merges() == 0
    assert not open_suggestions_for(a).exists()
    with pytest.raises(SuggestionClosed):
        dismiss_suggestion(suggestion, actor=staff)


def test_a_suggestion_hides_while_one_profile_is_merged_elsewhere(brand):
    a, b, c = (CustomerFactory(display_name="Gao Yan", city="Jinan") for _ in range(3))
    suggestion = MergeSuggestion.objects.create(customer_a=a, customer_b=b, score=0.9)
    from customers.merging import merge, unmerge

    record = merge(c, b, rule=MergeRule.MANUAL)
    assert suggestion not in open_suggestions()
    unmerge(record)
    assert suggestion in open_suggestions()


@pytest.mark.worker
def test_the_background_run_reports_progress_and_finds_pairs(celery_worker, committed_brand):
    # given
    with tenant_context(committed_brand):
        CustomerFactory(display_name="Sun Li", city="Dalian")
        CustomerFactory(display_name="Sun  Li", city="Dalian")

        # when
        suggestions.start_suggestion_run()
        assert suggestions.suggestion_run()["state"] in {"queued", "running", "done"}

        # then
        wait_until(lambda: (suggestions.suggestion_run() or {}).get("state") == "done", timeout=60)
        assert suggestions.suggestion_run()["made"] == 1
        assert MergeSuggestion.objects.filter(status="open").count() == 1
