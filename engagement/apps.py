from django.apps import AppConfig


class EngagementConfig(AppConfig):
    name = "engagement"

    def ready(self) -> None:
        from channels import hooks
        from customers.merging import register_customer_relation
        from engagement.inbox import (
            mentions,
            privacy,
            sentiment,
            tasks,  # noqa: F401 - registers the inbox's Celery tasks
        )
        from engagement.inbox import services as inbox
        from engagement.inbox.models import Conversation, Mention

        # Merges carry conversations and mentions to the surviving profile; a conversation
        # whose twin (same connector) the survivor already has stays where it is.
        register_customer_relation(Conversation)
        register_customer_relation(Mention)
        privacy.register()
        hooks.subscribe(inbox.record_inbound_messages)
        hooks.subscribe(mentions.record_mentions)
        hooks.subscribe_sentiments(sentiment.record_scored_sentiment)

        from engagement.campaigns import wiring as campaign_wiring

        campaign_wiring.connect()
