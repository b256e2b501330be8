"""Text from customers and platforms, made storable: PostgreSQL rejects NUL characters in
text and jsonb (psycopg raises before the query is sent), so they are removed at the
service boundary. Everything else (script tags, emoji, RTL and zero-width marks) is kept
as written and escaped when rendered."""

from __future__ import annotations

from typing import Any

NUL = "\x00"


def clean_text(value: str, *, max_length: int | None = None) -> str:
    """`value` without NUL characters, cut to `max_length` characters if given."""
    value = value.replace(NUL, "")
    return value[:max_length] if max_length is not None else value


def clean_json(value: Any) -> Any:
    """A JSON-able value with NUL removed from every string in it, keys included."""
    if isinstance(value, str):
        return value.replace(NUL, "")
    if isinstance(value, dict):
        return {clean_json(str(k)): clean_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean_json(v) for v in value]
    return value
