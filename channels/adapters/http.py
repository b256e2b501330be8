"""The JSON-over-HTTP call adapters make to platform APIs (stdlib only)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class SendResult:
    ok: bool
    platform_id: str = ""
    code: str = ""
    error: str = ""
    transient: bool = False  # worth retrying later (rate limits, network, 5xx)


class PlatformUnreachable(Exception):  # noqa: N818
    pass


def call_json(
    url: str, *, payload: dict[str, Any] | None = None, timeout: float = 10.0, headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, Any]]:
    data = json.dumps(payload, ensure_ascii=False).encode() if payload is not None else None
    sent_headers = ({"Content-Type": "application/json"} if data is not None else {}) | (headers or {})
    request = urllib.request.Request(url, data=data, method="POST" if data is not None else "GET", headers=sent_headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - the connector's API base
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        try:
            return error.code, json.loads(error.read() or b"{}")
        except ValueError:
            return error.code, {}
    except (urllib.error.URLError, TimeoutError, ValueError) as error:
        raise PlatformUnreachable(str(error)) from None
