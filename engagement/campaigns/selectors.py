"""Reads for campaign pages: the list, progress, the funnel report and offer results
(coupons, polls, referrals, gifts, idea boards)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db.models import Count, Exists, IntegerField, OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from engagement.campaigns import journeys
from engagement.campaigns.models import (
    Campaign,
    CampaignRecipient,
    Click,
    Coupon,
    Gift,
    GiftClaim,
    GiftOffer,
    Idea,
    IdeaBoard,
    IdeaVote,
    JourneyPosition,
    JourneyStep,
    Referral,
    SkipReason,
    Vote,
)

FUNNEL_STAGES = ("targeted", "planned", "sent", "delivered", "read", "clicked", "converted")


def campaigns(*, query: str = "", status: str = "") -> QuerySet[Campaign]:
    items = Campaign.objects.all()
    if query:
        items = items.filter(name__icontains=query)
    if status:
        items = items.filter(status=status)
    return items.order_by("-created_at", "-id")


def _funnel_aggregates() -> dict[str, Any]:
    return {
        "targeted": Count("id"),
        "planned": Count("id", filter=~Q(status="skipped")),
        "queued": Count("id", filter=Q(queued_at__isnull=False)),
        # Sent and failed as the outbox reported them (delivery.sync_outbox).
        "sent": Count("id", filter=Q(sent_at__isnull=False)),
        "failed": Count("id", filter=Q(status="failed")),
        "delivered": Count("id", filter=Q(delivered_at__isnull=False)),
        "read": Count("id", filter=Q(read_at__isnull=False)),
        "clicked": Count("id", filter=Q(clicked_at__isnull=False)),
        "converted": Count("id", filter=Q(converted_at__isnull=False)),
        "replied": Count("id", filter=Q(replied_at__isnull=False)),
        "revenue": Sum("revenue"),
    }


@dataclass
class Progress:
    total: int
    done: int
    skipped: int
    waiting: int
    in_outbox: int = 0
    failed: int = 0

    @property
    def percent(self) -> int:
        return 100 if self.total == 0 else round(100 * self.done / self.total)


def progress(campaign: Campaign) -> Progress:
    row = campaign.recipients.aggregate(
        total=Count("id", filter=~Q(status="skipped")),
        # Done = the outbox has answered: sent (or further) or failed.
        done=Count("id", filter=Q(sent_at__isnull=False) | Q(status="failed")),
        skipped=Count("id", filter=Q(status="skipped")),
        waiting=Count("id", filter=Q(status="planned")),
        in_outbox=Count("id", filter=Q(status="queued")),
        failed=Count("id", filter=Q(status="failed")),
    )
    return Progress(**row)


def funnel(campaign: Campaign) -> dict[str, Any]:
    """Totals, per variant and per audience segment, skipped by reason."""
    recipients = campaign.recipients.all()
    total = recipients.aggregate(**_funnel_aggregates())
    by_variant = list(recipients.values("variant__name").annotate(**_funnel_aggregates()).order_by("variant__name"))
    segment_ids = list(campaign.segments.values_list("pk", flat=True))
    by_segment = []
    if segment_ids:
        by_segment = list(
            CampaignRecipient.objects.filter(campaign=campaign)
            .filter(customer__segment_memberships__segment_id__in=segment_ids)
            .values("customer__segment_memberships__segment__name")
            .annotate(**_funnel_aggregates())
            .order_by("customer__segment_memberships__segment__name")
        )
    labels = dict(SkipReason.choices)
    skipped = [
        (labels.get(row["skip_reason"], row["skip_reason"]), row["n"], row["skip_reason"])
        for row in recipients.filter(status="skipped").values("skip_reason").annotate(n=Count("id")).order_by("-n")
    ]
    total["revenue"] = total["revenue"] or Decimal("0")
    failures = list(recipients.filter(status="failed").values("error").annotate(n=Count("id")).order_by("-n", "error")[:10])
    return {"total": total, "by_variant": by_variant, "by_segment": by_segment, "skipped": skipped, "failures": failures}


def winner(campaign: Campaign, by_variant: list[dict[str, Any]]) -> str | None:
    """The variant with the best rate on the campaign's metric (None until someone was sent)."""
    best, best_rate = None, -1.0
    for row in by_variant:
        if not row["sent"] or row["variant__name"] is None:
            continue
        rate = row[campaign.winner_metric] / row["sent"]
        if rate > best_rate:
            best, best_rate = row["variant__name"], rate
    return best


def poll_results(campaign: Campaign) -> list[tuple[str, int]]:
    if not campaign.poll_id:
        return []
    counts = dict(Vote.objects.filter(poll_id=campaign.poll_id).values_list("option_id").annotate(n=Count("id")))
    return [(option.label, counts.get(option.pk, 0)) for option in campaign.poll.options.all()]


def top_advocates(campaign: Campaign, *, limit: int = 10) -> list[dict[str, Any]]:
    if not campaign.referral_program_id:
        return []
    return list(
        Referral.objects.filter(program_id=campaign.referral_program_id)
        .values("referrer_id", "referrer__display_name")
        .annotate(n=Count("id"), bought=Count("id", filter=Q(status=Referral.Status.PURCHASED)))
        .order_by("-n", "referrer_id")[:limit]
    )


def referral_tree(campaign: Campaign, *, limit: int = 50) -> list[dict[str, Any]]:
    """Advocates and whom they brought, two levels deep (a friend who refers on)."""
    if not campaign.referral_program_id:
        return []
    edges = list(
        Referral.objects.filter(program_id=campaign.referral_program_id)
        .values("referrer_id", "referrer__display_name", "referee_id", "referee__display_name", "status")
        .order_by("created_at")[:1000]
    )
    children: dict[int, list[dict[str, Any]]] = {}
    referees = set()
    for edge in edges:
        children.setdefault(edge["referrer_id"], []).append(edge)
        referees.add(edge["referee_id"])
    roots = [rid for rid in children if rid not in referees][:limit]
    return [
        {
            "id": rid, "name": children[rid][0]["referrer__display_name"],
            "friends": [{**edge, "friends": children.get(edge["referee_id"], [])} for edge in children[rid]],
        }
        for rid in roots
    ]


def coupon_stats(campaign: Campaign) -> dict[str, int]:
    if not campaign.coupon_pool_id:
        return {}
    return Coupon.objects.filter(pool_id=campaign.coupon_pool_id).aggregate(
        codes=Count("id"), assigned=Count("id", filter=Q(customer__isnull=False)),
        redeemed=Count("id", filter=Q(redeemed_at__isnull=False)),
    )


def clicks(campaign: Campaign) -> int:
    return Click.objects.filter(link__campaign=campaign).count()


def _count_of(model: type, field: str, **filters: Any) -> Coalesce:
    """A correlated count per outer row: several of them on one list never multiply rows
    the way two joined Counts would."""
    rows = model.objects.filter(**{field: OuterRef("pk")}, **filters).order_by().values(field)
    return Coalesce(Subquery(rows.annotate(n=Count("pk")).values("n"), output_field=IntegerField()), 0)


# --- gifts -----------------------------------------------------------------------------------


def gift_offers() -> QuerySet[GiftOffer]:
    return GiftOffer.objects.select_related("coupon_pool").annotate(
        sent=_count_of(Gift, "offer"), claimed=_count_of(GiftClaim, "offer")
    ).order_by("-created_at", "-id")


def gifts(offer: GiftOffer, *, claimed: str = "") -> QuerySet[Gift]:
    """An offer's gifts, newest first; `claimed` = "yes" / "no" filters."""
    items = Gift.objects.filter(offer=offer).select_related("sender", "campaign", "claim__customer", "claim__coupon")
    if claimed == "yes":
        items = items.filter(claim__isnull=False)
    elif claimed == "no":
        items = items.filter(claim__isnull=True)
    return items.order_by("-sent_at", "-id")


@dataclass
class GiftStats:
    sent: int
    claimed: int

    @property
    def claim_rate(self) -> float:
        return 0.0 if not self.sent else round(100 * self.claimed / self.sent, 1)


def gift_stats(*, offer: GiftOffer | None = None, campaign: Campaign | None = None) -> GiftStats:
    """Gifts sent and claimed for an offer, or through one campaign's messages."""
    items = Gift.objects.filter(offer=offer) if offer is not None else Gift.objects.filter(campaign=campaign)
    return GiftStats(**items.aggregate(sent=Count("id"), claimed=Count("claim")))


# --- idea boards -----------------------------------------------------------------------------


def idea_boards() -> QuerySet[IdeaBoard]:
    return IdeaBoard.objects.annotate(
        idea_count=_count_of(Idea, "board"),
        pending=_count_of(Idea, "board", moderation=Idea.Moderation.PENDING),
    ).order_by("-created_at", "-id")


def ideas(board: IdeaBoard, *, query: str = "", moderation: str = "", status: str = "") -> QuerySet[Idea]:
    """A board's ideas for the marketer, most votes first."""
    items = Idea.objects.filter(board=board).select_related("customer").annotate(vote_count=_count_of(IdeaVote, "idea"))
    if query:
        items = items.filter(Q(title__icontains=query) | Q(body__icontains=query))
    if moderation:
        items = items.filter(moderation=moderation)
    if status:
        items = items.filter(status=status)
    return items.order_by("-vote_count", "-created_at", "-id")


def public_ideas(board: IdeaBoard, *, customer_id: int) -> QuerySet[Idea]:
    """What one customer sees on a board: approved ideas and their own waiting ones, most
    votes first, each with whether they voted for it."""
    mine = IdeaVote.objects.filter(idea=OuterRef("pk"), customer_id=customer_id)
    visible = Q(moderation=Idea.Moderation.APPROVED) | Q(moderation=Idea.Moderation.PENDING, customer_id=customer_id)
    return (
        Idea.objects.filter(visible, board=board)
        .annotate(vote_count=_count_of(IdeaVote, "idea"), voted=Exists(mine))
        .order_by("-vote_count", "-created_at", "-id")
    )


def idea_stats(board: IdeaBoard) -> dict[str, int]:
    row = Idea.objects.filter(board=board).aggregate(
        ideas=Count("id"), pending=Count("id", filter=Q(moderation=Idea.Moderation.PENDING)),
        authors=Count("customer", distinct=True),
    )
    row["votes"] = IdeaVote.objects.filter(idea__board=board).count()
    return row
@dataclass
class JourneyStepCounts:
    here: int = 0  # on the step and due: they move on at the next tick
    waiting: int = 0  # held by this wait step until their due time
    ended: int = 0  # finished on this step (an End step)
    sent: int = 0  # a send step's messages queued for the outbox
    skipped: int = 0  # a send step's customers left out by a guard


def journey_counts(campaign: Campaign, *, now: datetime | None = None) -> tuple[dict[int, JourneyStepCounts], int]:
    """Customers per step (JourneyPosition) and sends per step, by step position; plus how
    many finished past the last step. Two grouped queries whatever the audience size.

    A wait step moves its customers on to the next position at once with a later due time,
    so customers not yet due on position p are the ones the wait at p - 1 holds."""
    now = now or timezone.now()
    counts: dict[int, JourneyStepCounts] = defaultdict(JourneyStepCounts)
    unfinished = Q(finished_at__isnull=True)
    positions = JourneyPosition.objects.filter(campaign=campaign).values("position").annotate(
        here=Count("id", filter=unfinished & Q(due_at__lte=now)), held=Count("id", filter=unfinished & Q(due_at__gt=now)),
        ended=Count("id", filter=Q(finished_at__isnull=False)),
    )
    for row in positions:
        counts[row["position"]].here = row["here"]
        counts[row["position"]].ended = row["ended"]
        if row["held"]:
            counts[row["position"] - 1].waiting = row["held"]
    sends = CampaignRecipient.objects.filter(campaign=campaign).values("step").annotate(
        sent=Count("id", filter=Q(queued_at__isnull=False)), skipped=Count("id", filter=Q(status="skipped")),
    )
    for row in sends:
        counts[row["step"]].sent, counts[row["step"]].skipped = row["sent"], row["skipped"]
    last = max(campaign.steps.values_list("position", flat=True), default=-1)
    past_end = sum(c.ended for position, c in counts.items() if position > last)
    return dict(counts), past_end


@dataclass
class FlowCard:
    """One step as the journey page draws it."""

    index: int
    step: JourneyStep
    wait_days: int | None  # a wait in whole days, else None (shown in hours)
    if_true: int | None  # step numbers (1-based) a branch goes to; None = past the end
    if_false: int | None
    incoming: list[tuple[int, bool]]  # (branch step number, on its yes side?)
    problems: list[str]
    counts: JourneyStepCounts

    @property
    def number(self) -> int:
        return self.index + 1

    @property
    def flows_on(self) -> bool:
        """Whether customers carry on to the card below (not after an End step or a branch)."""
        return self.step.action in (JourneyStep.Action.SEND, JourneyStep.Action.WAIT)


def journey_flow(campaign: Campaign) -> tuple[list[FlowCard], list[str], int]:
    """The journey's steps as cards, the problems that are not any one step's, and how many
    customers finished past the last step."""
    steps = list(campaign.steps.select_related("variant"))
    data = journeys.steps_of(campaign)
    problems = journeys.problems(data, campaign_id=campaign.pk)
    counts, past_end = journey_counts(campaign) if campaign.status != Campaign.Status.DRAFT else ({}, 0)
    targets = {i: journeys.next_steps(data, i) for i, step in enumerate(data) if step["action"] == JourneyStep.Action.BRANCH}
    cards = []
    for index, step in enumerate(steps):
        yes, no = targets.get(index, [None, None])
        cards.append(FlowCard(
            index=index, step=step,
            wait_days=step.wait_hours // 24 if step.wait_hours and step.wait_hours % 24 == 0 else None,
            if_true=_step_number(yes, len(steps)), if_false=_step_number(no, len(steps)),
            incoming=[(source + 1, side == 0) for source, ends in targets.items() for side, end in enumerate(ends) if end == index],
            problems=[p.message for p in problems if p.step == index],
            counts=counts.get(step.position, JourneyStepCounts()),
        ))
    return cards, [p.message for p in problems if p.step is None], past_end


def _step_number(index: int | None, count: int) -> int | None:
    return index + 1 if index is not None and index < count else None
