"""Meta sandbox (Messenger, Instagram): batched, signed webhook deliveries and the Send
API with its real error shape: code 10 / subcode 2018278 outside the 24 h window, 613
rate limit, 190 invalid token."""

from __future__ import annotations

import itertools
import secrets
import time
from typing import Any

from channels.sandboxes import deliveries
from channels.sandboxes.base import Call, SandboxServer

REPLY_WINDOW_SECONDS = 24 * 3600


def _error(message: str, code: int, subcode: int | None = None, kind: str = "OAuthException") -> dict[str, Any]:
    error = {"message": message, "type": kind, "code": code, "fbtrace_id": secrets.token_hex(8)}
    if subcode:
        error["error_subcode"] = subcode
    return {"error": error}


class MetaSandbox:
    def __init__(self, *, app_secret: str, page_id: str, page_token: str, object_type: str = "page",
                 sends_per_second: int = 50, quota: int | None = None, port: int = 0) -> None:
        self.app_secret, self.page_id, self.page_token = app_secret, page_id, page_token
        self.object_type, self.sends_per_second = object_type, sends_per_second
        # Sends left before the app's rate limit hits (None: only the per-second limit).
        self.quota = quota
        self.last_inbound: dict[str, float] = {}
        self.sent: list[dict[str, Any]] = []
        self._mids = itertools.count(1)
        self._window: list[float] = []
        self.server = SandboxServer({("POST", "/v*"): self._send}, port=port)

    def _send(self, call: Call) -> tuple[int, dict[str, Any]]:
        if not call.path.endswith("/me/messages"):
            return 404, _error("Unknown path components", 2500)
        if call.query.get("access_token") != self.page_token:
            return 400, _error("Invalid OAuth access token.", 190)
        now = time.time()
        message = call.json()
        psid = message.get("recipient", {}).get("id", "")
        last = self.last_inbound.get(psid)
        tagged = message.get("messaging_type") == "MESSAGE_TAG" and message.get("tag") == "HUMAN_AGENT"
        window = 7 * 86400 if tagged else REPLY_WINDOW_SECONDS
        if last is None or now - last > window:
            return 400, _error("This message is sent outside of allowed window.", 10, 2018278)
        attachment = message.get("message", {}).get("attachment")
        if attachment is not None:
            url = str((attachment.get("payload") or {}).get("url", ""))
            if attachment.get("type") not in ("image", "audio", "video", "file") or not url.startswith(("https://", "http://")):
                return 400, _error("(#100) Param message[attachment][payload][url] must be a valid URL", 100, kind="OAuthException")
        self._window = [t for t in self._window if now - t < 1]
        if len(self._window) >= self.sends_per_second or self.quota == 0:
            return 400, _error("Calls to this api have exceeded the rate limit.", 613)
        self._window.append(now)
        if self.quota is not None:
            self.quota -= 1
        self.sent.append(message)
        return 200, {"recipient_id": psid, "message_id": f"m_{secrets.token_hex(12)}"}

    def messages(self, items: list[tuple[str, str]]) -> deliveries.Delivery:
        """One delivery carrying several messages [(psid, text)], batched as Meta does."""
        now_ms = int(time.time() * 1000)
        entries = []
        for psid, text in items:
            self.last_inbound[psid] = time.time()
            entries.append(deliveries.meta_message_entry(
                page_id=self.page_id, psid=psid, text=text, mid=f"m_{next(self._mids)}_{secrets.token_hex(6)}", timestamp_ms=now_ms,
            ))
        return deliveries.meta(app_secret=self.app_secret, object_type=self.object_type, entries=entries)

    def start(self) -> MetaSandbox:
        self.server.start()
        return self

    def stop(self) -> None:
        self.server.stop()
