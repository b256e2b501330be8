"""The JSON-over-HTTP call adapters make to platform APIs (stdlib only)."""

from __future__ import annotations

import json
import secrets
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
    body: bytes | None = None,
) -> tuple[int, dict[str, Any]]:
    """POST `payload` as JSON (or a prepared `body` with its own Content-Type header), or
    GET when there is neither; the answer's JSON, {} when it has none."""
    data = body if body is not None else json.dumps(payload, ensure_ascii=False).encode() if payload is not None else None
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


def multipart(field: str, *, filename: str, content_type: str, content: bytes) -> tuple[bytes, str]:
    """One file as multipart/form-data (RFC 7578): (body, Content-Type header). The file
    name is ours (never a user's), so it needs no escaping beyond refusing quotes."""
    if any(char in filename for char in '"\r\n'):
        raise ValueError("file name must not contain quotes or line breaks")
    boundary = "----scrm" + secrets.token_hex(16)
    head = (
        f"--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"{filename}\"\r\n"
        f"Content-Type: {content_type}\r\n\r\n"
    ).encode()
    return head + content + f"\r\n--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"
