"""X sandbox: CRC challenge of the brand's webhook, signed Account Activity deliveries
(DMs, mentions), and the DM send API with X's error shape (88 rate limit, 349 cannot DM;
401 for a missing or wrong bearer token when the sandbox is given one)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import secrets
from typing import Any

from channels.sandboxes import deliveries
from channels.sandboxes.base import Call, SandboxServer, WebhookSender


class XSandbox:
    def __init__(self, *, consumer_secret: str, user_id: str, bearer_token: str = "", port: int = 0) -> None:
        self.consumer_secret, self.user_id, self.bearer_token = consumer_secret, user_id, bearer_token
        self.followers: set[str] = set()
        self.sent: list[dict[str, Any]] = []
        self._ids = itertools.count(secrets.randbelow(10**15) * 1000)
        self.server = SandboxServer({("POST", "/2/dm_conversations/with/*"): self._send_dm}, port=port)

    def _send_dm(self, call: Call) -> tuple[int, dict[str, Any]]:
        sent_token = call.headers.get("authorization", "").encode()
        if self.bearer_token and not hmac.compare_digest(sent_token, f"Bearer {self.bearer_token}".encode()):
            return 401, {"title": "Unauthorized", "type": "about:blank", "status": 401, "detail": "Unauthorized"}
        participant = call.path.split("/with/")[1].split("/")[0]
        if participant not in self.followers:
            return 403, {"errors": [{"code": 349, "message": "You cannot send messages to this user."}]}
        self.sent.append({"participant": participant, **call.json()})
        return 201, {"data": {"dm_conversation_id": f"{self.user_id}-{participant}", "dm_event_id": str(next(self._ids))}}

    def crc_ok(self, sender: WebhookSender, path: str) -> bool:
        token = secrets.token_urlsafe(16)
        answer = sender.get(path, {"crc_token": token})
        expected = "sha256=" + base64.b64encode(
            hmac.new(self.consumer_secret.encode(), token.encode(), hashlib.sha256).digest()
        ).decode()
        return answer.status == 200 and json.loads(answer.body).get("response_token") == expected

    def dm(self, sender_id: str, text: str) -> deliveries.Delivery:
        self.followers.add(sender_id)
        payload = deliveries.x_dm_payload(for_user_id=self.user_id, sender_id=sender_id, text=text, event_id=str(next(self._ids)))
        return deliveries.x(consumer_secret=self.consumer_secret, payload=payload)

    def mention(self, user_id: str, text: str) -> deliveries.Delivery:
        payload = deliveries.x_mention_payload(for_user_id=self.user_id, user_id=user_id, text=text, tweet_id=str(next(self._ids)))
        return deliveries.x(consumer_secret=self.consumer_secret, payload=payload)

    def start(self) -> XSandbox:
        self.server.start()
        return self

    def stop(self) -> None:
        self.server.stop()
