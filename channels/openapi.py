"""The OpenAPI 3.1 description of our events and orders API (served at /api/v1/openapi.json)."""

from __future__ import annotations

from typing import Any

from channels.adapters.web_api import CUSTOMER_KEYS, EVENT_TYPES, MAX_ITEMS, REPLAY_WINDOW_SECONDS

SIGNATURE_DOC = (
    "Every request is signed: `X-SCRM-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(signing secret, "
    f"\"<t>.<raw body>\")>`. Requests more than {REPLAY_WINDOW_SECONDS} s off are refused (replay window)."
)


def _item(kind: str) -> dict[str, Any]:
    customer = {
        "type": "object",
        "description": "At least one identity. Email and phone are normalized.",
        "properties": {key: {"type": "string", "maxLength": 200} for key in CUSTOMER_KEYS} | {"name": {"type": "string"}},
    }
    common = {
        "id": {"type": "string", "maxLength": 150, "description": "Your id for the item; the API is idempotent by it."},
        "occurred_at": {"description": "ISO 8601 with a time zone, or unix seconds.", "type": ["string", "number"]},
        "customer": customer,
        "channel": {"type": "string", "default": "web"},
    }
    if kind == "event":
        props = common | {
            "type": {"type": "string", "enum": sorted(EVENT_TYPES), "description": "Unknown types are stored and listed as unhandled."},
            "text": {"type": "string"}, "url": {"type": "string"}, "properties": {"type": "object"},
        }
    else:
        props = common | {
            "type": {"type": "string", "enum": ["order", "refund"]},
            "amount": {"type": "string", "description": "Decimal, required for orders."},
            "currency": {"type": "string", "default": "CNY"},
            "items": {"type": "array", "items": {"type": "object"}},
            "store": {"type": "string"},
            "order_id": {"type": "string", "description": "For refunds: the refunded order's id."},
        }
    return {"type": "object", "required": ["id", "type", "customer"], "properties": props}


def _operation(kind: str, summary: str) -> dict[str, Any]:
    schema = {"$ref": f"#/components/schemas/{kind.title()}"}
    return {
        "summary": summary,
        "description": SIGNATURE_DOC,
        "security": [{"apiKey": []}],
        "parameters": [{"name": "X-SCRM-Signature", "in": "header", "required": True, "schema": {"type": "string"}}],
        "requestBody": {"required": True, "content": {"application/json": {"schema": {
            "oneOf": [schema, {"type": "array", "items": schema, "minItems": 1, "maxItems": MAX_ITEMS}]}}}},
        "responses": {
            "202": {"description": "Stored; processed shortly.", "content": {"application/json": {"schema": {
                "type": "object", "properties": {"accepted": {"type": "integer"}}}}}},
            "400": {"description": "Malformed body or invalid items (nothing stored).", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
            "401": {"description": "Unknown or disabled API key."},
            "403": {"description": "Signature missing, wrong or outside the replay window."},
            "413": {"description": "Body too large."},
            "415": {"description": "Content type is not application/json."},
            "429": {"description": "Rate limited; retry after the Retry-After header."},
        },
    }


def openapi_document(*, server: str) -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {"title": "SCRM events and orders API", "version": "1.0.0", "description": SIGNATURE_DOC},
        "servers": [{"url": server.rstrip("/")}],
        "paths": {
            "/api/v1/events": {"post": _operation("event", "Record website or app events")},
            "/api/v1/orders": {"post": _operation("order", "Record orders and refunds")},
        },
        "components": {
            "securitySchemes": {"apiKey": {"type": "http", "scheme": "bearer", "description": "The connector's API key."}},
            "schemas": {
                "Event": _item("event"),
                "Order": _item("order"),
                "Error": {"type": "object", "properties": {
                    "error": {"type": "string"},
                    "items": {"type": "array", "items": {"type": "object", "properties": {
                        "index": {"type": "integer"}, "id": {}, "reason": {"type": "string"}}}},
                }},
            },
        },
    }
