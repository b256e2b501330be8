"""Listening writes: monitors, mentions filed from public comments and mentions (the
channels hook, set-wise per batch), and a mention turned into an inbox conversation."""

from __future__ import annotations

from collections.abc import Sequence

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from channels.hooks import NewInteraction
from customers.models import InteractionKind
from customers.resolution import VIA_IDENTITY
from engagement.inbox import listening
from engagement.inbox.models import Conversation, Mention, Message, Monitor
from engagement.inbox.services import without_nul

PUBLIC_KINDS = frozenset({InteractionKind.COMMENT, InteractionKind.MENTION})


def create_monitor(*, name: str, query: str, channels: list[str], languages: list[str], actor: User | None) -> Monitor:
    listening.parse(query)  # raises QueryError with a readable message
    return Monitor.objects.create(name=name, query=query, channels=channels, languages=languages)


def record_mentions(interactions: Sequence[NewInteraction]) -> int:
    """Hook subscriber: public comments and mentions matching a monitor become Mentions."""
    public = [item for item in interactions if item.kind in PUBLIC_KINDS and item.text]
    if not public:
        return 0
    monitors = [(monitor, listening.parse(monitor.query)) for monitor in Monitor.objects.filter(enabled=True)]
    if not monitors:
        return 0
    rows = []
    for item in public:
        folded = listening.fold(item.text)
        for monitor, query in monitors:
            if monitor.channels and item.channel not in monitor.channels:
                continue
            if monitor.languages and not any(item.language.startswith(lang) for lang in monitor.languages):
                continue
            if listening.matches(query, folded, folded=True):
                rows.append(Mention(
                    monitor=monitor, interaction_id=item.id, customer_id=item.customer_id,
                    connector_id=item.connector_id, channel=item.channel, author=_author(item), reach=_reach(item),
                    text=without_nul(item.text), sentiment=item.sentiment, language=item.language, occurred_at=item.occurred_at,
                ))
    Mention.objects.bulk_create(rows, ignore_conflicts=True)
    return len(rows)


def _author(item: NewInteraction) -> str:
    metadata = item.metadata
    via = metadata.get(VIA_IDENTITY) if isinstance(metadata.get(VIA_IDENTITY), dict) else {}
    return without_nul(str(metadata.get("screen_name") or metadata.get("author") or via.get("value", "")))[:200]


def _reach(item: NewInteraction) -> int:
    for key in ("followers_count", "followers", "reach"):
        try:
            return max(int(item.metadata.get(key) or 0), 0)
        except (TypeError, ValueError):
            continue
    return 0


def open_conversation_from_mention(*, mention: Mention, actor: User) -> Conversation:
    """One click: the mention's author gets (or reopens) an inbox conversation holding it."""
    if mention.customer_id is None or mention.connector_id is None:
        raise ValueError("this mention has no known author or channel to answer on")
    with transaction.atomic():
        conversation, _created = Conversation.objects.select_for_update().get_or_create(
            customer_id=mention.customer_id, connector_id=mention.connector_id,
            defaults={"channel": mention.channel, "status": Conversation.Status.OPEN, "opened_at": timezone.now()},
        )
        Message.objects.get_or_create(
            interaction_id=mention.interaction_id,
            defaults={"conversation": conversation, "direction": Message.Direction.IN, "text": mention.text,
                      "attachments": [{"type": "mention", "url": "", "title": mention.monitor.name}],
                      "created_at": mention.occurred_at},
        )
        conversation.status = Conversation.Status.OPEN
        conversation.last_message_at = max(filter(None, [conversation.last_message_at, mention.occurred_at]))
        conversation.last_message_preview = " ".join(mention.text.split())[:200]
        conversation.version += 1
        conversation.save()
    return conversation
