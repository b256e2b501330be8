"""The per-process host → brand memo never outlives a Domain or Brand change."""

from django.test import Client
from django_tenants.utils import schema_context

from scrm.models import Domain


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
