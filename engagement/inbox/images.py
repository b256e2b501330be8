"""Images agents attach to replies: what the bytes are (magic numbers, never the file name
or the browser's content type), how big they are, and which channels can carry them.

Dimensions are read from the format's own header (PNG IHDR, GIF logical screen, JPEG
SOFn, WebP VP8/VP8L/VP8X): Pillow is not a dependency of this project and reading two
integers does not need it. Nothing here decodes pixel data.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from django.utils.translation import gettext as _

# WeChat's temporary media limit for images (2 MB, PNG/JPEG/GIF) is the strictest of the
# platforms we send to; Messenger and Instagram take up to 8–25 MB.
MAX_BYTES = 2 * 1024 * 1024
MAX_SIDE = 10_000
MAX_PIXELS = 40_000_000

JPEG, PNG, GIF, WEBP = "image/jpeg", "image/png", "image/gif", "image/webp"
EXTENSIONS = {JPEG: "jpg", PNG: "png", GIF: "gif", WEBP: "webp"}

# channel → image types the platform accepts in a reply. Channels absent here cannot
# carry an image reply (X DMs need their own media upload flow, Weibo fan service and
# WeCom have none wired here): the reply box says so instead of offering the upload.
CHANNEL_TYPES: dict[str, frozenset[str]] = {
    "wechat": frozenset({JPEG, PNG, GIF}),
    "facebook": frozenset({JPEG, PNG, GIF, WEBP}),
    "instagram": frozenset({JPEG, PNG, GIF, WEBP}),
    "email": frozenset({JPEG, PNG, GIF, WEBP}),
}


class InvalidImage(ValueError):
    """The upload is not an image we can send; the message is shown to the agent."""


@dataclass(frozen=True)
class ImageInfo:
    content_type: str
    width: int
    height: int

    @property
    def extension(self) -> str:
        return EXTENSIONS[self.content_type]


def channel_accepts_images(channel: str) -> bool:
    return channel in CHANNEL_TYPES


def inspect(data: bytes, *, channel: str) -> ImageInfo:
    """The image's type and size from its bytes, checked against the channel's limits."""
    if channel not in CHANNEL_TYPES:
        raise InvalidImage(_("Images cannot be sent on this channel."))
    if not data:
        raise InvalidImage(_("The image is empty."))
    if len(data) > MAX_BYTES:
        raise InvalidImage(_("The image is larger than %(limit)s MB.") % {"limit": MAX_BYTES // (1024 * 1024)})
    info = sniff(data)
    if info is None:
        raise InvalidImage(_("This file is not a JPEG, PNG, GIF or WebP image."))
    if info.content_type not in CHANNEL_TYPES[channel]:
        raise InvalidImage(_("This channel does not accept %(kind)s images.") % {"kind": info.extension.upper()})
    if not (0 < info.width <= MAX_SIDE and 0 < info.height <= MAX_SIDE) or info.width * info.height > MAX_PIXELS:
        raise InvalidImage(_("The image's dimensions (%(width)s × %(height)s) are not allowed.")
                           % {"width": info.width, "height": info.height})
    return info


def sniff(data: bytes) -> ImageInfo | None:
    """None when the bytes are not a well-formed header of a supported format."""
    try:
        if data.startswith(b"\x89PNG\r\n\x1a\n") and data[12:16] == b"IHDR":
            width, height = struct.unpack(">II", data[16:24])
            return ImageInfo(PNG, width, height)
        if data[:6] in (b"GIF87a", b"GIF89a"):
            width, height = struct.unpack("<HH", data[6:10])
            return ImageInfo(GIF, width, height)
        if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
            return _webp(data)
        if data[:3] == b"\xff\xd8\xff":
            return _jpeg(data)
    except struct.error:
        return None
    return None


def _webp(data: bytes) -> ImageInfo | None:
    chunk = data[12:16]
    if chunk == b"VP8 " and data[23:26] == b"\x9d\x01\x2a":
        width, height = struct.unpack("<HH", data[26:30])
        return ImageInfo(WEBP, width & 0x3FFF, height & 0x3FFF)
    if chunk == b"VP8L" and data[20:21] == b"\x2f":
        bits = int.from_bytes(data[21:25], "little")
        return ImageInfo(WEBP, (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1)
    if chunk == b"VP8X":
        return ImageInfo(WEBP, int.from_bytes(data[24:27], "little") + 1, int.from_bytes(data[27:30], "little") + 1)
    return None


# Start-of-frame markers carry the dimensions; C4 (DHT), C8 (JPG) and CC (DAC) do not.
_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


def _jpeg(data: bytes) -> ImageInfo | None:
    at = 2
    while at + 4 <= len(data):
        if data[at] != 0xFF:
            return None
        marker = data[at + 1]
        if marker == 0xFF:  # fill byte
            at += 1
            continue
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:  # markers without a length
            at += 2
            continue
        if marker in (0xD9, 0xDA):  # end of image, or entropy-coded data before any frame
            return None
        (length,) = struct.unpack(">H", data[at + 2:at + 4])
        if length < 2:
            return None
        if marker in _SOF:
            height, width = struct.unpack(">HH", data[at + 5:at + 9])
            return ImageInfo(JPEG, width, height)
        at += 2 + length
    return None
