"""The interface every platform adapter implements, and the checks they share.

- `handshake(connector, request)`: the platform's GET verification (echostr, hub.challenge, CRC).
- `accept(connector, request)`: verify the signature and the syntax of a delivery, before
  anything is stored; returns what to store and what to answer, or raises Rejected.
- `parse(connector, raw)`: a stored delivery → platform-neutral events (channels.events).
- `send(connector, message)`: outbound (see channels.outbox), where the platform allows it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from defusedxml import ElementTree as SafeET
from defusedxml.common import DefusedXmlException
from django.http import HttpRequest, HttpResponse

from channels.events import ParseResult
from channels.models import Connector, RawEvent

# Headers worth keeping with a raw event: never cookies or Authorization.
KEPT_HEADERS = (
    "Content-Type", "User-Agent", "X-Hub-Signature-256", "X-Twitter-Webhooks-Signature",
    "X-SCRM-Signature",
)


class Rejected(Exception):  # noqa: N818 - reads as "raise Rejected(403, ...)"
    """A delivery refused before anything is stored: status and a reason for the sender."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status, self.reason = status, reason


@dataclass
class Accepted:
    dedupe_key: str
    response: HttpResponse
    query: dict[str, str] = field(default_factory=dict)


class Adapter:
    """One platform's protocol. Every registered adapter implements `accept` and `parse`;
    `send` only where the platform has a send API (polled and inbound-only connectors such
    as the events/orders API don't), and the outbox records "no_adapter" for the others."""

    kind: str = ""
    content_types: tuple[str, ...] = ()

    def handshake(self, connector: Connector, request: HttpRequest) -> HttpResponse:
        return HttpResponse("no verification handshake for this connector", status=405, content_type="text/plain")

    def accept(self, connector: Connector, request: HttpRequest) -> Accepted:
        raise NotImplementedError

    def parse(self, connector: Connector, raw: RawEvent) -> ParseResult:
        raise NotImplementedError

    def send(self, connector: Connector, message: Any) -> dict[str, Any]:
        raise NotImplementedError(f"{self.kind} has no send API here")

    # --- shared checks ---------------------------------------------------------------

    def require_content_type(self, request: HttpRequest) -> None:
        content_type = request.content_type or ""
        if content_type not in self.content_types:
            raise Rejected(415, f"content type must be one of {', '.join(self.content_types)}")


def body_hash(body: bytes) -> str:
    return "sha256:" + hashlib.sha256(body).hexdigest()


def decode_utf8(body: bytes) -> str:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as error:
        raise Rejected(400, f"body is not valid UTF-8 (byte {error.start})") from None


def load_json(body: bytes) -> Any:
    text = decode_utf8(body)
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise Rejected(400, f"malformed JSON: {error.msg} at line {error.lineno}") from None


def load_xml(body: bytes) -> Any:
    """An ElementTree element; DTDs (so XXE and entity bombs) are refused outright."""
    decode_utf8(body)
    try:
        return SafeET.fromstring(body, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as error:
        raise Rejected(400, f"XML refused: {type(error).__name__}") from None
    except SafeET.ParseError as error:
        raise Rejected(400, f"malformed XML: {error}") from None


def from_unix(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, tz=UTC)


def text_of(element: Any, name: str) -> str:
    child = element.find(name)
    return (child.text or "") if child is not None else ""
