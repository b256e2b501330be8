"""The inbox's customer data in data-subject export and erasure (customers.privacy):
conversations, their messages and listening mentions. Erasure blanks what the person
wrote and the handles that name them; counts and times stay for the reports."""

from __future__ import annotations

from django.db.models import Q

from customers.privacy import Ids, register_customer_table
from engagement.inbox.models import Conversation, Mention, Message


def _erase_conversations(ids: Ids) -> int:
    Message.objects.filter(conversation__customer_id__in=ids).update(text="", attachments=[], mentions=[])
    return Conversation.objects.filter(customer_id__in=ids).update(last_message_preview="", recipient="", labels=[])


def _erase_mentions(ids: Ids) -> int:
    return Mention.objects.filter(customer_id__in=ids).update(text="", author="")


def register() -> None:
    register_customer_table(
        "conversations", Conversation,
        fields=("id", "customer_id", "channel", "status", "labels", "opened_at", "resolved_at", "last_message_at"),
        erase=_erase_conversations,
    )
    register_customer_table(
        "conversation_messages", Message, rows=lambda ids: Q(conversation__customer_id__in=ids),
        fields=("id", "conversation_id", "direction", "text", "attachments", "author__username", "created_at"),
        erase=None,  # erased with the conversations above
    )
    register_customer_table(
        "mentions", Mention, fields=("id", "customer_id", "channel", "author", "text", "occurred_at"),
        erase=_erase_mentions,
    )
