"""The inbox's customer data in data-subject export and erasure (customers.privacy):
conversations, their messages and listening mentions. Erasure blanks what the person
wrote and the handles that name them, and deletes the images agents sent them; counts and
times stay for the reports."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from customers.privacy import Ids, register_customer_table
from engagement.inbox.models import Conversation, InboxMedia, Mention, Message


def _erase_conversations(ids: Ids) -> int:
    messages = Message.objects.filter(conversation__customer_id__in=ids)
    _delete_sent_images(messages)
    messages.update(text="", attachments=[], mentions=[])
    return Conversation.objects.filter(customer_id__in=ids).update(last_message_preview="", recipient="", labels=[])


def _delete_sent_images(messages: QuerySet[Message]) -> int:
    """The files and rows of the images agents attached to `messages` (an image's only link
    to its conversation is its token in the message's attachments, so this runs first)."""
    tokens = [
        attachment["media"]
        for attachments in messages.exclude(attachments=[]).values_list("attachments", flat=True).iterator()
        for attachment in attachments if isinstance(attachment, dict) and attachment.get("media")
    ]
    media = InboxMedia.objects.filter(token__in=tokens)
    storage = InboxMedia._meta.get_field("file").storage
    for name in media.exclude(file="").values_list("file", flat=True):  # one call per file: the person's images
        storage.delete(name)
    deleted, _per_model = media.delete()
    return deleted


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
