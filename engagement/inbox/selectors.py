"""Inbox reads: the filtered conversation list with its counts, one thread, the customer
panel, and the cheap fingerprints the polling views answer 304 from."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.contrib.auth.models import User
from django.core.cache import cache
from django.db.models import Count, Max, Q, QuerySet
from django.utils import timezone

from customers.models import Customer, Order
from engagement.inbox.models import (
    AgentProfile,
    CannedReply,
    Conversation,
    InboxMedia,
    Message,
    Team,
)
from engagement.inbox.routing import NEGATIVE_SENTIMENT
from engagement.inbox.services import sla_at_risk_cutoff

LIST_LIMIT = 50
THREAD_LIMIT = 200
STATUS = Conversation.Status
ACTIVE = (STATUS.OPEN, STATUS.PENDING)


@dataclass(frozen=True)
class InboxFilter:
    view: str = "open"  # open | mine | unassigned | queue | pending | snoozed | resolved | all
    team_id: int | None = None
    channel: str = ""
    sla_at_risk: bool = False
    negative: bool = False
    q: str = ""
    before: int | None = None  # keyset: conversations older than this one


# What a list row shows: loading only these keeps 50 rows from building 150 full Customer
# and User instances (every column parsed) on each poll.
LIST_COLUMNS = (
    "id", "channel", "priority", "status", "last_message_at", "last_message_preview", "queued_at", "unread_count",
    "awaiting_since", "first_response_due_at", "sentiment", "customer_id", "assignee_id", "team_id", "version", "updated_at",
    "customer__id", "customer__display_name", "assignee__id", "assignee__username", "team__id", "team__name",
)


def conversation_list(user: User, spec: InboxFilter, *, now: datetime | None = None) -> QuerySet[Conversation]:
    rows = Conversation.objects.select_related("customer", "assignee", "team").only(*LIST_COLUMNS)
    rows = _view(rows, user, spec.view)
    if spec.team_id:
        rows = rows.filter(team_id=spec.team_id)
    if spec.channel:
        rows = rows.filter(channel=spec.channel)
    if spec.sla_at_risk:
        rows = rows.filter(awaiting_since__isnull=False, first_response_due_at__lte=sla_at_risk_cutoff(now))
    if spec.negative:
        rows = rows.filter(sentiment__lte=NEGATIVE_SENTIMENT)
    if spec.q:
        rows = rows.filter(Q(customer__display_name__icontains=spec.q) | Q(last_message_preview__icontains=spec.q))
    if spec.view == "queue":
        return rows.order_by("-priority", "queued_at", "id")
    if spec.before:
        anchor = Conversation.objects.filter(pk=spec.before).values_list("last_message_at", flat=True).first()
        if anchor:
            rows = rows.filter(Q(last_message_at__lt=anchor) | Q(last_message_at=anchor, id__lt=spec.before))
    return rows.order_by("-last_message_at", "-id")


def _view(rows: QuerySet[Conversation], user: User, view: str) -> QuerySet[Conversation]:
    if view == "mine":
        return rows.filter(assignee=user, status__in=ACTIVE)
    if view == "unassigned":
        return rows.filter(assignee__isnull=True, status=STATUS.OPEN)
    if view == "queue":
        return rows.filter(assignee__isnull=True, queued_at__isnull=False, status=STATUS.OPEN)
    if view in (STATUS.PENDING, STATUS.SNOOZED, STATUS.RESOLVED):
        return rows.filter(status=view)
    if view == "all":
        return rows
    return rows.filter(status=STATUS.OPEN)


# How long brand-wide counts for one inbox state are kept. The key is the inbox
# fingerprint, so any change makes new counts at once; only "at risk", which moves with
# the clock alone, can be this many seconds late.
COUNTS_SECONDS = 10


def inbox_counts(user: User, *, now: datetime | None = None) -> dict[str, int]:
    """The sidebar counts. The brand-wide ones are one aggregate over every active
    conversation (a scan: 0.2 s at 100k conversations on a busy machine), so all agents
    share it through the brand's cache until the inbox changes; "mine" is per agent and
    an index read."""
    key = f"inbox:counts:{inbox_fingerprint()}"
    shared = cache.get(key) if now is None else None
    if shared is None:
        shared = Conversation.objects.filter(status__in=ACTIVE).aggregate(
            open=Count("id", filter=Q(status=STATUS.OPEN)),
            unassigned=Count("id", filter=Q(assignee__isnull=True, status=STATUS.OPEN)),
            queue=Count("id", filter=Q(assignee__isnull=True, queued_at__isnull=False, status=STATUS.OPEN)),
            pending=Count("id", filter=Q(status=STATUS.PENDING)),
            at_risk=Count("id", filter=Q(awaiting_since__isnull=False, first_response_due_at__lte=sla_at_risk_cutoff(now))),
            negative=Count("id", filter=Q(sentiment__lte=NEGATIVE_SENTIMENT)),
        )
        if now is None:
            cache.set(key, shared, COUNTS_SECONDS)
    return shared | {"mine": Conversation.objects.filter(status__in=ACTIVE, assignee=user).count()}


def inbox_fingerprint() -> str:
    """Changes whenever any conversation does (one index-only read)."""
    latest = Conversation.objects.aggregate(latest=Max("updated_at"))["latest"]
    return latest.isoformat() if latest else "empty"


def thread_fingerprint(conversation_id: int) -> str | None:
    """Changes with the conversation and with the delivery state of its replies."""
    row = Conversation.objects.filter(pk=conversation_id).values_list("version", "updated_at").first()
    if row is None:
        return None
    deliveries = (
        Message.objects.filter(conversation_id=conversation_id, outbound__isnull=False)
        .values_list("outbound__status").annotate(n=Count("id")).order_by("outbound__status")
    )
    return f"{row[0]}-{row[1].timestamp()}-" + ".".join(f"{status}{n}" for status, n in deliveries)


def conversation_for_agent(conversation_id: int) -> Conversation:
    return Conversation.objects.select_related("customer", "connector", "assignee", "team").get(pk=conversation_id)


def thread(conversation: Conversation) -> list[Message]:
    """The latest messages, oldest first."""
    latest = list(
        conversation.messages.select_related("author", "outbound").order_by("-created_at", "-id")[:THREAD_LIMIT]
    )
    latest.reverse()
    return latest


@dataclass(frozen=True)
class CustomerPanel:
    customer: Customer
    identities: list[Any]
    tags: list[str]
    orders: list[Order]
    other_conversations: list[Conversation]


def customer_panel(conversation: Conversation) -> CustomerPanel:
    customer = conversation.customer
    return CustomerPanel(
        customer=customer,
        identities=list(customer.identities.order_by("kind", "id")[:10]),
        tags=list(customer.tags.values_list("name", flat=True)[:20]),
        orders=list(customer.orders.order_by("-ordered_at")[:5]),
        other_conversations=list(
            Conversation.objects.filter(customer=customer).exclude(pk=conversation.pk).order_by("-last_message_at")[:10]
        ),
    )


def assignable_agents() -> QuerySet[User]:
    return User.objects.filter(is_active=True, agent_profile__isnull=False).select_related("agent_profile").order_by("username")


def teams() -> QuerySet[Team]:
    return Team.objects.order_by("name")


def canned_replies() -> QuerySet[CannedReply]:
    return CannedReply.objects.order_by("title")


def availability_of(user: User) -> str:
    return AgentProfile.objects.filter(user=user).values_list("availability", flat=True).first() or AgentProfile.Availability.AWAY


def is_overdue(conversation: Conversation, now: datetime | None = None) -> bool:
    due = conversation.first_response_due_at
    return conversation.awaiting_since is not None and due is not None and due <= (now or timezone.now())


def media_by_token(token: str) -> InboxMedia | None:
    if not token or len(token) > 64:
        return None
    return InboxMedia.objects.filter(token=token).first()
