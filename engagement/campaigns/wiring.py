"""Connect campaigns to the rest of the app at start-up: merges carry campaign rows, and
the ingestion fan-out tells campaigns about replies and purchases."""

from __future__ import annotations


def connect() -> None:
    from channels import hooks
    from customers.merging import register_customer_relation
    from engagement.campaigns import models, services, tasks  # noqa: F401 - tasks registers with Celery

    # The registry keys by model, so Referral is carried by its referee (the friend's own
    # row); the advocate side stays on the merged-away profile until the registry grows.
    for model, field in (
        (models.CampaignRecipient, "customer"), (models.Coupon, "customer"), (models.Vote, "customer"),
        (models.ReferralLink, "customer"), (models.Referral, "referee"),
        (models.Click, "customer"), (models.JourneyPosition, "customer"), (models.SendTimeProfile, "customer"),
    ):
        register_customer_relation(model, field)
    hooks.subscribe(services.on_new_interactions)
