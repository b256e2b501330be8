"""Deliveries exactly as each platform sends them (PROTOCOLS.md): body, query and headers,
signed with the connector's secrets. Used by the sandbox servers, the "send test event"
button, the traffic driver, the tests and the benchmark.
"""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from channels import signatures


@dataclass
class Delivery:
    body: bytes
    query: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json"


# --- WeChat Official Account ----------------------------------------------------------


def wechat_message_xml(*, original_id: str, openid: str, created: int, msg_type: str, fields: dict[str, str]) -> str:
    def cdata(value: str) -> str:
        return "<![CDATA[" + value.replace("]]>", "]]]]><![CDATA[>") + "]]>"

    inner = "".join(
        f"<{name}>{value}</{name}>" if name in ("MsgId", "CreateTime") else f"<{name}>{cdata(value)}</{name}>"
        for name, value in fields.items()
    )
    return (
        f"<xml><ToUserName>{cdata(original_id)}</ToUserName><FromUserName>{cdata(openid)}</FromUserName>"
        f"<CreateTime>{created}</CreateTime><MsgType>{cdata(msg_type)}</MsgType>{inner}</xml>"
    )


def wechat(
    *, token: str, appid: str, original_id: str, openid: str, msg_type: str = "text",
    fields: dict[str, str] | None = None, encoding_aes_key: str = "", created: int | None = None,
    timestamp: int | None = None, nonce: str | None = None,
) -> Delivery:
    created = created or int(time.time())
    timestamp = str(timestamp or int(time.time()))
    nonce = nonce or str(secrets.randbelow(10**9))
    xml = wechat_message_xml(original_id=original_id, openid=openid, created=created, msg_type=msg_type, fields=fields or {})
    query = {"signature": signatures.sha1_sorted(token, timestamp, nonce), "timestamp": timestamp, "nonce": nonce, "openid": openid}
    if encoding_aes_key:
        encrypted = signatures.wechat_encrypt(xml.encode(), encoding_aes_key=encoding_aes_key, appid=appid)
        body = f"<xml><ToUserName><![CDATA[{original_id}]]></ToUserName><Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>"
        query |= {"encrypt_type": "aes", "msg_signature": signatures.sha1_sorted(token, timestamp, nonce, encrypted)}
        return Delivery(body=body.encode(), query=query, content_type="text/xml")
    return Delivery(body=xml.encode(), query=query, content_type="text/xml")


def wechat_text(*, text: str, msg_id: int, **kwargs: Any) -> Delivery:
    return wechat(msg_type="text", fields={"Content": text, "MsgId": str(msg_id)}, **kwargs)


def wechat_event(*, event: str, event_key: str = "", **kwargs: Any) -> Delivery:
    fields = {"Event": event}
    if event_key:
        fields["EventKey"] = event_key
    return wechat(msg_type="event", fields=fields, **kwargs)


# --- WeCom -------------------------------------------------------------------------------


def wecom_contact_change(
    *, token: str, corp_id: str, encoding_aes_key: str, change: str, external_userid: str, staff: str,
    state: str = "", created: int | None = None,
) -> Delivery:
    created = created or int(time.time())
    fields = {"Event": "change_external_contact", "ChangeType": change, "UserID": staff, "ExternalUserID": external_userid}
    if state:
        fields["State"] = state
    xml = wechat_message_xml(original_id=corp_id, openid="sys", created=created, msg_type="event", fields=fields)
    encrypted = signatures.wechat_encrypt(xml.encode(), encoding_aes_key=encoding_aes_key, appid=corp_id)
    timestamp, nonce = str(int(time.time())), str(secrets.randbelow(10**9))
    body = f"<xml><ToUserName><![CDATA[{corp_id}]]></ToUserName><AgentID><![CDATA[]]></AgentID><Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>"
    query = {"msg_signature": signatures.sha1_sorted(token, timestamp, nonce, encrypted), "timestamp": timestamp, "nonce": nonce}
    return Delivery(body=body.encode(), query=query, content_type="text/xml")


# --- Weibo ---------------------------------------------------------------------------------


def weibo_push(*, app_secret: str, receiver_id: str, sender_id: str, push_type: str = "text", text: str = "",
               data: dict[str, Any] | None = None, created_at: str = "") -> Delivery:
    created_at = created_at or time.strftime("%a %b %d %H:%M:%S +0800 %Y", time.gmtime(time.time() + 8 * 3600))
    body = json.dumps({"type": push_type, "receiver_id": receiver_id, "sender_id": sender_id, "created_at": created_at,
                       "text": text, "data": data or {}}, ensure_ascii=False).encode()
    timestamp, nonce = str(int(time.time())), str(secrets.randbelow(10**9))
    query = {"signature": signatures.sha1_sorted(app_secret, timestamp, nonce), "timestamp": timestamp, "nonce": nonce}
    return Delivery(body=body, query=query)


# --- Meta -------------------------------------------------------------------------------


def meta(*, app_secret: str, object_type: str, entries: list[dict[str, Any]]) -> Delivery:
    body = json.dumps({"object": object_type, "entry": entries}, ensure_ascii=False).encode()
    return Delivery(body=body, headers={"X-Hub-Signature-256": signatures.meta_signature(app_secret, body)})


def meta_message_entry(*, page_id: str, psid: str, text: str, mid: str, timestamp_ms: int | None = None) -> dict[str, Any]:
    timestamp_ms = timestamp_ms or int(time.time() * 1000)
    return {
        "id": page_id, "time": timestamp_ms,
        "messaging": [{
            "sender": {"id": psid}, "recipient": {"id": page_id}, "timestamp": timestamp_ms,
            "message": {"mid": mid, "text": text},
        }],
    }


# --- X ----------------------------------------------------------------------------------


def x(*, consumer_secret: str, payload: dict[str, Any]) -> Delivery:
    body = json.dumps(payload, ensure_ascii=False).encode()
    return Delivery(body=body, headers={"X-Twitter-Webhooks-Signature": signatures.x_signature(consumer_secret, body)})


def x_dm_payload(*, for_user_id: str, sender_id: str, text: str, event_id: str, screen_name: str = "") -> dict[str, Any]:
    return {
        "for_user_id": for_user_id,
        "direct_message_events": [{
            "type": "message_create", "id": event_id, "created_timestamp": str(int(time.time() * 1000)),
            "message_create": {"target": {"recipient_id": for_user_id}, "sender_id": sender_id, "message_data": {"text": text}},
        }],
        "users": {sender_id: {"id": sender_id, "name": screen_name or sender_id, "screen_name": screen_name or f"user{sender_id}"}},
    }


def x_mention_payload(*, for_user_id: str, user_id: str, text: str, tweet_id: str) -> dict[str, Any]:
    return {
        "for_user_id": for_user_id,
        "tweet_create_events": [{
            "id_str": tweet_id, "text": text, "timestamp_ms": str(int(time.time() * 1000)),
            "user": {"id_str": user_id, "name": f"User {user_id}", "screen_name": f"user{user_id}"},
            "in_reply_to_user_id_str": None,
        }],
    }


# --- our own API --------------------------------------------------------------------------


def scrm_api(*, api_key: str, signing_secret: str, items: list[dict[str, Any]] | dict[str, Any], timestamp: int | None = None) -> Delivery:
    body = json.dumps(items, ensure_ascii=False).encode()
    signature = signatures.scrm_signature(signing_secret, timestamp or int(time.time()), body)
    return Delivery(body=body, headers={"X-SCRM-Signature": signature, "Authorization": f"Bearer {api_key}"})
