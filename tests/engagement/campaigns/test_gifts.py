"""Gifts sent to a friend: a claim code per gift, claimed once, never by the sender, not
after it expires, while stock lasts; sends and claims on the timeline and in the report;
the sender's page and the friend's claim page (CSRF, rate limit, escaped, other brands 404)."""

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_tenants.utils import tenant_context

from customers.merging import merge
from customers.models import Interaction
from engagement.campaigns import planning, services
from engagement.campaigns.models import (
    Campaign,
    CampaignRecipient,
    Coupon,
    CouponPool,
    Gift,
    GiftClaim,
    GiftOffer,
)
from tests.customers.factories import CustomerFactory
from tests.engagement.campaigns.helpers import campaign_for, segment_of, wechat_customer

HOSTILE = '<script>alert("x")</script>\u202e😀'


def _offer(**fields: object) -> GiftOffer:
    return services.create_gift_offer(**{
        "name": "Tea for a friend", "description": "A box of green tea", "coupon_pool": None, "quantity": None,
        "per_sender": 3, "claim_days": 14, "valid_until": None, "actor": None, **fields,
    })


def test_a_sent_gift_has_an_unguessable_code_and_is_claimed_once(brand):
    # given an offer and a sender
    offer, sender, friend, other = _offer(), CustomerFactory(), CustomerFactory(), CustomerFactory()

    # when the sender sends two gifts and the friend claims one
    first = services.send_gift(offer=offer, sender_id=sender.pk, friend_name="Jun")
    second = services.send_gift(offer=offer, sender_id=sender.pk)
    claim = services.claim_gift(code=first.code, customer_id=friend.pk)

    # then each code is its own and long; the code is claimed once only
    assert first.code != second.code and len(first.code) >= 20
    assert claim.customer_id == friend.pk and claim.gift_id == first.pk
    with pytest.raises(services.CampaignError, match="already claimed"):
        services.claim_gift(code=first.code, customer_id=other.pk)
    with pytest.raises(services.CampaignError, match="unknown"):
        services.claim_gift(code=first.code[:-1] + ("A" if first.code[-1] != "A" else "B"), customer_id=other.pk)
    assert GiftClaim.objects.count() == 1


def test_the_sender_cannot_claim_their_own_gift(brand):
    offer, sender = _offer(), CustomerFactory()
    gift = services.send_gift(offer=offer, sender_id=sender.pk)

    with pytest.raises(services.CampaignError, match="your own"):
        services.claim_gift(code=gift.code, customer_id=sender.pk)

    assert not GiftClaim.objects.exists()


def test_expired_gifts_and_ended_offers_cannot_be_claimed_or_sent(brand):
    now = timezone.now()
    offer, sender, friend = _offer(claim_days=2), CustomerFactory(), CustomerFactory()
    gift = services.send_gift(offer=offer, sender_id=sender.pk, now=now)
    ending = _offer(valid_until=now + timedelta(hours=1))

    with pytest.raises(services.CampaignError, match="expired"):
        services.claim_gift(code=gift.code, customer_id=friend.pk, now=now + timedelta(days=3))
    # a gift never outlives its offer
    assert services.send_gift(offer=ending, sender_id=sender.pk, now=now).expires_at == ending.valid_until
    with pytest.raises(services.CampaignError, match="ended"):
        services.send_gift(offer=ending, sender_id=sender.pk, now=now + timedelta(hours=2))
    services.set_gift_offer_active(offer=offer, is_active=False, actor=None)
    with pytest.raises(services.CampaignError, match="ended"):
        services.send_gift(offer=offer, sender_id=sender.pk, now=now)
    with pytest.raises(services.CampaignError, match="expired"):
        services.claim_gift(code=gift.code, customer_id=friend.pk, now=now)


def test_stock_and_per_sender_limits(brand):
    offer = _offer(quantity=1, per_sender=2)
    sender, friend, late_friend = CustomerFactory(), CustomerFactory(), CustomerFactory()
    first = services.send_gift(offer=offer, sender_id=sender.pk)
    second = services.send_gift(offer=offer, sender_id=sender.pk)

    with pytest.raises(services.CampaignError, match="already sent"):
        services.send_gift(offer=offer, sender_id=sender.pk)
    services.claim_gift(code=first.code, customer_id=friend.pk)
    with pytest.raises(services.CampaignError, match="all gifts"):
        services.claim_gift(code=second.code, customer_id=late_friend.pk)
    with pytest.raises(services.CampaignError, match="all gifts"):
        services.send_gift(offer=offer, sender_id=CustomerFactory().pk)


def test_a_friend_claims_one_gift_per_offer(brand):
    offer, friend = _offer(), CustomerFactory()
    a = services.send_gift(offer=offer, sender_id=CustomerFactory().pk)
    b = services.send_gift(offer=offer, sender_id=CustomerFactory().pk)

    services.claim_gift(code=a.code, customer_id=friend.pk)
    with pytest.raises(services.CampaignError, match="already claimed"):
        services.claim_gift(code=b.code, customer_id=friend.pk)


def test_a_coupon_gift_hands_the_friend_a_code_from_the_pool(brand):
    uploaded = CouponPool.objects.create(name="Up", kind=CouponPool.Kind.UPLOADED)
    services.upload_coupons(pool=uploaded, codes=["GIFT-ONE"])
    offer = _offer(coupon_pool=uploaded)
    sender, friend, second_friend = CustomerFactory(), CustomerFactory(), CustomerFactory()
    gifts = [services.send_gift(offer=offer, sender_id=sender.pk) for _ in range(2)]

    claim = services.claim_gift(code=gifts[0].code, customer_id=friend.pk)
    assert claim.coupon.code == "GIFT-ONE" and Coupon.objects.get(code="GIFT-ONE").customer_id == friend.pk
    # the uploaded codes ran out: the pool is the stock
    with pytest.raises(services.CampaignError, match="all gifts"):
        services.claim_gift(code=gifts[1].code, customer_id=second_friend.pk)
    assert not GiftClaim.objects.filter(customer=second_friend).exists()

    generated = CouponPool.objects.create(name="Gen", prefix="GF")
    made = services.claim_gift(code=services.send_gift(offer=_offer(coupon_pool=generated), sender_id=sender.pk).code,
                               customer_id=friend.pk)
    assert made.coupon.code.startswith("GF") and made.coupon.pool_id == generated.pk


def test_sends_and_claims_land_on_both_timelines(brand):
    offer, sender, friend = _offer(), CustomerFactory(), CustomerFactory()
    gift = services.send_gift(offer=offer, sender_id=sender.pk)
    services.claim_gift(code=gift.code, customer_id=friend.pk)

    sent = Interaction.objects.get(customer=sender, kind="gift_sent")
    claimed = Interaction.objects.get(customer=friend, kind="gift_claimed")
    assert sent.metadata["gift"] == claimed.metadata["gift"] == gift.pk
    assert claimed.metadata["sender"] == sender.pk and sent.get_kind_display() == "Gift sent"


def test_a_merge_carries_gifts_and_claims_to_the_survivor(brand):
    offer = _offer()
    sender, sender_twin, friend_twin, friend = CustomerFactory(), CustomerFactory(), CustomerFactory(), CustomerFactory()
    gift = services.send_gift(offer=offer, sender_id=sender_twin.pk)
    services.claim_gift(code=services.send_gift(offer=offer, sender_id=sender.pk).code, customer_id=friend_twin.pk)

    merge(sender, sender_twin, rule="manual")
    merge(friend, friend_twin, rule="manual")

    assert Gift.objects.get(pk=gift.pk).sender_id == sender.pk
    assert GiftClaim.objects.get().customer_id == friend.pk


# --- pages --------------------------------------------------------------------------------


def _recipient_with_offer(offer: GiftOffer, **customer_fields: object) -> CampaignRecipient:
    customer = wechat_customer(**customer_fields)
    campaign = campaign_for(segment_of([customer]), gift_offer=offer)
    planning.plan_recipients(campaign, planning.segment_audience(campaign))
    return CampaignRecipient.objects.get(campaign=campaign)


def test_the_sender_page_makes_a_claim_link_and_the_friend_claims_it(brand):
    # given a campaign recipient whose campaign offers a gift (named with hostile text)
    offer = _offer(name=HOSTILE, per_sender=1)
    row = _recipient_with_offer(offer, display_name=HOSTILE)
    send_url = reverse("engagement:public-gift-send", args=[services.recipient_token(row.pk)])
    sender_client = Client(HTTP_HOST=brand.primary_host(), enforce_csrf_checks=True)

    # when they open the page and send a gift to a friend
    page = sender_client.get(send_url)
    assert page.status_code == 200 and "&lt;script&gt;" in page.content.decode() and "<script>alert" not in page.content.decode()
    assert sender_client.post(send_url, {"friend_name": "Jun"}).status_code == 403  # no CSRF token
    csrf = page.cookies["csrftoken"].value
    response = sender_client.post(send_url, {"friend_name": HOSTILE, "message": "Enjoy", "csrfmiddlewaretoken": csrf})
    assert response.status_code == 302  # a reload of the result cannot send another gift
    sent = sender_client.get(response["Location"]).content.decode()

    # then a claim link shows, the gift counts for the campaign, and their share is used up
    gift = Gift.objects.get()
    claim_url = reverse("engagement:public-gift-claim", args=[gift.code])
    assert 'data-testid="gift-sent"' in sent and claim_url in sent and "<script>alert" not in sent
    assert gift.campaign_id == row.campaign_id and gift.sender_id == row.customer_id
    assert 'data-testid="send-gift"' not in sent and 'data-testid="all-sent"' in sent

    # and the friend claims it once, with their email
    friend_client = Client(HTTP_HOST=brand.primary_host(), enforce_csrf_checks=True)
    landing = friend_client.get(claim_url)
    assert "<script>alert" not in landing.content.decode() and "&lt;script&gt;" in landing.content.decode()
    assert friend_client.post(claim_url, {"email": "jun@example.com"}).status_code == 403
    token = landing.cookies["csrftoken"].value
    done = friend_client.post(claim_url, {"name": "Jun", "email": "jun@example.com", "csrfmiddlewaretoken": token},
                              follow=True)
    assert 'data-testid="gift-claimed"' in done.content.decode()
    assert GiftClaim.objects.get().customer.identities.get().value == "jun@example.com"
    again = friend_client.post(claim_url, {"email": "someone@example.com", "csrfmiddlewaretoken": token}).content.decode()
    assert 'data-testid="gift-error"' in again and GiftClaim.objects.count() == 1


def test_the_friend_who_claimed_sees_their_gift_again_on_reload_and_resubmit(brand):
    # given a coupon gift the friend claims on the page
    pool = CouponPool.objects.create(name="Gen", prefix="GF")
    gift = services.send_gift(offer=_offer(coupon_pool=pool), sender_id=CustomerFactory().pk)
    claim_url = reverse("engagement:public-gift-claim", args=[gift.code])
    friend_client = Client(HTTP_HOST=brand.primary_host())
    claimed = friend_client.post(claim_url, {"email": "jun@example.com"})
    code = GiftClaim.objects.get().coupon.code

    # when they reload the page they landed on, and submit their email again
    reloaded = friend_client.get(claimed["Location"]).content.decode()
    resubmitted = friend_client.post(claim_url, {"email": "Jun@example.com"}, follow=True).content.decode()

    # then both show their own claim and code, and nothing is claimed twice
    for page in (reloaded, resubmitted):
        assert 'data-testid="gift-claimed"' in page and code in page and 'data-testid="gift-taken"' not in page
    assert GiftClaim.objects.count() == 1 and Interaction.objects.filter(kind="gift_claimed").count() == 1
    # and anyone else opening the link, or guessing at the claim link, sees it taken
    for url in (claim_url, f"{claim_url}?claim=0000", claimed["Location"][:-1] + "0"):
        other = Client(HTTP_HOST=brand.primary_host()).get(url).content.decode()
        assert 'data-testid="gift-taken"' in other and code not in other
    refused = Client(HTTP_HOST=brand.primary_host()).post(claim_url, {"email": "mei@example.com"}).content.decode()
    assert 'data-testid="gift-error"' in refused and code not in refused


def test_the_claim_page_refuses_the_sender_by_their_email(brand):
    offer = _offer()
    sender = CustomerFactory()
    from customers.models import Identity

    Identity.objects.create(customer=sender, kind="email", value="mei@example.com")
    gift = services.send_gift(offer=offer, sender_id=sender.pk)
    client = Client(HTTP_HOST=brand.primary_host())

    page = client.post(reverse("engagement:public-gift-claim", args=[gift.code]), {"email": "Mei@Example.com"}).content.decode()

    assert 'data-testid="gift-error"' in page and not GiftClaim.objects.exists()


def test_the_claim_page_is_rate_limited(brand):
    gift = services.send_gift(offer=_offer(), sender_id=CustomerFactory().pk)
    url = reverse("engagement:public-gift-claim", args=[gift.code])
    client = Client(HTTP_HOST=brand.primary_host(), REMOTE_ADDR="203.0.113.21")

    codes = [client.get(url).status_code for _ in range(22)]

    assert codes[0] == 200 and codes[-1] == 429
    assert Client(HTTP_HOST=brand.primary_host(), REMOTE_ADDR="203.0.113.22").get(url).status_code == 200


def test_a_campaign_without_a_gift_or_a_forged_token_is_404(brand):
    customer = wechat_customer()
    campaign = campaign_for(segment_of([customer]))
    planning.plan_recipients(campaign, planning.segment_audience(campaign))
    row = CampaignRecipient.objects.get()
    client = Client(HTTP_HOST=brand.primary_host())

    assert client.get(reverse("engagement:public-gift-send", args=[services.recipient_token(row.pk)])).status_code == 404
    assert client.get(reverse("engagement:public-gift-send", args=[f"{row.pk}-0000000000000000"])).status_code == 404
    assert client.get(reverse("engagement:public-gift-claim", args=["no-such-code"])).status_code == 404


def test_another_brands_gift_links_and_offers_are_404(staff_client, other_brand):
    client, _ = staff_client("Marketer")
    with tenant_context(other_brand):
        offer = GiftOffer.objects.create(name="beta gift")
        gift = Gift.objects.create(offer=offer, sender=CustomerFactory(), sent_at=timezone.now(),
                                   expires_at=timezone.now() + timedelta(days=1))
    assert client.get(reverse("engagement:public-gift-claim", args=[gift.code])).status_code == 404
    assert client.post(reverse("engagement:public-gift-claim", args=[gift.code]), {"email": "x@example.com"}).status_code == 404
    for pk in (offer.pk, offer.pk + 100000):
        assert client.get(reverse("engagement:gift-offer-detail", args=[pk])).status_code == 404
        assert client.post(reverse("engagement:gift-offer-active", args=[pk])).status_code == 404
    with tenant_context(other_brand):
        assert GiftOffer.objects.get(pk=offer.pk).is_active and not GiftClaim.objects.exists()


def test_marketer_pages_create_list_and_show_an_offer(staff_client):
    client, _ = staff_client("Marketer")
    assert 'data-testid="empty-state"' in client.get(reverse("engagement:gift-offer-list")).content.decode()
    assert 'data-testid="gifts-link"' in client.get(reverse("engagement:campaign-list")).content.decode()

    bad = client.post(reverse("engagement:gift-offer-create"), {"name": "", "per_sender": 0, "claim_days": 14})
    assert bad.status_code == 200 and 'data-testid="error-name"' in bad.content.decode()
    created = client.post(reverse("engagement:gift-offer-create"),
                          {"name": HOSTILE, "quantity": 50, "per_sender": 2, "claim_days": 7})
    offer = GiftOffer.objects.get()
    assert created.status_code == 302 and (offer.quantity, offer.per_sender, offer.claim_days) == (50, 2, 7)

    sender, friend = CustomerFactory(), CustomerFactory()
    services.claim_gift(code=services.send_gift(offer=offer, sender_id=sender.pk).code, customer_id=friend.pk)
    services.send_gift(offer=offer, sender_id=sender.pk)
    listing = client.get(reverse("engagement:gift-offer-list")).content.decode()
    detail = client.get(reverse("engagement:gift-offer-detail", args=[offer.pk])).content.decode()
    unclaimed = client.get(reverse("engagement:gift-offer-detail", args=[offer.pk]), {"claimed": "no"},
                           HTTP_HX_REQUEST="true").content.decode()

    assert "&lt;script&gt;" in listing and "<script>alert" not in listing
    assert 'data-testid="gifts-sent">2<' in detail and 'data-testid="gifts-claimed">1<' in detail
    assert 'data-testid="claim-rate">50.0%<' in detail and "<script>alert" not in detail
    assert unclaimed.count('data-testid="gift-row"') == 1 and "<html" not in unclaimed
    client.post(reverse("engagement:gift-offer-active", args=[offer.pk]))
    assert not GiftOffer.objects.get().is_active


def test_agents_cannot_reach_gift_pages(staff_client):
    client, _ = staff_client("Agent")
    assert client.get(reverse("engagement:gift-offer-list")).status_code == 403


def test_the_report_counts_the_campaigns_gifts_sent_and_claimed(staff_client, brand):
    client, _ = staff_client("Marketer")
    offer = _offer()
    row = _recipient_with_offer(offer)
    friend = CustomerFactory()
    for _ in range(2):
        services.send_gift(offer=offer, sender_id=row.customer_id, campaign=row.campaign)
    services.send_gift(offer=offer, sender_id=friend.pk)  # not through this campaign
    services.claim_gift(code=Gift.objects.filter(campaign=row.campaign).first().code, customer_id=friend.pk)

    html = client.get(reverse("engagement:campaign-report", args=[row.campaign_id])).content.decode()

    assert 'data-testid="report-gifts-sent">2<' in html and 'data-testid="report-gifts-claimed">1<' in html
    assert 'data-testid="report-claim-rate">50.0%<' in html


def test_a_sent_message_carries_the_gift_link(brand):
    offer = _offer()
    customer = wechat_customer()
    campaign = campaign_for(segment_of([customer]), gift_offer=offer, text="Gift: {{ gift_link }}",
                            public_base_url="https://alpha.example")
    planning.plan_recipients(campaign, planning.segment_audience(campaign))

    services.send_batch(campaign.pk)

    row = CampaignRecipient.objects.get()
    expected = "https://alpha.example" + reverse("engagement:public-gift-send", args=[services.recipient_token(row.pk)])
    assert row.message["data"]["first"] == f"Gift: {expected}"


def test_the_builder_offers_a_gift_and_an_idea_board(staff_client, brand):
    client, _ = staff_client("Marketer")
    offer = _offer(name="Tea for a friend")
    board = services.create_idea_board(title="Next tea", description="", moderated=True, actor=None)
    form = {
        "name": "Friends", "kind": "broadcast", "channel": "wechat", "message_type": "template",
        "segments": [segment_of([wechat_customer()]).pk], "frequency_cap": 3, "frequency_days": 7, "quiet_start": 0,
        "quiet_end": 0, "timezone": "Asia/Shanghai", "send_rate": 100, "attribution_days": 7, "winner_metric": "clicked",
        "a_text": "{{ gift_link }} {{ ideas_link }}", "a_template_id": "TPL", "gift_offer": offer.pk, "idea_board": board.pk,
    }

    response = client.post(reverse("engagement:campaign-create"), form)

    campaign = Campaign.objects.get(name="Friends")
    assert response.status_code == 302 and (campaign.gift_offer_id, campaign.idea_board_id) == (offer.pk, board.pk)
    detail = client.get(reverse("engagement:campaign-detail", args=[campaign.pk])).content.decode()
    assert "Tea for a friend" in detail and "Next tea" in detail
