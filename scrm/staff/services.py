"""Writes for staff and the audit log: every change to staff, roles and configuration
goes through here and leaves an AuditEntry."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import Group, User
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import models, transaction
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django.utils.translation import gettext as _

from scrm.staff.models import AuditEntry, BrandHeartbeat
from scrm.staff.roles import Role, role_of


def client_ip(request: HttpRequest | None) -> str | None:
    if request is None:
        return None
    # Behind a proxy the deployment sets X-Forwarded-For; first hop is the client.
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    return forwarded.split(",")[0].strip() or request.META.get("REMOTE_ADDR") or None


def record_audit(
    *,
    actor: User | None,
    action: str,
    obj: models.Model | None = None,
    changes: dict[str, Any] | None = None,
    request: HttpRequest | None = None,
    object_type: str = "",
    object_repr: str = "",
) -> AuditEntry:
    return AuditEntry.objects.create(
        actor=actor if actor is not None and actor.pk else None,
        actor_name=actor.get_username() if actor is not None else "system",
        action=action,
        object_type=object_type or (obj._meta.label_lower if obj is not None else ""),
        object_id=str(obj.pk) if obj is not None else "",
        object_repr=(object_repr or (str(obj) if obj is not None else ""))[:200],
        changes=changes or {},
        ip_address=client_ip(request),
    )


def _set_role(user: User, role: Role) -> None:
    user.groups.remove(*Group.objects.filter(name__in=[r.value for r in Role]))
    user.groups.add(Group.objects.get(name=role.value))
    user._scrm_role = role  # type: ignore[attr-defined]


@transaction.atomic
def create_staff_user(
    *, username: str, email: str, role: Role, password: str | None, actor: User | None,
    request: HttpRequest | None = None,
) -> User:
    username = username.strip()
    if User.objects.filter(username__iexact=username).exists():
        raise ValidationError({"username": _("A staff member with this username already exists.")})
    user = User(username=username, email=email.strip().lower(), is_staff=(role == Role.ADMIN))
    if password:
        user.set_password(password)
    else:
        user.set_unusable_password()
    user.full_clean(exclude=["password"])
    user.save()
    _set_role(user, role)
    record_audit(
        actor=actor, action="staff.created", obj=user, request=request,
        changes={"role": [None, role.value], "email": [None, user.email]},
    )
    return user


def create_first_admin(*, username: str, email: str, password: str) -> User:
    return create_staff_user(username=username, email=email, role=Role.ADMIN, password=password, actor=None)


def invite_staff(
    *, username: str, email: str, role: Role, actor: User, request: HttpRequest
) -> User:
    """Create the account without a password and mail a link to set one."""
    user = create_staff_user(
        username=username, email=email, role=role, password=None, actor=actor, request=request
    )
    context = {
        "user": user,
        "inviter": actor,
        "protocol": "https" if request.is_secure() else "http",
        "domain": request.get_host(),
        "uid": urlsafe_base64_encode(force_bytes(user.pk)),
        "token": default_token_generator.make_token(user),
    }
    transaction.on_commit(
        lambda: send_mail(
            subject=_("You are invited to SCRM"),
            message=render_to_string("staff/emails/invite.txt", context),
            from_email=None,
            recipient_list=[user.email],
        )
    )
    return user


@transaction.atomic
def change_role(*, user: User, role: Role, actor: User, request: HttpRequest | None = None) -> User:
    before = role_of(user)
    if before == role:
        return user
    if before == Role.ADMIN and _active_admins().exclude(pk=user.pk).count() == 0:
        raise ValidationError(_("A brand needs at least one active admin."))
    _set_role(user, role)
    user.is_staff = role == Role.ADMIN
    user.save(update_fields=["is_staff"])
    record_audit(
        actor=actor, action="staff.role_changed", obj=user, request=request,
        changes={"role": [before.value if before else None, role.value]},
    )
    return user


@transaction.atomic
def set_active(*, user: User, active: bool, actor: User, request: HttpRequest | None = None) -> User:
    if user.is_active == active:
        return user
    if not active:
        if user.pk == actor.pk:
            raise ValidationError(_("You cannot deactivate yourself."))
        if role_of(user) == Role.ADMIN and _active_admins().exclude(pk=user.pk).count() == 0:
            raise ValidationError(_("A brand needs at least one active admin."))
    user.is_active = active
    user.save(update_fields=["is_active"])
    if not active:
        _end_sessions(user)
    record_audit(
        actor=actor, action="staff.activated" if active else "staff.deactivated", obj=user,
        request=request, changes={"is_active": [not active, active]},
    )
    return user


def _active_admins() -> models.QuerySet[User]:
    return User.objects.filter(is_active=True, groups__name=Role.ADMIN.value)


def _end_sessions(user: User) -> None:
    from django.contrib.sessions.models import Session

    # Set-wise would need a decoded column; staff sessions per brand are few.
    for session in Session.objects.filter(expire_date__gt=timezone.now()).iterator():
        if session.get_decoded().get("_auth_user_id") == str(user.pk):
            session.delete()


def record_brand_heartbeat(*, worker: str) -> BrandHeartbeat:
    beat, _created = BrandHeartbeat.objects.get_or_create(key="worker")
    BrandHeartbeat.objects.filter(pk=beat.pk).update(
        beats=models.F("beats") + 1, last_beat_at=timezone.now(), last_worker=worker[:200]
    )
    beat.refresh_from_db()
    return beat
