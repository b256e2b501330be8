"""Personalization: `{{ name | fallback }}` placeholders filled from the customer.

Deliberately not the Django template language: marketers' text is data, so it can only
name variables — no tags, filters, attribute access or loops — and nothing in it runs.
Values are escaped for where they land: HTML-escaped in an email body, plain text (with
NUL and other control characters removed) in chat messages and subjects.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from typing import Any

from django.utils.translation import gettext_lazy as _

PLACEHOLDER = re.compile(r"\{\{\s*([a-zA-Z_][a-zA-Z0-9_.]{0,63})\s*(?:\|\s*(.*?)\s*)?\}\}", re.DOTALL)
# C0 controls except tab and newline; they break XML payloads (WeChat) and terminals.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")

# What the builder lists as insertable.
VARIABLES: tuple[tuple[str, Any], ...] = (
    ("name", _("Display name")),
    ("city", _("City")),
    ("coupon", _("Coupon code")),
    ("link", _("Tracked link")),
    ("poll_link", _("Poll page link")),
    ("referral_link", _("Referral link")),
    ("gift_link", _("Send-a-gift page link")),
    ("ideas_link", _("Idea board link")),
    ("preferences_link", _("Preference center (unsubscribe)")),
    ("attributes.<key>", _("A custom field")),
)


def customer_variables(customer: Any) -> dict[str, str]:
    variables = {"name": customer.display_name or "", "city": customer.city or ""}
    for key, value in (customer.attributes or {}).items():
        if isinstance(value, str | int | float) and not isinstance(value, bool):
            variables[f"attributes.{key}"] = str(value)
    return variables


def clean_plain(text: str) -> str:
    return _CONTROL.sub("", text)


def render(template: str, variables: Mapping[str, str], *, html_body: bool = False) -> str:
    """Fill placeholders; an unknown or empty variable takes its fallback (or nothing)."""

    def fill(match: re.Match[str]) -> str:
        value = variables.get(match.group(1), "")
        if value:
            value = clean_plain(value)
            return html.escape(value) if html_body else value
        fallback = match.group(2) or ""
        # The fallback is the marketer's own text, but an email body still gets it escaped:
        # it is typed into a plain field next to the variable.
        return html.escape(fallback) if html_body else clean_plain(fallback)

    return PLACEHOLDER.sub(fill, template)


def render_message(variant: Any, message_type: str, variables: Mapping[str, str]) -> dict[str, Any]:
    """The message one customer receives for a variant, as the delivery record keeps it."""
    if message_type == "email":
        return {
            "type": "email",
            "subject": render(variant.email_subject, variables),
            "html": render(variant.email_html, variables, html_body=True),
            "text": render(variant.text, variables),
        }
    if message_type == "template":
        return {
            "type": "template",
            "template_id": variant.template_id,
            "url": variables.get("link", ""),
            "data": {key: render(str(value), variables) for key, value in (variant.template_data or {}).items()},
        }
    message: dict[str, Any] = {"type": "text", "text": render(variant.text, variables)}
    if variant.image_url:
        message["image_url"] = variant.image_url
    return message
