"""Sending: claimed batches render per customer and queue once; pause, resume, cancel; a
half-done send resumed (or re-run) never sends anyone twice; a real worker sends it all."""

import pytest
from django.db import connection
from django_tenants.utils import tenant_context

from channels.models import OutboundMessage
from engagement.campaigns import planning, services
from engagement.campaigns.models import Campaign, CampaignRecipient, CouponPool
from tests.conftest import wait_until
from tests.engagement.campaigns.helpers import campaign_for, segment_of, wechat_customer


def _planned(campaign, **kw):  # noqa: ANN001, ANN003, ANN202
    planning.plan_recipients(campaign, planning.segment_audience(campaign), **kw)
    return campaign


def test_batch_renders_each_customer_and_queues_once(brand):
    # given two consenting customers, one without consent, a coupon pool and a tracked link
    pool = CouponPool.objects.create(name="Spring", prefix="SP")
    lin, anon = wechat_customer(display_name="<b>Lin</b>"), wechat_customer(display_name="")
    nope = wechat_customer(consent=None)
    campaign = campaign_for(segment_of([lin, anon, nope]), text="Hi {{ name|friend }}, code {{ coupon }} {{ link }}",
                            coupon_pool=pool, public_base_url="https://alpha.example")
    campaign.variants.update(link_url="https://shop.example/spring")
    campaign.status = Campaign.Status.PLANNING
    campaign.save()

    # when planned and sent
    services.plan_campaign(campaign.pk)
    sent = services.send_batch(campaign.pk, limit=10)

    # then exactly the consenting two are queued, each with their own code and link
    assert sent == 2
    rows = {r.customer_id: r for r in CampaignRecipient.objects.filter(campaign=campaign)}
    assert rows[nope.pk].status == "skipped" and rows[nope.pk].message == {}
    first = rows[lin.pk].message["data"]["first"]
    code = lin.coupons.get(pool=pool).code
    assert first.startswith(f"Hi <b>Lin</b>, code {code} https://alpha.example/p/l/")
    assert rows[anon.pk].message["data"]["first"].startswith("Hi friend, code SP")
    assert services.send_batch(campaign.pk) == 0
    # and each queued row has its one outbox row, in WeChat's template shape
    outbound = rows[lin.pk].outbound_message
    assert outbound.recipient == rows[lin.pk].address and outbound.kind == "template" and outbound.purpose == "marketing"
    assert outbound.payload["data"]["first"] == {"value": first} and outbound.payload["template_id"] == "TPL1"
    assert OutboundMessage.objects.filter(customer__in=[lin, anon, nope]).count() == 2
    # the campaign is not done while the outbox has not answered
    assert not services.finish_if_done(campaign.pk)


def test_paused_campaign_sends_nothing_until_resumed(brand):
    campaign = _planned(campaign_for(segment_of([wechat_customer() for _ in range(3)])))
    services.pause_campaign(campaign=campaign, actor=None)

    assert services.send_batch(campaign.pk) == 0

    services.resume_campaign(campaign=campaign, actor=None)
    assert services.send_batch(campaign.pk) == 3


def test_cancelled_campaign_sends_nothing(brand):
    campaign = _planned(campaign_for(segment_of([wechat_customer()])))

    services.cancel_campaign(campaign=campaign, actor=None)

    assert services.send_batch(campaign.pk) == 0
    with pytest.raises(services.CampaignError):
        services.resume_campaign(campaign=campaign, actor=None)


def test_resuming_a_half_done_send_never_sends_twice(brand):
    # given a send interrupted after its first batch
    people = [wechat_customer() for _ in range(7)]
    campaign = _planned(campaign_for(segment_of(people)))
    assert services.send_batch(campaign.pk, limit=3) == 3
    first_batch = dict(CampaignRecipient.objects.filter(status="queued").values_list("pk", "queued_at"))

    # when the whole thing is re-run from the start: re-planned and sent again
    _planned(campaign)
    total = sum(iter(lambda: services.send_batch(campaign.pk, limit=3), 0))

    # then only the other four went out, and the first three were not touched
    assert total == 4
    assert CampaignRecipient.objects.filter(campaign=campaign).count() == 7
    assert CampaignRecipient.objects.filter(campaign=campaign, status="queued").count() == 7
    assert dict(CampaignRecipient.objects.filter(pk__in=first_batch).values_list("pk", "queued_at")) == first_batch


def test_a_real_worker_killed_mid_send_and_restarted_sends_everyone_once(committed_brand, celery_worker):
    # given a committed campaign with 60 planned recipients at 5 messages per second
    with tenant_context(committed_brand):
        people = [wechat_customer() for _ in range(60)]
        campaign = campaign_for(segment_of(people), send_rate=5, status=Campaign.Status.PLANNING)
        from engagement.campaigns.tasks import plan_campaign_task

        plan_campaign_task.delay(campaign.pk)
        queued = CampaignRecipient.objects.filter(campaign=campaign, queued_at__isnull=False)
        wait_until(lambda: queued.count() >= 10, timeout=60)

    # when the worker is killed mid-run and a new one started, and the tick picks the send up
    celery_worker.proc.kill()
    celery_worker.proc.wait()
    celery_worker.stop()
    celery_worker.start()
    with tenant_context(committed_brand):
        from engagement.campaigns.tasks import tick_campaigns_task

        tick_campaigns_task.delay()
        rows = CampaignRecipient.objects.filter(campaign=campaign)
        wait_until(lambda: not rows.filter(status="planned").exists(), timeout=90)

        # then everyone was queued exactly once, with exactly one outbox row each (the
        # connector's API is unreachable here, so the outbox is still retrying them)
        assert rows.count() == 60 and rows.filter(queued_at__isnull=False).count() == 60
        outbound = OutboundMessage.objects.filter(customer__in=people)
        assert outbound.count() == 60 and outbound.values("customer").distinct().count() == 60
        assert set(rows.values_list("outbound_message_id", flat=True)) == set(outbound.values_list("pk", flat=True))
    connection.set_schema_to_public()


def test_triggered_campaign_sends_to_people_entering_the_segment_once(brand):
    from django.utils import timezone

    from segments.models import MembershipEvent

    # given a triggered campaign started while someone was already in the segment
    early, newcomer = wechat_customer(), wechat_customer()
    segment = segment_of([early])
    MembershipEvent.objects.create(segment=segment, customer=early, kind="entered", at=timezone.now())
    campaign = campaign_for(segment, kind=Campaign.Kind.TRIGGERED, trigger_segment=segment, status=Campaign.Status.DRAFT)
    services.start_campaign(campaign=campaign, actor=None, public_base_url="https://alpha.example")

    # when a newcomer enters and the tick plans twice
    MembershipEvent.objects.create(segment=segment, customer=newcomer, kind="entered", at=timezone.now())
    services.plan_campaign(campaign.pk)
    services.plan_campaign(campaign.pk)

    # then only the newcomer is planned, once
    assert list(CampaignRecipient.objects.filter(campaign=campaign).values_list("customer_id", flat=True)) == [newcomer.pk]


def test_recurring_campaign_plans_each_run_as_its_own_step(brand):
    from datetime import timedelta

    from django.utils import timezone

    customer = wechat_customer()
    campaign = campaign_for(segment_of([customer]), kind=Campaign.Kind.RECURRING, recurrence="daily",
                            status=Campaign.Status.PLANNING, frequency_cap=10)
    now = timezone.now()

    services.plan_campaign(campaign.pk, now=now)
    campaign.refresh_from_db()
    assert campaign.next_run_at == now + timedelta(days=1)
    assert services.due_campaign_ids(now + timedelta(days=1, minutes=1))["plan"] == [campaign.pk]
    services.plan_campaign(campaign.pk, now=now + timedelta(days=1, minutes=1))

    assert sorted(CampaignRecipient.objects.filter(campaign=campaign).values_list("step", "status")) == [(0, "planned"), (1, "planned")]


def test_ab_winner_is_marked_by_the_chosen_metric(brand):
    from engagement.campaigns.models import Variant

    people = [wechat_customer() for _ in range(40)]
    campaign = _planned(campaign_for(segment_of(people), winner_metric="clicked"))
    Variant.objects.create(campaign=campaign, name="B", text="B")
    CampaignRecipient.objects.filter(campaign=campaign).update(variant=None)
    rows = list(CampaignRecipient.objects.filter(campaign=campaign).order_by("id"))
    a, b = campaign.variants.order_by("name")
    for index, row in enumerate(rows):
        row.variant = a if index % 2 else b
    CampaignRecipient.objects.bulk_update(rows, ["variant"])
    services.send_batch(campaign.pk, limit=100)
    CampaignRecipient.objects.filter(campaign=campaign).update(sent_at=campaign.created_at)  # the outbox sent them all
    ids = list(CampaignRecipient.objects.filter(campaign=campaign, variant=b).values_list("pk", flat=True)[:3])
    CampaignRecipient.objects.filter(pk__in=ids).update(clicked_at=campaign.created_at)

    assert services.mark_winner(campaign) == "B"
    assert list(campaign.variants.filter(is_winner=True).values_list("name", flat=True)) == ["B"]
