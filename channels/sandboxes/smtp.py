"""SMTP sink: a minimal ESMTP server on a local port that accepts mail the way a relay
does (EHLO, AUTH PLAIN, MAIL FROM, RCPT TO, DATA with dot-unstuffing, RSET, NOOP, QUIT)
and keeps every message. Recipients in `refuse` get 550 (permanent), in `defer` 451
(try again later), so both outcomes of a send can be exercised.
"""

from __future__ import annotations

import base64
import socketserver
import threading
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes

    def message(self) -> EmailMessage:
        return message_from_bytes(self.data, policy=policy.default)  # type: ignore[return-value]


@dataclass
class _Envelope:
    mail_from: str = ""
    rcpt_tos: list[str] = field(default_factory=list)


class SmtpSink:
    def __init__(self, *, username: str = "", password: str = "", port: int = 0) -> None:
        self.username, self.password = username, password
        self.received: list[Received] = []
        self.refuse: set[str] = set()
        self.defer: set[str] = set()
        outer = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                outer._session(self)

        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return self.server.server_address[1]

    def start(self) -> SmtpSink:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _session(self, handler: socketserver.StreamRequestHandler) -> None:
        reply = handler.wfile.write
        reply(b"220 sandbox.local ESMTP SCRM sink\r\n")
        envelope, authenticated = _Envelope(), not self.username
        while line := handler.rfile.readline(65536):
            verb, _, argument = line.rstrip(b"\r\n").decode("utf-8", "replace").partition(" ")
            verb = verb.upper()
            if verb in ("EHLO", "HELO"):
                reply(b"250-sandbox.local\r\n250-8BITMIME\r\n250-SIZE 10485760\r\n250 AUTH PLAIN\r\n" if verb == "EHLO"
                      else b"250 sandbox.local\r\n")
            elif verb == "AUTH":
                authenticated = self._auth(argument, handler)
                reply(b"235 2.7.0 Authentication successful\r\n" if authenticated else b"535 5.7.8 Authentication failed\r\n")
            elif verb == "MAIL":
                if not authenticated:
                    reply(b"530 5.7.0 Authentication required\r\n")
                    continue
                envelope = _Envelope(mail_from=_path(argument))
                reply(b"250 2.1.0 OK\r\n")
            elif verb == "RCPT":
                recipient = _path(argument)
                if recipient in self.refuse:
                    reply(b"550 5.1.1 No such user here\r\n")
                elif recipient in self.defer:
                    reply(b"451 4.3.0 Mailbox busy, try again later\r\n")
                else:
                    envelope.rcpt_tos.append(recipient)
                    reply(b"250 2.1.5 OK\r\n")
            elif verb == "DATA":
                if not envelope.rcpt_tos:
                    reply(b"554 5.5.1 No valid recipients\r\n")
                    continue
                reply(b"354 End data with <CR><LF>.<CR><LF>\r\n")
                self.received.append(Received(envelope.mail_from, envelope.rcpt_tos, _data(handler)))
                envelope = _Envelope()
                reply(b"250 2.0.0 OK queued\r\n")
            elif verb == "RSET":
                envelope = _Envelope()
                reply(b"250 2.0.0 OK\r\n")
            elif verb == "NOOP":
                reply(b"250 2.0.0 OK\r\n")
            elif verb == "QUIT":
                reply(b"221 2.0.0 Bye\r\n")
                return
            else:
                reply(b"502 5.5.2 Command not recognized\r\n")

    def _auth(self, argument: str, handler: socketserver.StreamRequestHandler) -> bool:
        mechanism, _, initial = argument.partition(" ")
        if mechanism.upper() != "PLAIN":
            return False
        if not initial:
            handler.wfile.write(b"334 \r\n")
            initial = handler.rfile.readline(65536).decode().strip()
        try:
            _authzid, user, password = base64.b64decode(initial).decode().split("\x00")
        except ValueError:
            return False
        return user == self.username and password == self.password


def _path(argument: str) -> str:
    start, end = argument.find("<"), argument.find(">")
    return argument[start + 1 : end] if 0 <= start < end else argument.partition(":")[2].strip()


def _data(handler: socketserver.StreamRequestHandler) -> bytes:
    lines = []
    while line := handler.rfile.readline(1 << 20):
        if line in (b".\r\n", b".\n"):
            break
        lines.append(line[1:] if line.startswith(b"..") else line)
    return b"".join(lines)
