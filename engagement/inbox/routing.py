"""Routing rules and agent choice, as pure functions over plain values.

`route` decides priority, team and labels for a new or reopened conversation;
`plan_assignments` walks a team's queue (priority first, then arrival) and hands each
conversation to an available agent with a free slot, round robin or least busy. The
services load the facts with a few queries and write the outcome set-wise.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

# Sentiment below this counts as negative (enrichment scores in −1 … 1).
NEGATIVE_SENTIMENT = -0.3


@dataclass(frozen=True)
class Facts:
    channel: str
    language: str = ""
    text: str = ""
    customer_tags: frozenset[str] = frozenset()
    sentiment: float | None = None


@dataclass(frozen=True)
class Rule:
    id: int
    channels: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    customer_tags: tuple[str, ...] = ()
    negative_sentiment: bool = False
    set_priority: int | None = None
    set_team_id: int | None = None
    add_labels: tuple[str, ...] = ()


@dataclass(frozen=True)
class Outcome:
    priority: int
    team_id: int | None
    labels: tuple[str, ...] = ()
    rule_ids: tuple[int, ...] = ()


def fold(text: str) -> str:
    """Case- and width-folded text for keyword matching (全角 → half width, ß → ss)."""
    return unicodedata.normalize("NFKC", text).casefold()


def matches(rule: Rule, facts: Facts) -> bool:
    if rule.channels and facts.channel not in rule.channels:
        return False
    if rule.languages and not any(facts.language.lower().startswith(lang.lower()) for lang in rule.languages if lang):
        return False
    if rule.keywords:
        text = fold(facts.text)
        if not any(fold(word) in text for word in rule.keywords if word.strip()):
            return False
    if rule.customer_tags and not facts.customer_tags.intersection(rule.customer_tags):
        return False
    if rule.negative_sentiment and (facts.sentiment is None or facts.sentiment > NEGATIVE_SENTIMENT):
        return False
    return True


def route(rules: Sequence[Rule], facts: Facts, *, default_priority: int, default_team_id: int | None) -> Outcome:
    priority, team_id, labels, matched = default_priority, None, [], []
    for rule in rules:
        if not matches(rule, facts):
            continue
        matched.append(rule.id)
        if rule.set_priority is not None:
            priority = max(priority, rule.set_priority)
        if team_id is None and rule.set_team_id is not None:
            team_id = rule.set_team_id
        labels += [label for label in rule.add_labels if label not in labels]
    return Outcome(
        priority=priority, team_id=team_id if team_id is not None else default_team_id,
        labels=tuple(labels), rule_ids=tuple(matched),
    )


# --- assignment --------------------------------------------------------------------------


@dataclass
class Agent:
    user_id: int
    capacity: int
    load: int  # open conversations held now
    last_assigned_at: datetime | None = None

    @property
    def free(self) -> int:
        return max(self.capacity - self.load, 0)


@dataclass(frozen=True)
class Waiting:
    conversation_id: int
    priority: int
    queued_at: datetime
    # The agent who just missed its SLA is not handed it again.
    exclude_user_id: int | None = None


@dataclass
class Plan:
    assignments: list[tuple[int, int]] = field(default_factory=list)  # (conversation id, user id)
    still_waiting: list[int] = field(default_factory=list)


def queue_order(waiting: Iterable[Waiting]) -> list[Waiting]:
    """Priority first, then arrival, then id (stable for equal times)."""
    return sorted(waiting, key=lambda item: (-item.priority, item.queued_at, item.conversation_id))


def plan_assignments(waiting: Iterable[Waiting], agents: Sequence[Agent], *, strategy: str, now: datetime) -> Plan:
    """Assign the head of the queue to the next agent the strategy picks, while any slot is free.

    Round robin: the available agent assigned longest ago (never-assigned first).
    Least busy: the fewest open conversations, ties broken as round robin.
    """
    plan = Plan()
    pool = [agent for agent in agents if agent.free > 0]
    for item in queue_order(waiting):
        pool = [agent for agent in pool if agent.free > 0]
        candidates = [agent for agent in pool if agent.user_id != item.exclude_user_id]
        if not candidates:
            plan.still_waiting.append(item.conversation_id)
            continue
        agent = min(candidates, key=_strategy_key(strategy))
        agent.load += 1
        agent.last_assigned_at = now
        plan.assignments.append((item.conversation_id, agent.user_id))
        # `now` is the same for the whole plan: keep round-robin order within it.
        now += timedelta(microseconds=1)
    return plan


def _strategy_key(strategy: str):  # noqa: ANN202
    def never_first(agent: Agent) -> tuple[int, datetime | int, int]:
        return (0, 0, agent.user_id) if agent.last_assigned_at is None else (1, agent.last_assigned_at, agent.user_id)

    if strategy == "least_busy":
        return lambda agent: (agent.load, *never_first(agent))
    return never_first

