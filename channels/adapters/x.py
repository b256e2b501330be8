"""X Account Activity API: CRC, signed deliveries, tweets, DMs, likes and follows.

Connector config: `user_id` (the brand's account, `for_user_id`), `api_base`.
Secrets: `consumer_secret` (CRC and x-twitter-webhooks-signature), `bearer_token` (a user-context
token: the DM send API, `POST /2/dm_conversations/with/{participant_id}/messages`).
Dedupe by event id (tweet id, DM event id); a delivery is stored once by body hash.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse

from channels import signatures
from channels.adapters.base import Accepted, Adapter, Rejected, body_hash, from_unix, load_json
from channels.events import Claim, IdentityClaim, InboundEvent, ParseResult
from channels.models import Connector, RawEvent
from customers.models import Channel, IdentityKind, InteractionKind

KNOWN = {"for_user_id", "users", "user_has_blocked", "source"}


class XAdapter(Adapter):
    kind = "x"
    content_types = ("application/json",)

    def handshake(self, connector: Connector, request: HttpRequest) -> HttpResponse:
        token = request.GET.get("crc_token", "")
        secret = connector.secret("consumer_secret")
        if not token or not secret:
            return HttpResponse("crc_token required", status=400, content_type="text/plain")
        return JsonResponse({"response_token": signatures.x_signature(secret, token.encode())})

    def accept(self, connector: Connector, request: HttpRequest) -> Accepted:
        secret = connector.secret("consumer_secret")
        given = request.headers.get("X-Twitter-Webhooks-Signature", "")
        if not secret or not signatures.equal(signatures.x_signature(secret, request.body), given):
            raise Rejected(403, "x-twitter-webhooks-signature mismatch")
        self.require_content_type(request)
        payload = load_json(request.body)
        if not isinstance(payload, dict) or "for_user_id" not in payload:
            raise Rejected(400, "expected an object with for_user_id")
        account = str(connector.config.get("user_id", ""))
        if account and str(payload["for_user_id"]) != account:
            raise Rejected(400, "for_user_id is not this connector's account")
        return Accepted(dedupe_key=body_hash(request.body), response=HttpResponse(status=200))

    def parse(self, connector: Connector, raw: RawEvent) -> ParseResult:
        payload = load_json(bytes(raw.body))
        me = str(payload["for_user_id"])
        users = payload.get("users") or {}
        result = ParseResult()
        for tweet in payload.get("tweet_create_events", []):
            author = tweet.get("user") or {}
            if str(author.get("id_str", author.get("id", ""))) == me:
                continue  # our own tweet
            replying = str(tweet.get("in_reply_to_user_id_str") or "") == me
            result.events.append(self._event(
                InteractionKind.COMMENT if replying else InteractionKind.MENTION, f"tweet:{tweet['id_str']}",
                tweet.get("timestamp_ms"), author, text=tweet.get("text", ""),
                metadata={"in_reply_to": tweet.get("in_reply_to_status_id_str") or ""},
            ))
        for dm in payload.get("direct_message_events", []):
            if dm.get("type") != "message_create":
                result.unhandled.append(f"dm:{dm.get('type')}")
                continue
            create = dm["message_create"]
            sender = str(create.get("sender_id", ""))
            if sender == me:
                continue
            result.events.append(self._event(
                InteractionKind.MESSAGE_IN, f"dm:{dm['id']}", dm.get("created_timestamp"),
                users.get(sender) or {"id_str": sender}, text=create.get("message_data", {}).get("text", ""),
            ))
        for like in payload.get("favorite_events", []):
            result.events.append(self._event(
                InteractionKind.LIKE, f"like:{like['id']}", like.get("timestamp_ms"), like.get("user") or {},
                metadata={"tweet_id": str((like.get("favorited_status") or {}).get("id_str", ""))},
            ))
        for follow in payload.get("follow_events", []):
            source = follow.get("source") or {}
            if str(source.get("id", "")) == me:
                continue  # we followed someone
            kind = InteractionKind.FOLLOW if follow.get("type") == "follow" else InteractionKind.UNFOLLOW
            result.events.append(self._event(
                kind, f"{follow.get('type')}:{source.get('id')}:{follow.get('created_timestamp')}",
                follow.get("created_timestamp"), source,
            ))
        result.unhandled += sorted(key for key in payload if key not in KNOWN and key not in HANDLED)
        return result

    def send(self, connector: Connector, message: Any) -> Any:
        return send_dm(connector, message)

    def _event(self, kind: str, external_id: str, timestamp_ms: Any, user: dict[str, Any], **fields: Any) -> InboundEvent:
        occurred = from_unix(int(timestamp_ms or 0) / 1000)
        user_id = str(user.get("id_str") or user.get("id") or "")
        identity = IdentityClaim(kind=IdentityKind.X_USER_ID, value=user_id, verified=True, source="x")
        name = str(user.get("name") or user.get("screen_name") or "")
        metadata = fields.pop("metadata", {})
        if user.get("screen_name"):
            metadata["screen_name"] = user["screen_name"]
        return InboundEvent(
            channel=Channel.X, kind=kind, external_id=external_id, occurred_at=occurred,
            claim=Claim(identities=(identity,), display_name=name, seen_at=occurred), metadata=metadata, **fields,
        )


HANDLED = {"tweet_create_events", "direct_message_events", "favorite_events", "follow_events"}




# X answers rate limits with HTTP 429 (v1.1 error code 88); 5xx are X's own trouble.
TRANSIENT_CODES = {"88", "130", "131"}


def send_dm(connector: Connector, message: Any) -> Any:
    """A direct message to one user (the recipient is their numeric user id)."""
    from channels.adapters.http import SendResult, call_json

    if not str(message.recipient).isdigit():
        return SendResult(ok=False, code="invalid_recipient", error="an X recipient is a numeric user id")
    base = str(connector.config.get("api_base") or "https://api.x.com").rstrip("/")
    status, answer = call_json(
        f"{base}/2/dm_conversations/with/{message.recipient}/messages",
        payload={"text": str(message.payload.get("text", ""))},
        headers={"Authorization": f"Bearer {connector.secret('bearer_token')}"},
    )
    data = answer.get("data") or {}
    if status in (200, 201) and data.get("dm_event_id"):
        return SendResult(ok=True, platform_id=str(data["dm_event_id"]))
    errors = answer.get("errors") or [{}]
    first = errors[0] if isinstance(errors[0], dict) else {}
    code = str(first.get("code") or answer.get("status") or status)
    reason = str(first.get("message") or answer.get("detail") or answer.get("title") or "")
    return SendResult(ok=False, code=code, error=reason[:300],
                      transient=status == 429 or status >= 500 or code in TRANSIENT_CODES)
