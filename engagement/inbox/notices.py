"""Automatic messages to customers: their place in the queue, and the wording the brand chose.

The queue-position rule: a customer waiting for a free agent is told their position once
per wait (a wait is identified by the conversation's queued_at). They are told again in
the same wait only when the position has improved a lot: it at least halved, moved by
at least RENOTIFY_MIN_STEP places, and RENOTIFY_AFTER has passed since the last notice.
A worse position is never announced. Nothing is sent when the platform's reply window is
closed (the outbox would refuse it anyway) or the conversation has no handle to reply to.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.utils import timezone

from channels import outbox
from channels.models import OutboundMessage
from engagement.inbox import windows
from engagement.inbox.models import Conversation, CustomerNotice, Message
from scrm.db import update_unnest

logger = logging.getLogger(__name__)

RENOTIFY_MIN_STEP = 3
RENOTIFY_AFTER = timedelta(minutes=10)
NOTICE_BATCH = 500

# Built-in wording when the brand has not written its own (Settings → Customer notices).
DEFAULTS = {
    (CustomerNotice.Kind.QUEUE_POSITION, "en"): "You are number {position} in line; we'll be with you shortly.",
    (CustomerNotice.Kind.QUEUE_POSITION, "zh-hans"): "您目前排在第 {position} 位，我们会尽快为您服务。",
    (CustomerNotice.Kind.CSAT_REQUEST, "en"):
        "How did we do? Reply with a number from 1 (poor) to 5 (excellent), or rate us here: {link}",
    (CustomerNotice.Kind.CSAT_REQUEST, "zh-hans"): "请为本次服务评分：回复 1（很差）到 5（很好）之间的数字，或点击链接评分：{link}",
}
VARIABLES = {
    CustomerNotice.Kind.QUEUE_POSITION: ("{position}",),
    CustomerNotice.Kind.CSAT_REQUEST: ("{link}",),
}


def notice_language(conversation_language: str) -> str:
    return "zh-hans" if conversation_language.lower().startswith("zh") else "en"


def wordings(kind: str) -> dict[str, str]:
    """{language: wording} for one kind: the brand's own where written, else built in."""
    own = dict(CustomerNotice.objects.filter(kind=kind).values_list("language", "body"))
    return {language: own.get(language) or DEFAULTS[(kind, language)] for language in CustomerNotice.Language.values}


def notice_text(kind: str, *, language: str, wording: dict[str, str] | None = None, **values: object) -> str:
    """The wording in the conversation's language with its variables filled in. Plain
    replacement: a brand's text cannot reach attributes or the template engine."""
    text = (wording or wordings(kind))[notice_language(language)]
    for name, value in values.items():
        text = text.replace("{" + name + "}", str(value))
    return text


def send_automatic_message(conversation: Conversation, text: str, *, now: datetime) -> Message | None:
    """Queue `text` to the customer in the outbox and show it in the thread as a system
    message. None when the platform's reply window is closed or there is no handle."""
    sent = send_automatic_messages([(conversation, text)], now=now)
    return sent.get(conversation.pk)


def send_automatic_messages(texts: Sequence[tuple[Conversation, str]], *, now: datetime) -> dict[int, Message]:
    """`send_automatic_message` for many conversations: one outbox INSERT, one thread
    INSERT, one delivery request per claim. Returns {conversation id: thread message} for
    those that could be sent (reply window open, a handle to reply to)."""
    sendable = []
    for conversation, text in texts:
        window = windows.reply_window(channel=conversation.channel, last_inbound_at=conversation.last_inbound_at, now=now)
        if window.can_reply and not window.needs_tag and conversation.recipient:
            sendable.append((conversation, text))
    if not sendable:
        return {}
    queued = outbox.queue_messages([
        OutboundMessage(
            connector_id=conversation.connector_id, customer_id=conversation.customer_id, recipient=conversation.recipient,
            kind=OutboundMessage.Kind.TEXT, purpose=OutboundMessage.Purpose.SERVICE, payload={"text": text},
        )
        for conversation, text in sendable
    ])
    messages = {
        conversation.pk: Message(
            conversation=conversation, direction=Message.Direction.OUT, text=text, author=None,
            delivery_status=Message.Delivery.QUEUED, outbound=outbound, created_at=now,
        )
        for (conversation, text), outbound in zip(sendable, queued, strict=True)
    }
    Message.objects.bulk_create(messages.values())
    return messages


_DUE_SQL = """
WITH queue AS (
    SELECT id, row_number() OVER (PARTITION BY team_id ORDER BY priority DESC, queued_at, id) AS position
    FROM {table}
    WHERE queued_at IS NOT NULL AND assignee_id IS NULL AND status = 'open'
)
SELECT c.id, queue.position
FROM queue JOIN {table} AS c ON c.id = queue.id
WHERE ({only_ids} IS NULL OR c.id = ANY({only_ids}))
  AND (c.queue_notice_wait IS DISTINCT FROM c.queued_at
       OR (queue.position * 2 <= c.queue_notice_position
           AND c.queue_notice_position - queue.position >= %s
           AND c.queue_notice_at <= %s))
ORDER BY c.id
LIMIT %s
"""


def due_queue_notices(*, now: datetime, conversation_ids: list[int] | None = None) -> dict[int, int]:
    """{conversation id: position} for waiting conversations the rule says to tell now.
    Positions come from one window query over every queue."""
    sql = _DUE_SQL.format(table=connection.ops.quote_name(Conversation._meta.db_table), only_ids="%s::bigint[]")
    # The ids parameter appears twice in the SQL.
    params = [conversation_ids, conversation_ids, RENOTIFY_MIN_STEP, now - RENOTIFY_AFTER, NOTICE_BATCH]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return dict(cursor.fetchall())


def request_queue_notices(conversation_ids: list[int]) -> None:
    """After the pipeline's commit, a worker tells the newly queued customers their place.
    The pipeline's transaction stays lean; if the broker is down, the beat sweep
    (every minute) sends them instead."""
    from engagement.inbox.tasks import notify_queue_positions_task

    def enqueue() -> None:
        try:
            notify_queue_positions_task.apply_async(kwargs={"conversation_ids": conversation_ids}, retry=False)
        except Exception as error:  # broker down: the beat sweep covers it
            logger.warning("could not enqueue queue notices", extra={"error": str(error)})

    transaction.on_commit(enqueue)


def notify_queue_positions(*, now: datetime | None = None, conversation_ids: list[int] | None = None) -> int:
    """Tell waiting customers their place in line (see the module's rule). Returns how many
    notices were queued; bounded by NOTICE_BATCH per call."""
    now = now or timezone.now()
    with transaction.atomic():
        due = due_queue_notices(now=now, conversation_ids=conversation_ids)
        if not due:
            return 0
        conversations = list(
            Conversation.objects.select_for_update(skip_locked=True, of=("self",)).filter(pk__in=list(due)).order_by("id")
        )
        wording = wordings(CustomerNotice.Kind.QUEUE_POSITION)
        texts = []
        for conversation in conversations:
            position = due[conversation.pk]
            texts.append((conversation, notice_text(CustomerNotice.Kind.QUEUE_POSITION, language=conversation.language,
                                                    wording=wording, position=position)))
            # Recorded even when nothing could be sent, so a closed window is not retried every minute.
            conversation.queue_notice_wait = conversation.queued_at
            conversation.queue_notice_position = position
            conversation.queue_notice_at = now
            conversation.updated_at = now
        sent = send_automatic_messages(texts, now=now)
        for conversation in conversations:
            conversation.version += conversation.pk in sent
        update_unnest(conversations, ["queue_notice_wait", "queue_notice_position", "queue_notice_at", "version", "updated_at"])
    return len(sent)
