"""Every view declares its roles; each role sees and reaches only what it may use."""

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

# Routes that are not ours to decorate: Django's admin (is_staff, i.e. Admins only) and
# the language switch (public by design).
FOREIGN_ROUTES = ("django-admin/", "i18n/")


def _patterns(resolver: URLResolver, prefix: str = "") -> list[tuple[str, URLPattern]]:
    found = []
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            found += _patterns(entry, prefix + str(entry.pattern))
        else:
            found.append((prefix + str(entry.pattern), entry))
    return found


@pytest.mark.parametrize("urlconf", ["scrm.urls", "scrm.urls_public"])
def test_every_view_declares_its_roles(urlconf):
    undeclared = []
    for route, pattern in _patterns(get_resolver(urlconf)):
        if route.startswith(FOREIGN_ROUTES):
            continue
        if not hasattr(pattern.callback, "allowed_roles"):
            undeclared.append(route)
    assert undeclared == []


@pytest.mark.parametrize(
    ("role", "visible", "hidden"),
    [
        ("Admin", {"staff:staff-list", "staff:audit-log", "staff:system", "home"}, set()),
        ("Marketer", {"home"}, {"staff:staff-list", "staff:audit-log", "staff:system"}),
        ("Agent", {"home"}, {"staff:staff-list", "staff:audit-log", "staff:system"}),
    ],
)
def test_navigation_shows_only_what_the_role_may_use(staff_client, role, visible, hidden):
    # given a logged-in member of staff with `role`
    client, _user = staff_client(role)
    # when they open the home page
    response = client.get("/")
    # then the navigation lists exactly what their role may use
    assert response.status_code == 200
    names = {item["name"] for item in response.context["nav_items"]}
    assert visible <= names
    assert not (hidden & names)
    body = response.content.decode()
    for name in hidden:
        assert f'data-nav="{name}"' not in body


@pytest.mark.parametrize("path", ["/staff/", "/staff/invite/", "/audit/", "/system/"])
@pytest.mark.parametrize("role", ["Marketer", "Agent"])
def test_admin_pages_refuse_other_roles(staff_client, role, path):
    client, _user = staff_client(role)
    assert client.get(path).status_code == 403


def test_anonymous_visitors_are_sent_to_log_in(brand):
    from django.test import Client

    response = Client(HTTP_HOST=brand.primary_host()).get("/staff/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/?next=/staff/")
