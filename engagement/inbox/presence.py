"""Who is typing a reply in a conversation, kept a few seconds in the (brand-scoped) cache.

Advisory only: it warns a colleague; the version check in services.send_reply is what
actually prevents a double answer.
"""

from __future__ import annotations

import time

from django.core.cache import cache

TYPING_SECONDS = 6


def _key(conversation_id: int) -> str:
    return f"inbox:typing:{conversation_id}"


def record_typing(*, conversation_id: int, username: str) -> None:
    now = time.time()
    typing = {name: at for name, at in (cache.get(_key(conversation_id)) or {}).items() if now - at < TYPING_SECONDS}
    typing[username] = now
    cache.set(_key(conversation_id), typing, timeout=TYPING_SECONDS * 2)


def others_typing(*, conversation_id: int, username: str) -> list[str]:
    now = time.time()
    typing = cache.get(_key(conversation_id)) or {}
    return sorted(name for name, at in typing.items() if name != username and now - at < TYPING_SECONDS)
