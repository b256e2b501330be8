"""Planning guards, evaluated set-wise in one statement: consent (latest wins, "all"),
reachability, duplicates, reply window, platform cap, frequency cap, quiet hours."""

from datetime import timedelta

from django.utils import timezone

from customers.models import Consent, Identity
from engagement.campaigns import planning
from engagement.campaigns.models import CampaignRecipient, SendTimeProfile
from tests.customers.factories import (
    ConsentFactory,
    CustomerFactory,
    IdentityFactory,
    InteractionFactory,
)
from tests.engagement.campaigns.helpers import campaign_for, segment_of, wechat_customer


def _plan(campaign, start=None):  # noqa: ANN001, ANN202
    return planning.plan_recipients(campaign, planning.segment_audience(campaign), start=start)


def _reasons(campaign):  # noqa: ANN001, ANN202
    return dict(CampaignRecipient.objects.filter(campaign=campaign).values_list("customer_id", "skip_reason"))


def test_latest_consent_wins_and_all_channels_counts(brand):
    # given consent histories in every order
    now = timezone.now()
    granted_then_withdrawn = wechat_customer(at=now - timedelta(days=2))
    ConsentFactory(customer=granted_then_withdrawn, channel="wechat", status="withdrawn", recorded_at=now - timedelta(days=1))
    withdrawn_then_granted = wechat_customer(consent="withdrawn", at=now - timedelta(days=2))
    ConsentFactory(customer=withdrawn_then_granted, channel="wechat", status="granted", recorded_at=now - timedelta(days=1))
    granted_everywhere = wechat_customer(consent=None)
    ConsentFactory(customer=granted_everywhere, channel="all", status="granted", recorded_at=now - timedelta(days=1))
    withdrawn_everywhere_later = wechat_customer(at=now - timedelta(days=2))
    ConsentFactory(customer=withdrawn_everywhere_later, channel="all", status="withdrawn", recorded_at=now - timedelta(days=1))
    service_only = wechat_customer(consent=None)
    ConsentFactory(customer=service_only, channel="wechat", purpose=Consent.Purpose.SERVICE, status="granted")
    email_only = wechat_customer(consent=None)
    ConsentFactory(customer=email_only, channel="email", status="granted")
    people = [granted_then_withdrawn, withdrawn_then_granted, granted_everywhere, withdrawn_everywhere_later, service_only, email_only]
    campaign = campaign_for(segment_of(people))

    # when planned
    result = _plan(campaign)

    # then only the current marketing consenters on WeChat (or everywhere) are planned
    reasons = _reasons(campaign)
    assert reasons == {
        granted_then_withdrawn.pk: "no_consent", withdrawn_then_granted.pk: "", granted_everywhere.pk: "",
        withdrawn_everywhere_later.pk: "no_consent", service_only.pk: "no_consent", email_only.pk: "no_consent",
    }
    assert result.planned == 2 and result.skipped == {"no_consent": 4}


def test_unreachable_duplicate_and_merged_customers(brand):
    # given a consenting customer with only an email, two profiles sharing one OpenID, a merged one
    no_openid = CustomerFactory()
    IdentityFactory(customer=no_openid)
    ConsentFactory(customer=no_openid, channel="wechat")
    first = wechat_customer()
    twin = CustomerFactory()
    ConsentFactory(customer=twin, channel="wechat")
    IdentityFactory(customer=twin, kind=Identity.Kind.WECHAT_OPENID, scope="other-app", value=f"o-{first.pk}")
    merged = wechat_customer(merged_into=first)
    campaign = campaign_for(segment_of([no_openid, first, twin, merged]))

    _plan(campaign)

    assert _reasons(campaign) == {no_openid.pk: "no_identity", first.pk: "", twin.pk: "duplicate"}


def test_exclusion_segments_remove_their_members(brand):
    a, b = wechat_customer(), wechat_customer()
    campaign = campaign_for(segment_of([a, b]))
    campaign.exclusion_segments.add(segment_of([b], name="VIP"))

    _plan(campaign)

    assert set(_reasons(campaign)) == {a.pk}


def test_frequency_cap_counts_every_channel_and_outbound_messages(brand):
    # given a cap of 2 per 7 days
    now = timezone.now()
    busy, fresh = wechat_customer(), wechat_customer()
    # busy already got an email campaign this week and a marketing message from elsewhere
    ConsentFactory(customer=busy, channel="email")
    IdentityFactory(customer=busy)
    earlier = campaign_for(segment_of([busy], name="earlier"), channel="email", message_type="email")
    _plan(earlier, start=now - timedelta(days=3))
    InteractionFactory(customer=busy, kind="message_out", occurred_at=now - timedelta(days=1), metadata={"purpose": "marketing"})
    # an old send outside the window does not count
    old = campaign_for(segment_of([fresh], name="old"))
    _plan(old, start=now - timedelta(days=10))
    campaign = campaign_for(segment_of([busy, fresh], name="now"), frequency_cap=2, frequency_days=7)

    _plan(campaign, start=now)

    assert _reasons(campaign) == {busy.pk: "frequency_cap", fresh.pk: ""}


def test_wecom_allows_one_mass_message_per_day(brand):
    now = timezone.now()
    customers = []
    for _ in range(2):
        customer = CustomerFactory()
        IdentityFactory(customer=customer, kind=Identity.Kind.WECOM_EXTERNAL_USERID, value=f"wm-{customer.pk}")
        ConsentFactory(customer=customer, channel="wecom")
        customers.append(customer)
    morning = campaign_for(segment_of(customers[:1], name="morning"), channel="wecom", frequency_cap=10)
    _plan(morning, start=now - timedelta(hours=5))
    evening = campaign_for(segment_of(customers, name="evening"), channel="wecom", frequency_cap=10)

    _plan(evening, start=now)

    assert _reasons(evening) == {customers[0].pk: "platform_cap", customers[1].pk: ""}


def test_quiet_hours_in_the_customers_time_zone(brand):
    # given 03:00 UTC: 11:00 in Shanghai, 23:00 the day before in New York
    start = timezone.now().replace(hour=3, minute=0, second=0, microsecond=0)
    shanghai = wechat_customer(attributes={"timezone": "Asia/Shanghai"})
    new_york = wechat_customer(attributes={"timezone": "America/New_York"})
    bogus = wechat_customer(attributes={"timezone": "Mars/Olympus'; DROP TABLE x; --"})
    campaign = campaign_for(segment_of([shanghai, new_york, bogus]), quiet_start=22, quiet_end=8, timezone="Asia/Shanghai")

    _plan(campaign, start=start)

    # an unknown zone falls back to the campaign's
    assert _reasons(campaign) == {shanghai.pk: "", new_york.pk: "quiet_hours", bogus.pk: ""}


def test_text_messages_need_the_platform_reply_window(brand):
    now = timezone.now()
    recent, silent = wechat_customer(), wechat_customer()
    InteractionFactory(customer=recent, channel="wechat", kind="message_in", occurred_at=now - timedelta(hours=3))
    InteractionFactory(customer=silent, channel="wechat", kind="message_in", occurred_at=now - timedelta(hours=72))
    campaign = campaign_for(segment_of([recent, silent]), message_type="text")

    _plan(campaign, start=now)

    assert _reasons(campaign) == {recent.pk: "", silent.pk: "outside_window"}


def test_planning_twice_adds_nobody_twice(brand):
    people = [wechat_customer() for _ in range(3)]
    campaign = campaign_for(segment_of(people))

    first = _plan(campaign)
    again = _plan(campaign)

    assert first.planned == 3 and again.planned == 0
    assert CampaignRecipient.objects.filter(campaign=campaign).count() == 3


def test_ab_split_and_best_send_hour(brand):
    # given 200 customers, a 50/50 split, and best hours for some
    from engagement.campaigns.models import Variant

    people = [wechat_customer() for _ in range(200)]
    campaign = campaign_for(segment_of(people), best_send_time=True)
    campaign.variants.update(split_percent=50)
    Variant.objects.create(campaign=campaign, name="B", split_percent=50, text="B")
    start = timezone.now().replace(hour=1, minute=30, second=0, microsecond=0)
    for customer in people[:150]:
        InteractionFactory(customer=customer, occurred_at=start - timedelta(days=1) + timedelta(hours=4))  # 05:30 UTC
    assert planning.compute_best_send_hours(now=start) == 150

    _plan(campaign, start=start)

    rows = CampaignRecipient.objects.filter(campaign=campaign)
    a = rows.filter(variant__name="A").count()
    assert 60 < a < 140 and rows.filter(variant__name="B").count() == 200 - a
    # those with a best hour and those without (the segment's fallback) both go at 05:00 UTC
    assert {r.send_at.astimezone(start.tzinfo).hour for r in rows} == {5}
    assert SendTimeProfile.objects.get(customer=people[0]).best_hour == 5


def test_estimate_counts_without_writing(brand):
    ok, no = wechat_customer(), wechat_customer(consent=None)
    campaign = campaign_for(segment_of([ok, no]))

    estimate = planning.estimate(campaign, planning.segment_audience(campaign))

    assert (estimate.planned, estimate.skipped) == (1, {"no_consent": 1})
    assert not CampaignRecipient.objects.exists()
