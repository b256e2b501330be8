"""Staff pages: log-in, password flows, staff management, audit log, system status."""

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from scrm import health
from scrm.pagination import paginate
from scrm.staff import selectors, services
from scrm.staff.forms import InviteForm, RoleForm
from scrm.staff.roles import ALL_ROLES, Role, public_view, role_of, roles_required

login = public_view(auth_views.LoginView.as_view(template_name="staff/login.html", redirect_authenticated_user=True))
logout = public_view(auth_views.LogoutView.as_view())
password_change = roles_required(*ALL_ROLES)(
    auth_views.PasswordChangeView.as_view(
        template_name="staff/password_form.html", success_url=reverse_lazy("staff:password-change-done")
    )
)
password_change_done = roles_required(*ALL_ROLES)(
    auth_views.PasswordChangeDoneView.as_view(template_name="staff/password_done.html")
)
password_reset = public_view(
    auth_views.PasswordResetView.as_view(
        template_name="staff/password_reset.html",
        email_template_name="staff/emails/password_reset.txt",
        success_url=reverse_lazy("staff:password-reset-sent"),
    )
)
password_reset_sent = public_view(auth_views.PasswordResetDoneView.as_view(template_name="staff/password_reset_sent.html"))
password_reset_confirm = public_view(
    auth_views.PasswordResetConfirmView.as_view(
        template_name="staff/password_reset_confirm.html", success_url=reverse_lazy("staff:password-reset-complete")
    )
)
password_reset_complete = public_view(
    auth_views.PasswordResetCompleteView.as_view(template_name="staff/password_reset_complete.html")
)


@roles_required(Role.ADMIN)
def staff_list(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "").strip()
    page = paginate(request, selectors.staff_list(query=query))
    template = "staff/staff_list.html#staff-table" if request.htmx else "staff/staff_list.html"
    return render(request, template, {"page": page, "query": query, "role_form": RoleForm()})


@roles_required(Role.ADMIN)
def staff_invite(request: HttpRequest) -> HttpResponse:
    form = InviteForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = services.invite_staff(
                username=form.cleaned_data["username"], email=form.cleaned_data["email"],
                role=Role(form.cleaned_data["role"]), actor=request.user, request=request,
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("Invitation sent to %(email)s.") % {"email": user.email})
            return redirect("staff:staff-list")
    return render(request, "staff/staff_invite.html", {"form": form})


@require_POST
@roles_required(Role.ADMIN)
def staff_change_role(request: HttpRequest, user_id: int) -> HttpResponse:
    member = get_object_or_404(User, pk=user_id)
    form = RoleForm(request.POST)
    if form.is_valid():
        try:
            services.change_role(user=member, role=Role(form.cleaned_data["role"]), actor=request.user, request=request)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(request, _("%(user)s is now %(role)s.") % {"user": member.username, "role": Role(form.cleaned_data["role"]).label})
    return _back_to_staff(request, member)


@require_POST
@roles_required(Role.ADMIN)
def staff_set_active(request: HttpRequest, user_id: int) -> HttpResponse:
    member = get_object_or_404(User, pk=user_id)
    active = request.POST.get("active") == "1"
    try:
        services.set_active(user=member, active=active, actor=request.user, request=request)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, (_("%(user)s reactivated.") if active else _("%(user)s deactivated.")) % {"user": member.username})
    return _back_to_staff(request, member)


def _back_to_staff(request: HttpRequest, member: User) -> HttpResponse:
    if request.htmx:
        member.refresh_from_db()
        return render(request, "staff/staff_list.html#staff-row", {"member": member, "role_form": RoleForm()})
    return redirect("staff:staff-list")


@roles_required(Role.ADMIN)
def audit_log(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "").strip()
    action = request.GET.get("action", "")
    page = paginate(request, selectors.audit_search(query=query, action=action), per_page=50)
    context = {"page": page, "query": query, "action": action, "actions": selectors.audit_actions()}
    template = "staff/audit_log.html#audit-table" if request.htmx else "staff/audit_log.html"
    return render(request, template, context)


@roles_required(Role.ADMIN)
def system(request: HttpRequest) -> HttpResponse:
    context = {"health": health.check(), "brand_beat": selectors.brand_heartbeat(), "role": role_of(request.user)}
    template = "staff/system.html#status" if request.htmx else "staff/system.html"
    return render(request, template, context)
