"""Host → brand routing with a per-process memo.

django-tenants' TenantMainMiddleware looks the host up in scrm_domain ⨝ scrm_brand on
every request (plus a `SET search_path` to public first): about 0.8 ms, four times the
0.2 ms the foundation issue allows (bench/RESULTS.md). Brands and domains change rarely,
so each process keeps the answer for ROUTING_TTL seconds and forgets it at once when a
Brand or Domain is saved or deleted in this process (other processes within the TTL).
Unknown hosts are never cached, so a new brand is reachable as soon as it commits.
"""

from __future__ import annotations

import copy
import time
from typing import Any

from django.db.models.signals import post_delete, post_save
from django_tenants.middleware.main import TenantMainMiddleware

ROUTING_TTL = 30.0

_entries: dict[str, tuple[float, Any]] = {}


def forget_routes(**_kwargs: Any) -> None:
    _entries.clear()


class BrandRoutingMiddleware(TenantMainMiddleware):
    def get_tenant(self, domain_model: Any, hostname: str) -> Any:
        now = time.monotonic()
        entry = _entries.get(hostname)
        if entry is None or entry[0] <= now:
            tenant = super().get_tenant(domain_model, hostname)  # raises DoesNotExist → 404
            entry = _entries[hostname] = (now + ROUTING_TTL, tenant)
        # A copy per request: nothing a request sets on its brand leaks into the next.
        return copy.copy(entry[1])


def connect_signals() -> None:
    from scrm.models import Brand, Domain

    for model in (Brand, Domain):
        post_save.connect(forget_routes, sender=model, dispatch_uid=f"routing-{model.__name__}-save")
        post_delete.connect(forget_routes, sender=model, dispatch_uid=f"routing-{model.__name__}-delete")
