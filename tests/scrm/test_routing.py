"""The per-process host → brand memo never outlives a Domain or Brand change."""

import pytest
from django.db import connection
from django.test import Client
from django_tenants.utils import schema_context

from scrm.models import Domain


@pytest.fixture(autouse=True)
def back_to_public():
    """Requests switch the connection into the brand's schema; leave it as found."""
    yield
    connection.set_schema_to_public()


def test_a_renamed_domain_stops_routing_at_once(db, brands):
    alpha = brands["alpha"]
    old_host = alpha.primary_host()
    assert Client(HTTP_HOST=old_host).get("/healthz").status_code == 200  # now memoised

    with schema_context("public"):
        domain = Domain.objects.get(tenant=alpha, is_primary=True)
        domain.domain = "alpha-renamed.localhost"
        domain.save()

    assert Client(HTTP_HOST=old_host).get("/healthz").status_code == 404
    assert Client(HTTP_HOST="alpha-renamed.localhost").get("/healthz").status_code == 200


def test_each_request_gets_its_own_copy_of_the_brand(db, brands):
    from django.test import RequestFactory

    from scrm.routing import BrandRoutingMiddleware

    seen = []

    def view(request):
        seen.append((request.tenant, request.tenant.name))
        request.tenant.name = "changed by a request"
        from django.http import HttpResponse

        return HttpResponse()

    middleware = BrandRoutingMiddleware(view)
    host = brands["alpha"].primary_host()
    middleware(RequestFactory().get("/", HTTP_HOST=host))
    middleware(RequestFactory().get("/", HTTP_HOST=host))
    (first, _), (second, name_seen_by_second) = seen
    assert first is not second
    assert name_seen_by_second == "Alpha"


def test_another_process_forgets_within_a_second_of_a_change(db, brands):
    """A change made elsewhere reaches this process through the shared generation counter."""
    from django.core.cache import cache

    from scrm import routing

    host = brands["alpha"].primary_host()
    assert Client(HTTP_HOST=host).get("/healthz").status_code == 200
    assert host in routing._entries
    cache.set(routing.GENERATION_KEY, "changed by another process", timeout=None)
    routing._state["checked_at"] = 0.0  # as if a second has passed
    routing._forget_if_stale()
    assert host not in routing._entries


def test_request_logs_mask_tokens_in_the_path():
    from django.test import RequestFactory
    from django.urls import resolve

    from scrm.middleware import loggable_path

    request = RequestFactory().get("/password/reset/MQ/abc-secret123/")
    request.urlconf = "scrm.urls"
    request.resolver_match = resolve(request.path, urlconf="scrm.urls")
    assert "abc-secret123" not in loggable_path(request)
