"""Language and sentiment of inbound text, for Chinese and English.

Language is told by script (Han → zh, Latin letters → en), which is what these two
lexicons can score; anything else is left unscored. Sentiment is on one scale for both,
-1 (negative) … +1 (positive): SnowNLP's naive-Bayes probability (shipped with the
package) rescaled for Chinese, VADER's compound score (its lexicon ships too) for English.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
KANA = re.compile(r"[\u3040-\u30ff]")
HANGUL = re.compile(r"[\uac00-\ud7af]")
LATIN = re.compile(r"[A-Za-z]")
# Scoring is per message; past this the tail adds little and costs a lot.
MAX_SCORED_CHARS = 1000


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


def enrich(events: list[Any]) -> None:
    """Set `language` and `sentiment` on each event that carries text."""
    for event in events:
        if event.text:
            event.language = detect_language(event.text)
            event.sentiment = sentiment(event.text, event.language)
