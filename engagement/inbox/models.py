"""Inbox models: conversations, messages, routing, SLA (issue 5)."""

__all__: list[str] = []
