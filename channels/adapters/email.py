"""Email: inbound over IMAP (polled, UID cursor), outbound over SMTP (the outbox).

Poll: LOGIN, EXAMINE the mailbox (read-only: we never change the customer's flags),
`UID SEARCH UID <last+1>:*` (a server answers the highest UID even when it is below the
range, so UIDs are filtered again here), then `UID FETCH … BODY.PEEK[]<0.N>`: at most
MAX_MESSAGE_BYTES of each message are downloaded and stored. The cursor is
`{"uidvalidity", "last_uid"}`; a new UIDVALIDITY means the server renumbered the mailbox,
so it is read again from the start and the dedupe key (a hash of the Message-ID, else
UIDVALIDITY:UID) keeps every message once.

Parse (PROTOCOLS.md): `email` with `policy.default`; the text part, else the HTML part
reduced to text (scripts and styles dropped); quoted replies stripped; threading headers
(Message-ID, In-Reply-To, References) and the attachments (name, type, size; never their
content) kept in metadata. The sender's address is an unverified email identity: From is
easy to forge, so it names a customer but never merges two.

Connector config: `address`, `imap_host`, `imap_port`, `imap_tls` (ssl, starttls, none),
`username`, `mailbox`, `smtp_host`, `smtp_port`, `smtp_tls`, `smtp_username`.
Secrets: `password` (IMAP, and SMTP unless `smtp_password` is set).
"""

from __future__ import annotations

import email
import email.errors
import hashlib
import imaplib
import re
import smtplib
import ssl
from datetime import UTC, datetime, timedelta
from email import policy
from email.message import EmailMessage, Message
from email.parser import BytesParser
from email.utils import formataddr, getaddresses, make_msgid, parseaddr, parsedate_to_datetime
from html import escape
from typing import Any

from django.http import HttpRequest

from channels.adapters.base import Accepted, Adapter, Rejected
from channels.adapters.html_text import html_to_text
from channels.adapters.http import SendResult
from channels.adapters.media import attached_image
from channels.adapters.polled import PollBatch, PolledItem, PollError
from channels.events import Claim, IdentityClaim, InboundEvent, ParseResult
from channels.models import Connector, RawEvent
from customers.models import Channel, IdentityKind, InteractionKind

MAX_MESSAGE_BYTES = 2_000_000
MAX_MESSAGES_PER_POLL = 200
FETCH_CHUNK = 25
MAX_TEXT = 10_000
MAX_ATTACHMENTS = 50
TIMEOUT = 30.0
# Malformed mail makes the email package raise more than its own errors (a header it
# cannot fold, an unknown charset, a broken MIME tree): each of these means "unreadable".
MALFORMED = (email.errors.MessageError, ValueError, LookupError, TypeError, AttributeError, IndexError,
             UnicodeError, AssertionError)


class EmailAdapter(Adapter):
    kind = "email"

    def accept(self, connector: Connector, request: HttpRequest) -> Accepted:
        raise Rejected(405, "email connectors read their mailbox over IMAP; nothing is posted to them")

    def parse(self, connector: Connector, raw: RawEvent) -> ParseResult:
        return parse_message(connector, raw)

    def send(self, connector: Connector, message: Any) -> SendResult:
        return send_email(connector, message)


# --- IMAP poll ---------------------------------------------------------------------------


def poll(connector: Connector) -> PollBatch:
    config = connector.config
    mailbox = str(config.get("mailbox") or "INBOX")
    client = _imap_client(config)
    try:
        client.login(str(config.get("username", "")), connector.secret("password"))
        status, answer = client.select(_quoted(mailbox), readonly=True)
        if status != "OK":
            raise PollError("select", _text(answer))
        uidvalidity = _uidvalidity(client)
        last_uid = int(connector.cursor.get("last_uid") or 0)
        if connector.cursor.get("uidvalidity") not in (None, uidvalidity):
            last_uid = 0  # the mailbox was renumbered: read it again, dedupe keys hold
        status, answer = client.uid("SEARCH", f"UID {last_uid + 1}:*")
        if status != "OK":
            raise PollError("search", _text(answer))
        uids = sorted(int(uid) for uid in (answer[0] or b"").split() if int(uid) > last_uid)
        batch = uids[:MAX_MESSAGES_PER_POLL]
        items: list[PolledItem] = []
        for start in range(0, len(batch), FETCH_CHUNK):
            items += _fetch(client, batch[start : start + FETCH_CHUNK], uidvalidity, mailbox)
    finally:
        _logout(client)
    cursor = {"uidvalidity": uidvalidity, "last_uid": batch[-1] if batch else last_uid}
    return PollBatch(items=items, cursor=cursor, more=len(uids) > len(batch))


def _imap_client(config: dict[str, Any]) -> imaplib.IMAP4:
    tls = str(config.get("imap_tls") or "ssl")
    host = str(config.get("imap_host", ""))
    port = int(config.get("imap_port") or (993 if tls == "ssl" else 143))
    if tls == "ssl":
        return imaplib.IMAP4_SSL(host, port, ssl_context=ssl.create_default_context(), timeout=TIMEOUT)
    client = imaplib.IMAP4(host, port, timeout=TIMEOUT)
    if tls == "starttls":
        client.starttls(ssl.create_default_context())
    return client


def _fetch(client: imaplib.IMAP4, uids: list[int], uidvalidity: int, mailbox: str) -> list[PolledItem]:
    status, answer = client.uid("FETCH", ",".join(map(str, uids)), f"(UID RFC822.SIZE BODY.PEEK[]<0.{MAX_MESSAGE_BYTES}>)")
    if status != "OK":
        raise PollError("fetch", _text(answer))
    items = []
    for part in answer:
        if not isinstance(part, tuple):
            continue  # the closing ")" of each FETCH response
        described, body = part
        uid_match = re.search(rb"UID (\d+)", described)
        size_match = re.search(rb"RFC822\.SIZE (\d+)", described)
        if uid_match is None or int(uid_match.group(1)) not in uids:
            continue
        uid = int(uid_match.group(1))
        size = int(size_match.group(1)) if size_match else len(body)
        query = {"poll": "imap", "mailbox": mailbox[:200], "uid": str(uid), "uidvalidity": str(uidvalidity)}
        if size > len(body):
            query["truncated_from"] = str(size)
        items.append(PolledItem(dedupe_key=_dedupe_key(body, uidvalidity, uid), body=bytes(body), query=query))
    return items


def _dedupe_key(body: bytes, uidvalidity: int, uid: int) -> str:
    try:
        headers = BytesParser(policy=policy.compat32).parsebytes(body, headersonly=True)
        message_id = str(headers.get("Message-ID") or "").strip()
    except MALFORMED:
        message_id = ""
    if message_id:
        return "msgid:" + hashlib.sha256(message_id.encode("utf-8", "replace")).hexdigest()
    return f"uid:{uidvalidity}:{uid}"


def _uidvalidity(client: imaplib.IMAP4) -> int:
    _name, values = client.response("UIDVALIDITY")
    try:
        return int(values[0]) if values and values[0] else 0
    except (TypeError, ValueError):
        return 0


def _quoted(mailbox: str) -> str:
    return '"' + mailbox.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _text(answer: Any) -> str:
    return " ".join(part.decode("utf-8", "replace") if isinstance(part, bytes) else str(part) for part in answer or [])[:300]


def _logout(client: imaplib.IMAP4) -> None:
    try:
        client.logout()
    except (imaplib.IMAP4.error, OSError):
        pass  # the poll's outcome is already decided; a rude server at goodbye changes nothing


# --- parse -------------------------------------------------------------------------------

_QUOTE_HEADER = re.compile(r"^(On .{1,300} wrote:|在.{1,300}写道[:：]|-{2,} ?Original Message ?-{2,}|-{2,} ?原始邮件 ?-{2,})\s*$",
                           re.IGNORECASE)


def parse_message(connector: Connector, raw: RawEvent) -> ParseResult:
    result = ParseResult()
    message = email.message_from_bytes(bytes(raw.body), policy=policy.default)
    sender = _address(_header(message, "From"))
    if not sender:
        result.unhandled.append("email:no-sender")
        return result
    own = str(connector.config.get("address") or "").lower()
    if own and sender.lower() == own:
        return result  # our own sent mail, filed in the mailbox
    display_name = parseaddr(_header(message, "From"))[0]
    occurred = _occurred(_header(message, "Date"), raw.received_at)
    metadata: dict[str, Any] = {
        "subject": _header(message, "Subject")[:500],
        "message_id": _header(message, "Message-ID")[:500],
        "in_reply_to": _header(message, "In-Reply-To")[:500],
        "references": _header(message, "References").split()[-20:],
        "attachments": _attachments(message),
    }
    if raw.query.get("truncated_from"):
        metadata["truncated_from_bytes"] = int(raw.query["truncated_from"])
    identity = IdentityClaim(kind=IdentityKind.EMAIL, value=sender, verified=False, source="email")
    result.events.append(InboundEvent(
        channel=Channel.EMAIL, kind=InteractionKind.MESSAGE_IN, external_id=raw.dedupe_key, occurred_at=occurred,
        claim=Claim(identities=(identity,), display_name=_clean(display_name, 200), seen_at=occurred),
        text=_clean(strip_quoted(_body_text(message)), MAX_TEXT), metadata=metadata,
    ))
    return result


def _header(message: Message, name: str) -> str:
    try:
        value = message.get(name)
        return _clean(str(value) if value is not None else "", 5000)
    except MALFORMED:
        # The policy could not parse the header: fall back to its raw text.
        for key, value in message.raw_items():
            if key.lower() == name.lower():
                return _clean(str(value), 5000)
    return ""


def _address(value: str) -> str:
    addresses = [address for _name, address in getaddresses([value]) if "@" in address]
    return addresses[0][:255] if addresses else ""


def _occurred(date: str, fallback: datetime) -> datetime:
    try:
        parsed = parsedate_to_datetime(date) if date else None
    except MALFORMED:
        parsed = None
    if parsed is None:
        return fallback
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    # A forged or broken Date must not put the message decades away on the timeline.
    if abs(parsed - fallback) > timedelta(days=365):
        return fallback
    return parsed


def _body_text(message: EmailMessage) -> str:
    """The plain-text part, or the HTML part as text when the plain one is missing or blank."""
    for subtype in ("plain", "html"):
        try:
            body = message.get_body(preferencelist=(subtype,))
        except MALFORMED:
            body = None
        if body is None:
            continue
        content = _content(body)
        text = html_to_text(content) if subtype == "html" else content
        if text.strip():
            return text
    return ""


def _content(part: Message) -> str:
    try:
        content = part.get_content()  # type: ignore[attr-defined]
        return content if isinstance(content, str) else ""
    except MALFORMED:
        payload = part.get_payload(decode=True)
        return payload.decode("utf-8", "replace") if isinstance(payload, bytes) else ""


def _attachments(message: Message) -> list[dict[str, Any]]:
    listed: list[dict[str, Any]] = []
    try:
        for part in message.walk():
            if part.is_multipart() or not (part.get_content_disposition() == "attachment" or part.get_filename()):
                continue
            payload = part.get_payload(decode=True)
            listed.append({
                "filename": _clean(part.get_filename() or "", 200), "content_type": part.get_content_type()[:100],
                "size": len(payload) if isinstance(payload, bytes) else 0,
            })
            if len(listed) >= MAX_ATTACHMENTS:
                break
    except MALFORMED:
        pass  # keep the attachments listed so far; the message itself is still recorded
    return listed


def strip_quoted(text: str) -> str:
    """The new part of a reply: quoted lines and everything after "On … wrote:" dropped."""
    kept = []
    for line in text.splitlines():
        if _QUOTE_HEADER.match(line.strip()):
            break
        if not line.lstrip().startswith(">"):
            kept.append(line.rstrip())
    return "\n".join(kept).strip()


def _clean(value: str, limit: int) -> str:
    return value.replace("\x00", "")[:limit]


# --- SMTP send ---------------------------------------------------------------------------


def send_email(connector: Connector, message: Any) -> SendResult:
    """One message through the connector's SMTP server: text with an HTML alternative,
    From the connector's address, our own Message-ID (returned as the platform id)."""
    config = connector.config
    try:
        mail = compose(connector, message)
    except (ValueError, email.errors.HeaderParseError) as error:
        return SendResult(ok=False, code="invalid_message", error=str(error)[:300])
    except FileNotFoundError:
        return SendResult(ok=False, code="no_media", error="the image file of this message is missing")
    tls = str(config.get("smtp_tls") or "starttls")
    host = str(config.get("smtp_host") or config.get("imap_host") or "")
    port = int(config.get("smtp_port") or (465 if tls == "ssl" else 587))
    username = str(config.get("smtp_username") or config.get("username") or "")
    password = connector.secret("smtp_password") or connector.secret("password")
    try:
        smtp_class = smtplib.SMTP_SSL if tls == "ssl" else smtplib.SMTP
        kwargs: dict[str, Any] = {"context": ssl.create_default_context()} if tls == "ssl" else {}
        with smtp_class(host, port, timeout=TIMEOUT, **kwargs) as smtp:
            if tls == "starttls":
                smtp.starttls(context=ssl.create_default_context())
            if username and password:
                smtp.login(username, password)
            smtp.send_message(mail, from_addr=str(config.get("address", "")), to_addrs=[message.recipient])
    except smtplib.SMTPRecipientsRefused as error:
        code, reason = next(iter(error.recipients.values()))
        return SendResult(ok=False, code=str(code), error=_reason(reason), transient=400 <= code < 500)
    except smtplib.SMTPResponseException as error:
        return SendResult(ok=False, code=str(error.smtp_code), error=_reason(error.smtp_error),
                          transient=400 <= error.smtp_code < 500)
    except (smtplib.SMTPException, OSError) as error:
        return SendResult(ok=False, code="unreachable", error=f"{type(error).__name__}: {error}"[:300], transient=True)
    return SendResult(ok=True, platform_id=str(mail["Message-ID"]))


def compose(connector: Connector, message: Any) -> EmailMessage:
    """The MIME message for an outbox row. Raises ValueError for headers that would
    inject lines (CR/LF in a recipient or subject)."""
    address = str(connector.config.get("address", ""))
    payload = message.payload
    text = str(payload.get("text", ""))
    mail = EmailMessage(policy=policy.SMTP)
    mail["From"] = formataddr((str(connector.config.get("from_name") or connector.name), address))
    mail["To"] = message.recipient
    mail["Subject"] = str(payload.get("subject") or "")
    mail["Date"] = email.utils.format_datetime(datetime.now(tz=UTC))
    mail["Message-ID"] = make_msgid(domain=address.rpartition("@")[2] or None)
    if payload.get("in_reply_to"):
        mail["In-Reply-To"] = str(payload["in_reply_to"])
        mail["References"] = " ".join([*payload.get("references", []), str(payload["in_reply_to"])][-20:])
    if message.purpose == "marketing" and payload.get("unsubscribe_url"):
        mail["List-Unsubscribe"] = f"<{payload['unsubscribe_url']}>"
        mail["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    mail.set_content(text)
    html = payload.get("html") or "<p>" + escape(text).replace("\n", "<br>\n") + "</p>"
    mail.add_alternative(str(html), subtype="html")
    # An agent's image reply: the stored file as an attachment under its random name.
    image = attached_image(payload)
    if image is not None:
        maintype, _slash, subtype = image.content_type.partition("/")
        mail.add_attachment(image.content, maintype=maintype, subtype=subtype, filename=image.filename)
    return mail


def _reason(raw: bytes | str) -> str:
    return (raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw))[:300]
