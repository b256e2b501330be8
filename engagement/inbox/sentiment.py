"""Sentiment that arrives after the message: the pipeline scores text after the batch
that wrote it (channels.enrichment), and this copies the scores onto mentions and blends
them into their conversations' mood, set-wise. A conversation still waiting for its first
answer whose mood turns negative is then escalated by the routing rules that ask for
negative sentiment (priority, labels, and the team while nobody holds it), exactly as if
the score had been known when the message arrived."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from django.db import connection
from django.utils import timezone

from customers.models import CustomerTag
from engagement.inbox import routing
from engagement.inbox.models import Conversation, Mention, Message, RoutingRule

_MENTIONS_SQL = """
UPDATE {mention} m SET sentiment = s.sentiment
  FROM unnest(%s::bigint[], %s::float8[]) AS s(interaction_id, sentiment)
 WHERE m.interaction_id = s.interaction_id
"""

_CONVERSATIONS_SQL = """
UPDATE {conversation} c
   SET sentiment = CASE WHEN c.sentiment IS NULL THEN round(x.mood::numeric, 4)
                        ELSE round((c.sentiment * 0.5 + x.mood * 0.5)::numeric, 4) END,
       updated_at = GREATEST(c.updated_at, %s)  -- the inbox list's ETag follows updated_at
  FROM (SELECT msg.conversation_id, avg(s.sentiment) AS mood
          FROM {message} msg
          JOIN unnest(%s::bigint[], %s::float8[]) AS s(interaction_id, sentiment) ON s.interaction_id = msg.interaction_id
         GROUP BY msg.conversation_id
         ORDER BY msg.conversation_id) x
 WHERE c.id = x.conversation_id
RETURNING c.id, c.sentiment
"""


def record_scored_sentiment(scores: Sequence[tuple[int, float]]) -> None:
    """(interaction id, sentiment) pairs → mentions and conversations, two statements."""
    ids, values = [pk for pk, _s in scores], [float(s) for _pk, s in scores]
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(_MENTIONS_SQL.format(mention=quote(Mention._meta.db_table)), [ids, values])
        cursor.execute(
            _CONVERSATIONS_SQL.format(conversation=quote(Conversation._meta.db_table), message=quote(Message._meta.db_table)),
            [timezone.now(), ids, values],
        )
        soured = [pk for pk, mood in cursor.fetchall() if mood is not None and mood <= routing.NEGATIVE_SENTIMENT]
    if soured:
        escalate(soured)


def escalate(conversation_ids: Sequence[int]) -> int:
    """Apply the negative-sentiment routing rules to these conversations if they are open
    and unanswered; returns how many changed. Only rules asking for negative sentiment
    are applied (the others already ran when the conversation opened)."""
    rules = [
        routing.Rule(
            id=rule.pk, channels=tuple(rule.channels), languages=tuple(rule.languages), keywords=tuple(rule.keywords),
            customer_tags=tuple(rule.customer_tags), negative_sentiment=True,
            set_priority=rule.set_priority, set_team_id=rule.set_team_id, add_labels=tuple(rule.add_labels),
        )
        for rule in RoutingRule.objects.filter(enabled=True, negative_sentiment=True)
    ]
    if not rules:
        return 0
    waiting = list(
        Conversation.objects.select_for_update()
        .filter(pk__in=conversation_ids, first_response_at__isnull=True,
                status__in=[Conversation.Status.OPEN, Conversation.Status.PENDING])
        .order_by("id")
    )
    tags: dict[int, set[str]] = defaultdict(set)
    for customer_id, name in CustomerTag.objects.filter(
        customer_id__in={c.customer_id for c in waiting}
    ).values_list("customer_id", "tag__name"):
        tags[customer_id].add(name)
    texts: dict[int, list[str]] = defaultdict(list)
    for conversation_id, text in (
        Message.objects.filter(conversation_id__in=[c.pk for c in waiting], direction=Message.Direction.IN)
        .order_by("conversation_id", "-created_at").values_list("conversation_id", "text")
    ):
        if len(texts[conversation_id]) < 5:
            texts[conversation_id].append(text)
    changed = 0
    for conversation in waiting:
        outcome = routing.route(
            rules,
            routing.Facts(channel=conversation.channel, language=conversation.language,
                          text="\n".join(texts[conversation.pk]), customer_tags=frozenset(tags[conversation.customer_id]),
                          sentiment=conversation.sentiment),
            default_priority=conversation.priority, default_team_id=conversation.team_id,
        )
        if not outcome.rule_ids:
            continue
        labels = list(dict.fromkeys([*conversation.labels, *outcome.labels]))
        team_id = outcome.team_id if conversation.assignee_id is None else conversation.team_id
        if (outcome.priority, team_id, labels) != (conversation.priority, conversation.team_id, conversation.labels):
            Conversation.objects.filter(pk=conversation.pk).update(
                priority=outcome.priority, team_id=team_id, labels=labels, updated_at=timezone.now(),
            )
            changed += 1
    return changed
