"""WeChat Official Account sandbox: delivers signed (optionally AES safe-mode) messages
and events to a brand's webhook, retrying as the platform does, and serves the access
token, temporary media upload, customer-service and template send APIs with the
platform's error codes: 40001 invalid credential, 42001 expired token, 45009 rate limit,
45015 outside the 48 h customer-service window; for template messages 40037 invalid
template_id, 43004 the user does not follow the account, 47003 a data field missing or
not shaped {"value": "…"}; for uploads 41005 no media part, 40004 invalid media type,
40005 a file that is not an image of an accepted format (PNG/JPEG/GIF), 40009 an image
over 2 MB; 40007 an image message naming a media_id that was never uploaded.

Template messages need no 48 h window but a follower: an openid follows once it has
written or subscribed (or was added with `follow`) until it unsubscribes."""

from __future__ import annotations

import itertools
import secrets
import threading
import time
from typing import Any

from channels.sandboxes import deliveries
from channels.sandboxes.base import Answer, Call, SandboxServer, WebhookSender

REPLY_WINDOW_SECONDS = 48 * 3600
MAX_IMAGE_BYTES = 2 * 1024 * 1024
IMAGE_MAGIC = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"GIF87a", b"GIF89a")


class WeChatSandbox:
    def __init__(
        self, *, token: str, appid: str, app_secret: str, original_id: str = "gh_sandbox",
        encoding_aes_key: str = "", sends_per_second: int = 50, port: int = 0,
        templates: dict[str, tuple[str, ...]] | None = None,
    ) -> None:
        self.token, self.appid, self.app_secret = token, appid, app_secret
        self.original_id, self.encoding_aes_key = original_id, encoding_aes_key
        self.sends_per_second = sends_per_second
        self.tokens: dict[str, float] = {}  # access_token → expiry
        self.last_inbound: dict[str, float] = {}  # openid → time of their last message/event
        self.followers: set[str] = set()
        # template_id → the data keys its content uses ({{first.DATA}} …)
        self.templates: dict[str, tuple[str, ...]] = dict(templates or {})
        self.sent: list[dict[str, Any]] = []
        self.templates_sent: list[dict[str, Any]] = []
        # media_id → (filename, content type, bytes) of every accepted upload
        self.media: dict[str, tuple[str, str, bytes]] = {}
        self._msg_ids = itertools.count(secrets.randbelow(10**15) * 1000)
        self._lock = threading.Lock()
        self._window: list[float] = []
        self.server = SandboxServer({
            ("GET", "/cgi-bin/token"): self._token,
            ("POST", "/cgi-bin/message/custom/send"): self._custom_send,
            ("POST", "/cgi-bin/message/template/send"): self._template_send,
            ("POST", "/cgi-bin/media/upload"): self._media_upload,
        }, port=port)

    # --- the platform's APIs ---------------------------------------------------------

    def _token(self, call: Call) -> tuple[int, dict[str, Any]]:
        if call.query.get("appid") != self.appid or call.query.get("secret") != self.app_secret:
            return 200, {"errcode": 40001, "errmsg": "invalid credential"}
        token = secrets.token_urlsafe(32)
        self.tokens[token] = time.time() + 7200
        return 200, {"access_token": token, "expires_in": 7200}

    def _refused_call(self, call: Call) -> dict[str, Any] | None:
        """The token and rate-limit answers every send API shares, or None."""
        if error := self._token_error(call):
            return error
        if not self._allow():
            return {"errcode": 45009, "errmsg": "reach max api daily quota limit"}
        return None

    def _token_error(self, call: Call) -> dict[str, Any] | None:
        expiry = self.tokens.get(call.query.get("access_token", ""))
        if expiry is None:
            return {"errcode": 40001, "errmsg": "invalid credential, access_token is invalid"}
        if expiry < time.time():
            return {"errcode": 42001, "errmsg": "access_token expired"}
        return None

    def _media_upload(self, call: Call) -> tuple[int, dict[str, Any]]:
        """Temporary media: multipart form with the file in `media`; answers
        {"type", "media_id", "created_at"} (no errcode on success, as the platform does)."""
        if error := self._token_error(call):
            return 200, error
        if call.query.get("type") not in ("image", "voice", "video", "thumb"):
            return 200, {"errcode": 40004, "errmsg": "invalid media type"}
        part = call.files().get("media")
        if part is None:
            return 200, {"errcode": 41005, "errmsg": "media data missing"}
        filename, content_type, content = part
        if call.query["type"] != "image" or not content.startswith(IMAGE_MAGIC):
            return 200, {"errcode": 40005, "errmsg": "invalid file type"}
        if len(content) > MAX_IMAGE_BYTES:
            return 200, {"errcode": 40009, "errmsg": "invalid image size"}
        media_id = secrets.token_urlsafe(48)
        with self._lock:
            self.media[media_id] = (filename, content_type, content)
        return 200, {"type": "image", "media_id": media_id, "created_at": int(time.time())}

    def _custom_send(self, call: Call) -> tuple[int, dict[str, Any]]:
        if refused := self._refused_call(call):
            return 200, refused
        message = call.json()
        last = self.last_inbound.get(message.get("touser", ""))
        if last is None or time.time() - last > REPLY_WINDOW_SECONDS:
            return 200, {"errcode": 45015, "errmsg": "response out of time limit or subscription is canceled"}
        if message.get("msgtype") == "image" and message.get("image", {}).get("media_id") not in self.media:
            return 200, {"errcode": 40007, "errmsg": "invalid media_id"}
        self.sent.append(message)
        return 200, {"errcode": 0, "errmsg": "ok"}

    def _template_send(self, call: Call) -> tuple[int, dict[str, Any]]:
        if refused := self._refused_call(call):
            return 200, refused
        try:
            message = call.json()
        except ValueError:
            return 200, {"errcode": 47001, "errmsg": "data format error"}
        if not isinstance(message, dict):
            return 200, {"errcode": 47001, "errmsg": "data format error"}
        keys = self.templates.get(str(message.get("template_id", "")))
        if keys is None:
            return 200, {"errcode": 40037, "errmsg": "invalid template_id"}
        touser = message.get("touser")
        if not isinstance(touser, str) or not touser:
            return 200, {"errcode": 40003, "errmsg": "invalid openid"}
        if touser not in self.followers:
            return 200, {"errcode": 43004, "errmsg": "require subscribe"}
        data, url = message.get("data"), message.get("url", "")
        if not isinstance(data, dict) or not isinstance(url, str) or (url and not url.startswith(("http://", "https://"))):
            return 200, {"errcode": 47003, "errmsg": "argument invalid! data or url"}
        for key in keys:
            item = data.get(key)
            if not isinstance(item, dict) or not isinstance(item.get("value"), str) or not item["value"]:
                return 200, {"errcode": 47003, "errmsg": f"argument invalid! data.{key}.value empty"}
        msg_id = next(self._msg_ids)
        self.templates_sent.append({**message, "msgid": msg_id})
        return 200, {"errcode": 0, "errmsg": "ok", "msgid": msg_id}

    def follow(self, *openids: str) -> None:
        self.followers.update(openids)

    def _allow(self) -> bool:
        with self._lock:
            now = time.time()
            self._window = [t for t in self._window if now - t < 1]
            if len(self._window) >= self.sends_per_second:
                return False
            self._window.append(now)
            return True

    # --- deliveries to the brand --------------------------------------------------------

    def _common(self, openid: str) -> dict[str, Any]:
        return {"token": self.token, "appid": self.appid, "original_id": self.original_id, "openid": openid,
                "encoding_aes_key": self.encoding_aes_key}

    def text(self, openid: str, text: str, *, msg_id: int | None = None) -> deliveries.Delivery:
        self.last_inbound[openid] = time.time()
        self.followers.add(openid)
        return deliveries.wechat_text(text=text, msg_id=msg_id or next(self._msg_ids), **self._common(openid))

    def event(self, openid: str, event: str, *, event_key: str = "", created: int | None = None) -> deliveries.Delivery:
        self.last_inbound[openid] = time.time()
        if event == "subscribe":
            self.followers.add(openid)
        elif event == "unsubscribe":
            self.followers.discard(openid)
        return deliveries.wechat_event(event=event, event_key=event_key, created=created, **self._common(openid))

    def template_job_finished(self, openid: str, msg_id: int | str, *, status: str = "success") -> deliveries.Delivery:
        """The platform's later word on a template message: TEMPLATESENDJOBFINISH with the
        send's MsgID and Status (`success`, `failed:user block`, `failed: system failed`)."""
        return deliveries.wechat(msg_type="event", fields={"Event": "TEMPLATESENDJOBFINISH", "MsgID": str(msg_id), "Status": status},
                                 **self._common(openid))

    def deliver(self, sender: WebhookSender, path: str, make: Any) -> list[Answer]:
        """Deliver until answered `success` within the deadline: at most 1 + 3 retries,
        each re-signed with a new nonce, the same message inside."""
        return sender.deliver_with_retries(path, make, ok=lambda a: a.status == 200 and a.body in (b"success", b""))

    def start(self) -> WeChatSandbox:
        self.server.start()
        return self

    def stop(self) -> None:
        self.server.stop()
