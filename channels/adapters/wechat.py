"""WeChat Official Account (公众号): server verification, plaintext and AES safe-mode
messages, text / image / subscribe / unsubscribe, customer-service and template sends
(images: the stored file goes up as temporary media first, POST /cgi-bin/media/upload
?type=image, multipart field `media`, ≤ 2 MB PNG/JPEG/GIF, answering a media_id valid
for three days; the image message names that media_id).

Connector config: `appid`, `original_id` (ToUserName, gh_…), `api_base` (sandbox or
https://api.weixin.qq.com). Secrets: `token`, `encoding_aes_key`, `app_secret`.
Dedupe as the platform advises: MsgId for messages, FromUserName + CreateTime for events.
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse

from channels import signatures
from channels.adapters.base import (
    Accepted,
    Adapter,
    Rejected,
    from_unix,
    load_xml,
    text_of,
)
from channels.events import Claim, ConsentChange, IdentityClaim, InboundEvent, ParseResult
from channels.models import Connector, RawEvent
from customers.models import Channel, Consent, IdentityKind, InteractionKind

MESSAGE_KINDS = {"text", "image", "voice", "video", "shortvideo", "location", "link"}


class WeChatAdapter(Adapter):
    kind = "wechat_oa"
    content_types = ("text/xml", "application/xml")

    def handshake(self, connector: Connector, request: HttpRequest) -> HttpResponse:
        query = request.GET
        if not self._signed(connector, query.get("signature", ""), query.get("timestamp", ""), query.get("nonce", "")):
            return HttpResponse("signature mismatch", status=403, content_type="text/plain")
        return HttpResponse(query.get("echostr", ""), content_type="text/plain")

    def accept(self, connector: Connector, request: HttpRequest) -> Accepted:
        query = request.GET
        timestamp, nonce = query.get("timestamp", ""), query.get("nonce", "")
        if not self._signed(connector, query.get("signature", ""), timestamp, nonce):
            raise Rejected(403, "signature mismatch")
        self.require_content_type(request)
        message = self._message(connector, request.body, query=query)
        original_id = connector.config.get("original_id")
        if original_id and text_of(message, "ToUserName") != original_id:
            raise Rejected(400, "ToUserName is not this connector's account")
        msg_id = text_of(message, "MsgId")
        sender, created = text_of(message, "FromUserName"), text_of(message, "CreateTime")
        if not sender or not created.isdigit():
            raise Rejected(400, "FromUserName and CreateTime are required")
        dedupe = f"msg:{msg_id}" if msg_id else f"evt:{sender}:{created}"
        kept_query = {k: query[k] for k in ("openid", "encrypt_type") if k in query}
        return Accepted(dedupe_key=dedupe, response=HttpResponse("success", content_type="text/plain"), query=kept_query)

    def parse(self, connector: Connector, raw: RawEvent) -> ParseResult:
        message = self._message(connector, bytes(raw.body), query=raw.query, verify=False)
        appid = connector.config.get("appid", "")
        openid = text_of(message, "FromUserName")
        msg_type = text_of(message, "MsgType")
        occurred = from_unix(int(text_of(message, "CreateTime")))
        claim = Claim(
            identities=(IdentityClaim(kind=IdentityKind.WECHAT_OPENID, value=openid, scope=appid, verified=True, source="wechat"),),
            seen_at=occurred,
        )
        base = {"channel": Channel.WECHAT, "occurred_at": occurred, "claim": claim}
        result = ParseResult()
        if msg_type in MESSAGE_KINDS:
            metadata = {"msg_type": msg_type}
            for field_name in ("PicUrl", "MediaId", "Url", "Title", "Label"):
                if value := text_of(message, field_name):
                    metadata[field_name.lower()] = value
            result.events.append(InboundEvent(
                kind=InteractionKind.MESSAGE_IN, external_id=f"msg:{text_of(message, 'MsgId')}",
                text=text_of(message, "Content"), metadata=metadata, **base,
            ))
        elif msg_type == "event":
            event = text_of(message, "Event")
            external_id = f"evt:{openid}:{text_of(message, 'CreateTime')}:{event}"
            purposes = (Consent.Purpose.MARKETING, Consent.Purpose.SERVICE)
            if event == "subscribe":
                scene = text_of(message, "EventKey")
                result.events.append(InboundEvent(
                    kind=InteractionKind.FOLLOW, external_id=external_id,
                    metadata={"scene": scene.removeprefix("qrscene_")} if scene else {},
                    consent=ConsentChange(status=Consent.Status.GRANTED, purposes=purposes, source="wechat_subscribe"),
                    **base,
                ))
            elif event == "unsubscribe":
                result.events.append(InboundEvent(
                    kind=InteractionKind.UNFOLLOW, external_id=external_id,
                    consent=ConsentChange(status=Consent.Status.WITHDRAWN, purposes=purposes, source="wechat_unsubscribe"),
                    **base,
                ))
            elif event == "TEMPLATESENDJOBFINISH" and text_of(message, "Status") == "success":
                # A template message reached the customer: a receipt for the send whose
                # msgid the template API answered (engagement.campaigns.delivery.record_receipts).
                result.events.append(InboundEvent(
                    kind=InteractionKind.CAMPAIGN_DELIVERED, external_id=f"tpl:{text_of(message, 'MsgID')}",
                    metadata={"platform_message_id": text_of(message, "MsgID")}, **base,
                ))
            elif event == "TEMPLATESENDJOBFINISH":  # failed:user block, failed: system failed
                result.unhandled.append(f"event:TEMPLATESENDJOBFINISH:{text_of(message, 'Status')[:40]}")
            elif event in ("CLICK", "VIEW"):
                result.events.append(InboundEvent(
                    kind=InteractionKind.CLICK, external_id=external_id,
                    metadata={"event": event, "key": text_of(message, "EventKey")}, **base,
                ))
            else:
                result.unhandled.append(f"event:{event or '?'}")
        else:
            result.unhandled.append(msg_type or "?")
        return result

    def send(self, connector: Connector, message: Any) -> Any:
        return send_custom_message(connector, message)

    # --- helpers -----------------------------------------------------------------------

    def _signed(self, connector: Connector, signature: str, timestamp: str, nonce: str) -> bool:
        token = connector.secret("token")
        if not (token and signature and timestamp and nonce):
            return False
        return signatures.equal(signatures.sha1_sorted(token, timestamp, nonce), signature)

    def _message(self, connector: Connector, body: bytes, *, query: Any, verify: bool = True) -> Any:
        """The message element, decrypted in safe mode (msg_signature checked first)."""
        root = load_xml(body)
        encrypted = root.find("Encrypt")
        if encrypted is None:
            if query.get("encrypt_type") == "aes":
                raise Rejected(400, "safe mode delivery without Encrypt")
            return root
        ciphertext = encrypted.text or ""
        if verify:
            expected = signatures.sha1_sorted(
                connector.secret("token"), query.get("timestamp", ""), query.get("nonce", ""), ciphertext,
            )
            if not signatures.equal(expected, query.get("msg_signature", "")):
                raise Rejected(403, "msg_signature mismatch")
        try:
            inner = signatures.wechat_decrypt(
                ciphertext, encoding_aes_key=connector.secret("encoding_aes_key"),
                appid=connector.config.get("appid", ""),
            )
        except signatures.DecryptError as error:
            raise Rejected(400, f"cannot decrypt: {error}") from None
        return load_xml(inner)


def reply_xml(*, to_user: str, from_user: str, created: int, content: str) -> str:
    """A passive text reply. `]]>` in the text is split across CDATA sections, so reply
    text can never close the section and rewrite the XML."""

    def cdata(value: str) -> str:
        return "<![CDATA[" + value.replace("]]>", "]]]]><![CDATA[>") + "]]>"

    return (
        f"<xml><ToUserName>{cdata(to_user)}</ToUserName><FromUserName>{cdata(from_user)}</FromUserName>"
        f"<CreateTime>{created}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        f"<Content>{cdata(content)}</Content></xml>"
    )



# --- customer-service sends ----------------------------------------------------------------

# errcode → retry later?  Anything else is final.
TRANSIENT_ERRORS = {"45009", "-1"}
TOKEN_ERRORS = {"40001", "42001", "40014"}


# The shared cache's token, remembered in this process for a minute: a send then costs no
# cache round trip. A token refused by the platform (TOKEN_ERRORS) is fetched afresh.
_MEMO_SECONDS = 60.0
_memo: dict[tuple[str, int, str], tuple[str, float]] = {}


def _access_token(connector: Connector, *, refresh: bool = False) -> str:
    """Cached per connector (tenant-scoped cache) and refreshed five minutes early."""
    from django.core.cache import cache
    from django.db import connection

    from channels.adapters.http import call_json

    base = connector.config.get("api_base", "https://api.weixin.qq.com").rstrip("/")
    memo_key = (connection.schema_name, connector.pk, base)
    remembered = None if refresh else _memo.get(memo_key)
    if remembered and remembered[1] > time.monotonic():
        return remembered[0]
    key = f"channels:wechat-token:{connector.pk}"
    token = None if refresh else cache.get(key)
    if not token:
        query = urlencode({"grant_type": "client_credential", "appid": connector.config.get("appid", ""),
                           "secret": connector.secret("app_secret")})
        _status, body = call_json(f"{base}/cgi-bin/token?{query}")
        if "access_token" not in body:
            raise TokenRefused(str(body.get("errcode", "")), str(body.get("errmsg", "")))
        token = body["access_token"]
        cache.set(key, token, timeout=max(60, int(body.get("expires_in", 7200)) - 300))
    _memo[memo_key] = (token, time.monotonic() + _MEMO_SECONDS)
    return token


class TokenRefused(Exception):  # noqa: N818
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def template_payload(recipient: str, payload: dict[str, Any]) -> dict[str, Any]:
    """The template API's body: `touser`, `template_id`, `url` (when there is one) and
    `data` as {key: {"value": "…"}} (a bare value is wrapped; WeChat ignores `color` now)."""
    data = {
        str(key): ({"value": str(item.get("value", ""))} if isinstance(item, dict) else {"value": str(item)})
        for key, item in (payload.get("data") or {}).items()
    }
    body: dict[str, Any] = {"touser": recipient, "template_id": str(payload.get("template_id", "")), "data": data}
    if payload.get("url"):
        body["url"] = str(payload["url"])
    return body


def send_custom_message(connector: Connector, message: Any) -> Any:
    """A customer-service message (text, image) or a template message (kind "template",
    /cgi-bin/message/template/send: no 48 h window, but only to followers). An image row
    carries the stored file, not a media_id: the file is uploaded as temporary media first
    (valid 3 days, so a retry uploads again)."""
    from channels.adapters.http import SendResult, call_json

    if message.kind == "template":
        path, payload = "/cgi-bin/message/template/send", template_payload(message.recipient, message.payload)
    else:
        path, payload = "/cgi-bin/message/custom/send", {"touser": message.recipient, "msgtype": message.kind}
        if message.kind == "text":
            payload["text"] = {"content": message.payload.get("text", "")}
    base = connector.config.get("api_base", "https://api.weixin.qq.com").rstrip("/")
    for refresh in (False, True):
        try:
            token = _access_token(connector, refresh=refresh)
        except TokenRefused as error:
            return SendResult(ok=False, code=error.code, error=str(error), transient=error.code in TRANSIENT_ERRORS)
        if message.kind == "image":
            media_id = message.payload.get("media_id") or ""
            if not media_id:
                uploaded = _upload_image(base, token, message.payload)
                if isinstance(uploaded, SendResult):
                    if uploaded.code in TOKEN_ERRORS and not refresh:
                        continue
                    return uploaded
                media_id = uploaded
            payload["image"] = {"media_id": media_id}
        status, answer = call_json(f"{base}{path}?access_token={token}", payload=payload)
        if status != 200 or "errcode" not in answer:
            # Not WeChat's answer (a proxy error page, an API this account lacks): never "sent".
            return SendResult(ok=False, code=f"http-{status}", error=str(answer)[:200] or f"HTTP {status}",
                              transient=status >= 500 or status == 429)
        code = str(answer["errcode"])
        if code == "0":
            return SendResult(ok=True, platform_id=str(answer.get("msgid", "")))
        if code not in TOKEN_ERRORS:
            break
    return SendResult(ok=False, code=code, error=str(answer.get("errmsg", "")), transient=code in TRANSIENT_ERRORS)


def _upload_image(base: str, token: str, payload: dict[str, Any]) -> Any:
    """POST /cgi-bin/media/upload?type=image (multipart, field `media`) → the media_id, or
    the SendResult that explains why not."""
    from channels.adapters.http import SendResult, call_json, multipart
    from channels.adapters.media import attached_image

    try:
        image = attached_image(payload)
    except FileNotFoundError:
        image = None
    if image is None:
        return SendResult(ok=False, code="no_media", error="the image file of this message is missing")
    body, content_type = multipart("media", filename=image.filename, content_type=image.content_type, content=image.content)
    status, answer = call_json(f"{base}/cgi-bin/media/upload?{urlencode({'access_token': token, 'type': 'image'})}",
                               body=body, headers={"Content-Type": content_type}, timeout=30.0)
    if status == 200 and answer.get("media_id"):
        return str(answer["media_id"])
    if status != 200 or "errcode" not in answer:
        return SendResult(ok=False, code=f"http-{status}", error=str(answer)[:200] or f"HTTP {status}",
                          transient=status >= 500 or status == 429)
    code = str(answer["errcode"])
    return SendResult(ok=False, code=code, error=f"media upload: {answer.get('errmsg', '')}", transient=code in TRANSIENT_ERRORS)
