"""The navigation, declared once: each entry names the roles that may use it, and a
person sees only those. Apps add their pages here as they land."""

from __future__ import annotations

from dataclasses import dataclass

from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from scrm.staff.roles import ALL_ROLES, Role, role_of


@dataclass(frozen=True)
class NavItem:
    label: str | Promise
    url_name: str
    roles: tuple[Role, ...]
    icon: str


NAV: tuple[NavItem, ...] = (
    NavItem(_("Home"), "home", ALL_ROLES, "home"),
    NavItem(_("Inbox"), "engagement:inbox", (Role.ADMIN, Role.AGENT), "inbox"),
    NavItem(_("Customers"), "customers:customer-list", ALL_ROLES, "users"),
    NavItem(_("Merge suggestions"), "customers:merge-suggestions", ALL_ROLES, "users"),
    NavItem(_("Segments"), "segments:segment-list", (Role.ADMIN, Role.MARKETER), "filter"),
    NavItem(_("Campaigns"), "engagement:campaign-list", (Role.ADMIN, Role.MARKETER), "send"),
    NavItem(_("Listening"), "engagement:listening", (Role.ADMIN, Role.MARKETER), "ear"),
    NavItem(_("Channels"), "channels:connector-list", (Role.ADMIN,), "plug"),
    NavItem(_("Import"), "customers:import-list", (Role.ADMIN, Role.MARKETER), "upload"),
    NavItem(_("Data requests"), "customers:data-request-list", (Role.ADMIN,), "lock"),
    NavItem(_("Attributes"), "customers:attribute-schema", (Role.ADMIN,), "sliders"),
    NavItem(_("Staff"), "staff:staff-list", (Role.ADMIN,), "shield"),
    NavItem(_("Audit log"), "staff:audit-log", (Role.ADMIN,), "list"),
    NavItem(_("System"), "staff:system", (Role.ADMIN,), "activity"),
)


def items_for(role: Role | None) -> list[dict[str, object]]:
    items = []
    for item in NAV:
        if role not in item.roles:
            continue
        try:
            url = reverse(item.url_name)
        except NoReverseMatch:  # the app's pages have not landed yet
            continue
        items.append({"label": item.label, "url": url, "name": item.url_name, "icon": item.icon})
    return items


def navigation(request: HttpRequest) -> dict[str, object]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or getattr(request, "tenant", None) is None:
        return {"nav_items": [], "current_role": None}
    role = role_of(user)
    return {"nav_items": items_for(role), "current_role": role}
