"""The inbox list's rows, each rendered once per state and reused by every poll.

Fifty agents polling every two seconds re-render their lists whenever anything in the
brand changed (the list's ETag follows the newest conversation change), so under a steady
stream of messages nearly every poll rendered 50 rows again, though only the few that
changed differ. A row's HTML depends only on the conversation's state, the viewer's
language and time zone, and the SLA countdown to the minute; that is its key here, in a
bounded per-process LRU. Changing a conversation moves its updated_at (and usually its
version), so its row is rendered afresh; names shown in the row (customer, assignee,
team) are in the key themselves, since renaming them does not touch the conversation.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from datetime import datetime

from django.db import connection
from django.template.loader import get_template
from django.utils import timezone, translation
from django.utils.safestring import SafeString, mark_safe

from engagement.inbox.models import Conversation

MAX_ROWS = 10_000
TEMPLATE = "engagement/inbox/partials/conversation_row.html"

_rows: OrderedDict[tuple, str] = OrderedDict()
_lock = threading.Lock()


def _sla(conversation: Conversation, now: datetime) -> int | None:
    """What the row says about the first-response SLA: None (nothing), -1 (missed) or the
    whole minutes left (timeuntil shows no finer unit)."""
    due = conversation.first_response_due_at
    if not (conversation.awaiting_since and due):
        return None
    return -1 if due <= now else int((due - now).total_seconds() // 60)


def key_of(conversation: Conversation, now: datetime, viewer: tuple[str, str, str]) -> tuple:
    """`viewer`: the brand's schema, the language and the time zone (the same for a whole list)."""
    return (
        *viewer, conversation.pk, conversation.version, conversation.updated_at, _sla(conversation, now),
        str(conversation.customer), conversation.assignee.get_username() if conversation.assignee_id else "",
        conversation.team.name if conversation.team_id else "",
    )


def rendered_rows(conversations: Sequence[Conversation], *, now: datetime) -> list[SafeString]:
    template = get_template(TEMPLATE)
    viewer = (connection.schema_name, translation.get_language(), timezone.get_current_timezone_name())
    rows = []
    for conversation in conversations:
        key = key_of(conversation, now, viewer)
        with _lock:
            html = _rows.get(key)
            if html is not None:
                _rows.move_to_end(key)
        if html is None:
            html = template.render({"c": conversation, "now": now})
            with _lock:
                _rows[key] = html
                while len(_rows) > MAX_ROWS:
                    _rows.popitem(last=False)
        # Safe: the HTML came from the row template, which autoescapes every value in it
        # (customer names and message previews included); nothing else is ever stored here.
        rows.append(mark_safe(html))  # noqa: S308
    return rows
