"""Our own events and orders API (PROTOCOLS.md): JSON, one item or a batch of ≤ 1,000,
signed `X-SCRM-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>` with a
300 s replay window, idempotent by each item's `id`. The schema is channels/openapi.py.

Connector secrets: `signing_secret`. The API key (Authorization: Bearer …) is the
connector's webhook token, which names the connector.
"""

from __future__ import annotations

import time
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.dateparse import parse_datetime

from channels import signatures
from channels.adapters.base import Accepted, Adapter, Rejected, body_hash, from_unix, load_json
from channels.events import Claim, IdentityClaim, InboundEvent, OrderData, ParseResult
from channels.models import Connector, RawEvent
from customers.models import Channel, IdentityKind, InteractionKind, Order
from customers.normalize import normalize_email, normalize_phone

REPLAY_WINDOW_SECONDS = 300
MAX_ITEMS = 1000

EVENT_TYPES: dict[str, str] = {
    "page_view": InteractionKind.PAGE_VIEW,
    "click": InteractionKind.CLICK,
    "message": InteractionKind.MESSAGE_IN,
    "comment": InteractionKind.COMMENT,
    "share": InteractionKind.SHARE,
    "like": InteractionKind.LIKE,
    "follow": InteractionKind.FOLLOW,
    "unfollow": InteractionKind.UNFOLLOW,
    "referral": InteractionKind.REFERRAL,
    "poll_vote": InteractionKind.POLL_VOTE,
}
ORDER_TYPES = ("order", "refund")
CUSTOMER_KEYS = {
    "email": IdentityKind.EMAIL,
    "phone": IdentityKind.PHONE,
    "member_id": IdentityKind.MEMBER_ID,
    "device_id": IdentityKind.DEVICE_ID,
    "wechat_unionid": IdentityKind.WECHAT_UNIONID,
}


class WebApiAdapter(Adapter):
    content_types = ("application/json",)

    def __init__(self, kind: str) -> None:
        self.kind = kind

    def accept(self, connector: Connector, request: HttpRequest) -> Accepted:
        self._verify(connector, request.headers.get("X-SCRM-Signature", ""), request.body)
        self.require_content_type(request)
        payload = load_json(request.body)
        items = payload if isinstance(payload, list) else [payload]
        if not items or len(items) > MAX_ITEMS:
            raise Rejected(400, f"send between 1 and {MAX_ITEMS} items")
        errors = [{"index": n, "id": _item_id(item), "reason": reason}
                  for n, item in enumerate(items) if (reason := self._invalid(item))]
        if errors:
            raise Rejected(400, "invalid items") from ItemErrors(errors)
        return Accepted(dedupe_key=body_hash(request.body), response=JsonResponse({"accepted": len(items)}, status=202))

    def parse(self, connector: Connector, raw: RawEvent) -> ParseResult:
        payload = load_json(bytes(raw.body))
        result = ParseResult()
        for item in payload if isinstance(payload, list) else [payload]:
            item_type = item["type"]
            occurred = _when(item.get("occurred_at"))
            claim = Claim(identities=_identities(item["customer"]), display_name=str(item["customer"].get("name", ""))[:200], seen_at=occurred)
            channel = item.get("channel") if item.get("channel") in Channel.values else Channel.WEB
            if self.kind == "orders":
                if item_type not in ORDER_TYPES:
                    result.unhandled.append(item_type)
                    continue
                result.events.append(_order_event(item, claim, channel, occurred))
            elif item_type in EVENT_TYPES:
                result.events.append(InboundEvent(
                    channel=channel, kind=EVENT_TYPES[item_type], external_id=f"api:{item['id']}",
                    occurred_at=occurred, claim=claim, text=str(item.get("text", "")),
                    metadata={"properties": item.get("properties") or {}, "url": str(item.get("url", ""))},
                ))
            else:
                result.unhandled.append(item_type)
        return result

    def _verify(self, connector: Connector, header: str, body: bytes) -> None:
        secret = connector.secret("signing_secret")
        parsed = signatures.parse_scrm_signature(header)
        if not secret or parsed is None:
            raise Rejected(403, "X-SCRM-Signature missing or malformed")
        timestamp, macs = parsed
        if abs(time.time() - timestamp) > REPLAY_WINDOW_SECONDS:
            raise Rejected(403, "X-SCRM-Signature timestamp outside the 300 s window")
        expected = signatures.scrm_signature(secret, timestamp, body).split("v1=")[1]
        if not any(signatures.equal(expected, mac) for mac in macs):
            raise Rejected(403, "X-SCRM-Signature mismatch")

    def _invalid(self, item: Any) -> str:
        if not isinstance(item, dict):
            return "each item must be an object"
        if not isinstance(item.get("id"), str) or not 0 < len(item["id"]) <= 150:
            return "id: a string of 1 to 150 characters is required"
        if not isinstance(item.get("type"), str) or not item["type"]:
            return "type is required"
        customer = item.get("customer")
        if not isinstance(customer, dict) or not _identities(customer):
            return "customer: at least one of " + ", ".join(sorted(CUSTOMER_KEYS)) + " is required"
        if "occurred_at" in item and _when(item["occurred_at"], strict=True) is None:
            return "occurred_at: ISO 8601 with a time zone, or unix seconds"
        if self.kind == "orders" and item["type"] == "order":
            try:
                amount = Decimal(str(item.get("amount")))
            except InvalidOperation:
                return "amount: a decimal number is required"
            if not amount.is_finite() or amount < 0 or amount >= Decimal("1e12"):
                return "amount: out of range"
        if self.kind == "orders" and item["type"] == "refund" and not isinstance(item.get("order_id"), str):
            return "order_id: the refunded order's id is required"
        return ""


class ItemErrors(Exception):  # noqa: N818
    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__("invalid items")
        self.errors = errors


def _item_id(item: Any) -> Any:
    return item.get("id") if isinstance(item, dict) else None


def _identities(customer: dict[str, Any]) -> tuple[IdentityClaim, ...]:
    found = []
    for key, kind in CUSTOMER_KEYS.items():
        value = customer.get(key)
        if not isinstance(value, str) or not value.strip() or len(value) > 200:
            continue
        if key == "email":
            value = normalize_email(value) or ""
        elif key == "phone":
            value = normalize_phone(value) or ""
        if value:
            found.append(IdentityClaim(kind=kind, value=value, source="api"))
    return tuple(found)


def _when(value: Any, *, strict: bool = False) -> datetime | None:
    if isinstance(value, int | float) and not isinstance(value, bool) and 0 < value < 10**10:
        return from_unix(value)
    if isinstance(value, str):
        parsed = parse_datetime(value)
        if parsed is not None and parsed.tzinfo is not None:
            return parsed
    return None if strict else from_unix(time.time())


def _order_event(item: dict[str, Any], claim: Claim, channel: str, occurred: datetime) -> InboundEvent:
    if item["type"] == "refund":
        order = OrderData(external_id=item["order_id"], status=Order.Status.REFUNDED)
        # A refund changes the order; it is not something the customer did on a channel.
        return InboundEvent(
            channel=channel, kind="", external_id=f"refund:{item['id']}",
            occurred_at=occurred, claim=claim, order=order, metadata={"refund_of": item["order_id"]},
        )
    amount = Decimal(str(item["amount"])).quantize(Decimal("0.01"))
    order = OrderData(
        external_id=item["id"], status=Order.Status.PAID, amount=amount,
        currency=str(item.get("currency", "CNY"))[:3].upper(),
        items=item.get("items") if isinstance(item.get("items"), list) else [],
        store=str(item.get("store", ""))[:100],
    )
    return InboundEvent(
        channel=channel, kind=InteractionKind.PURCHASE, external_id=f"order:{item['id']}", occurred_at=occurred,
        claim=claim, order=order, metadata={"amount": str(amount), "currency": order.currency},
    )


def item_errors_response(error: Rejected) -> HttpResponse:
    details = error.__cause__.errors if isinstance(error.__cause__, ItemErrors) else []
    return JsonResponse({"error": error.reason, "items": details}, status=error.status)
