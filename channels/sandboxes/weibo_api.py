"""Weibo API sandbox: the comments and mentions timelines the Weibo connector polls.

`GET /2/comments/to_me.json` ({"comments": […]}) and `GET /2/statuses/mentions.json`
({"statuses": […]}), newest first, with `since_id` (greater than), `max_id` (less than or
equal), `count` (≤ 200) and `page`; an unknown token answers 21332, and once the quota
is spent every call answers HTTP 403 with error_code 10023 ("User requests out of rate
limit!"), as Weibo does until the hour resets (`reset_quota`).
"""

from __future__ import annotations

import itertools
import secrets
from datetime import UTC, datetime
from typing import Any

from channels.sandboxes.base import Call, SandboxServer

CREATED_FORMAT = "%a %b %d %H:%M:%S %z %Y"


class WeiboApiSandbox:
    def __init__(self, *, access_token: str, uid: str, quota: int | None = None, port: int = 0) -> None:
        self.access_token, self.uid, self.quota = access_token, uid, quota
        self.comments: list[dict[str, Any]] = []
        self.mentions: list[dict[str, Any]] = []
        self._ids = itertools.count(4_000_000_000_000_000 + secrets.randbelow(10**9) * 1000)
        self.server = SandboxServer({
            ("GET", "/2/comments/to_me.json"): lambda call: self._timeline(call, self.comments, "comments"),
            ("GET", "/2/statuses/mentions.json"): lambda call: self._timeline(call, self.mentions, "statuses"),
        }, port=port)

    def comment(self, user_id: str, text: str, *, screen_name: str = "", source: str = "") -> dict[str, Any]:
        entry_id = next(self._ids)
        entry = {
            "created_at": datetime.now(tz=UTC).astimezone().strftime(CREATED_FORMAT),
            "id": entry_id, "idstr": str(entry_id), "mid": str(entry_id), "text": text,
            "source": source or '<a href="http://app.weibo.com/t/feed/5g0B8s" rel="nofollow">微博 weibo.com</a>',
            "user": self._user(user_id, screen_name),
            "status": {"id": entry_id - 7, "idstr": str(entry_id - 7), "text": "品牌新品发布", "user": self._user(self.uid, "brand")},
        }
        self.comments.append(entry)
        return entry

    def mention(self, user_id: str, text: str, *, screen_name: str = "") -> dict[str, Any]:
        entry_id = next(self._ids)
        entry = {
            "created_at": datetime.now(tz=UTC).astimezone().strftime(CREATED_FORMAT),
            "id": entry_id, "idstr": str(entry_id), "mid": str(entry_id), "text": text,
            "source": '<a href="http://weibo.com/" rel="nofollow">iPhone客户端</a>',
            "reposts_count": 0, "comments_count": 0, "attitudes_count": 0,
            "user": self._user(user_id, screen_name),
        }
        self.mentions.append(entry)
        return entry

    def reset_quota(self, quota: int | None = None) -> None:
        self.quota = quota

    def _user(self, user_id: str, screen_name: str) -> dict[str, Any]:
        return {"id": int(user_id), "idstr": str(user_id), "screen_name": screen_name or f"用户{user_id}",
                "name": screen_name or f"用户{user_id}", "profile_image_url": f"https://tva1.sinaimg.cn/crop/{user_id}.jpg"}

    def _timeline(self, call: Call, entries: list[dict[str, Any]], key: str) -> tuple[int, dict[str, Any]]:
        if call.query.get("access_token") != self.access_token:
            return 401, {"error": "invalid_access_token", "error_code": 21332, "request": call.path}
        if self.quota is not None:
            if self.quota <= 0:
                return 403, {"error": "User requests out of rate limit!", "error_code": 10023, "request": call.path}
            self.quota -= 1
        try:
            since_id = int(call.query.get("since_id") or 0)
            max_id = int(call.query.get("max_id") or 0)
            count = min(max(int(call.query.get("count") or 50), 1), 200)
            page = max(int(call.query.get("page") or 1), 1)
        except ValueError:
            return 400, {"error": "miss required parameter or parameter error", "error_code": 10008, "request": call.path}
        matching = sorted(
            (entry for entry in entries if entry["id"] > since_id and (not max_id or entry["id"] <= max_id)),
            key=lambda entry: entry["id"], reverse=True,
        )
        shown = matching[(page - 1) * count : page * count]
        next_cursor = shown[-1]["id"] - 1 if len(matching) > page * count else 0
        return 200, {key: shown, "previous_cursor": 0, "next_cursor": next_cursor, "total_number": len(matching)}

    def start(self) -> WeiboApiSandbox:
        self.server.start()
        return self

    def stop(self) -> None:
        self.server.stop()
