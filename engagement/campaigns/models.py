"""Campaign models: campaigns, content, offers, sends, tracking (issue 7)."""

__all__: list[str] = []
