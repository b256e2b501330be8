"""One spelling per email address and phone number, so identities match across channels.

Platforms, imports and forms write the same person's contact details many ways
("+86 138-1234-5678", "13812345678", " Li@Example.COM "). Identity values are stored in the
form these functions return, and lookups normalize first, so the unique constraint on
(kind, scope, value) means "one person per address". Invalid input yields None, never an
exception: callers decide whether a missing value matters.
"""

from __future__ import annotations

import phonenumbers
from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator

# RFC 5321 limits a path to 254 characters; the longest valid phone number (E.164 with
# extension and punctuation) is far below 64. Longer input is rejected before parsing so a
# hostile 100k-character value costs nothing.
MAX_EMAIL_LENGTH = 254
MAX_PHONE_INPUT_LENGTH = 64

_validate_email = EmailValidator()


def normalize_email(raw: str | None) -> str | None:
    """Lower-cased, trimmed address, or None when it is not a valid address.

    The whole address is lower-cased: local parts are case-sensitive in theory but no
    provider our brands' customers use treats them so, and two spellings of one inbox
    must not become two people.
    """
    if not isinstance(raw, str):
        return None
    value = raw.strip().lower()
    if not value or len(value) > MAX_EMAIL_LENGTH or "\x00" in value:
        return None
    try:
        _validate_email(value)
    except ValidationError:
        return None
    return value


def normalize_phone(raw: str | None, default_region: str = "CN") -> str | None:
    """E.164 ("+8613812345678"), or None when it is not a valid number.

    Numbers without a country code are read as `default_region` numbers (a brand's home
    market); numbers with "+" or "00" keep their own country.
    """
    if not isinstance(raw, str):
        return None
    value = raw.strip()
    if not value or len(value) > MAX_PHONE_INPUT_LENGTH or "\x00" in value:
        return None
    if value.startswith("00"):
        value = "+" + value[2:]
    try:
        number = phonenumbers.parse(value, default_region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
