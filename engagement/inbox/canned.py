"""Canned replies: `{{ customer.display_name|there }}`-style variables filled from a fixed
list of values, never through the template engine, so a reply body cannot reach code or
other data. Unknown variables stay as typed so the agent sees them before sending."""

from __future__ import annotations

import re
from collections.abc import Mapping

VARIABLE = re.compile(r"\{\{\s*([a-z_]+(?:\.[a-z_]+)?)\s*(?:\|\s*([^}]*?))?\s*\}\}")


def render(body: str, values: Mapping[str, str]) -> str:
    """Replace each known `{{ name|fallback }}` with its value, or the fallback when blank."""

    def substitute(match: re.Match[str]) -> str:
        name, fallback = match.group(1), match.group(2)
        if name not in values:
            return match.group(0)
        value = (values.get(name) or "").strip()
        return value or (fallback or "").strip()

    return VARIABLE.sub(substitute, body)


def variables_for(*, customer_name: str, agent_name: str, brand_name: str, channel: str) -> dict[str, str]:
    return {
        "customer.display_name": customer_name,
        "customer.first_name": customer_name.split(" ")[0] if customer_name else "",
        "agent.name": agent_name,
        "brand.name": brand_name,
        "conversation.channel": channel,
    }
