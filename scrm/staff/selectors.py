"""Reads for staff pages: the staff list and the audit log search."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.db.models import Q, QuerySet

from scrm.staff.models import AuditEntry, BrandHeartbeat


def staff_list(*, query: str = "") -> QuerySet[User]:
    users = User.objects.prefetch_related("groups").order_by("-is_active", "username")
    if query:
        users = users.filter(Q(username__icontains=query) | Q(email__icontains=query))
    return users


def audit_search(*, query: str = "", action: str = "") -> QuerySet[AuditEntry]:
    entries = AuditEntry.objects.all()
    if action:
        entries = entries.filter(action=action)
    if query:
        matches = Q(actor_name__icontains=query) | Q(object_repr__icontains=query) | Q(action__icontains=query)
        if _looks_like_ip(query):
            matches |= Q(ip_address__startswith=query)
        entries = entries.filter(matches)
    return entries


def _looks_like_ip(text: str) -> bool:
    return bool(text) and all(c.isdigit() or c in ".:abcdef" for c in text.lower())


def audit_actions() -> list[str]:
    return list(AuditEntry.objects.order_by("action").values_list("action", flat=True).distinct())


def brand_heartbeat() -> BrandHeartbeat | None:
    return BrandHeartbeat.objects.filter(key="worker").first()
