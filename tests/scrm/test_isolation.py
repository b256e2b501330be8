"""Tenant isolation: another brand's ids give 404/403, never data; sessions, caches and
unknown hosts stay apart. New URL parameters must be added to ID_SOURCES, or the sweep
fails: no page can be forgotten."""

import re

import pytest
from django.contrib.auth.models import User
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django_tenants.utils import tenant_context

from channels.models import Connector
from customers.consent import preference_token
from customers.models import AttributeDefinition, Customer, DataRequest, ImportJob
from tests.conftest import make_staff
from tests.engagement.inbox.isolation import inbox_id_sources

MARKER = "beta-secret-7f3a"

# URL parameter name → how to make an object in the *other* brand and return its id.
ID_SOURCES = {
    "user_id": lambda: User.objects.create_user(f"{MARKER}-{User.objects.count()}", email=f"{MARKER}@beta.example").pk,
    "customer_id": lambda: Customer.objects.create(display_name=f"{MARKER} customer").pk,
    "connector_id": lambda: Connector.objects.create(kind="x", name=f"{MARKER} connector").pk,
    "webhook_token": lambda: Connector.objects.create(kind="x", name=f"{MARKER} hook").webhook_token,
    "data_request_id": lambda: DataRequest.objects.create(
        customer=Customer.objects.create(display_name=f"{MARKER} subject"), subject_label=MARKER,
        kind="export", status="done", file="data-requests/x.zip",
    ).pk,
    "definition_id": lambda: AttributeDefinition.objects.create(key="beta_secret", label=MARKER).pk,
    "token": lambda: preference_token(Customer.objects.create(display_name=f"{MARKER} prefs")),
    # merges (customers/merge_views.py)
    "other_id": lambda: Customer.objects.create(display_name=f"{MARKER} other").pk,
    "merge_id": lambda: _beta_merge().pk,
    "suggestion_id": lambda: _beta_suggestion().pk,
    "import_id": lambda: ImportJob.objects.create(kind="customers", original_name=f"{MARKER}.csv", file="imports/x.csv").pk,
    "segment_id": lambda: __import__("segments.models").models.Segment.objects.create(name=f"{MARKER} segment", rule={"all": []}).pk,
    **inbox_id_sources(MARKER),
}


def _beta_merge():  # noqa: ANN202
    from customers.merging import merge

    make = Customer.objects.create
    return merge(make(display_name=MARKER), make(display_name=MARKER), rule="manual")


def _beta_suggestion():  # noqa: ANN202
    from customers.models import MergeSuggestion

    a, b = (Customer.objects.create(display_name=MARKER) for _ in range(2))
    return MergeSuggestion.objects.create(customer_a=a, customer_b=b, score=1.0)


# Routes whose parameters are not object ids (tokens), or not ours (Django admin).
SKIP = ("django-admin/", "password/reset/<uidb64>/<token>/", "i18n/")


def _routes(resolver: URLResolver, prefix: str = "") -> list[tuple[str, URLPattern]]:
    found = []
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            found += _routes(entry, prefix + str(entry.pattern))
        else:
            found.append((prefix + str(entry.pattern), entry))
    return found


def _bump_sequences_past_alpha() -> None:
    """Make the other brand's ids ones that do not exist in alpha at all."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT sequencename FROM pg_sequences WHERE schemaname = current_schema()"
        )
        for (name,) in cursor.fetchall():
            cursor.execute("SELECT setval(%s, 900000)", [name])


def test_every_url_with_another_brands_ids_gives_404_or_403(staff_client, other_brand):
    # given an admin of alpha, and objects that exist only in beta
    client, _admin = staff_client("Admin")
    with tenant_context(other_brand):
        _bump_sequences_past_alpha()
        ids = {name: make() for name, make in ID_SOURCES.items()}
    routes = [(r, p) for r, p in _routes(get_resolver("scrm.urls")) if "<" in r and not r.startswith(SKIP)]
    assert routes, "the sweep found no URL with parameters"
    for route, _pattern in routes:
        params = re.findall(r"<(?:\w+:)?(\w+)>", route)
        missing = [p for p in params if p not in ids]
        assert not missing, f"add {missing} to ID_SOURCES for {route}"
        path = "/" + re.sub(r"<(?:\w+:)?(\w+)>", lambda m: str(ids[m.group(1)]), route)
        # when alpha's admin requests it with beta's ids, by GET and by POST
        for method in (client.get, client.post):
            response = method(path)
            # then it is refused, and nothing of beta shows
            assert response.status_code in (403, 404, 405), (route, response.status_code)
            assert MARKER not in response.content.decode(errors="replace"), route


def test_a_session_from_one_brand_is_not_valid_on_another(staff_client, other_brand):
    client, user = staff_client("Admin")
    with tenant_context(other_brand):
        beta_host = other_brand.primary_host()
    response = client.get("/", HTTP_HOST=beta_host)
    assert response.status_code == 302  # to beta's log-in page: alpha's session means nothing there


def test_same_username_lives_separately_in_each_brand(brand, other_brand):
    make_staff("Admin", username="same-name")
    with tenant_context(other_brand):
        make_staff("Agent", username="same-name")
    client = Client(HTTP_HOST=other_brand.primary_host())
    assert client.post("/login/", {"username": "same-name", "password": "test-pass-123"}).status_code == 302
    assert client.get("/staff/").status_code == 403  # an Agent in beta, whatever alpha says


def test_cache_keys_are_brand_scoped(brand, other_brand):
    cache.set("greeting", "alpha's")
    with tenant_context(other_brand):
        assert cache.get("greeting") is None
        cache.set("greeting", "beta's")
        assert cache.get("greeting") == "beta's"
        cache.delete("greeting")
    connection.set_tenant(brand)
    assert cache.get("greeting") == "alpha's"
    cache.delete("greeting")


@pytest.mark.parametrize("host", ["unknown.localhost", "evil.example.com"])
def test_unknown_host_is_a_404_page_not_a_crash(db, brands, host):
    response = Client(HTTP_HOST=host).get("/")
    assert response.status_code in (400, 404)
