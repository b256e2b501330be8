"""Inbox configuration for admins: teams, routing rules, canned replies and the SLA
policy (business hours, holidays, targets). Every change is audited."""

from __future__ import annotations

from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from engagement.inbox import services
from engagement.inbox.models import CannedReply, RoutingRule, SlaPolicy, Team
from engagement.inbox.settings_forms import (
    CannedReplyForm,
    RoutingRuleForm,
    SlaPolicyForm,
    TeamForm,
)
from scrm.staff.roles import Role, roles_required
from scrm.staff.services import record_audit

KINDS = {
    "team": (Team, TeamForm),
    "rule": (RoutingRule, RoutingRuleForm),
    "canned": (CannedReply, CannedReplyForm),
    "sla": (SlaPolicy, SlaPolicyForm),
}


@require_http_methods(["GET"])
@roles_required(Role.ADMIN)
def inbox_settings(request: HttpRequest) -> HttpResponse:
    return render(request, "engagement/inbox/settings.html", {
        "teams": Team.objects.prefetch_related("members"), "rules": RoutingRule.objects.select_related("set_team"),
        "canned": CannedReply.objects.all(), "policy": SlaPolicy.objects.filter(active=True).first(),
    })


def _kind_or_404(kind: str) -> tuple[type, type]:
    if kind not in KINDS:
        raise Http404
    return KINDS[kind]


@require_http_methods(["GET", "POST"])
@roles_required(Role.ADMIN)
def setting_edit(request: HttpRequest, kind: str, setting_id: int | None = None) -> HttpResponse:
    model, form_class = _kind_or_404(kind)
    instance = None
    if setting_id is not None:
        instance = model.objects.filter(pk=setting_id).first()
        if instance is None:
            raise Http404
    elif kind == "sla":
        instance = SlaPolicy.objects.filter(active=True).first()
    form = form_class(request.POST or None, instance=instance)
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            saved = form.save()
            record_audit(actor=request.user, action=f"inbox.{kind}.{'update' if instance else 'create'}", obj=saved,
                         request=request)
            if kind == "team":
                services.drain_queues([saved.pk])
        return redirect("engagement:inbox-settings")
    return render(request, "engagement/inbox/setting_form.html", {"form": form, "kind": kind, "instance": instance})


@require_POST
@roles_required(Role.ADMIN)
def setting_delete(request: HttpRequest, kind: str, setting_id: int) -> HttpResponse:
    model, _form = _kind_or_404(kind)
    instance = model.objects.filter(pk=setting_id).first()
    if instance is None:
        raise Http404
    with transaction.atomic():
        record_audit(actor=request.user, action=f"inbox.{kind}.delete", obj=instance, request=request)
        instance.delete()
    return redirect("engagement:inbox-settings")
