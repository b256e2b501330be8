"""What every sandbox shares: a small threaded HTTP server for the platform's APIs (HTTP/1.1
with keep-alive, a thread per connection, as a platform's front end would), and a
sender that delivers signed webhooks to a brand the way the platform does (answer
deadline, retries, redelivery of the same message)."""

from __future__ import annotations

import email.parser
import email.policy
import http.client
import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from channels.sandboxes.deliveries import Delivery

logger = logging.getLogger(__name__)

Route = Callable[["Call"], tuple[int, dict[str, Any]]]
IDLE_SECONDS = 30


@dataclass
class Call:
    method: str
    path: str
    query: dict[str, str]
    body: bytes
    at: float = field(default_factory=time.time)  # when it arrived (wall clock)
    headers: dict[str, str] = field(default_factory=dict)

    def json(self) -> Any:
        return json.loads(self.body or b"{}")

    def files(self) -> dict[str, tuple[str, str, bytes]]:
        """A multipart/form-data body's file parts: {field: (filename, content type, bytes)}."""
        content_type = self.headers.get("content-type", "")
        if not content_type.startswith("multipart/form-data"):
            return {}
        parsed = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
            b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + self.body
        )
        found = {}
        for part in parsed.iter_parts():
            name, filename = part.get_param("name", header="content-disposition"), part.get_filename()
            if name and filename is not None:
                found[str(name)] = (filename, part.get_content_type(), part.get_payload(decode=True) or b"")
        return found


class SandboxServer:
    """Serves `routes` ({(method, path): handler}) on 127.0.0.1 in a background thread."""

    def __init__(self, routes: dict[tuple[str, str], Route], *, port: int = 0) -> None:
        self.routes = routes
        self.calls: list[Call] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive: every answer carries Content-Length
            timeout = IDLE_SECONDS  # an idle kept-alive connection is closed, as a platform does
            # The answer's headers and body go out in two writes: without TCP_NODELAY the
            # body waits for the client's delayed ACK (40 ms) on a kept-alive connection.
            disable_nagle_algorithm = True

            def _serve(self) -> None:
                url = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                call = Call(self.command, url.path, {k: v[0] for k, v in parse_qs(url.query).items()},
                            self.rfile.read(length) if length else b"",
                            headers={k.lower(): v for k, v in self.headers.items()})
                outer.calls.append(call)
                route = outer.routes.get((self.command, url.path)) or outer._match(self.command, url.path)
                status, payload = route(call) if route else (404, {"error": "no such API in the sandbox"})
                body = json.dumps(payload, ensure_ascii=False).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = _serve  # noqa: N815

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                logger.debug("sandbox %s", format % args)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def _match(self, method: str, path: str) -> Route | None:
        for (route_method, pattern), route in self.routes.items():
            if route_method == method and pattern.endswith("*") and path.startswith(pattern[:-1]):
                return route
        return None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def start(self) -> SandboxServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@dataclass
class Answer:
    status: int
    body: bytes
    headers: dict[str, str]


class WebhookSender:
    """Posts deliveries to one brand webhook over a kept-alive connection.

    `base_url` is where the web server listens (http://127.0.0.1:8000); `host` is the
    brand's host name, sent as the Host header (brands are told apart by host)."""

    def __init__(self, base_url: str, host: str, *, timeout: float = 5.0) -> None:
        parts = urlsplit(base_url)
        self.netloc, self.host, self.timeout = parts.netloc, host, timeout
        self._local = threading.local()

    def _connection(self) -> http.client.HTTPConnection:
        connection = getattr(self._local, "connection", None)
        if connection is None:
            connection = http.client.HTTPConnection(self.netloc, timeout=self.timeout)
            self._local.connection = connection
        return connection

    def post(self, path: str, delivery: Delivery) -> Answer:
        url = path + ("?" + urlencode(delivery.query) if delivery.query else "")
        headers = {"Host": self.host, "Content-Type": delivery.content_type, **delivery.headers}
        for attempt in (1, 2):
            connection = self._connection()
            try:
                connection.request("POST", url, body=delivery.body, headers=headers)
                response = connection.getresponse()
                return Answer(response.status, response.read(), dict(response.getheaders()))
            except (http.client.HTTPException, ConnectionError, TimeoutError):
                connection.close()
                self._local.connection = None
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def get(self, path: str, query: dict[str, str]) -> Answer:
        connection = self._connection()
        connection.request("GET", path + "?" + urlencode(query), headers={"Host": self.host})
        response = connection.getresponse()
        return Answer(response.status, response.read(), dict(response.getheaders()))

    def deliver_with_retries(self, path: str, make: Callable[[], Delivery], *, ok: Callable[[Answer], bool], tries: int = 4) -> list[Answer]:
        """The platform's behaviour: retry (re-signed, same message) until answered well,
        at most `tries` deliveries in all (WeChat: the first plus three retries)."""
        answers = []
        for _try in range(tries):
            try:
                answer = self.post(path, make())
            except (OSError, http.client.HTTPException):
                continue
            answers.append(answer)
            if ok(answer):
                break
        return answers
