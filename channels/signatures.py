"""Webhook signatures and WeChat's AES safe mode, shared by the adapters and the sandboxes
(a sandbox signs exactly as its platform does, the adapter checks exactly that).

Every comparison is constant-time (hmac.compare_digest) on bytes or ASCII strings.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import struct

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes


def equal(a: str | bytes, b: str | bytes) -> bool:
    if isinstance(a, str):
        a = a.encode()
    if isinstance(b, str):
        b = b.encode()
    return hmac.compare_digest(a, b)


# --- WeChat / Weibo: sha1 over the sorted parameters ------------------------------------


def sha1_sorted(*parts: str) -> str:
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()  # noqa: S324 - the platform's choice


# --- WeChat safe mode (AES-256-CBC, PKCS#7 to 32-byte blocks) ----------------------------


class DecryptError(ValueError):
    pass


def _aes_key(encoding_aes_key: str) -> bytes:
    key = base64.b64decode(encoding_aes_key + "=")
    if len(key) != 32:
        raise DecryptError("EncodingAESKey must decode to 32 bytes")
    return key


def wechat_encrypt(plaintext: bytes, *, encoding_aes_key: str, appid: str, random16: bytes | None = None) -> str:
    key = _aes_key(encoding_aes_key)
    payload = (random16 or os.urandom(16)) + struct.pack(">I", len(plaintext)) + plaintext + appid.encode()
    pad = 32 - len(payload) % 32
    payload += bytes([pad]) * pad
    encryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    return base64.b64encode(encryptor.update(payload) + encryptor.finalize()).decode()


def wechat_decrypt(ciphertext_b64: str, *, encoding_aes_key: str, appid: str) -> bytes:
    """The message XML inside an `Encrypt` element; raises DecryptError on any mismatch."""
    key = _aes_key(encoding_aes_key)
    try:
        data = base64.b64decode(ciphertext_b64, validate=True)
    except ValueError as error:
        raise DecryptError("Encrypt is not base64") from error
    if not data or len(data) % 16:
        raise DecryptError("ciphertext length is not a multiple of the block size")
    decryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).decryptor()
    padded = decryptor.update(data) + decryptor.finalize()
    pad = padded[-1]
    if not 1 <= pad <= 32 or padded[-pad:] != bytes([pad]) * pad:
        raise DecryptError("bad padding")
    content = padded[16:-pad]
    if len(content) < 4:
        raise DecryptError("truncated plaintext")
    (length,) = struct.unpack(">I", content[:4])
    message, tail = content[4 : 4 + length], content[4 + length :]
    if len(message) != length:
        raise DecryptError("truncated message")
    if not equal(tail, appid.encode()):
        raise DecryptError("appid does not match this connector")
    return message


# --- Meta: X-Hub-Signature-256 ------------------------------------------------------------


def meta_signature(app_secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()


# --- X: CRC and x-twitter-webhooks-signature ---------------------------------------------


def x_signature(consumer_secret: str, data: bytes) -> str:
    digest = hmac.new(consumer_secret.encode(), data, hashlib.sha256).digest()
    return "sha256=" + base64.b64encode(digest).decode()


# --- our own API: X-SCRM-Signature: t=<unix>,v1=<hex HMAC(secret, "<t>.<body>")> ----------


def scrm_signature(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def parse_scrm_signature(header: str) -> tuple[int, list[str]] | None:
    timestamp, macs = None, []
    for part in header.split(","):
        name, _sep, value = part.strip().partition("=")
        if name == "t" and value.isdigit():
            timestamp = int(value)
        elif name == "v1" and value:
            macs.append(value)
    if timestamp is None or not macs:
        return None
    return timestamp, macs
