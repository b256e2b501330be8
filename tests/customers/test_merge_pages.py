"""Merge pages: the profile's merge panel, merge with…, unmerge, the suggestions queue."""

import pytest
from django.db import connection
from django_tenants.utils import tenant_context

from customers.merging import merge
from customers.models import Customer, Interaction, Merge, MergeRule, MergeSuggestion
from scrm.staff.models import AuditEntry
from tests.customers.factories import CustomerFactory, IdentityFactory, InteractionFactory

HOSTILE = "<script>alert(1)</script>"


def body(response):
    return response.content.decode()


def test_the_profile_loads_its_merge_panel(staff_client):
    client, _ = staff_client("Agent")
    customer = CustomerFactory()
    page = body(client.get(f"/customers/{customer.pk}/"))
    assert f'hx-get="/customers/{customer.pk}/merges/"' in page


def test_panel_shows_history_with_who_when_why_and_unmerge_for_marketers(staff_client):
    # given
    client, user = staff_client("Marketer")
    survivor = CustomerFactory(display_name="Li Wei")
    merged = CustomerFactory(display_name=HOSTILE)
    merge(survivor, merged, rule=MergeRule.MANUAL, actor=user, reason="same receipt")

    # when
    page = body(client.get(f"/customers/{survivor.pk}/merges/", HTTP_HX_REQUEST="true"))

    # then
    assert "same receipt" in page and user.username in page
    assert "Merged by staff" in page
    assert 'data-testid="unmerge"' in page
    assert HOSTILE not in page and "&lt;script&gt;" in page
    assert "<html" not in page  # the HTMX fragment only


def test_agents_see_history_and_suggestions_but_no_buttons(staff_client):
    client, _ = staff_client("Agent")
    a, b = CustomerFactory(display_name="Li Na"), CustomerFactory(display_name="Li Na")
    MergeSuggestion.objects.create(customer_a=a, customer_b=b, score=0.93, reasons=["similar_name"])
    c = CustomerFactory()
    merge(a, c, rule=MergeRule.UNIONID)

    page = body(client.get(f"/customers/{a.pk}/merges/"))

    assert 'data-testid="suggestion"' in page and "Same WeChat UnionID" in page
    assert 'data-testid="unmerge"' not in page and 'data-testid="accept"' not in page
    assert client.post(f"/customers/merges/{Merge.objects.get().pk}/unmerge/").status_code == 403
    assert client.get(f"/customers/{a.pk}/merges/search/", {"q": "Li"}).status_code == 403


def test_merge_with_search_confirm_and_merge(staff_client):
    # given
    client, user = staff_client("Marketer")
    keep = CustomerFactory(display_name="Zhang Wei", city="Beijing")
    other = CustomerFactory(display_name="Zhang W.", city="Tianjin")
    IdentityFactory(customer=other, kind="email", value="zw@example.com")
    InteractionFactory(customer=other, text="hello from the other profile")

    # when: search by email, then open the confirmation
    results = body(client.get(f"/customers/{keep.pk}/merges/search/", {"q": "zw@example.com"}))
    assert f"/customers/{keep.pk}/merges/with/{other.pk}/" in results
    confirm = client.get(f"/customers/{keep.pk}/merges/with/{other.pk}/")

    # then: both profiles side by side
    assert confirm.status_code == 200
    assert "Beijing" in body(confirm) and "Tianjin" in body(confirm)

    # when: confirmed
    response = client.post(
        f"/customers/{keep.pk}/merges/with/{other.pk}/", {"reason": "phone call"}
    )

    # then
    assert response.status_code == 302 and response["Location"] == f"/customers/{keep.pk}/"
    record = Merge.objects.get()
    assert (record.survivor, record.merged, record.actor, record.reason) == (
        keep,
        other,
        user,
        "phone call",
    )
    assert Interaction.objects.get().customer_id == keep.pk
    assert AuditEntry.objects.filter(action="customer.merge", actor=user).exists()
    timeline = body(client.get(f"/customers/{keep.pk}/"))
    assert "hello from the other profile" in timeline


def test_search_by_id_and_nothing_found(staff_client):
    client, _ = staff_client("Admin")
    keep, other = CustomerFactory(), CustomerFactory(display_name="Findable")
    assert "Findable" in body(
        client.get(f"/customers/{keep.pk}/merges/search/", {"q": str(other.pk)})
    )
    assert "No other profile matches" in body(
        client.get(f"/customers/{keep.pk}/merges/search/", {"q": "nobody-like-this"})
    )


def test_unmerge_from_the_profile(staff_client):
    client, user = staff_client("Admin")
    keep, other = CustomerFactory(), CustomerFactory()
    record = merge(keep, other, rule=MergeRule.MANUAL, actor=user)

    response = client.post(f"/customers/merges/{record.pk}/unmerge/")

    assert response.status_code == 302 and response["Location"] == f"/customers/{other.pk}/"
    assert Customer.objects.get(pk=other.pk).is_live
    # a second unmerge is refused politely
    again = client.post(f"/customers/merges/{record.pk}/unmerge/", follow=True)
    assert "already undone" in body(again)


def test_a_merge_into_itself_is_not_found(staff_client):
    client, _ = staff_client("Admin")
    customer = CustomerFactory()
    assert client.get(f"/customers/{customer.pk}/merges/with/{customer.pk}/").status_code == 404


def test_suggestion_queue_empty_state_and_pagination(staff_client):
    client, _ = staff_client("Agent")
    page = body(client.get("/customers/merge-suggestions/"))
    assert 'data-testid="empty-state"' in page
    assert 'data-testid="run-suggestions"' not in page  # agents cannot start runs

    people = [CustomerFactory(display_name=f"P{n}") for n in range(60)]
    for n in range(0, 60, 2):
        MergeSuggestion.objects.create(customer_a=people[n], customer_b=people[n + 1], score=0.9)
    first = body(client.get("/customers/merge-suggestions/"))
    assert first.count('data-testid="suggestion"') == 25
    assert "Page 1 of 2" in first
    second = body(client.get("/customers/merge-suggestions/", {"page": 2}))
    assert second.count('data-testid="suggestion"') == 5


def test_accept_and_dismiss_from_the_profile(staff_client):
    client, user = staff_client("Marketer")
    a, b, c = (CustomerFactory(display_name="Li Na") for _ in range(3))
    to_accept = MergeSuggestion.objects.create(customer_a=a, customer_b=b, score=0.9)
    to_dismiss = MergeSuggestion.objects.create(customer_a=a, customer_b=c, score=0.8)

    response = client.post(
        f"/customers/merge-suggestions/{to_dismiss.pk}/dismiss/", {"customer": b.pk}
    )
    assert response["Location"] == "/customers/merge-suggestions/"  # b is not in that pair
    response = client.post(f"/customers/merge-suggestions/{to_accept.pk}/accept/", {"keep": b.pk})

    assert response["Location"] == f"/customers/{b.pk}/"
    record = Merge.objects.get()
    assert (record.survivor_id, record.merged_id, record.rule) == (b.pk, a.pk, MergeRule.SUGGESTION)
    to_dismiss.refresh_from_db()
    assert (to_dismiss.status, to_dismiss.decided_by) == (MergeSuggestion.Status.DISMISSED, user)


def test_agents_cannot_decide_suggestions(staff_client):
    client, _ = staff_client("Agent")
    a, b = CustomerFactory(), CustomerFactory()
    suggestion = MergeSuggestion.objects.create(customer_a=a, customer_b=b, score=0.9)
    assert client.post(f"/customers/merge-suggestions/{suggestion.pk}/accept/").status_code == 403
    assert client.post(f"/customers/merge-suggestions/{suggestion.pk}/dismiss/").status_code == 403
    assert client.post("/customers/merge-suggestions/run/").status_code == 403


def test_starting_a_run_shows_progress(staff_client, django_capture_on_commit_callbacks):
    client, _ = staff_client("Admin")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post("/customers/merge-suggestions/run/", HTTP_HX_REQUEST="true")
    assert len(callbacks) == 1  # the task is queued once the request commits
    page = body(response)
    assert 'hx-trigger="every 1s"' in page and 'role="progressbar"' in page


# --- isolation: another brand's ids are not found ------------------------------------------


@pytest.fixture
def foreign(brand, other_brand):
    """A customer, a merge and a suggestion in the other brand."""
    with tenant_context(other_brand):
        a, b, c = CustomerFactory(), CustomerFactory(), CustomerFactory()
        suggestion = MergeSuggestion.objects.create(customer_a=a, customer_b=b, score=0.9)
        record = merge(a, c, rule=MergeRule.MANUAL)
        ids = {"customer": a.pk, "other": b.pk, "suggestion": suggestion.pk, "merge": record.pk}
    connection.set_tenant(brand)
    return ids


def test_another_brands_ids_are_not_found(staff_client, foreign):
    client, _ = staff_client("Admin")
    mine = CustomerFactory()
    gets = [
        f"/customers/{foreign['customer']}/merges/",
        f"/customers/{foreign['customer']}/merges/search/?q=a",
        f"/customers/{mine.pk}/merges/with/{foreign['other']}/",
        f"/customers/{foreign['customer']}/merges/with/{mine.pk}/",
    ]
    posts = [
        f"/customers/merges/{foreign['merge']}/unmerge/",
        f"/customers/merge-suggestions/{foreign['suggestion']}/accept/",
        f"/customers/merge-suggestions/{foreign['suggestion']}/dismiss/",
        f"/customers/{mine.pk}/merges/with/{foreign['other']}/",
    ]
    # ids that happen to exist here too must not be theirs: make sure they don't
    Customer.objects.filter(pk__in=[foreign["customer"], foreign["other"]]).exclude(
        pk=mine.pk
    ).delete()
    Merge.objects.filter(pk=foreign["merge"]).delete()
    MergeSuggestion.objects.filter(pk=foreign["suggestion"]).delete()
    for url in gets:
        assert client.get(url).status_code == 404, url
    for url in posts:
        assert client.post(url).status_code == 404, url
