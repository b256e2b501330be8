"""Inbox URLs, mounted at /inbox/ inside the `engagement` namespace."""

urlpatterns: list = []
