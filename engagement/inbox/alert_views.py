"""Listening alerts in the app: the list, dismissing one, and the admin's settings
(thresholds, email recipients, webhook URL), every settings change audited."""

from __future__ import annotations

from django import forms
from django.core.validators import validate_email
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from engagement.inbox import alerts
from engagement.inbox.listening_views import LISTENING_ROLES
from engagement.inbox.models import ListeningAlert, ListeningAlertSettings
from scrm.pagination import paginate
from scrm.staff.roles import Role, roles_required
from scrm.staff.services import record_audit


class AlertSettingsForm(forms.ModelForm):
    class Meta:
        model = ListeningAlertSettings
        fields = ["enabled", "z_threshold", "min_volume", "emails", "webhook_url"]

    def clean_z_threshold(self) -> float:
        value = self.cleaned_data["z_threshold"]
        if not 0.5 <= value <= 20:
            raise forms.ValidationError(_("Choose a threshold between 0.5 and 20."))
        return value

    def clean_emails(self) -> str:
        lines = [line.strip() for line in self.cleaned_data["emails"].replace("\x00", "").splitlines() if line.strip()]
        for line in lines:
            validate_email(line)
        return "\n".join(lines[:20])

    def clean_webhook_url(self) -> str:
        url = self.cleaned_data["webhook_url"]
        if url and not url.startswith(("https://", "http://")):
            raise forms.ValidationError(_("Use an http or https address."))
        return url


@require_GET
@roles_required(*LISTENING_ROLES)
def alert_list(request: HttpRequest) -> HttpResponse:
    page = paginate(request, ListeningAlert.objects.select_related("monitor"), per_page=50)
    return render(request, "engagement/inbox/alerts.html", {"page": page, "settings": alerts.alert_settings()})


@require_POST
@roles_required(*LISTENING_ROLES)
def alert_dismiss(request: HttpRequest, alert_id: int) -> HttpResponse:
    if not ListeningAlert.objects.filter(pk=alert_id).update(dismissed_at=timezone.now()):
        raise Http404
    return redirect("engagement:listening-alerts")


@require_http_methods(["GET", "POST"])
@roles_required(Role.ADMIN)
def alert_settings(request: HttpRequest) -> HttpResponse:
    instance = alerts.alert_settings()
    before = {name: getattr(instance, name) for name in AlertSettingsForm.Meta.fields}
    form = AlertSettingsForm(request.POST or None, instance=instance)
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            saved = form.save()
            changes = {name: [before[name], getattr(saved, name)] for name in before if before[name] != getattr(saved, name)}
            record_audit(actor=request.user, action="listening.alerts.update", obj=saved, changes=changes, request=request)
        return redirect("engagement:listening-alerts")
    return render(request, "engagement/inbox/alert_settings.html", {"form": form, "settings": instance})
