"""IMAP sandbox: a small IMAP4rev1 server on a local port serving one mailbox from a list
of RFC 5322 messages, with the subset the email connector (stdlib imaplib) uses:
CAPABILITY, LOGIN, SELECT / EXAMINE, UID SEARCH, UID FETCH (RFC822, BODY[], BODY.PEEK[],
partial `<start.count>`, RFC822.SIZE, UID), NOOP, LOGOUT.

Like real servers it answers `UID SEARCH UID n:*` with the highest UID even when n is
above it (RFC 3501: `*` is the largest UID and a range covers both orders), and a wrong
password answers `NO [AUTHENTICATIONFAILED]`.
"""

from __future__ import annotations

import re
import socketserver
import threading
from dataclasses import dataclass, field

_TOKEN = re.compile(rb'"((?:[^"\\]|\\.)*)"|(\S+)')


@dataclass
class Mailbox:
    uidvalidity: int = 1
    messages: list[tuple[int, bytes]] = field(default_factory=list)  # (uid, RFC 5322 bytes)
    next_uid: int = 1


class ImapSandbox:
    def __init__(self, *, username: str, password: str, mailbox: str = "INBOX", port: int = 0) -> None:
        self.username, self.password, self.mailbox_name = username, password, mailbox
        self.mailbox = Mailbox()
        self.fetched: list[int] = []  # every UID fetched, in order (tests count re-fetches)
        self.lock = threading.Lock()
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

    def deliver(self, raw: bytes) -> int:
        with self.lock:
            uid = self.mailbox.next_uid
            self.mailbox.messages.append((uid, raw))
            self.mailbox.next_uid += 1
        return uid

    def renumber(self) -> None:
        """What a server does after a mailbox rebuild: new UIDVALIDITY, new UIDs."""
        with self.lock:
            self.mailbox.uidvalidity += 1
            self.mailbox.messages = [(index + 1, raw) for index, (_uid, raw) in enumerate(self.mailbox.messages)]
            self.mailbox.next_uid = len(self.mailbox.messages) + 1

    def start(self) -> ImapSandbox:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    # --- protocol ----------------------------------------------------------------------

    def _session(self, handler: socketserver.StreamRequestHandler) -> None:
        out = handler.wfile
        out.write(b"* OK [CAPABILITY IMAP4rev1] SCRM IMAP sandbox ready\r\n")
        state = {"authenticated": False, "selected": False}
        while True:
            line = handler.rfile.readline(65536)
            if not line:
                return
            parts = line.rstrip(b"\r\n").split(b" ", 2)
            if len(parts) < 2:
                out.write(b"* BAD missing command\r\n")
                continue
            tag, command, rest = parts[0], parts[1].upper(), parts[2] if len(parts) > 2 else b""
            if command == b"LOGOUT":
                out.write(b"* BYE logging out\r\n" + tag + b" OK LOGOUT completed\r\n")
                return
            out.write(self._command(tag, command, rest, state))

    def _command(self, tag: bytes, command: bytes, rest: bytes, state: dict[str, bool]) -> bytes:
        if command == b"CAPABILITY":
            return b"* CAPABILITY IMAP4rev1 UIDPLUS\r\n" + tag + b" OK CAPABILITY completed\r\n"
        if command == b"NOOP":
            return tag + b" OK NOOP completed\r\n"
        if command == b"LOGIN":
            args = _args(rest)
            if len(args) == 2 and args[0] == self.username.encode() and args[1] == self.password.encode():
                state["authenticated"] = True
                return tag + b" OK [CAPABILITY IMAP4rev1 UIDPLUS] LOGIN completed\r\n"
            return tag + b" NO [AUTHENTICATIONFAILED] Invalid credentials\r\n"
        if not state["authenticated"]:
            return tag + b" BAD not authenticated\r\n"
        if command in (b"SELECT", b"EXAMINE"):
            args = _args(rest)
            if not args or args[0].decode("utf-8", "replace").upper() != self.mailbox_name.upper():
                return tag + b" NO [NONEXISTENT] Unknown Mailbox\r\n"
            state["selected"] = True
            with self.lock:
                exists, validity, next_uid = len(self.mailbox.messages), self.mailbox.uidvalidity, self.mailbox.next_uid
            mode = b"READ-ONLY" if command == b"EXAMINE" else b"READ-WRITE"
            return (b"* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)\r\n"
                    + f"* {exists} EXISTS\r\n* 0 RECENT\r\n* OK [UIDVALIDITY {validity}] UIDs valid\r\n"
                      f"* OK [UIDNEXT {next_uid}] Predicted next UID\r\n".encode()
                    + tag + b" OK [" + mode + b"] " + command + b" completed\r\n")
        if not state["selected"]:
            return tag + b" BAD no mailbox selected\r\n"
        if command == b"UID":
            sub, _, args = rest.partition(b" ")
            if sub.upper() == b"SEARCH":
                return self._search(tag, args)
            if sub.upper() == b"FETCH":
                return self._fetch(tag, args)
        return tag + b" BAD command unknown or arguments invalid\r\n"

    def _search(self, tag: bytes, args: bytes) -> bytes:
        words = args.split()
        with self.lock:
            uids = [uid for uid, _raw in self.mailbox.messages]
        if words and words[0].upper() == b"UID" and len(words) == 2:
            wanted = _sequence(words[1], max(uids, default=0))
            uids = [uid for uid in uids if wanted(uid)]
        elif words != [b"ALL"]:
            return tag + b" BAD only UID <set> and ALL are searchable here\r\n"
        return b"* SEARCH" + b"".join(b" %d" % uid for uid in uids) + b"\r\n" + tag + b" OK SEARCH completed\r\n"

    def _fetch(self, tag: bytes, args: bytes) -> bytes:
        sequence, _, items = args.partition(b" ")
        items = items.upper()
        partial = re.search(rb"BODY(?:\.PEEK)?\[\]<(\d+)\.(\d+)>", items)
        whole = partial is None and re.search(rb"BODY(?:\.PEEK)?\[\]|RFC822(?![.\w])", items)
        with self.lock:
            messages = list(enumerate(self.mailbox.messages, start=1))
            wanted = _sequence(sequence, max((uid for _seq, (uid, _raw) in messages), default=0))
        answer = b""
        for seq, (uid, raw) in messages:
            if not wanted(uid):
                continue
            fields = [b"UID %d" % uid]
            if b"RFC822.SIZE" in items:
                fields.append(b"RFC822.SIZE %d" % len(raw))
            if partial:
                start, count = int(partial.group(1)), int(partial.group(2))
                chunk = raw[start : start + count]
                fields.append(b"BODY[]<%d> {%d}\r\n" % (start, len(chunk)) + chunk)
            elif whole:
                name = b"RFC822" if b"RFC822" in items.replace(b"RFC822.SIZE", b"") else b"BODY[]"
                fields.append(name + b" {%d}\r\n" % len(raw) + raw)
            if partial or whole:
                self.fetched.append(uid)
            answer += b"* %d FETCH (" % seq + b" ".join(fields) + b")\r\n"
        return answer + tag + b" OK FETCH completed\r\n"


def _args(rest: bytes) -> list[bytes]:
    return [re.sub(rb"\\(.)", rb"\1", quoted) if quoted or not atom else atom for quoted, atom in _TOKEN.findall(rest)]


def _sequence(spec: bytes, largest: int):  # noqa: ANN202 - a predicate on UIDs
    ranges = []
    for part in spec.split(b","):
        low, _, high = part.partition(b":")
        first = largest if low == b"*" else int(low)
        last = first if not high else (largest if high == b"*" else int(high))
        ranges.append((min(first, last), max(first, last)))
    return lambda uid: any(low <= uid <= high for low, high in ranges)
