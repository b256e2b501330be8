"""Connect campaigns to the rest of the app at start-up: merges carry campaign rows, and
the ingestion fan-out tells campaigns about replies and purchases."""

from __future__ import annotations


def connect() -> None:
    from channels import hooks
    from customers.merging import register_customer_relation
    from engagement.campaigns import delivery, models, services, tasks  # noqa: F401 - tasks registers with Celery

    # The registry keys by model, so Referral is carried by its referee (the friend's own
    # row); the advocate side stays on the merged-away profile until the registry grows.
    for model, field in (
        (models.CampaignRecipient, "customer"), (models.Coupon, "customer"), (models.Vote, "customer"),
        (models.ReferralLink, "customer"), (models.Referral, "referee"),
        (models.Click, "customer"), (models.JourneyPosition, "customer"), (models.SendTimeProfile, "customer"),
        (models.Gift, "sender"), (models.GiftClaim, "customer"), (models.Idea, "customer"), (models.IdeaVote, "customer"),
    ):
        register_customer_relation(model, field)
    _register_for_privacy()
    hooks.subscribe(services.on_new_interactions)
    hooks.subscribe(delivery.record_receipts)


def _register_for_privacy() -> None:
    """Export and erasure (customers.privacy): sends keep their numbers but lose what was
    rendered for the person; clicks lose the browser; votes, personal referral links,
    journey places and best-hour profiles go; coupons and referrals stay (accounting and
    reward history) on the anonymized profile. Gifts stay (they count against the offer's
    stock) but lose the names and notes typed into them, for the sender and for the
    friend who claimed one; a person's ideas and idea votes go."""
    from django.db.models import Q

    from customers.privacy import register_customer_table
    from engagement.campaigns import models

    def delete(model):  # noqa: ANN001, ANN202
        return lambda ids: model.objects.filter(customer_id__in=ids).delete()[0]

    register_customer_table(
        "campaign_sends", models.CampaignRecipient,
        fields=("id", "campaign_id", "campaign__name", "step", "channel", "status", "skip_reason", "send_at", "queued_at",
                "sent_at", "delivered_at", "read_at", "clicked_at", "replied_at", "converted_at", "revenue", "message"),
        erase=lambda ids: models.CampaignRecipient.objects.filter(customer_id__in=ids).update(address="", message={}),
    )
    register_customer_table(
        "campaign_clicks", models.Click, fields=("id", "link__url", "clicked_at"),
        erase=lambda ids: models.Click.objects.filter(customer_id__in=ids).update(user_agent=""),
    )
    register_customer_table("coupons", models.Coupon, fields=("id", "pool__name", "code", "assigned_at", "redeemed_at"), erase=None)
    register_customer_table("poll_votes", models.Vote, fields=("id", "poll__question", "option__label", "source", "voted_at"),
                            erase=delete(models.Vote))
    register_customer_table("referral_links", models.ReferralLink, erase=delete(models.ReferralLink))
    register_customer_table(
        "referrals", models.Referral, rows=lambda ids: Q(referrer_id__in=ids) | Q(referee_id__in=ids),
        fields=("id", "program__name", "referrer_id", "referee_id", "status", "created_at", "rewarded_at"), erase=None,
    )
    register_customer_table("journey_positions", models.JourneyPosition, erase=delete(models.JourneyPosition))
    register_customer_table("send_times", models.SendTimeProfile, erase=delete(models.SendTimeProfile))
    register_customer_table(
        "gifts", models.Gift, rows=lambda ids: Q(sender_id__in=ids) | Q(claim__customer_id__in=ids),
        fields=("id", "offer__name", "sender_id", "friend_name", "message", "sent_at", "expires_at", "claim__claimed_at"),
        erase=lambda ids: models.Gift.objects.filter(Q(sender_id__in=ids) | Q(claim__customer_id__in=ids)).update(
            friend_name="", message=""
        ),
    )
    register_customer_table(
        "gift_claims", models.GiftClaim, fields=("id", "offer__name", "gift__sender_id", "coupon__code", "claimed_at"), erase=None
    )
    register_customer_table("ideas", models.Idea, fields=("id", "board__title", "title", "body", "moderation", "status", "created_at"),
                            erase=delete(models.Idea))
    register_customer_table("idea_votes", models.IdeaVote, fields=("id", "idea__board__title", "idea__title", "voted_at"),
                            erase=delete(models.IdeaVote))
