"""Fan-out: who hears about new interactions (the inbox, listening, campaigns).

Subscribers are called inside the pipeline's transaction with the batch of interactions
that were new in it (redeliveries are not repeated), so what they write commits or rolls
back with the batch: a crash never leaves an interaction without its conversation message.
A subscriber that raises fails the batch, which is retried.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class NewInteraction:
    id: int
    customer_id: int
    channel: str
    kind: str
    occurred_at: datetime
    text: str
    external_id: str
    connector_id: int
    language: str = ""
    sentiment: float | None = None
    metadata: dict[str, Any] = field(default_factory=dict)


Subscriber = Callable[[Sequence[NewInteraction]], None]
_subscribers: list[Subscriber] = []


def subscribe(callback: Subscriber) -> Subscriber:
    """Register `callback` (usable as a decorator); registering twice is harmless."""
    if callback not in _subscribers:
        _subscribers.append(callback)
    return callback


def unsubscribe(callback: Subscriber) -> None:
    if callback in _subscribers:
        _subscribers.remove(callback)


def publish(interactions: Sequence[NewInteraction]) -> None:
    if not interactions:
        return
    for callback in list(_subscribers):
        callback(interactions)


# Sentiment is scored after the batch (channels.enrichment): subscribers that keep a copy
# (conversations, mentions) hear the scores here, as (interaction id, sentiment) pairs,
# inside the transaction that writes them to the interactions.
SentimentSubscriber = Callable[[Sequence[tuple[int, float]]], None]
_sentiment_subscribers: list[SentimentSubscriber] = []


def subscribe_sentiments(callback: SentimentSubscriber) -> SentimentSubscriber:
    if callback not in _sentiment_subscribers:
        _sentiment_subscribers.append(callback)
    return callback


def publish_sentiments(scores: Sequence[tuple[int, float]]) -> None:
    if not scores:
        return
    for callback in list(_sentiment_subscribers):
        callback(scores)
