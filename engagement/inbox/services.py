"""Inbox state changes: every write to conversations and messages happens here.

`record_inbound_messages` is the channels hook: inside the ingestion transaction it files
a batch of inbound messages into their conversations set-wise (a few queries per batch,
never per message), routes new and reopened conversations, and drains the affected
team queues. Agent actions (reply, note, assign, transfer, snooze, resolve) each run in
one transaction holding the conversation's row lock.
"""

from __future__ import annotations

import logging
import re
import secrets
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.db import connection, transaction
from django.db.models import Count, F, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from channels import outbox
from channels.hooks import NewInteraction
from channels.models import OutboundMessage
from customers.models import CustomerTag, InteractionKind
from customers.resolution import VIA_IDENTITY
from engagement.inbox import csat, images, notices, routing, windows
from engagement.inbox.models import (
    AgentProfile,
    Conversation,
    InboxMedia,
    Message,
    Priority,
    Resolution,
    RoutingRule,
    SlaPolicy,
    Team,
)
from engagement.inbox.sla import BusinessCalendar, add_business_minutes
from scrm.db import fetch_bound, insert_unnest, update_unnest

logger = logging.getLogger(__name__)

# Targets in business minutes when a brand has not set its own.
DEFAULT_FIRST_RESPONSE = {Priority.LOW: 480, Priority.NORMAL: 240, Priority.HIGH: 60, Priority.URGENT: 15}
DEFAULT_RESOLUTION = {Priority.LOW: 4320, Priority.NORMAL: 1440, Priority.HIGH: 480, Priority.URGENT: 120}
PREVIEW_LENGTH = 200
QUEUE_DRAIN_LIMIT = 2000
STATUS = Conversation.Status


class InboxError(ValueError):
    """An agent action that cannot happen; the message is shown to the agent."""


class StaleConversation(InboxError):  # noqa: N818 - reads as a state, not a failure
    """The conversation changed since the agent's form was rendered."""

    def __init__(self, conversation: Conversation) -> None:
        super().__init__(_("Someone else changed this conversation (a reply or a new message) while you were typing. Review the thread, then send again."))
        self.conversation = conversation


# --- SLA policy ----------------------------------------------------------------------


@dataclass(frozen=True)
class Targets:
    calendar: BusinessCalendar
    first_response: dict[int, int]
    resolution: dict[int, int]

    def first_response_due(self, start: datetime, priority: int) -> datetime:
        return add_business_minutes(self.calendar, start, self.first_response[priority])

    def resolution_due(self, start: datetime, priority: int) -> datetime:
        return add_business_minutes(self.calendar, start, self.resolution[priority])


def sla_targets() -> Targets:
    policy = SlaPolicy.objects.filter(active=True).first() or SlaPolicy(timezone="UTC")
    return Targets(
        calendar=BusinessCalendar.from_policy(
            timezone=policy.timezone, business_hours=policy.business_hours, holidays=policy.holidays
        ),
        first_response={p: int((policy.first_response_minutes or {}).get(str(p), DEFAULT_FIRST_RESPONSE[p])) for p in Priority.values},
        resolution={p: int((policy.resolution_minutes or {}).get(str(p), DEFAULT_RESOLUTION[p])) for p in Priority.values},
    )


# --- inbound (the channels hook) --------------------------------------------------------

_ENSURE_SQL = """
INSERT INTO {table} (customer_id, connector_id, channel, status, priority, labels, language, unread_count,
                     version, sla_breached, reassignments, created_at, updated_at, last_message_preview, recipient)
SELECT c, k, ch, 'resolved', %b, '[]'::jsonb, '', 0, 1, false, 0, now(), now(), '', ''
FROM unnest(%b::bigint[], %b::bigint[], %b::text[]) AS t(c, k, ch)
ON CONFLICT (customer_id, connector_id) DO NOTHING
RETURNING id
"""


def record_inbound_messages(interactions: Sequence[NewInteraction]) -> None:
    """Hook subscriber: inbound messages become Messages in their conversations."""
    inbound = [item for item in interactions if item.kind == InteractionKind.MESSAGE_IN]
    if not inbound:
        return
    # "1"–"5" answering a satisfaction request is a rating, not a new conversation.
    ratings = csat.record_reply_ratings(inbound)
    inbound = [item for item in inbound if item.id not in ratings]
    if not inbound:
        return
    inbound.sort(key=lambda item: (item.occurred_at, item.id))
    by_key: dict[tuple[int, int], list[NewInteraction]] = defaultdict(list)
    channel_of: dict[tuple[int, int], str] = {}
    for item in inbound:
        by_key[(item.customer_id, item.connector_id)].append(item)
        channel_of[(item.customer_id, item.connector_id)] = item.channel
    conversations, created = _lock_conversations(channel_of)
    now = timezone.now()
    targets = sla_targets()
    opened: list[Conversation] = []
    messages: list[Message] = []
    for conversation in conversations:
        batch = by_key[(conversation.customer_id, conversation.connector_id)]
        if conversation.status in (STATUS.RESOLVED, STATUS.SNOOZED) or conversation.pk in created:
            opened.append(conversation)
            conversation.opened_at = batch[0].occurred_at
            conversation.resolved_at = conversation.snoozed_until = None
            conversation.sla_breached = False
            conversation.assignee_id = None
        conversation.status = STATUS.OPEN
        conversation.awaiting_since = conversation.awaiting_since or batch[0].occurred_at
        conversation.last_message_at = max(conversation.last_message_at or batch[-1].occurred_at, batch[-1].occurred_at)
        conversation.last_inbound_at = max(conversation.last_inbound_at or batch[-1].occurred_at, batch[-1].occurred_at)
        conversation.last_message_preview = _preview(batch[-1])
        conversation.recipient = next(
            (without_nul(str(i.metadata[VIA_IDENTITY].get("value", "")))[:255] for i in reversed(batch)
             if isinstance(i.metadata.get(VIA_IDENTITY), dict)),
            conversation.recipient,
        )
        conversation.unread_count += len(batch)
        conversation.language = next((i.language for i in reversed(batch) if i.language), conversation.language)
        conversation.sentiment = _recent_sentiment(conversation.sentiment, [i.sentiment for i in batch])
        conversation.version += 1
        conversation.updated_at = now
        messages += [
            Message(
                conversation_id=conversation.pk, direction=Message.Direction.IN, interaction_id=item.id,
                text=without_nul(item.text), attachments=_attachments(item.metadata),
                delivery_status=Message.Delivery.RECEIVED, created_at=item.occurred_at,
            )
            for item in batch
        ]
    _route(opened, by_key, now=now)
    opened_ids = {conversation.pk for conversation in opened}  # `in opened` compared models pairwise
    for conversation in conversations:
        if conversation.pk in opened_ids:
            conversation.resolution_due_at = targets.resolution_due(conversation.opened_at, conversation.priority)
        if conversation.first_response_due_at is None:
            conversation.first_response_due_at = targets.first_response_due(conversation.awaiting_since, conversation.priority)
    insert_unnest(messages)
    update_unnest(conversations, [
        "status", "priority", "team", "labels", "assignee", "queued_at", "opened_at", "resolved_at", "snoozed_until",
        "sla_breached", "awaiting_since", "first_response_due_at", "resolution_due_at", "last_message_at",
        "last_inbound_at", "last_message_preview", "recipient", "unread_count", "language", "sentiment", "version", "updated_at",
    ])
    drain_queues({conversation.team_id for conversation in opened})
    # Whoever still waits after the drain hears their place in line.
    if opened:
        notices.request_queue_notices([conversation.pk for conversation in opened if conversation.assignee_id is None])


def _lock_conversations(channel_of: dict[tuple[int, int], str]) -> tuple[list[Conversation], set[int]]:
    """Create the missing conversations (ON CONFLICT: concurrent batches agree) and lock all
    of them in id order, so two batches never deadlock."""
    keys = sorted(channel_of)
    customers, connectors = [c for c, _k in keys], [k for _c, k in keys]
    table = connection.ops.quote_name(Conversation._meta.db_table)
    created = {row[0] for row in fetch_bound(
        _ENSURE_SQL.format(table=table), [Priority.NORMAL, customers, connectors, [channel_of[key] for key in keys]],
    )}
    # One join on the (customer, connector) pairs; an OR of a Q per customer cost more
    # to build in Python than the whole statement costs to run.
    conversations = list(Conversation.objects.raw(
        f"SELECT c.* FROM {table} c JOIN unnest(%s::bigint[], %s::bigint[]) AS k(customer_id, connector_id) "
        "ON c.customer_id = k.customer_id AND c.connector_id = k.connector_id ORDER BY c.id FOR UPDATE OF c",
        [customers, connectors],
    ))
    return conversations, created


def _route(opened: list[Conversation], by_key: dict[tuple[int, int], list[NewInteraction]], *, now: datetime) -> None:
    if not opened:
        return
    rules = [
        routing.Rule(
            id=rule.pk, channels=tuple(rule.channels), languages=tuple(rule.languages), keywords=tuple(rule.keywords),
            customer_tags=tuple(rule.customer_tags), negative_sentiment=rule.negative_sentiment,
            set_priority=rule.set_priority, set_team_id=rule.set_team_id, add_labels=tuple(rule.add_labels),
        )
        for rule in RoutingRule.objects.filter(enabled=True)
    ]
    default_team_id = Team.objects.filter(is_default=True).values_list("id", flat=True).first()
    tags: dict[int, set[str]] = defaultdict(set)
    if any(rule.customer_tags for rule in rules):
        for customer_id, name in CustomerTag.objects.filter(
            customer_id__in={c.customer_id for c in opened}
        ).values_list("customer_id", "tag__name"):
            tags[customer_id].add(name)
    for conversation in opened:
        batch = by_key[(conversation.customer_id, conversation.connector_id)]
        outcome = routing.route(
            rules,
            routing.Facts(
                channel=conversation.channel, language=conversation.language,
                text="\n".join(item.text for item in batch), customer_tags=frozenset(tags[conversation.customer_id]),
                sentiment=conversation.sentiment,
            ),
            default_priority=Priority.NORMAL, default_team_id=default_team_id,
        )
        conversation.priority = outcome.priority
        conversation.team_id = outcome.team_id
        conversation.labels = list(dict.fromkeys([*conversation.labels, *outcome.labels]))
        conversation.queued_at = now


def without_nul(text: str) -> str:
    """NUL is the one character PostgreSQL text and jsonb cannot hold; all else is kept."""
    return text.replace("\x00", "\ufffd")


def _preview(item: NewInteraction) -> str:
    text = " ".join(without_nul(item.text).split())
    if not text:
        first = (item.metadata.get("attachments") or [None])[0]
        kind = item.metadata.get("msg_type") or (first.get("type") if isinstance(first, dict) else first) or "message"
        text = f"[{kind}]"
    return text[:PREVIEW_LENGTH]


def _recent_sentiment(previous: float | None, scores: Iterable[float | None]) -> float | None:
    known = [score for score in scores if score is not None]
    if not known:
        return previous
    latest = sum(known) / len(known)
    # Recent messages weigh more: half the old mood, half the new.
    return latest if previous is None else round(previous * 0.5 + latest * 0.5, 4)


def _attachments(metadata: dict) -> list[dict[str, str]]:
    found = []
    if metadata.get("picurl"):
        found.append({"type": "image", "url": str(metadata["picurl"])})
    if metadata.get("url"):
        found.append({"type": "link", "url": str(metadata["url"]), "title": str(metadata.get("title", ""))})
    for attachment in metadata.get("attachments", []) or []:
        if isinstance(attachment, dict):
            url = str(attachment.get("url") or (attachment.get("payload") or {}).get("url", ""))
            found.append({"type": str(attachment.get("type", "file")), "url": url})
        else:
            found.append({"type": str(attachment), "url": ""})
    return [{key: without_nul(value)[:2000] for key, value in item.items()} for item in found]


# --- the queue ------------------------------------------------------------------------


def drain_queues(team_ids: Iterable[int | None]) -> int:
    """Hand queued conversations to free agents, team by team. Returns how many moved."""
    return sum(_drain(team_id) for team_id in sorted(set(team_ids), key=lambda t: (t is None, t or 0)))


def _drain(team_id: int | None, exclude: dict[int, int] | None = None) -> int:
    exclude = exclude or {}
    with transaction.atomic():
        # One drain per team at a time (the pipeline and agents' actions both drain).
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext(current_schema() || ':inbox-queue'), %s)", [team_id or 0])
        waiting_rows = list(
            Conversation.objects.filter(team_id=team_id, queued_at__isnull=False, assignee__isnull=True, status=STATUS.OPEN)
            .order_by("-priority", "queued_at", "id").values_list("id", "priority", "queued_at")[:QUEUE_DRAIN_LIMIT]
        )
        if not waiting_rows:
            return 0
        agents = available_agents(team_id)
        if not agents:
            return 0
        now = timezone.now()
        plan = routing.plan_assignments(
            [
                routing.Waiting(conversation_id=pk, priority=priority, queued_at=queued, exclude_user_id=exclude.get(pk))
                for pk, priority, queued in waiting_rows
            ],
            agents, strategy=_strategy(team_id), now=now,
        )
        if not plan.assignments:
            return 0
        _apply_assignments(plan.assignments, now=now)
        return len(plan.assignments)


def _strategy(team_id: int | None) -> str:
    if team_id is None:
        return Team.Strategy.LEAST_BUSY
    return Team.objects.filter(pk=team_id).values_list("strategy", flat=True).first() or Team.Strategy.LEAST_BUSY


def available_agents(team_id: int | None) -> list[routing.Agent]:
    """Online agents of the team (every online agent when there is no team) with their load."""
    profiles = AgentProfile.objects.filter(availability=AgentProfile.Availability.ONLINE, user__is_active=True)
    if team_id is not None:
        profiles = profiles.filter(user__inbox_teams=team_id)
    # Each agent's open conversations counted on the (assignee, status) index, agent by
    # agent: a join of every agent to every open conversation cost ≈ 100 ms a batch at
    # 100k conversations, on the ingest path.
    open_load = (
        Conversation.objects.filter(assignee_id=OuterRef("user_id"), status=STATUS.OPEN)
        .order_by().values("assignee_id").annotate(n=Count("*")).values("n")
    )
    profiles = profiles.annotate(load=Coalesce(Subquery(open_load), 0))
    return [
        routing.Agent(user_id=p.user_id, capacity=p.capacity, load=p.load, last_assigned_at=p.last_assigned_at)
        for p in profiles
    ]


_ASSIGN_SQL = """
UPDATE {table} AS c SET assignee_id = a.user_id, assigned_at = %s, queued_at = NULL,
       version = c.version + 1, updated_at = %s
FROM unnest(%s::bigint[], %s::bigint[]) AS a(conversation_id, user_id)
WHERE c.id = a.conversation_id
"""


def _apply_assignments(assignments: list[tuple[int, int]], *, now: datetime) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            _ASSIGN_SQL.format(table=connection.ops.quote_name(Conversation._meta.db_table)),
            [now, now, [c for c, _u in assignments], [u for _c, u in assignments]],
        )
    AgentProfile.objects.filter(user_id__in={u for _c, u in assignments}).update(last_assigned_at=now)


def queue_position(conversation: Conversation) -> int | None:
    """1-based place in its team's queue, or None when not waiting."""
    if conversation.queued_at is None or conversation.assignee_id is not None:
        return None
    ahead = Conversation.objects.filter(
        team_id=conversation.team_id, queued_at__isnull=False, assignee__isnull=True, status=STATUS.OPEN,
    ).filter(
        Q(priority__gt=conversation.priority)
        | Q(priority=conversation.priority, queued_at__lt=conversation.queued_at)
        | Q(priority=conversation.priority, queued_at=conversation.queued_at, id__lt=conversation.pk)
    ).count()
    return ahead + 1


# --- agents ---------------------------------------------------------------------------


def agent_profile(user: User) -> AgentProfile:
    profile, _created = AgentProfile.objects.get_or_create(user=user)
    return profile


def set_availability(*, user: User, availability: str, capacity: int | None = None) -> AgentProfile:
    with transaction.atomic():
        profile = agent_profile(user)
        profile.availability = availability
        if capacity is not None:
            profile.capacity = capacity
        profile.save(update_fields=["availability", "capacity"])
        team_ids = list(user.inbox_teams.values_list("id", flat=True)) + [None]
        if availability == AgentProfile.Availability.AWAY:
            # Going away hands back conversations nobody answered yet.
            requeued = Conversation.objects.filter(assignee=user, status=STATUS.OPEN, first_response_at__isnull=True)
            requeued.update(assignee=None, queued_at=timezone.now(), version=F("version") + 1, updated_at=timezone.now())
        drain_queues(team_ids)
    return profile


# --- agent actions on one conversation ------------------------------------------------


def _locked(conversation_id: int) -> Conversation:
    return Conversation.objects.select_for_update(of=("self",)).select_related("connector").get(pk=conversation_id)


def _touch(conversation: Conversation, fields: list[str]) -> None:
    conversation.version += 1
    conversation.save(update_fields=[*fields, "version", "updated_at"])


def send_reply(
    *, conversation_id: int, author: User, text: str, version: int, client_key: str, now: datetime | None = None,
    image: UploadedFile | None = None,
) -> Message:
    """Record an agent's reply and queue it in the channels outbox (same transaction). Refuses when the
    conversation changed since `version`, or when the platform's reply window is closed.
    A repeated `client_key` returns the first message instead of sending again.

    With an image: email carries text and image in one message (an attachment); WeChat
    and Meta send the text (if any) and then the image as two platform messages, so the
    thread shows two messages; other channels refuse."""
    text = without_nul(text).strip()
    if not text and image is None:
        raise InboxError(_("Write a reply first."))
    image_bytes = _read_upload(image) if image is not None else None
    now = now or timezone.now()
    with transaction.atomic():
        conversation = _locked(conversation_id)
        earlier = Message.objects.filter(client_key=client_key).first() if client_key else None
        if earlier is not None:
            if earlier.conversation_id != conversation.pk:
                raise InboxError(_("This form was already used for another conversation."))
            return earlier
        if conversation.version != version:
            raise StaleConversation(conversation)
        window = windows.reply_window(channel=conversation.channel, last_inbound_at=conversation.last_inbound_at, now=now)
        if not window.can_reply:
            raise InboxError(f"{window.reason} {window.alternatives}")
        if not conversation.recipient:
            raise InboxError(_("This conversation has no platform handle to reply to."))
        media = None
        if image_bytes is not None:
            try:
                info = images.inspect(image_bytes, channel=conversation.channel)
            except images.InvalidImage as error:
                raise InboxError(str(error)) from None
            media = _store_image(image_bytes, info, uploaded_by=author)
        tag = {"tag": "HUMAN_AGENT"} if window.needs_tag else {}
        parts = _reply_parts(conversation.channel, text, media, tag)
        response_seconds = sla_met = None
        if conversation.awaiting_since is not None:
            response_seconds = max((now - conversation.awaiting_since).total_seconds(), 0.0)
            due = conversation.first_response_due_at
            sla_met = not conversation.sla_breached and (due is None or now <= due)
            conversation.sla_breached = conversation.sla_breached or not sla_met
        created = []
        for n, (kind, payload, attachments) in enumerate(parts):
            queued = outbox.queue_message(
                connector=conversation.connector, recipient=conversation.recipient, payload=payload, kind=kind,
                customer_id=conversation.customer_id, purpose=OutboundMessage.Purpose.SERVICE,
            )
            created.append(Message.objects.create(
                conversation=conversation, direction=Message.Direction.OUT, text=payload.get("text", ""), author=author,
                attachments=attachments, delivery_status=Message.Delivery.QUEUED, created_at=now, outbound=queued,
                client_key=client_key if n == 0 else f"{client_key}:{n}" if client_key else "",
                response_seconds=response_seconds if n == 0 else None, sla_met=sla_met if n == 0 else None,
                team_id=conversation.team_id,
            ))
        conversation.first_response_at = conversation.first_response_at or now
        conversation.awaiting_since = conversation.first_response_due_at = None
        conversation.status = STATUS.PENDING
        conversation.unread_count = 0
        conversation.last_message_at = now
        conversation.last_message_preview = " ".join(text.split())[:PREVIEW_LENGTH] or "[image]"
        if conversation.assignee_id is None:
            conversation.assignee, conversation.assigned_at, conversation.queued_at = author, now, None
        _touch(conversation, [
            "sla_breached", "first_response_at", "awaiting_since", "first_response_due_at", "status", "unread_count",
            "last_message_at", "last_message_preview", "assignee", "assigned_at", "queued_at",
        ])
        team_id = conversation.team_id
        drain_queues([team_id])
    return created[0]


def _read_upload(upload: UploadedFile) -> bytes:
    """At most one byte more than the limit: enough to refuse a bigger file unread."""
    upload.seek(0)
    return upload.read(images.MAX_BYTES + 1)


def _store_image(data: bytes, info: images.ImageInfo, *, uploaded_by: User) -> InboxMedia:
    """The file is named by a random token (the upload's own name is never used)."""
    token = secrets.token_urlsafe(32)
    media = InboxMedia(token=token, content_type=info.content_type, size=len(data), width=info.width,
                       height=info.height, uploaded_by=uploaded_by)
    media.file.save(f"{token}.{info.extension}", ContentFile(data), save=False)
    media.save()
    return media


def media_url(media: InboxMedia) -> str:
    """The image's public address on the brand's host (platforms such as Meta fetch it)."""
    host = connection.tenant.primary_host() if hasattr(connection.tenant, "primary_host") else ""
    scheme = getattr(settings, "SCRM_URL_SCHEME", "https")
    return f"{scheme}://{host}{reverse('engagement:inbox-media', args=[media.token])}"


def _reply_parts(
    channel: str, text: str, media: InboxMedia | None, tag: dict[str, str],
) -> list[tuple[str, dict[str, Any], list[dict[str, str]]]]:
    """(outbox kind, payload, thread attachments) for each platform message of a reply."""
    text_part = (OutboundMessage.Kind.TEXT, {"text": text, **tag}, [])
    if media is None:
        return [text_part]
    image = {"media_path": media.file.name, "content_type": media.content_type, "url": media_url(media)}
    shown = [{"type": "image", "url": image["url"], "media": media.token}]
    if channel == "email":
        return [(OutboundMessage.Kind.IMAGE, {"text": text, **image, **tag}, shown)]
    image_part = (OutboundMessage.Kind.IMAGE, {**image, **tag}, shown)
    return [text_part, image_part] if text else [image_part]


MENTION = re.compile(r"(?<![\w@])@([\w.+-]{1,150})")


def add_note(*, conversation_id: int, author: User, text: str) -> Message:
    """An internal note; @username mentions of existing staff are recorded on it."""
    text = without_nul(text).strip()
    if not text:
        raise InboxError(_("Write a note first."))
    names = set(MENTION.findall(text))
    mentioned = list(User.objects.filter(username__in=names, is_active=True).values_list("username", flat=True)) if names else []
    with transaction.atomic():
        conversation = _locked(conversation_id)
        message = Message.objects.create(
            conversation=conversation, direction=Message.Direction.NOTE, text=text, author=author,
            delivery_status=Message.Delivery.RECEIVED, mentions=sorted(mentioned), created_at=timezone.now(),
        )
        _touch(conversation, [])
    return message


def assign(*, conversation_id: int, assignee: User | None, actor: User) -> Conversation:
    with transaction.atomic():
        conversation = _locked(conversation_id)
        previous_team = conversation.team_id
        conversation.assignee = assignee
        conversation.assigned_at = timezone.now() if assignee else None
        conversation.queued_at = None if assignee else timezone.now()
        _touch(conversation, ["assignee", "assigned_at", "queued_at"])
        drain_queues([previous_team])
    return conversation


def transfer(*, conversation_id: int, team: Team | None, actor: User) -> Conversation:
    """Send the conversation to another team's queue."""
    with transaction.atomic():
        conversation = _locked(conversation_id)
        old_team = conversation.team_id
        conversation.team = team
        conversation.assignee = None
        conversation.queued_at = timezone.now()
        _touch(conversation, ["team", "assignee", "queued_at"])
        new_team = conversation.team_id
        drain_queues([old_team, new_team])
    return conversation


def snooze(*, conversation_id: int, until: datetime, actor: User) -> Conversation:
    if until <= timezone.now():
        raise InboxError(_("Snooze until a time in the future."))
    with transaction.atomic():
        conversation = _locked(conversation_id)
        conversation.status = STATUS.SNOOZED
        conversation.snoozed_until = until
        _touch(conversation, ["status", "snoozed_until"])
        team_id = conversation.team_id
        drain_queues([team_id])
    return conversation


def resolve(*, conversation_id: int, actor: User) -> Conversation:
    now = timezone.now()
    with transaction.atomic():
        conversation = _locked(conversation_id)
        if conversation.status == STATUS.RESOLVED:
            return conversation
        opened = conversation.opened_at or conversation.created_at
        resolution = Resolution.objects.create(
            conversation=conversation, channel=conversation.channel, team_id=conversation.team_id,
            assignee_id=conversation.assignee_id or actor.pk, opened_at=opened, resolved_at=now,
            seconds=max((now - opened).total_seconds(), 0.0),
            sla_met=conversation.resolution_due_at is None or now <= conversation.resolution_due_at,
        )
        conversation.status = STATUS.RESOLVED
        conversation.resolved_at = now
        conversation.queued_at = conversation.awaiting_since = conversation.first_response_due_at = None
        conversation.unread_count = 0
        _touch(conversation, ["status", "resolved_at", "queued_at", "awaiting_since", "first_response_due_at", "unread_count"])
        csat.request_rating(conversation=conversation, resolution=resolution, now=now)
        team_id = conversation.team_id
        drain_queues([team_id])
    return conversation


def reopen(*, conversation_id: int, actor: User) -> Conversation:
    with transaction.atomic():
        conversation = _locked(conversation_id)
        conversation.status = STATUS.OPEN
        conversation.snoozed_until = conversation.resolved_at = None
        conversation.opened_at = timezone.now()
        _touch(conversation, ["status", "snoozed_until", "resolved_at", "opened_at"])
    return conversation


def mark_read(*, conversation_id: int) -> None:
    # Not a version bump: reading changes nothing another agent must see before replying.
    Conversation.objects.filter(pk=conversation_id, unread_count__gt=0).update(unread_count=0, updated_at=timezone.now())


# --- periodic -------------------------------------------------------------------------


def wake_snoozed(*, now: datetime | None = None) -> int:
    now = now or timezone.now()
    return Conversation.objects.filter(status=STATUS.SNOOZED, snoozed_until__lte=now).update(
        status=STATUS.OPEN, snoozed_until=None, version=F("version") + 1, updated_at=now,
    )


def reassign_overdue(*, now: datetime | None = None) -> int:
    """Conversations whose assignee missed the first-response target go back to the queue
    (ahead of later arrivals: they keep their place by the time they started waiting) with
    a fresh target for the next agent, and are marked as having missed the SLA."""
    now = now or timezone.now()
    targets = sla_targets()
    with transaction.atomic():
        overdue = list(
            Conversation.objects.select_for_update(skip_locked=True)
            .filter(status=STATUS.OPEN, assignee__isnull=False, awaiting_since__isnull=False, first_response_due_at__lt=now)
            .order_by("id")[:QUEUE_DRAIN_LIMIT]
        )
        missed_by = {conversation.pk: conversation.assignee_id for conversation in overdue}
        for conversation in overdue:
            conversation.updated_at = now
            conversation.assignee = None
            conversation.queued_at = conversation.awaiting_since
            conversation.sla_breached = True
            conversation.reassignments += 1
            conversation.first_response_due_at = targets.first_response_due(now, conversation.priority)
            conversation.version += 1
        Conversation.objects.bulk_update(
            overdue, ["assignee", "queued_at", "sla_breached", "reassignments", "first_response_due_at", "version", "updated_at"]
        )
        for team_id in sorted({c.team_id for c in overdue}, key=lambda t: (t is None, t or 0)):
            _drain(team_id, exclude=missed_by)
    if overdue:
        logger.info("inbox: overdue conversations requeued", extra={"count": len(overdue)})
    return len(overdue)


def sla_at_risk_cutoff(now: datetime | None = None) -> datetime:
    """Due within the next 30 minutes counts as at risk."""
    return (now or timezone.now()) + timedelta(minutes=30)
