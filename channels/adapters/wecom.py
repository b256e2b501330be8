"""WeCom (企业微信) external-contact callbacks: always encrypted, verified like WeChat safe
mode but with only `msg_signature` (over token, timestamp, nonce and the ciphertext); the
GET verification's `echostr` is itself encrypted and answered decrypted. The receive id
inside the ciphertext is the corp id (where the Official Account has its appid).

Connector config: `corp_id`. Secrets: `token`, `encoding_aes_key`.
Events: change_external_contact with ChangeType add_external_contact (follow; service
consent granted), del_follow_user (the customer removed our staff member: unfollow,
service consent withdrawn), del_external_contact (staff removed the customer: unfollow),
edit_external_contact (no timeline entry).
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse

from channels import signatures
from channels.adapters.base import Accepted, Adapter, Rejected, from_unix, load_xml, text_of
from channels.events import Claim, ConsentChange, IdentityClaim, InboundEvent, ParseResult
from channels.models import Connector, RawEvent
from customers.models import Channel, Consent, IdentityKind, InteractionKind


class WeComAdapter(Adapter):
    kind = "wecom"
    content_types = ("text/xml", "application/xml")

    def handshake(self, connector: Connector, request: HttpRequest) -> HttpResponse:
        query = request.GET
        echostr = query.get("echostr", "")
        if not self._signed(connector, query, echostr):
            return HttpResponse("msg_signature mismatch", status=403, content_type="text/plain")
        try:
            plain = self._decrypt(connector, echostr)
        except Rejected as error:
            return HttpResponse(error.reason, status=error.status, content_type="text/plain")
        return HttpResponse(plain, content_type="text/plain")

    def accept(self, connector: Connector, request: HttpRequest) -> Accepted:
        self.require_content_type(request)
        root = load_xml(request.body)
        ciphertext = text_of(root, "Encrypt")
        if not self._signed(connector, request.GET, ciphertext):
            raise Rejected(403, "msg_signature mismatch")
        message = load_xml(self._decrypt(connector, ciphertext))
        external = text_of(message, "ExternalUserID")
        created = text_of(message, "CreateTime")
        if not created.isdigit():
            raise Rejected(400, "CreateTime is required")
        dedupe = f"{text_of(message, 'Event')}:{text_of(message, 'ChangeType')}:{external}:{text_of(message, 'UserID')}:{created}"
        return Accepted(dedupe_key=dedupe, response=HttpResponse("success", content_type="text/plain"))

    def parse(self, connector: Connector, raw: RawEvent) -> ParseResult:
        message = load_xml(self._decrypt(connector, text_of(load_xml(bytes(raw.body)), "Encrypt")))
        result = ParseResult()
        event, change = text_of(message, "Event"), text_of(message, "ChangeType")
        if event != "change_external_contact":
            result.unhandled.append(f"event:{event or text_of(message, 'MsgType')}")
            return result
        if change == "edit_external_contact":
            return result
        kinds = {
            "add_external_contact": (InteractionKind.FOLLOW, Consent.Status.GRANTED),
            "del_follow_user": (InteractionKind.UNFOLLOW, Consent.Status.WITHDRAWN),
            "del_external_contact": (InteractionKind.UNFOLLOW, None),
        }
        if change not in kinds:
            result.unhandled.append(f"change_external_contact:{change}")
            return result
        kind, consent = kinds[change]
        external, staff, created = text_of(message, "ExternalUserID"), text_of(message, "UserID"), text_of(message, "CreateTime")
        occurred = from_unix(int(created))
        identity = IdentityClaim(kind=IdentityKind.WECOM_EXTERNAL_USERID, value=external,
                                 scope=connector.config.get("corp_id", ""), verified=True, source="wecom")
        metadata: dict[str, Any] = {"staff": staff}
        if state := text_of(message, "State"):
            metadata["state"] = state  # the channel QR code it came through (attribution)
        result.events.append(InboundEvent(
            channel=Channel.WECOM, kind=kind, external_id=f"{change}:{external}:{staff}:{created}", occurred_at=occurred,
            claim=Claim(identities=(identity,), seen_at=occurred), metadata=metadata,
            consent=ConsentChange(status=consent, purposes=(Consent.Purpose.SERVICE,), source=f"wecom_{change}") if consent else None,
        ))
        return result

    def _signed(self, connector: Connector, query: Any, ciphertext: str) -> bool:
        token = connector.secret("token")
        timestamp, nonce, given = query.get("timestamp", ""), query.get("nonce", ""), query.get("msg_signature", "")
        if not (token and timestamp and nonce and given and ciphertext):
            return False
        return signatures.equal(signatures.sha1_sorted(token, timestamp, nonce, ciphertext), given)

    def _decrypt(self, connector: Connector, ciphertext: str) -> bytes:
        try:
            return signatures.wechat_decrypt(
                ciphertext, encoding_aes_key=connector.secret("encoding_aes_key"), appid=connector.config.get("corp_id", ""),
            )
        except signatures.DecryptError as error:
            raise Rejected(400, f"cannot decrypt: {error}") from None
