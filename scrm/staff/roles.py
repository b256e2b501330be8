"""Staff roles (Django groups in each brand's schema) and the decorator every view wears."""

from __future__ import annotations

import enum
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy as _


class Role(enum.StrEnum):
    ADMIN = "Admin"
    MARKETER = "Marketer"
    AGENT = "Agent"

    @property
    def label(self) -> str:
        return str({"Admin": _("Admin"), "Marketer": _("Marketer"), "Agent": _("Agent")}[self.value])


ALL_ROLES = (Role.ADMIN, Role.MARKETER, Role.AGENT)


def role_of(user: AbstractBaseUser | AnonymousUser) -> Role | None:
    if not user.is_authenticated:
        return None
    cached = getattr(user, "_scrm_role", False)
    if cached is not False:
        return cached
    name = user.groups.filter(name__in=[r.value for r in Role]).values_list("name", flat=True).first()
    role = Role(name) if name else None
    user._scrm_role = role  # type: ignore[union-attr]
    return role


def roles_required(*roles: Role) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    """Log-in required, and one of `roles`; anyone else gets 403. Declared on every view."""

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if role_of(request.user) not in roles:
                raise PermissionDenied
            return view(request, *args, **kwargs)

        wrapped.allowed_roles = frozenset(roles)  # type: ignore[attr-defined]
        return wrapped

    return decorator


def public_view(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Marks a view that needs no login (log-in page, password reset, hosted pages)."""
    view.allowed_roles = None  # type: ignore[attr-defined]
    return view
