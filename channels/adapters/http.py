"""The JSON-over-HTTP call adapters make to platform APIs (stdlib only).

Connections are kept alive and reused: one per thread and host (a thread owns its
connections, so the outbox's send threads never share one). Before a connection is reused
it is checked for having been closed by the server while idle; a request that fails while
it is still being written on a reused connection is sent once more on a fresh one (the
server cannot have read it), never one that failed after it was written.
"""

from __future__ import annotations

import http.client
import json
import secrets
import select
import socket
import ssl
import threading
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit


@dataclass(frozen=True)
class SendResult:
    ok: bool
    platform_id: str = ""
    code: str = ""
    error: str = ""
    transient: bool = False  # worth retrying later (rate limits, network, 5xx)


class PlatformUnreachable(Exception):  # noqa: N818
    pass


_local = threading.local()


def _connections() -> dict[tuple[str, str, float], http.client.HTTPConnection]:
    pool = getattr(_local, "connections", None)
    if pool is None:
        pool = _local.connections = {}
    return pool


def _dropped(connection: http.client.HTTPConnection) -> bool:
    """True when an idle kept-alive connection was closed by the server (readable with
    nothing asked means EOF or garbage: either way it cannot be reused)."""
    sock = connection.sock
    if sock is None:
        return True
    try:
        readable, _w, _x = select.select([sock], [], [], 0)
    except (OSError, ValueError):
        return True
    return bool(readable)


def _connection(scheme: str, netloc: str, timeout: float) -> tuple[http.client.HTTPConnection, bool]:
    """This thread's connection to `netloc` and whether it was used before."""
    pool = _connections()
    key = (scheme, netloc, timeout)
    connection = pool.get(key)
    if connection is not None and not _dropped(connection):
        return connection, True
    if connection is not None:
        connection.close()
    if scheme == "https":
        connection = http.client.HTTPSConnection(netloc, timeout=timeout, context=ssl.create_default_context())
    else:
        connection = http.client.HTTPConnection(netloc, timeout=timeout)
    connection.connect()
    # http.client writes the headers and the body in two sends: with Nagle's algorithm on,
    # the body waits for the ACK of the headers, which the server delays (up to 40 ms on
    # Linux), once per request on a kept-alive connection.
    connection.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    pool[key] = connection
    return connection, False


def _discard(scheme: str, netloc: str, timeout: float) -> None:
    connection = _connections().pop((scheme, netloc, timeout), None)
    if connection is not None:
        connection.close()


def close_connections() -> None:
    """Close this thread's kept-alive connections (a send thread calls it before it ends)."""
    for connection in _connections().values():
        connection.close()
    _connections().clear()


def call_json(
    url: str, *, payload: dict[str, Any] | None = None, timeout: float = 10.0, headers: dict[str, str] | None = None,
    body: bytes | None = None,
) -> tuple[int, dict[str, Any]]:
    """POST `payload` as JSON (or a prepared `body` with its own Content-Type header), or
    GET when there is neither; the answer's JSON, {} when it has none."""
    data = body if body is not None else json.dumps(payload, ensure_ascii=False).encode() if payload is not None else None
    sent_headers = ({"Content-Type": "application/json"} if data is not None else {}) | (headers or {})
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise PlatformUnreachable(f"not an http(s) URL: {url[:100]}")
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    for _attempt in (1, 2):
        try:
            connection, reused = _connection(parts.scheme, parts.netloc, timeout)
        except (OSError, http.client.HTTPException) as error:  # refused, unreachable, DNS, TLS
            _connections().pop((parts.scheme, parts.netloc, timeout), None)
            raise PlatformUnreachable(f"{type(error).__name__}: {error}") from None
        try:
            connection.request("POST" if data is not None else "GET", target, body=data, headers=sent_headers)
        except (ConnectionError, http.client.HTTPException) as error:
            _discard(parts.scheme, parts.netloc, timeout)
            if reused:
                continue  # written on a connection the server had closed: it never read it
            raise PlatformUnreachable(f"{type(error).__name__}: {error}") from None
        except OSError as error:  # a timeout while writing
            _discard(parts.scheme, parts.netloc, timeout)
            raise PlatformUnreachable(f"{type(error).__name__}: {error}") from None
        try:
            response = connection.getresponse()
            raw = response.read()
        except (OSError, http.client.HTTPException) as error:
            # The request was written: the platform may have acted on it. Not resent here.
            _discard(parts.scheme, parts.netloc, timeout)
            raise PlatformUnreachable(f"{type(error).__name__}: {error}") from None
        if response.will_close:
            _discard(parts.scheme, parts.netloc, timeout)
        try:
            return response.status, json.loads(raw or b"{}")
        except ValueError:
            if response.status >= 400:
                return response.status, {}
            raise PlatformUnreachable(f"HTTP {response.status}: the answer is not JSON") from None
    raise PlatformUnreachable("the connection was closed twice before the request was written")


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
