"""Language and sentiment of inbound text, for Chinese and English.

Language is told by script (Han → zh, Latin letters → en), which is what these two
lexicons can score; anything else is left unscored. Sentiment is on one scale for both,
-1 (negative) … +1 (positive): SnowNLP's naive-Bayes probability (shipped with the
package) rescaled for Chinese, VADER's compound score (its lexicon ships too) for English.

Language is cheap (a few regex scans) and is set inline, before interactions are written.
Sentiment is not: SnowNLP segments Chinese in pure Python, ~7 ms a message, which made it
most of the pipeline's cost. So interactions land on profiles without it, and
`score_sentiments` fills `Interaction.sentiment` afterwards, set-wise, from a task on the
analytics queue (`schedule_sentiment` after the batch commits; `requeue_unscored` from the
sweeper when that enqueue was lost). Readers of sentiment (segments, scores, listening)
already treat NULL as "not scored".
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from django.db import connection, transaction

from channels import coordination, hooks, selectors

logger = logging.getLogger(__name__)

HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
KANA = re.compile(r"[\u3040-\u30ff]")
HANGUL = re.compile(r"[\uac00-\ud7af]")
LATIN = re.compile(r"[A-Za-z]")
# Scoring is per message; past this the tail adds little and costs a lot.
MAX_SCORED_CHARS = 1000
SCORED_LANGUAGES = ("zh", "en")
# Interactions per sentiment task (one SELECT and one UPDATE each). Small enough that an
# ingest batch queued behind one on a shared worker waits under a second (~7 ms a Chinese
# text), large enough that the statements stay few.
SENTIMENT_CHUNK = 100
# How far back (in interaction ids) the sweeper looks for text left unscored.
SWEEP_WINDOW_IDS = 50_000


def detect_language(text: str) -> str:
    sample = text[:MAX_SCORED_CHARS]
    if KANA.search(sample):
        return "ja"
    if HANGUL.search(sample):
        return "ko"
    han, latin = len(HAN.findall(sample)), len(LATIN.findall(sample))
    if han and han * 2 >= latin // 4:
        return "zh"
    if latin >= 3:
        return "en"
    return ""


@lru_cache(maxsize=1)
def _vader() -> Any:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    return SentimentIntensityAnalyzer()


def warm() -> None:
    """Load both models now (SnowNLP takes seconds to import): called when a worker
    process starts, so the first batch does not pay for it."""
    sentiment("好", "zh")
    sentiment("good", "en")


def sentiment(text: str, language: str) -> float | None:
    sample = text[:MAX_SCORED_CHARS].strip()
    if not sample:
        return None
    if language == "zh":
        from snownlp import SnowNLP

        return round(SnowNLP(sample).sentiments * 2 - 1, 4)
    if language == "en":
        return round(_vader().polarity_scores(sample)["compound"], 4)
    return None


def enrich(events: Sequence[Any]) -> None:
    """Set `language` on each event that carries text (sentiment comes later)."""
    for event in events:
        if event.text:
            event.language = detect_language(event.text)


def needs_sentiment(*, text: str, language: str, sentiment: float | None) -> bool:
    return bool(text) and language in SCORED_LANGUAGES and sentiment is None


_UNSCORED_SQL = """
SELECT id, left(text, %s), language FROM {table}
 WHERE id = ANY(%s) AND sentiment IS NULL AND language = ANY(%s) AND text <> ''
"""

_SCORE_SQL = """
UPDATE {table} i SET sentiment = s.sentiment
  FROM unnest(%s::bigint[], %s::float8[]) AS s(id, sentiment)
 WHERE i.id = s.id AND i.sentiment IS NULL
RETURNING i.id, i.sentiment
"""


def score_sentiments(interaction_ids: Sequence[int]) -> int:
    """Score the named interactions that have scorable text and no sentiment yet: one
    SELECT, one UPDATE … FROM unnest. Idempotent (scored rows are skipped), so a task run
    twice or a sweep overlapping a queued task costs time, not correctness. Subscribers
    (hooks.subscribe_sentiments) hear the new scores in the same transaction. Returns the
    number of interactions scored."""
    from customers.models import Interaction

    if not interaction_ids:
        return 0
    table = connection.ops.quote_name(Interaction._meta.db_table)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(_UNSCORED_SQL.format(table=table),
                       [MAX_SCORED_CHARS, list(interaction_ids), list(SCORED_LANGUAGES)])
        scored = [(pk, sentiment(text, language)) for pk, text, language in cursor.fetchall()]
        scored = [(pk, value) for pk, value in scored if value is not None]
        if not scored:
            return 0
        cursor.execute(_SCORE_SQL.format(table=table), [[pk for pk, _v in scored], [v for _pk, v in scored]])
        written = cursor.fetchall()
        hooks.publish_sentiments(written)
        return len(written)


def schedule_sentiment(interaction_ids: Sequence[int]) -> None:
    """Enqueue scoring tasks for these interactions (call after they commit). Never raises:
    with the broker down the sweeper finds them later (`requeue_unscored`)."""
    from channels.tasks import score_sentiment_task

    ids = list(interaction_ids)
    for start in range(0, len(ids), SENTIMENT_CHUNK):
        try:
            score_sentiment_task.apply_async(args=[ids[start : start + SENTIMENT_CHUNK]], retry=False)
        except Exception as error:  # kombu/redis connection errors of every flavour
            logger.warning("could not enqueue sentiment scoring; the sweeper will", extra={"error": str(error)})
            return


def requeue_unscored() -> int:
    """The sweeper's half for sentiment: interactions among the latest SWEEP_WINDOW_IDS
    with scorable text and no sentiment are enqueued again. Skipped while the analytics
    queue still holds work (those tasks will score them; re-enqueueing would pile up
    duplicates behind a backlog). Returns how many were enqueued."""
    if coordination.analytics_queue_busy():
        return 0
    ids = selectors.unscored_interaction_ids(window=SWEEP_WINDOW_IDS, languages=SCORED_LANGUAGES)
    schedule_sentiment(ids)
    return len(ids)
