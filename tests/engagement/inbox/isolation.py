"""Objects the tenant-isolation sweep (tests/scrm/test_isolation.py) makes in the other
brand for the inbox's URL parameters."""

from __future__ import annotations

from collections.abc import Callable

from django.utils import timezone


def inbox_id_sources(marker: str) -> dict[str, Callable[[], object]]:
    from channels.models import Connector
    from customers.models import Customer, Interaction
    from engagement.inbox.models import CannedReply, Conversation, Mention, Monitor, Team

    def conversation() -> int:
        customer = Customer.objects.create(display_name=f"{marker} inbox")
        connector = Connector.objects.create(kind="wechat_oa", name=f"{marker} inbox")
        return Conversation.objects.create(customer=customer, connector=connector, channel="wechat",
                                           last_message_preview=marker).pk

    def mention() -> int:
        customer = Customer.objects.create(display_name=f"{marker} mention")
        interaction = Interaction.objects.create(customer=customer, channel="x", kind="mention", occurred_at=timezone.now(),
                                                 text=marker, external_id=f"{marker}-mention")
        monitor = Monitor.objects.create(name=marker, query="secret")
        return Mention.objects.create(monitor=monitor, interaction=interaction, customer=customer, channel="x",
                                      text=marker, occurred_at=timezone.now()).pk

    def alert() -> int:
        from engagement.inbox.models import ListeningAlert

        monitor = Monitor.objects.create(name=marker, query="alert")
        now = timezone.now()
        return ListeningAlert.objects.create(monitor=monitor, kind="volume", hour=now, window_end=now, volume=99,
                                             observed=99, baseline_mean=1, baseline_std=1, z_score=98).pk

    def survey_token() -> str:
        from engagement.inbox import csat
        from engagement.inbox.models import SatisfactionSurvey

        now = timezone.now()
        survey = SatisfactionSurvey.objects.create(conversation_id=conversation(), channel="wechat", requested_at=now,
                                                   expires_at=now + csat.SURVEY_LIFETIME)
        return csat.survey_token(survey)

    return {
        "conversation_id": conversation,
        "alert_id": alert,
        "token": survey_token,
        "canned_id": lambda: CannedReply.objects.create(title=marker, body=marker).pk,
        "mention_id": mention,
        "setting_id": lambda: Team.objects.create(name=marker).pk,
        # Not ids: an action and a settings kind that exist, so only the id decides.
        "action": lambda: "resolve",
        "kind": lambda: "team",
    }
