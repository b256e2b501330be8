"""Meta webhooks: Facebook Page + Messenger and Instagram (one adapter, two connector kinds).

Connector config: `page_id` (or the Instagram account id), `graph_base`, `graph_version`.
Secrets: `app_secret` (signs every delivery: X-Hub-Signature-256 over the raw body — not
the verify token, which Meta's own sample wrongly uses), `page_token`.
A delivery batches several entries and messages; it is stored once (keyed by its body
hash) and each message is deduped by `mid`, each comment by its id.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse

from channels import signatures
from channels.adapters.base import Accepted, Adapter, Rejected, body_hash, from_unix, load_json
from channels.events import Claim, IdentityClaim, InboundEvent, ParseResult
from channels.models import Connector, RawEvent
from customers.models import Channel, IdentityKind, InteractionKind

OBJECT_FOR_KIND = {"facebook": "page", "instagram": "instagram"}


class MetaAdapter(Adapter):
    content_types = ("application/json",)

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.channel = Channel.FACEBOOK if kind == "facebook" else Channel.INSTAGRAM
        self.identity_kind = IdentityKind.FACEBOOK_PSID if kind == "facebook" else IdentityKind.INSTAGRAM_ID

    def handshake(self, connector: Connector, request: HttpRequest) -> HttpResponse:
        query = request.GET
        if query.get("hub.mode") != "subscribe" or not signatures.equal(
            query.get("hub.verify_token", ""), connector.verify_token
        ):
            return HttpResponse("verify token mismatch", status=403, content_type="text/plain")
        return HttpResponse(query.get("hub.challenge", ""), content_type="text/plain")

    def accept(self, connector: Connector, request: HttpRequest) -> Accepted:
        app_secret = connector.secret("app_secret")
        given = request.headers.get("X-Hub-Signature-256", "")
        if not app_secret or not signatures.equal(signatures.meta_signature(app_secret, request.body), given):
            raise Rejected(403, "X-Hub-Signature-256 mismatch")
        self.require_content_type(request)
        payload = load_json(request.body)
        if not isinstance(payload, dict) or not isinstance(payload.get("entry"), list):
            raise Rejected(400, "expected an object with an entry list")
        if payload.get("object") != OBJECT_FOR_KIND[self.kind]:
            raise Rejected(400, f"object must be {OBJECT_FOR_KIND[self.kind]!r} for this connector")
        page_id = str(connector.config.get("page_id", ""))
        if page_id and any(str(entry.get("id")) != page_id for entry in payload["entry"] if isinstance(entry, dict)):
            raise Rejected(400, "entry id is not this connector's page")
        return Accepted(dedupe_key=body_hash(request.body), response=HttpResponse("EVENT_RECEIVED", content_type="text/plain"))

    def parse(self, connector: Connector, raw: RawEvent) -> ParseResult:
        payload = load_json(bytes(raw.body))
        page_id = str(connector.config.get("page_id", ""))
        result = ParseResult()
        for entry in payload["entry"]:
            scope = page_id or str(entry.get("id", ""))
            for messaging in entry.get("messaging", []):
                self._messaging(messaging, scope, result)
            for change in entry.get("changes", []):
                self._change(change, scope, entry, result)
        return result

    def send(self, connector: Connector, message: Any) -> Any:
        return send_message(connector, message)

    def _claim(self, user_id: str, scope: str, name: str = "", seen_at: Any = None) -> Claim:
        identity = IdentityClaim(kind=self.identity_kind, value=user_id, scope=scope, verified=True, source=self.kind)
        return Claim(identities=(identity,), display_name=name, seen_at=seen_at)

    def _messaging(self, messaging: dict[str, Any], scope: str, result: ParseResult) -> None:
        sender = str(messaging.get("sender", {}).get("id", ""))
        occurred = from_unix(int(messaging.get("timestamp", 0)) / 1000)
        if "message" in messaging:
            message = messaging["message"]
            if message.get("is_echo") or sender == scope:
                return  # our own page's message echoed back: the outbox recorded it
            # Image, video, audio and file attachments carry the CDN URL in payload.url.
            attachments = [
                {"type": str(a.get("type", "")), "url": str((a.get("payload") or {}).get("url", ""))
                 if isinstance(a.get("payload"), dict) else ""}
                for a in message.get("attachments", []) if isinstance(a, dict)
            ]
            result.events.append(InboundEvent(
                channel=self.channel, kind=InteractionKind.MESSAGE_IN, external_id=f"mid:{message['mid']}",
                occurred_at=occurred, claim=self._claim(sender, scope, seen_at=occurred),
                text=str(message.get("text", "")), metadata={"attachments": attachments} if attachments else {},
            ))
        elif "postback" in messaging:
            postback = messaging["postback"]
            result.events.append(InboundEvent(
                channel=self.channel, kind=InteractionKind.CLICK,
                external_id=f"postback:{postback.get('mid') or sender + ':' + str(messaging.get('timestamp'))}",
                occurred_at=occurred, claim=self._claim(sender, scope, seen_at=occurred),
                text=str(postback.get("title", "")), metadata={"payload": str(postback.get("payload", ""))},
            ))
        else:
            kinds = sorted(set(messaging) - {"sender", "recipient", "timestamp"})
            result.unhandled.append("messaging:" + ",".join(kinds))

    def _change(self, change: dict[str, Any], scope: str, entry: dict[str, Any], result: ParseResult) -> None:
        field_name, value = change.get("field"), change.get("value") or {}
        kind = {"feed": InteractionKind.COMMENT, "comments": InteractionKind.COMMENT, "mentions": InteractionKind.MENTION}.get(field_name)
        comment_id = value.get("comment_id") or value.get("id")
        author = value.get("from") or {}
        if kind is None or not comment_id or not author.get("id") or value.get("verb", "add") != "add":
            result.unhandled.append(f"change:{field_name}:{value.get('item', value.get('verb', ''))}")
            return
        created = value.get("created_time") or entry.get("time", 0)
        occurred = from_unix(created if created < 10**11 else created / 1000)
        result.events.append(InboundEvent(
            channel=self.channel, kind=kind, external_id=f"comment:{comment_id}", occurred_at=occurred,
            claim=self._claim(str(author["id"]), scope, str(author.get("name", author.get("username", ""))), occurred),
            text=str(value.get("message", value.get("text", ""))),
            metadata={"post_id": str(value.get("post_id", value.get("media", {}).get("id", "")))},
        ))


# Error codes worth retrying later: rate limits (4, 613, 80006) and temporary errors (1, 2).
TRANSIENT_CODES = {"1", "2", "4", "613", "80006"}


def send_message(connector: Connector, message: Any) -> Any:
    from channels.adapters.http import SendResult, call_json

    base = connector.config.get("graph_base", "https://graph.facebook.com").rstrip("/")
    version = connector.config.get("graph_version", "v19.0")
    body: dict[str, Any] = {"recipient": {"id": message.recipient}, "messaging_type": "RESPONSE"}
    if message.payload.get("tag"):
        body |= {"messaging_type": "MESSAGE_TAG", "tag": message.payload["tag"]}
    if message.kind == "image":
        body["message"] = {"attachment": {"type": "image", "payload": {"url": message.payload.get("url", "")}}}
    else:
        body["message"] = {"text": message.payload.get("text", "")}
    status, answer = call_json(f"{base}/{version}/me/messages?access_token={connector.secret('page_token')}", payload=body)
    if status == 200 and "message_id" in answer:
        return SendResult(ok=True, platform_id=str(answer["message_id"]))
    error = answer.get("error") or {}
    code = str(error.get("code", status))
    if error.get("error_subcode"):
        code += f"/{error['error_subcode']}"
    return SendResult(ok=False, code=code, error=str(error.get("message", "")),
                      transient=code.split("/")[0] in TRANSIENT_CODES or status >= 500)
