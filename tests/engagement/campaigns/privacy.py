"""Campaign rows for the data-subject request tests (tests/customers/test_privacy.py):
something in every campaign table registered with customers.privacy, with the person's
name and email where a real send would put them."""

from django.utils import timezone

from engagement.campaigns.models import (
    Campaign,
    CampaignRecipient,
    Click,
    Coupon,
    CouponPool,
    Gift,
    GiftClaim,
    GiftOffer,
    Idea,
    IdeaBoard,
    IdeaVote,
    JourneyPosition,
    Poll,
    PollOption,
    Referral,
    ReferralLink,
    ReferralProgram,
    SendTimeProfile,
    TrackedLink,
    Vote,
)


def add_campaign_rows(person, *, name: str, email: str, friend) -> None:  # noqa: ANN001
    now = timezone.now()
    campaign = Campaign.objects.create(name="Spring", kind=Campaign.Kind.JOURNEY)
    send = CampaignRecipient.objects.create(
        campaign=campaign, customer=person, channel="email", address=email, status="queued", send_at=now, queued_at=now,
        message={"type": "email", "subject": f"For {name}", "html": f"<p>Hi {name}</p>"},
    )
    link = TrackedLink.objects.create(campaign=campaign, url="https://shop.example/")
    Click.objects.create(link=link, recipient=send, customer=person, clicked_at=now, user_agent=f"Mozilla ({name})")
    Coupon.objects.create(pool=CouponPool.objects.create(name="Spring"), code="SPRING-1", customer=person, assigned_at=now)
    poll = Poll.objects.create(question="Tea?")
    Vote.objects.create(poll=poll, option=PollOption.objects.create(poll=poll, label="Green", keyword="1"), customer=person,
                        source="page", voted_at=now)
    program = ReferralProgram.objects.create(name="Friends")
    referral_link = ReferralLink.objects.create(program=program, customer=person)
    Referral.objects.create(program=program, link=referral_link, referrer=person, referee=friend, created_at=now)
    JourneyPosition.objects.create(campaign=campaign, customer=person, position=0, due_at=now, entered_at=now)
    SendTimeProfile.objects.create(customer=person, best_hour=9, samples=3, computed_at=now)
    # gifts: one the person sent (the friend claimed it), one the friend sent them (claimed)
    offer = GiftOffer.objects.create(name="Tea for two", quantity=10, per_sender=2)
    sent = Gift.objects.create(offer=offer, sender=person, friend_name="Friend Q", message=f"From {name}, enjoy",
                               sent_at=now, expires_at=now)
    GiftClaim.objects.create(gift=sent, offer=offer, customer=friend, claimed_at=now)
    received = Gift.objects.create(offer=offer, sender=friend, friend_name=name, message=f"For {name} ({email})",
                                   sent_at=now, expires_at=now)
    GiftClaim.objects.create(gift=received, offer=offer, customer=person, claimed_at=now)
    # ideas: the person's own idea, and their vote on the friend's
    board = IdeaBoard.objects.create(title="Next tea")
    Idea.objects.create(board=board, customer=person, title=f"{name} wants jasmine", body=f"write to {email}", created_at=now)
    friends_idea = Idea.objects.create(board=board, customer=friend, title="Oolong", created_at=now)
    IdeaVote.objects.create(idea=friends_idea, customer=person, voted_at=now)
