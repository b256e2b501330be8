"""Sentiment that arrives after the message: the pipeline scores text after the batch
that wrote it (channels.enrichment), and this copies the scores onto mentions and blends
them into their conversations' mood, set-wise. Routing rules on negative sentiment only
see scores known when the message arrived."""

from __future__ import annotations

from collections.abc import Sequence

from django.db import connection

from engagement.inbox.models import Conversation, Mention, Message

_MENTIONS_SQL = """
UPDATE {mention} m SET sentiment = s.sentiment
  FROM unnest(%s::bigint[], %s::float8[]) AS s(interaction_id, sentiment)
 WHERE m.interaction_id = s.interaction_id
"""

_CONVERSATIONS_SQL = """
UPDATE {conversation} c
   SET sentiment = CASE WHEN c.sentiment IS NULL THEN round(x.mood::numeric, 4)
                        ELSE round((c.sentiment * 0.5 + x.mood * 0.5)::numeric, 4) END
  FROM (SELECT msg.conversation_id, avg(s.sentiment) AS mood
          FROM {message} msg
          JOIN unnest(%s::bigint[], %s::float8[]) AS s(interaction_id, sentiment) ON s.interaction_id = msg.interaction_id
         GROUP BY msg.conversation_id
         ORDER BY msg.conversation_id) x
 WHERE c.id = x.conversation_id
"""


def record_scored_sentiment(scores: Sequence[tuple[int, float]]) -> None:
    """(interaction id, sentiment) pairs → mentions and conversations, two statements."""
    ids, values = [pk for pk, _s in scores], [float(s) for _pk, s in scores]
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(_MENTIONS_SQL.format(mention=quote(Mention._meta.db_table)), [ids, values])
        cursor.execute(
            _CONVERSATIONS_SQL.format(conversation=quote(Conversation._meta.db_table), message=quote(Message._meta.db_table)),
            [ids, values],
        )
