"""Offers and tracking: unique coupons and redemption, referral guards, poll votes by
reply and page, tracked link clicks on the timeline, conversions, replies, journeys."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from channels import hooks
from customers.models import Interaction
from engagement.campaigns import planning, services
from engagement.campaigns.models import (
    Campaign,
    CampaignRecipient,
    Coupon,
    CouponPool,
    JourneyPosition,
    Referral,
    ReferralProgram,
    TrackedLink,
    Variant,
    Vote,
)
from tests.customers.factories import CustomerFactory, OrderFactory
from tests.engagement.campaigns.helpers import (
    campaign_for,
    segment_of,
    wechat_connector,
    wechat_customer,
)


def _sent(campaign):  # noqa: ANN001, ANN202
    planning.plan_recipients(campaign, planning.segment_audience(campaign))
    services.send_batch(campaign.pk, limit=1000)
    return {r.customer_id: r for r in CampaignRecipient.objects.filter(campaign=campaign)}


def test_generated_coupons_are_unique_and_one_per_customer(brand):
    pool = CouponPool.objects.create(name="Gen", prefix="T")
    people = [wechat_customer() for _ in range(30)]
    campaign = campaign_for(segment_of(people), coupon_pool=pool)
    planning.plan_recipients(campaign, planning.segment_audience(campaign))

    assert services.assign_coupons(campaign, step=0, now=timezone.now()) == 30
    assert services.assign_coupons(campaign, step=0, now=timezone.now()) == 0

    codes = list(Coupon.objects.filter(pool=pool).values_list("code", flat=True))
    assert len(codes) == len(set(codes)) == 30
    assert Coupon.objects.filter(pool=pool, customer__isnull=False).values("customer").distinct().count() == 30
    with pytest.raises(IntegrityError), transaction.atomic():
        Coupon.objects.create(pool=pool, code="EXTRA", customer=people[0])


def test_uploaded_codes_reject_duplicates_and_junk(brand):
    pool = CouponPool.objects.create(name="Up", kind=CouponPool.Kind.UPLOADED)

    added, rejected = services.upload_coupons(pool=pool, codes=["AAA111", "AAA111", "BBB222", "<script>", "x\x00y", ""])
    again, _ = services.upload_coupons(pool=pool, codes=["BBB222", "CCC333"])

    assert (added, rejected, again) == (2, 2, 1)


def test_redemption_from_an_order_converts_and_only_once(brand):
    pool = CouponPool.objects.create(name="Gen")
    customer, stranger = wechat_customer(), CustomerFactory()
    campaign = campaign_for(segment_of([customer]), coupon_pool=pool)
    planning.plan_recipients(campaign, planning.segment_audience(campaign))
    services.assign_coupons(campaign, step=0, now=timezone.now())
    services.send_batch(campaign.pk)
    code = customer.coupons.get().code
    order = OrderFactory(customer=customer, amount=Decimal("88.00"), ordered_at=timezone.now())

    with pytest.raises(services.CampaignError):
        services.redeem_coupon(code=code, order=OrderFactory(customer=stranger))
    services.redeem_coupon(code=code, order=order)
    with pytest.raises(services.CampaignError):
        services.redeem_coupon(code=code, order=order)

    row = CampaignRecipient.objects.get(campaign=campaign)
    assert row.status == "converted" and row.revenue == Decimal("88.00")


def test_purchase_with_a_coupon_in_the_event_redeems_it(brand):
    pool = CouponPool.objects.create(name="Gen")
    customer = wechat_customer()
    coupon = Coupon.objects.create(pool=pool, code="HOOK1", customer=customer)

    hooks.publish([hooks.NewInteraction(id=1, customer_id=customer.pk, channel="web", kind="purchase", occurred_at=timezone.now(),
                                        text="", external_id="o-1", connector_id=0, metadata={"coupon": "HOOK1"})])

    coupon.refresh_from_db()
    assert coupon.redeemed_at is not None


def test_referral_guards_self_duplicates_and_existing_customers(brand):
    program = ReferralProgram.objects.create(name="Bring a friend", reward_on=ReferralProgram.RewardOn.PURCHASE)
    advocate, friend, other_advocate = CustomerFactory(), CustomerFactory(), CustomerFactory()
    link = services.referral_link_for(program=program, customer=advocate)
    assert services.referral_link_for(program=program, customer=advocate) == link

    with pytest.raises(services.CampaignError, match="yourself"):
        services.refer(code=link.code, referee_id=advocate.pk)
    referral = services.refer(code=link.code, referee_id=friend.pk)
    with pytest.raises(services.CampaignError, match="already"):
        services.refer(code=services.referral_link_for(program=program, customer=other_advocate).code, referee_id=friend.pk)
    old = CustomerFactory()
    type(old).objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=30))
    with pytest.raises(services.CampaignError, match="new customers"):
        services.refer(code=link.code, referee_id=old.pk)

    # the friend's first purchase rewards the advocate
    hooks.publish([hooks.NewInteraction(id=2, customer_id=friend.pk, channel="web", kind="purchase", occurred_at=timezone.now(),
                                        text="", external_id="o-2", connector_id=0)])
    referral.refresh_from_db()
    assert referral.status == Referral.Status.PURCHASED and referral.rewarded_at is not None
    assert Interaction.objects.filter(customer=advocate, kind="referral").count() == 1


def test_reply_marks_the_send_and_votes_by_keyword(brand):
    poll = services.create_poll(question="Which tea?", options=["Green", "Black"], actor=None)
    customer, other = wechat_customer(), wechat_customer()
    campaign = campaign_for(segment_of([customer, other]), poll=poll)
    _sent(campaign)
    later = timezone.now() + timedelta(minutes=5)

    # Real timeline rows: every subscriber (the inbox too) hears about them.
    replies = [
        Interaction.objects.create(customer=who, channel="wechat", kind="message_in", occurred_at=later,
                                   text=text, external_id=external_id)
        for who, text, external_id in ((customer, " 2 ", "m-1"), (other, "hello", "m-2"))
    ]
    hooks.publish([
        hooks.NewInteraction(id=row.pk, customer_id=row.customer_id, channel="wechat", kind="message_in",
                             occurred_at=later, text=row.text, external_id=row.external_id,
                             connector_id=campaign.connector_id or wechat_connector().pk)
        for row in replies
    ])

    assert CampaignRecipient.objects.filter(campaign=campaign, replied_at__isnull=False).count() == 2
    assert list(Vote.objects.values_list("customer_id", "option__label", "source")) == [(customer.pk, "Black", "reply")]


def test_click_redirects_and_lands_on_the_timeline(brand):
    customer = wechat_customer()
    campaign = campaign_for(segment_of([customer]))
    campaign.variants.update(link_url="https://shop.example/")
    services._ensure_links(campaign)
    row = _sent(campaign)[customer.pk]
    link = TrackedLink.objects.get(campaign=campaign)

    url = services.record_click(link_code=link.code, token=services.recipient_token(row.pk))
    forged = services.record_click(link_code=link.code, token=f"{row.pk}-0000000000000000")

    assert url == forged == "https://shop.example/"
    row.refresh_from_db()
    assert row.status == "clicked" and row.clicked_at is not None
    assert Interaction.objects.filter(customer=customer, kind="campaign_clicked").count() == 1
    assert link.clicks.count() == 2 and link.clicks.filter(customer__isnull=True).count() == 1


def test_orders_in_the_attribution_window_convert(brand):
    inside, outside, before = wechat_customer(), wechat_customer(), wechat_customer()
    campaign = campaign_for(segment_of([inside, outside, before]), attribution_days=7)
    _sent(campaign)
    now = timezone.now()
    OrderFactory(customer=inside, ordered_at=now + timedelta(days=2), amount=Decimal("50"))
    OrderFactory(customer=inside, ordered_at=now + timedelta(days=3), amount=Decimal("70"))
    OrderFactory(customer=outside, ordered_at=now + timedelta(days=9))
    OrderFactory(customer=before, ordered_at=now - timedelta(days=1))

    assert services.attribute_conversions(campaign) == 1

    row = CampaignRecipient.objects.get(campaign=campaign, customer=inside)
    assert row.status == "converted" and row.revenue == Decimal("50")


def test_journey_sends_waits_and_branches_on_click(brand):
    # given: send A, wait 24 h, if clicked → send "thanks" and end, else → send "reminder"
    clicker, quiet = wechat_customer(), wechat_customer()
    campaign = campaign_for(segment_of([clicker, quiet]), kind=Campaign.Kind.JOURNEY, frequency_cap=10)
    first = campaign.variants.get()
    thanks = Variant.objects.create(campaign=campaign, name="thanks", text="Thanks", split_percent=0)
    reminder = Variant.objects.create(campaign=campaign, name="reminder", text="Reminder", split_percent=0)
    campaign.status = Campaign.Status.DRAFT
    campaign.save()
    services.save_journey(campaign=campaign, steps=[
        {"action": "send", "variant": first},
        {"action": "wait", "wait_hours": 24},
        {"action": "branch", "condition": "clicked", "if_true": 3, "if_false": 5},
        {"action": "send", "variant": thanks},
        {"action": "end"},
        {"action": "send", "variant": reminder},
    ])
    campaign.status = Campaign.Status.PLANNING
    campaign.save()
    now = timezone.now()

    services.plan_campaign(campaign.pk, now=now)
    services.send_batch(campaign.pk, now=now)
    CampaignRecipient.objects.filter(campaign=campaign, customer=clicker, step=0).update(clicked_at=now)
    assert set(JourneyPosition.objects.filter(campaign=campaign).values_list("position", flat=True)) == {2}

    services.advance_journey(campaign, now=now + timedelta(hours=25))

    later = CampaignRecipient.objects.filter(campaign=campaign, step__gt=0)
    assert sorted(later.values_list("customer_id", "variant__name")) == sorted([(clicker.pk, "thanks"), (quiet.pk, "reminder")])
    assert not JourneyPosition.objects.filter(campaign=campaign, finished_at__isnull=True).exists()


def test_a_referral_through_a_program_is_an_edge_of_the_influence_graph(brand):
    from segments.models import CustomerScore
    from segments.scores import compute_scores

    # given an advocate who brought two friends through a referral program, one of whom bought
    program = ReferralProgram.objects.create(name="Bring a friend", reward_on=ReferralProgram.RewardOn.SIGNUP)
    advocate, buyer, browser, bystander = CustomerFactory(), CustomerFactory(), CustomerFactory(), CustomerFactory()
    code = services.referral_link_for(program=program, customer=advocate).code
    services.refer(code=code, referee_id=buyer.pk)
    services.refer(code=code, referee_id=browser.pk)
    OrderFactory(customer=buyer, status="paid")
    # when the scores are computed
    run = compute_scores(now=timezone.now() + timedelta(minutes=1))
    # then both referrals are edges, the advocate is the most central and one referral converted
    assert run.edges == 2
    scores = {s.customer_id: s for s in CustomerScore.objects.all()}
    assert scores[advocate.pk].centrality > max(scores[c.pk].centrality for c in (buyer, browser, bystander))
    assert scores[advocate.pk].referrals_converted == 1
