"""Encryption at rest for connector secrets (app secrets, tokens, AES keys, passwords).

Fernet with SCRM_ENCRYPTION_KEY. Without it (development, tests) a key is derived from
SECRET_KEY so a fresh checkout works; production sets its own and keeps it.
"""

from __future__ import annotations

import base64
import hashlib
import logging
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings

logger = logging.getLogger(__name__)


@lru_cache(maxsize=1)
def _fernet() -> Fernet:
    key = settings.SCRM_ENCRYPTION_KEY
    if not key:
        if not settings.DEBUG:
            logger.warning("SCRM_ENCRYPTION_KEY is unset; deriving one from SECRET_KEY")
        key = base64.urlsafe_b64encode(hashlib.sha256(settings.SECRET_KEY.encode()).digest()).decode()
    return Fernet(key)


def encrypt(plaintext: str) -> str:
    return _fernet().encrypt(plaintext.encode()).decode()


def decrypt(token: str) -> str:
    """Raises ValueError (not the secret, not the token) when it cannot be decrypted."""
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken as error:
        raise ValueError("stored secret cannot be decrypted with the current key") from error
