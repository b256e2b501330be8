"""The journey builder page: building a journey step by step through its endpoints, the
engine running what was built, the rules it refuses with why, the read-only view with
counts once it runs, and another brand's campaign ids giving 404."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from django_tenants.utils import tenant_context

from engagement.campaigns import journeys, services
from engagement.campaigns.models import (
    Campaign,
    CampaignRecipient,
    JourneyPosition,
    JourneyStep,
    Variant,
)
from tests.engagement.campaigns.helpers import campaign_for, segment_of, wechat_customer

HOSTILE = '<script>alert("x")</script>'


def _journey(people, **fields):  # noqa: ANN001, ANN003, ANN202
    campaign = campaign_for(segment_of(people), kind=Campaign.Kind.JOURNEY, status=Campaign.Status.DRAFT, frequency_cap=10, **fields)
    Variant.objects.create(campaign=campaign, name="thanks", text="Thanks", template_id="TPL1", split_percent=0)
    Variant.objects.create(campaign=campaign, name="reminder", text="Reminder", template_id="TPL1", split_percent=0)
    return campaign


def _variant(campaign, name):  # noqa: ANN001, ANN202
    return campaign.variants.get(name=name).pk


def _add(client, campaign, **step):  # noqa: ANN001, ANN003, ANN202
    data = {f"add-{key}": value for key, value in step.items()}
    return client.post(reverse("engagement:journey-step-add", args=[campaign.pk]), data, HTTP_HX_REQUEST="true")


def _steps(campaign):  # noqa: ANN001, ANN202
    return [
        (s.action, s.variant.name if s.variant else None, s.wait_hours, s.condition, s.if_true, s.if_false)
        for s in JourneyStep.objects.filter(campaign=campaign).select_related("variant")
    ]


def test_journey_built_in_the_page_sends_each_customer_down_their_branch(staff_client, brand, django_capture_on_commit_callbacks):
    # given a clicker and a quiet customer, and a draft journey whose first message has a tracked link
    client, _ = staff_client("Marketer")
    clicker, quiet = wechat_customer(), wechat_customer()
    campaign = _journey([clicker, quiet])
    campaign.variants.filter(name="A").update(link_url="https://shop.example/tea")

    # when the marketer builds send A → wait 1 day → send thanks → end → send reminder,
    # then inserts before "send thanks" a branch on clicks: yes → thanks, no → reminder
    _add(client, campaign, action="send", variant=_variant(campaign, "A"))
    _add(client, campaign, action="wait", wait=1, wait_unit="days")
    _add(client, campaign, action="send", variant=_variant(campaign, "thanks"))
    _add(client, campaign, action="end")
    _add(client, campaign, action="send", variant=_variant(campaign, "reminder"))
    page = _add(client, campaign, action="branch", condition="clicked", if_true=2, if_false=4, before=2).content.decode()

    # then the steps are saved in order, the branch pointing at the same steps after the insert
    assert _steps(campaign) == [
        ("send", "A", 0, "", None, None),
        ("wait", None, 24, "", None, None),
        ("branch", None, 0, "clicked", 3, 5),
        ("send", "thanks", 0, "", None, None),
        ("end", None, 0, "", None, None),
        ("send", "reminder", 0, "", None, None),
    ]
    assert 'data-testid="branch-yes-3"' in page and "step 4" in page and "step 6" in page and "<html" not in page

    # when it is launched from the campaign page and the clock ticks now and a day later
    with django_capture_on_commit_callbacks() as callbacks:
        client.post(reverse("engagement:campaign-action", args=[campaign.pk, "start"]))
    assert Campaign.objects.get(pk=campaign.pk).status == "planning" and len(callbacks) == 1
    now = timezone.now()
    services.plan_campaign(campaign.pk, now=now)
    services.send_batch(campaign.pk, now=now)
    first = CampaignRecipient.objects.get(campaign=campaign, customer=clicker, step=0)
    services.record_click(link_code=campaign.links.get().code, token=services.recipient_token(first.pk), now=now)
    later = now + timedelta(hours=25)
    services.plan_campaign(campaign.pk, now=later)
    assert services.send_batch(campaign.pk, now=later) == 2

    # then the clicker got "thanks" and ended at the End step; the quiet one got "reminder"
    sent = CampaignRecipient.objects.filter(campaign=campaign, queued_at__isnull=False)
    assert sorted(sent.values_list("customer_id", "step", "variant__name")) == sorted([
        (clicker.pk, 0, "A"), (quiet.pk, 0, "A"), (clicker.pk, 3, "thanks"), (quiet.pk, 5, "reminder"),
    ])
    assert dict(JourneyPosition.objects.filter(campaign=campaign).values_list("customer_id", "position")) == {clicker.pk: 4, quiet.pk: 6}
    assert not JourneyPosition.objects.filter(campaign=campaign, finished_at__isnull=True).exists()

    # and the page, now read-only, counts who went each way and where they finished
    html = client.get(reverse("engagement:journey-builder", args=[campaign.pk])).content.decode()
    assert 'data-testid="journey-read-only"' in html and 'data-testid="add-form"' not in html
    assert 'data-testid="passed-yes-3">1<' in html and 'data-testid="passed-no-3">1<' in html
    assert 'data-testid="sent-1">2<' in html and 'data-testid="sent-4">1<' in html and 'data-testid="sent-6">1<' in html
    assert 'data-testid="ended-5">1<' in html and 'data-testid="finished-past-end">1<' in html


def test_customers_held_by_a_wait_are_counted_on_it_until_they_finish(staff_client, brand):
    # given a running journey that sends, then waits two days
    client, _ = staff_client("Marketer")
    campaign = _journey([wechat_customer(), wechat_customer()])
    services.save_journey(campaign=campaign, steps=[
        {"action": "send", "variant": campaign.variants.get(name="A")}, {"action": "wait", "wait_hours": 48},
    ])
    campaign.status = Campaign.Status.PLANNING
    campaign.save()
    now = timezone.now()

    # when it starts, both customers are held by the wait, not finished
    services.plan_campaign(campaign.pk, now=now)
    html = client.get(reverse("engagement:journey-builder", args=[campaign.pk])).content.decode()
    assert 'data-testid="waiting-2">2<' in html and 'data-testid="finished-past-end">0<' in html
    assert not services.finish_if_done(campaign.pk, now=now)

    # then two days later they finish, past the last step
    services.plan_campaign(campaign.pk, now=now + timedelta(hours=49))
    html = client.get(reverse("engagement:journey-builder", args=[campaign.pk])).content.decode()
    assert 'data-testid="waiting-2">0<' in html and 'data-testid="finished-past-end">2<' in html


@pytest.mark.parametrize(("step", "field", "message"), [
    ({"action": "wait", "wait": 0, "wait_unit": "hours"}, "wait", "A wait must be longer than zero."),
    ({"action": "wait", "wait_unit": "hours"}, "wait", "Enter how long to wait."),
    ({"action": "send"}, "variant", "A send step needs a message."),
    ({"action": "branch", "if_true": 0}, "condition", "Choose what the branch checks."),
    ({"action": "branch", "condition": "clicked", "if_true": 9}, "if_true", "Choose a step of this journey."),
    ({"action": "branch", "condition": "clicked", "before": 7}, "before", "Choose a step of this journey."),
    ({"action": "jump"}, "action", "Select a valid choice."),
])
def test_a_step_missing_what_it_needs_is_refused_with_why(staff_client, brand, step, field, message):
    client, _ = staff_client("Marketer")
    campaign = _journey([])
    _add(client, campaign, action="send", variant=_variant(campaign, "A"))

    html = _add(client, campaign, **step).content.decode()

    assert f'data-testid="error-{field}"' in html and message in html
    assert len(_steps(campaign)) == 1


def test_another_campaigns_message_cannot_be_sent(staff_client, brand):
    client, _ = staff_client("Marketer")
    campaign, other = _journey([]), _journey([])

    html = _add(client, campaign, action="send", variant=_variant(other, "A")).content.decode()

    assert 'data-testid="error-variant"' in html and _steps(campaign) == []
    with pytest.raises(journeys.JourneyProblems, match="one of this campaign's messages"):
        services.save_journey(campaign=campaign, steps=[{"action": "send", "variant": other.variants.get(name="A")}])


def test_a_branch_that_loops_back_is_refused_and_nothing_changes(staff_client, brand):
    # given send → wait
    client, _ = staff_client("Marketer")
    campaign = _journey([])
    _add(client, campaign, action="send", variant=_variant(campaign, "A"))
    _add(client, campaign, action="wait", wait=3, wait_unit="hours")

    # when a branch at the end sends non-clickers back to the send
    html = _add(client, campaign, action="branch", condition="clicked", if_false=0).content.decode()

    # then it is refused, saying which steps loop, and the journey is as it was
    assert 'data-testid="journey-errors"' in html and "Steps 1 → 2 → 3 → 1 lead back to each other" in html
    assert [s[0] for s in _steps(campaign)] == ["send", "wait"]
    # while a branch back to a step that ends the journey is no loop
    _add(client, campaign, action="end", before=1)
    _add(client, campaign, action="branch", condition="replied", if_true=1, if_false=1)
    assert [s[0] for s in _steps(campaign)] == ["send", "end", "wait", "branch"]


def test_the_service_checks_the_journey_whoever_calls_it(brand):
    campaign = _journey([])
    a = campaign.variants.get(name="A")

    with pytest.raises(journeys.JourneyProblems) as refused:
        services.save_journey(campaign=campaign, steps=[
            {"action": "send", "variant": None},
            {"action": "wait", "wait_hours": 0},
            {"action": "branch", "condition": "clicked", "if_true": 7},
            {"action": "branch", "condition": "", "if_true": 1},
        ])
    assert [(p.step, p.message) for p in refused.value.problems] == [
        (0, "A send step needs a message."), (1, "A wait must last at least one hour."),
        (2, "Step 8 does not exist."), (3, "Choose what the branch checks."),
    ]
    with pytest.raises(journeys.JourneyProblems, match="loop forever"):
        services.save_journey(campaign=campaign, steps=[{"action": "send", "variant": a}, {"action": "branch", "condition": "read", "if_false": 1}])
    assert not JourneyStep.objects.filter(campaign=campaign).exists()


def test_a_journey_cannot_start_without_a_send_or_with_a_lost_message(staff_client, brand):
    client, _ = staff_client("Marketer")
    campaign = _journey([wechat_customer()])
    start = reverse("engagement:campaign-action", args=[campaign.pk, "start"])

    assert "add at least one send step" in client.post(start, follow=True).content.decode()
    services.save_journey(campaign=campaign, steps=[{"action": "send", "variant": campaign.variants.get(name="thanks")}])
    campaign.variants.filter(name="thanks").delete()  # the marketer removed the message the step sends

    page = client.post(start, follow=True).content.decode()
    assert "fix the journey before starting it: A send step needs a message." in page
    assert Campaign.objects.get(pk=campaign.pk).status == "draft"
    builder = client.get(reverse("engagement:journey-builder", args=[campaign.pk])).content.decode()
    assert "A send step needs a message." in builder


def test_edit_move_and_delete_keep_branches_on_their_steps(staff_client, brand):
    # given send A → branch(clicked: yes → thanks, no → reminder) → thanks → end → reminder
    client, _ = staff_client("Marketer")
    campaign = _journey([])
    variants = {v.name: v for v in campaign.variants.all()}
    services.save_journey(campaign=campaign, steps=[
        {"action": "send", "variant": variants["A"]},
        {"action": "branch", "condition": "clicked", "if_true": 2, "if_false": 4},
        {"action": "send", "variant": variants["thanks"]},
        {"action": "end"},
        {"action": "send", "variant": variants["reminder"]},
    ])
    url = lambda name, index: reverse(f"engagement:journey-step-{name}", args=[campaign.pk, index])  # noqa: E731

    # when a wait is inserted before the branch, and the branch is edited to check replies
    _add(client, campaign, action="wait", wait=6, wait_unit="hours", before=1)
    form = client.get(url("edit", 2), HTTP_HX_REQUEST="true").content.decode()
    assert 'data-testid="edit-form"' in form and "autofocus" in form and 'value="clicked" selected' in form
    client.post(url("edit", 2), {"edit-action": "branch", "edit-condition": "replied", "edit-if_true": 3, "edit-if_false": 5},
                HTTP_HX_REQUEST="true")
    # then the branch still points at thanks and reminder
    assert _steps(campaign)[1:3] == [("wait", None, 6, "", None, None), ("branch", None, 0, "replied", 3, 5)]

    # when the reminder moves up above the end step, and the wait moves down below the branch
    client.post(url("move", 5), {"direction": "up"}, HTTP_HX_REQUEST="true")
    client.post(url("move", 1), {"direction": "down"}, HTTP_HX_REQUEST="true")

    # then each branch target followed its step
    assert _steps(campaign) == [
        ("send", "A", 0, "", None, None),
        ("branch", None, 0, "replied", 3, 4),
        ("wait", None, 6, "", None, None),
        ("send", "thanks", 0, "", None, None),
        ("send", "reminder", 0, "", None, None),
        ("end", None, 0, "", None, None),
    ]

    # when the marketer deletes a step a branch goes to, it is refused with why
    html = client.post(url("delete", 3), HTTP_HX_REQUEST="true").content.decode()
    assert "Step 4 is where the branch in step 2 goes" in html and len(_steps(campaign)) == 6
    # and deleting the wait renumbers the targets
    client.post(url("delete", 2), HTTP_HX_REQUEST="true")
    assert _steps(campaign)[1] == ("branch", None, 0, "replied", 2, 3)
    # and without HTMX every control still works, by redirect
    assert client.post(url("move", 0), {"direction": "down"}).status_code == 302


def test_running_journey_cannot_change(staff_client, brand):
    client, _ = staff_client("Marketer")
    campaign = _journey([])
    services.save_journey(campaign=campaign, steps=[{"action": "send", "variant": campaign.variants.get(name="A")}])
    Campaign.objects.filter(pk=campaign.pk).update(status=Campaign.Status.SENDING)

    html = _add(client, campaign, action="end").content.decode()
    moved = client.post(reverse("engagement:journey-step-delete", args=[campaign.pk, 0]), HTTP_HX_REQUEST="true").content.decode()

    assert "only a draft journey can be edited" in html and "only a draft journey can be edited" in moved
    assert len(_steps(campaign)) == 1 and 'data-testid="edit-1"' not in html


def test_names_are_escaped_and_empty_journey_says_what_to_do(staff_client, brand):
    client, _ = staff_client("Marketer")
    campaign = _journey([], name=HOSTILE)
    campaign.variants.filter(name="A").update(name="<b>A</b>", text=HOSTILE)

    empty = client.get(reverse("engagement:journey-builder", args=[campaign.pk])).content.decode()
    assert 'data-testid="empty-state"' in empty and "<script>alert" not in empty and "&lt;script&gt;" in empty
    _add(client, campaign, action="send", variant=_variant(campaign, "<b>A</b>"))
    html = client.get(reverse("engagement:journey-builder", args=[campaign.pk])).content.decode()
    assert "<script>alert" not in html and "<b>A</b>" not in html and "&lt;b&gt;A&lt;/b&gt;" in html


def test_detail_page_links_journeys_to_their_builder(staff_client, brand):
    client, _ = staff_client("Marketer")
    journey, broadcast = _journey([]), campaign_for(segment_of([]), status=Campaign.Status.DRAFT)

    assert reverse("engagement:journey-builder", args=[journey.pk]) in client.get(
        reverse("engagement:campaign-detail", args=[journey.pk])).content.decode()
    assert 'data-testid="journey-link"' not in client.get(reverse("engagement:campaign-detail", args=[broadcast.pk])).content.decode()
    assert client.get(reverse("engagement:journey-builder", args=[broadcast.pk])).status_code == 404


def test_agents_cannot_build_journeys(staff_client, brand):
    client, _ = staff_client("Agent")
    campaign = _journey([])
    assert client.get(reverse("engagement:journey-builder", args=[campaign.pk])).status_code == 403
    assert _add(client, campaign, action="end").status_code == 403


def test_another_brands_journey_is_404(staff_client, other_brand):
    # given a draft journey with one step in beta
    client, _ = staff_client("Admin")
    with tenant_context(other_brand):
        foreign = Campaign.objects.create(name="beta journey", kind=Campaign.Kind.JOURNEY)
        variant = Variant.objects.create(campaign=foreign, name="A", text="beta")
        services.save_journey(campaign=foreign, steps=[{"action": "send", "variant": variant}])

    # when alpha's admin reaches for it through every journey endpoint
    urls = [
        ("get", reverse("engagement:journey-builder", args=[foreign.pk]), {}),
        ("post", reverse("engagement:journey-step-add", args=[foreign.pk]), {"add-action": "end"}),
        ("get", reverse("engagement:journey-step-edit", args=[foreign.pk, 0]), {}),
        ("post", reverse("engagement:journey-step-edit", args=[foreign.pk, 0]), {"edit-action": "end"}),
        ("post", reverse("engagement:journey-step-move", args=[foreign.pk, 0]), {"direction": "down"}),
        ("post", reverse("engagement:journey-step-delete", args=[foreign.pk, 0]), {}),
    ]
    # then each is 404, and beta's journey is untouched
    for method, url, data in urls:
        assert getattr(client, method)(url, data).status_code == 404, url
    with tenant_context(other_brand):
        assert list(JourneyStep.objects.filter(campaign=foreign).values_list("action", flat=True)) == ["send"]


def test_branch_on_opened_counts_each_way(brand):
    # given send → branch(opened: yes → end, no → reminder) → end → reminder, one reader
    reader, other = wechat_customer(), wechat_customer()
    campaign = _journey([reader, other])
    variants = {v.name: v for v in campaign.variants.all()}
    services.save_journey(campaign=campaign, steps=[
        {"action": "send", "variant": variants["A"]},
        {"action": "wait", "wait_hours": 2},
        {"action": "branch", "condition": "read", "if_true": 3, "if_false": 4},
        {"action": "end"},
        {"action": "send", "variant": variants["reminder"]},
    ])
    Campaign.objects.filter(pk=campaign.pk).update(status=Campaign.Status.PLANNING)
    now = timezone.now()
    services.plan_campaign(campaign.pk, now=now)
    CampaignRecipient.objects.filter(campaign=campaign, customer=reader).update(read_at=now)

    # when the wait is over
    services.plan_campaign(campaign.pk, now=now + timedelta(hours=3))

    # then the reader ended, the other got the reminder, and the branch counted one each way
    branch = JourneyStep.objects.get(campaign=campaign, position=2)
    assert (branch.passed_true, branch.passed_false) == (1, 1)
    assert list(CampaignRecipient.objects.filter(campaign=campaign, step=4).values_list("customer_id", flat=True)) == [other.pk]
