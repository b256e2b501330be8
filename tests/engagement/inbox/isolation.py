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

    return {
        "conversation_id": conversation,
        "canned_id": lambda: CannedReply.objects.create(title=marker, body=marker).pk,
        "mention_id": mention,
        "setting_id": lambda: Team.objects.create(name=marker).pk,
        # Not ids: an action and a settings kind that exist, so only the id decides.
        "action": lambda: "resolve",
        "kind": lambda: "team",
    }
