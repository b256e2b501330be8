"""What an adapter's `poll(connector)` returns (see channels.polling, which stores it)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class PolledItem:
    """One fetched item, stored as one RawEvent. `query` tells the adapter's parse what it
    is (polled rows carry RawEvent.query {"poll": <timeline or mailbox>})."""

    dedupe_key: str
    body: bytes
    query: dict[str, str] = field(default_factory=dict)


@dataclass
class PollBatch:
    items: list[PolledItem]
    cursor: dict[str, Any]
    # The platform holds more than one poll fetches: poll again at once.
    more: bool = False


class PollError(Exception):
    """The platform refused the poll: its error code, and for rate limits how long to wait."""

    def __init__(self, code: str, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code, self.message, self.retry_after = code, message, retry_after
