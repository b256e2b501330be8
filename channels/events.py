"""What an adapter makes of a raw delivery: platform-neutral inbound events.

The identity claim types mirror `customers.resolution` (Claim / IdentityClaim), so the
pipeline hands them to identity resolution unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from channels.identities import Claim, IdentityClaim

__all__ = ["Claim", "ConsentChange", "IdentityClaim", "InboundEvent", "OrderData", "ParseResult"]


@dataclass(frozen=True)
class ConsentChange:
    status: str  # Consent.Status
    purposes: tuple[str, ...]
    source: str


@dataclass(frozen=True)
class OrderData:
    external_id: str
    status: str  # Order.Status
    amount: Decimal | None = None
    currency: str = "CNY"
    items: list[dict[str, Any]] = field(default_factory=list)
    store: str = ""


@dataclass
class InboundEvent:
    channel: str
    kind: str  # customers.models.InteractionKind
    external_id: str
    occurred_at: datetime
    claim: Claim
    text: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)
    consent: ConsentChange | None = None
    order: OrderData | None = None
    # Filled by enrichment.
    language: str = ""
    sentiment: float | None = None


@dataclass
class ParseResult:
    events: list[InboundEvent] = field(default_factory=list)
    # Event types the adapter does not know: the raw event is kept and listed as unhandled.
    unhandled: list[str] = field(default_factory=list)
