"""The image an outbox row carries, read back from the brand's media storage.

The inbox stores the file and puts its storage name in the row's payload (`media_path`,
`content_type`, `url`); adapters that upload the bytes (WeChat temporary media, an email
attachment) read them here, in the brand's schema the delivery task runs in.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

from django.core.files.storage import default_storage


@dataclass(frozen=True)
class AttachedImage:
    content: bytes
    content_type: str
    filename: str


def attached_image(payload: dict[str, Any]) -> AttachedImage | None:
    """None when the payload names no media; FileNotFoundError when the file is gone."""
    path = str(payload.get("media_path") or "")
    if not path:
        return None
    with default_storage.open(path, "rb") as handle:
        content = handle.read()
    return AttachedImage(content=content, content_type=str(payload.get("content_type") or "application/octet-stream"),
                         filename=PurePosixPath(path).name)
