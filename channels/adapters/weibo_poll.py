"""Weibo comments and mentions, polled (Weibo pushes only fan-service messages).

Timelines: `GET /2/comments/to_me.json` (comments on the brand's posts, key `comments`)
and `GET /2/statuses/mentions.json` (posts that @ the brand, key `statuses`), with
`access_token`, `since_id` (ids greater than), `max_id` (ids less than or equal),
`count` and `page`; newest first. Errors are `{"error", "error_code", "request"}`;
`10022` / `10023` / `10024` are the IP, user and per-interface rate limits (reset hourly).

The cursor per timeline is `{"since_id"}` once drained. A backlog larger than one poll
is read newest-first with `max_id` across several polls (`{"since_id", "max_id", "top"}`),
and only when it is drained does `since_id` move to the newest id seen (`top`), so nothing
between two polls is skipped. Each comment or mention is one RawEvent keyed by its id.

A comment's `source` is HTML chosen by the client app: it is reduced to text.
Connector config: `uid`, `api_base`, `page_size`. Secrets: `access_token`.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from channels.adapters.base import from_unix, load_json
from channels.adapters.html_text import html_to_text
from channels.adapters.http import call_json
from channels.adapters.polled import PollBatch, PolledItem, PollError
from channels.events import Claim, IdentityClaim, InboundEvent, ParseResult
from channels.models import Connector, RawEvent
from customers.models import Channel, IdentityKind, InteractionKind

TIMELINES: dict[str, tuple[str, str]] = {
    "comments": ("/2/comments/to_me.json", "comments"),
    "mentions": ("/2/statuses/mentions.json", "statuses"),
}
RATE_LIMIT_CODES = {"10022", "10023", "10024"}
# Weibo's limits are counted per hour.
RATE_LIMIT_WAIT_SECONDS = 15 * 60
DEFAULT_PAGE_SIZE = 50
MAX_PAGES_PER_POLL = 5
MAX_TEXT = 10_000


def poll(connector: Connector) -> PollBatch:
    base = str(connector.config.get("api_base") or "https://api.weibo.com").rstrip("/")
    page_size = min(int(connector.config.get("page_size") or DEFAULT_PAGE_SIZE), 200)
    token = connector.secret("access_token")
    cursor = dict(connector.cursor)
    items: list[PolledItem] = []
    more = False
    for timeline, (path, key) in TIMELINES.items():
        state, left = _read_timeline(f"{base}{path}", key, timeline, token, page_size, dict(cursor.get(timeline) or {}), items)
        cursor[timeline] = state
        more = more or left
    return PollBatch(items=items, cursor=cursor, more=more)


def _read_timeline(
    url: str, key: str, timeline: str, token: str, page_size: int, state: dict[str, Any], items: list[PolledItem],
) -> tuple[dict[str, Any], bool]:
    since = int(state.get("since_id") or 0)
    top = int(state.get("top") or since)
    max_id = int(state.get("max_id") or 0)
    for _page in range(MAX_PAGES_PER_POLL):
        query = {"access_token": token, "since_id": since, "count": page_size}
        if max_id:
            query["max_id"] = max_id
        status, answer = call_json(f"{url}?{urlencode(query)}")
        _raise_for_error(status, answer)
        entries = [entry for entry in answer.get(key) or [] if isinstance(entry, dict) and _id(entry) > since]
        if max_id:
            entries = [entry for entry in entries if _id(entry) <= max_id]
        items += [
            PolledItem(dedupe_key=f"{timeline}:{_id(entry)}", body=json.dumps(entry, ensure_ascii=False).encode(),
                       query={"poll": timeline})
            for entry in entries
        ]
        if entries:
            top = max(top, *(_id(entry) for entry in entries))
        if len(entries) < page_size:
            return {"since_id": top}, False
        max_id = min(_id(entry) for entry in entries) - 1
    return {"since_id": since, "max_id": max_id, "top": top}, True


def _raise_for_error(status: int, answer: dict[str, Any]) -> None:
    if status == 200 and "error_code" not in answer:
        return
    code = str(answer.get("error_code") or status)
    message = str(answer.get("error") or "unexpected answer")[:300]
    raise PollError(code, message, retry_after=RATE_LIMIT_WAIT_SECONDS if code in RATE_LIMIT_CODES else None)


def _id(entry: dict[str, Any]) -> int:
    try:
        return int(entry.get("idstr") or entry.get("id") or 0)
    except (TypeError, ValueError):
        return 0


def parse_polled(connector: Connector, raw: RawEvent) -> ParseResult:
    """One polled comment or mention → one interaction on the commenter's profile."""
    entry = load_json(bytes(raw.body))
    timeline = raw.query.get("poll", "")
    result = ParseResult()
    user = entry.get("user") if isinstance(entry.get("user"), dict) else {}
    uid = str(user.get("idstr") or user.get("id") or "")
    if timeline not in TIMELINES or not uid or not _id(entry):
        result.unhandled.append(f"poll:{timeline or '?'}")
        return result
    if uid == str(connector.config.get("uid", "")):
        return result  # the brand's own reply
    occurred = _created(entry) or raw.received_at or from_unix(0)
    status = entry.get("status") if isinstance(entry.get("status"), dict) else {}
    metadata = {
        "source": html_to_text(str(entry.get("source") or ""), limit=5000)[:200],
        "screen_name": _clean(user.get("screen_name"), 100),
    }
    if status:
        metadata["status_id"] = str(status.get("idstr") or status.get("id") or "")
    kind, prefix = (InteractionKind.COMMENT, "comment") if timeline == "comments" else (InteractionKind.MENTION, "status")
    identity = IdentityClaim(kind=IdentityKind.WEIBO_UID, value=uid, verified=True, source="weibo")
    result.events.append(InboundEvent(
        channel=Channel.WEIBO, kind=kind, external_id=f"{prefix}:{_id(entry)}", occurred_at=occurred,
        claim=Claim(identities=(identity,), display_name=_clean(user.get("screen_name") or user.get("name"), 200),
                    avatar_url=_clean(user.get("profile_image_url"), 500), seen_at=occurred),
        text=_clean(entry.get("text"), MAX_TEXT), metadata=metadata,
    ))
    return result


def _clean(value: object, limit: int) -> str:
    return str(value or "").replace("\x00", "")[:limit]


def _created(entry: dict[str, Any]) -> datetime | None:
    try:
        return datetime.strptime(str(entry.get("created_at", "")), "%a %b %d %H:%M:%S %z %Y")
    except ValueError:
        return None
