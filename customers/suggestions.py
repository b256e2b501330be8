"""Merge suggestions: profiles that may be one person, for a person to accept or dismiss.

Comparing every pair of a million profiles is impossible, so candidates come from
blocking in SQL: two live profiles are compared only when they share a block, namely the
same city and initial (of the name's alphabetically first word, so word order does not
matter), the same phone number but for its last four digits, or one device (a device
identity of one, seen in the other's interactions as metadata["device_id"]). Blocks
bigger than MAX_BLOCK say nothing about anyone (a whole city of 王) and are skipped. The
candidate pairs stream out of a server-side cursor in chunks and rapidfuzz scores their
names; pairs whose names are similar enough become open MergeSuggestions. Nothing here
merges: accepting is a person's decision.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from django.contrib.auth.models import User
from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from rapidfuzz import fuzz, utils

from customers.merging import merge
from customers.models import Customer, Identity, Interaction, Merge, MergeRule, MergeSuggestion

logger = logging.getLogger(__name__)

__all__ = [
    "accept_suggestion",
    "candidate_pairs",
    "dismiss_suggestion",
    "open_suggestions",
    "open_suggestions_for",
    "score_pairs",
    "suggest_merges",
]

MAX_BLOCK = 200
NAME_THRESHOLD = 85.0  # rapidfuzz 0..100
CHUNK_SIZE = 5_000
# A phone block: the number without its last four digits (same carrier segment and area).
PHONE_SUFFIX_DIGITS = 4


@dataclass(frozen=True)
class CandidatePair:
    a: int
    b: int
    name_a: str
    name_b: str
    reasons: tuple[str, ...]


_CANDIDATES_SQL = r"""
WITH live AS (
    SELECT id, display_name, city FROM {customer}
     WHERE merged_into_id IS NULL AND erased_at IS NULL AND display_name <> ''
), keys AS (
    -- the first letter of the alphabetically first word: "Wei Zhang" ~ "zhang wei"
    SELECT id AS customer_id, 'city' AS reason,
           lower(city) || ':' || left((
               SELECT min(word) FROM regexp_split_to_table(lower(display_name), '\s+') AS word
                WHERE word <> ''), 1) AS block
      FROM live WHERE city <> ''
    UNION ALL
    SELECT i.customer_id, 'phone_prefix',
           left(i.value, greatest(length(i.value) - %(suffix)s, 1))
      FROM {identity} i JOIN live ON live.id = i.customer_id
     WHERE i.kind = 'phone'
    UNION ALL
    SELECT i.customer_id, 'device', i.value
      FROM {identity} i JOIN live ON live.id = i.customer_id
     WHERE i.kind = 'device_id'
    UNION ALL
    SELECT e.customer_id, 'device', e.metadata ->> 'device_id'
      FROM {interaction} e JOIN live ON live.id = e.customer_id
     WHERE e.metadata ? 'device_id'
), blocks AS (
    SELECT reason, block, array_agg(DISTINCT customer_id) AS members
      FROM keys
     WHERE block IS NOT NULL AND block <> ''
     GROUP BY reason, block
    HAVING count(DISTINCT customer_id) BETWEEN 2 AND %(max_block)s
), pairs AS (
    SELECT a, b, array_agg(DISTINCT reason ORDER BY reason) AS reasons
      FROM blocks, unnest(members) AS a, unnest(members) AS b
     WHERE a < b
     GROUP BY a, b
)
SELECT p.a, p.b, ca.display_name, cb.display_name, p.reasons
  FROM pairs p
  JOIN live ca ON ca.id = p.a
  JOIN live cb ON cb.id = p.b
 WHERE NOT EXISTS (SELECT 1 FROM {suggestion} s WHERE s.customer_a_id = p.a AND s.customer_b_id = p.b)
   {only}
"""


def candidate_pairs(
    *, chunk_size: int = CHUNK_SIZE, customer_ids: list[int] | None = None
) -> Iterator[list[CandidatePair]]:
    """Pairs of live profiles sharing a block and never suggested before, in chunks.

    `customer_ids` limits the pairs to those involving these customers (after an import,
    say); None considers everyone."""
    qn = connection.ops.quote_name
    params: dict[str, object] = {"suffix": PHONE_SUFFIX_DIGITS, "max_block": MAX_BLOCK}
    only = ""
    if customer_ids is not None:
        params["ids"] = list(customer_ids)
        only = "AND (p.a = ANY(%(ids)s) OR p.b = ANY(%(ids)s))"
    sql = _CANDIDATES_SQL.format(
        customer=qn(Customer._meta.db_table),
        identity=qn(Identity._meta.db_table),
        interaction=qn(Interaction._meta.db_table),
        suggestion=qn(MergeSuggestion._meta.db_table),
        only=only,
    )
    # A named (server-side) cursor streams the pairs; it needs a transaction to live in.
    with transaction.atomic(), connection.chunked_cursor() as cursor:
        cursor.execute(sql, params)
        while rows := cursor.fetchmany(chunk_size):
            yield [
                CandidatePair(a, b, name_a, name_b, tuple(reasons))
                for a, b, name_a, name_b, reasons in rows
            ]


def name_similarity(a: str, b: str) -> float:
    """0..100: word order and case do not matter ("Wei Li" ~ "li wei")."""
    return fuzz.token_sort_ratio(a, b, processor=utils.default_process)


def score_pairs(pairs: list[CandidatePair]) -> list[MergeSuggestion]:
    """Suggestions for the pairs whose names are similar enough (unsaved)."""
    suggestions = []
    for pair in pairs:
        similarity = name_similarity(pair.name_a, pair.name_b)
        if similarity < NAME_THRESHOLD:
            continue
        # Each shared block beyond the first adds confidence, up to certainty.
        score = min(1.0, similarity / 100 * (0.85 + 0.05 * len(pair.reasons)))
        suggestions.append(
            MergeSuggestion(
                customer_a_id=pair.a,
                customer_b_id=pair.b,
                score=round(score, 4),
                reasons=["similar_name", *pair.reasons],
            )
        )
    return suggestions


Progress = Callable[[int, int], None]  # (pairs compared, suggestions made)


def suggest_merges(
    *,
    chunk_size: int = CHUNK_SIZE,
    customer_ids: list[int] | None = None,
    progress: Progress | None = None,
) -> int:
    """Find and store new open suggestions; returns how many were made."""
    compared = made = 0
    for chunk in candidate_pairs(chunk_size=chunk_size, customer_ids=customer_ids):
        created = MergeSuggestion.objects.bulk_create(score_pairs(chunk), ignore_conflicts=True)
        compared += len(chunk)
        made += len(created)
        if progress is not None:
            progress(compared, made)
    logger.info("merge suggestions", extra={"compared": compared, "made": made})
    return made


# --- reads and decisions --------------------------------------------------------------------


def open_suggestions() -> QuerySet[MergeSuggestion]:
    """Open suggestions between two live profiles, best first. A suggestion whose
    profile was merged meanwhile hides until that merge is undone."""
    return (
        MergeSuggestion.objects.filter(
            status=MergeSuggestion.Status.OPEN,
            customer_a__merged_into__isnull=True,
            customer_b__merged_into__isnull=True,
            customer_a__erased_at__isnull=True,
            customer_b__erased_at__isnull=True,
        )
        .select_related("customer_a", "customer_b")
        .order_by("-score", "pk")
    )


def open_suggestions_for(customer: Customer) -> QuerySet[MergeSuggestion]:
    return open_suggestions().filter(Q(customer_a=customer) | Q(customer_b=customer))


class SuggestionClosed(ValueError):
    """The suggestion was already decided."""


def accept_suggestion(
    suggestion: MergeSuggestion,
    *,
    actor: User | None,
    keep: Customer | None = None,
    request: HttpRequest | None = None,
) -> Merge:
    """Merge the pair (into `keep`, by default the older profile)."""
    with transaction.atomic():
        locked = MergeSuggestion.objects.select_for_update().get(pk=suggestion.pk)
        if locked.status != MergeSuggestion.Status.OPEN:
            raise SuggestionClosed(_("this suggestion was already decided"))
        survivor = keep or locked.customer_a
        merged = locked.customer_b if survivor.pk == locked.customer_a_id else locked.customer_a
        record = merge(
            survivor, merged, rule=MergeRule.SUGGESTION, actor=actor, request=request,
            reason=", ".join(locked.reasons)[:500],
        )  # fmt: skip
        # merge() marks the pair's open suggestion accepted.
    suggestion.refresh_from_db()
    return record


def dismiss_suggestion(suggestion: MergeSuggestion, *, actor: User | None) -> MergeSuggestion:
    """Not the same person: the pair is never suggested again."""
    updated = MergeSuggestion.objects.filter(
        pk=suggestion.pk, status=MergeSuggestion.Status.OPEN
    ).update(
        status=MergeSuggestion.Status.DISMISSED,
        decided_at=timezone.now(),
        decided_by=actor if actor is not None and actor.pk else None,
    )
    if not updated:
        raise SuggestionClosed(_("this suggestion was already decided"))
    suggestion.refresh_from_db()
    return suggestion


# --- background runs, with progress for the page ------------------------------------------

RUN_CACHE_KEY = "customers:merge-suggestions-run"  # the cache is brand-scoped (KEY_FUNCTION)
RUN_CACHE_SECONDS = 24 * 3600


def suggestion_run() -> dict[str, object] | None:
    """The latest background run: {"state": queued|running|done|failed, "compared",
    "made"}, or None when none ran recently."""
    return cache.get(RUN_CACHE_KEY)


def _record_run(state: str, compared: int = 0, made: int = 0) -> None:
    cache.set(
        RUN_CACHE_KEY, {"state": state, "compared": compared, "made": made}, RUN_CACHE_SECONDS
    )


def start_suggestion_run() -> None:
    """Queue a brand-wide run once the current transaction commits."""
    from customers.tasks import suggest_merges_task

    _record_run("queued")
    transaction.on_commit(suggest_merges_task.delay)


def run_suggestions_with_progress() -> int:
    """What the task does: a full run that reports progress for the page to poll."""
    _record_run("running")
    try:
        made = suggest_merges(
            progress=lambda compared, made: _record_run("running", compared, made)
        )
    except Exception:
        _record_run("failed")
        raise
    run = suggestion_run() or {}
    _record_run("done", int(run.get("compared", 0) or 0), made)
    return made
