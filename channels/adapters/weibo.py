"""Weibo fan-service (粉丝服务) push: URL verified with signature = sha1 of the sorted
app secret, timestamp and nonce (the app secret stands where WeChat has its token),
answering echostr; every push is signed the same way in its query. Messages are JSON:
`type` (text, event, position, image, voice), `receiver_id`, `sender_id`, `created_at`
(e.g. "Mon Nov 23 12:00:00 +0800 2026"), `text`, `data`. Pushes carry no message id, so a
push is deduped by sender, time and type (the platform retries 3 times within 5 s).

Connector config: `uid` (the brand account, receiver_id). Secrets: `app_secret`.
Comments and mentions are polled: channels.adapters.weibo_poll (rows with query `poll`).
"""

from __future__ import annotations

import hashlib
from datetime import datetime

from django.http import HttpRequest, HttpResponse

from channels import signatures
from channels.adapters import weibo_poll
from channels.adapters.base import Accepted, Adapter, Rejected, load_json
from channels.events import Claim, IdentityClaim, InboundEvent, ParseResult
from channels.models import Connector, RawEvent
from customers.models import Channel, IdentityKind, InteractionKind


class WeiboAdapter(Adapter):
    kind = "weibo"
    content_types = ("application/json", "text/plain")

    def handshake(self, connector: Connector, request: HttpRequest) -> HttpResponse:
        if not self._signed(connector, request.GET):
            return HttpResponse("signature mismatch", status=403, content_type="text/plain")
        return HttpResponse(request.GET.get("echostr", ""), content_type="text/plain")

    def accept(self, connector: Connector, request: HttpRequest) -> Accepted:
        if not self._signed(connector, request.GET):
            raise Rejected(403, "signature mismatch")
        self.require_content_type(request)
        push = load_json(request.body)
        if not isinstance(push, dict) or not push.get("sender_id") or not push.get("type"):
            raise Rejected(400, "expected an object with type and sender_id")
        uid = str(connector.config.get("uid", ""))
        if uid and str(push.get("receiver_id")) != uid:
            raise Rejected(400, "receiver_id is not this connector's account")
        if _created(push) is None:
            raise Rejected(400, "created_at is not in Weibo's format")
        digest = hashlib.sha256(str(push.get("text", "")).encode()).hexdigest()[:16]
        return Accepted(dedupe_key=f"{push['sender_id']}:{push['created_at']}:{push['type']}:{digest}",
                        response=HttpResponse("", content_type="text/plain"))

    def parse(self, connector: Connector, raw: RawEvent) -> ParseResult:
        if raw.query.get("poll"):
            return weibo_poll.parse_polled(connector, raw)
        push = load_json(bytes(raw.body))
        occurred = _created(push)
        sender = str(push["sender_id"])
        claim = Claim(identities=(IdentityClaim(kind=IdentityKind.WEIBO_UID, value=sender, verified=True, source="weibo"),),
                      seen_at=occurred)
        result = ParseResult()
        external = f"push:{raw.dedupe_key}"
        data = push.get("data") if isinstance(push.get("data"), dict) else {}
        if push["type"] in ("text", "image", "voice", "position"):
            result.events.append(InboundEvent(
                channel=Channel.WEIBO, kind=InteractionKind.MESSAGE_IN, external_id=external, occurred_at=occurred,
                claim=claim, text=str(push.get("text", "")), metadata={"type": push["type"]},
            ))
        elif push["type"] == "event" and data.get("subtype") in ("follow", "unfollow"):
            kind = InteractionKind.FOLLOW if data["subtype"] == "follow" else InteractionKind.UNFOLLOW
            result.events.append(InboundEvent(channel=Channel.WEIBO, kind=kind, external_id=external,
                                              occurred_at=occurred, claim=claim, metadata={"key": str(data.get("key", ""))}))
        else:
            result.unhandled.append(f"{push['type']}:{data.get('subtype', '')}")
        return result

    def _signed(self, connector: Connector, query: object) -> bool:
        secret = connector.secret("app_secret")
        timestamp, nonce, given = query.get("timestamp", ""), query.get("nonce", ""), query.get("signature", "")  # type: ignore[attr-defined]
        if not (secret and timestamp and nonce and given):
            return False
        return signatures.equal(signatures.sha1_sorted(secret, timestamp, nonce), given)


def _created(push: dict) -> datetime | None:
    try:
        return datetime.strptime(str(push.get("created_at", "")), "%a %b %d %H:%M:%S %z %Y")
    except ValueError:
        return None
