"""Connector admin pages (Admin role) and the API's OpenAPI schema."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from channels import selectors, services, trial_events
from channels.forms import ConnectorForm, KindForm, RetryForm
from channels.models import Connector, RawEvent
from channels.openapi import openapi_document
from scrm.pagination import paginate
from scrm.staff.roles import Role, public_view, roles_required


def _connector_or_404(connector_id: int) -> Connector:
    connector = Connector.objects.filter(pk=connector_id).first()
    if connector is None:
        raise Http404
    return connector


def _webhook_urls(request: HttpRequest, connector: Connector) -> dict[str, str]:
    urls = {"webhook": request.build_absolute_uri(reverse("channels:webhook", args=[connector.webhook_token]))}
    if connector.kind in ("web_api", "orders"):
        name = "channels:api-events" if connector.kind == "web_api" else "channels:api-orders"
        urls["api"] = request.build_absolute_uri(reverse(name))
    return urls


@require_GET
@roles_required(Role.ADMIN)
def connector_list(request: HttpRequest) -> HttpResponse:
    context = {"statuses": selectors.connector_statuses(), "kind_form": KindForm()}
    template = "channels/connector_list.html#connector-table" if request.htmx else "channels/connector_list.html"
    return render(request, template, context)


@require_http_methods(["GET", "POST"])
@roles_required(Role.ADMIN)
def connector_add(request: HttpRequest) -> HttpResponse:
    kind_form = KindForm(request.GET or request.POST)
    if not kind_form.is_valid():
        return redirect("channels:connector-list")
    kind = kind_form.cleaned_data["kind"]
    form = ConnectorForm(request.POST if request.method == "POST" else None, kind=kind)
    if request.method == "POST" and form.is_valid():
        connector = services.create_connector(
            kind=kind, name=form.cleaned_data["name"], config=form.config(), secrets=form.secrets(),
            actor=request.user, request=request,
        )
        messages.success(request, _("Connector saved. Give the platform the webhook URL below."))
        return redirect("channels:connector-edit", connector.pk)
    return render(request, "channels/connector_form.html", {"form": form, "kind": kind, "kind_label": kind_form.fields["kind"].choices and dict(kind_form.fields["kind"].choices)[kind]})


@require_http_methods(["GET", "POST"])
@roles_required(Role.ADMIN)
def connector_edit(request: HttpRequest, connector_id: int) -> HttpResponse:
    connector = _connector_or_404(connector_id)
    initial = {"name": connector.name, "enabled": connector.enabled,
               "rate_limit_per_second": connector.config.get("rate_limit_per_second")}
    initial |= {f"config_{key}": value for key, value in connector.config.items()}
    form = ConnectorForm(
        request.POST if request.method == "POST" else None, initial=initial, kind=connector.kind,
        existing_secrets=connector.secret_names(),
    )
    if request.method == "POST" and form.is_valid():
        services.update_connector(
            connector=connector, name=form.cleaned_data["name"], enabled=form.cleaned_data["enabled"],
            config=form.config(), secrets=form.secrets(), actor=request.user, request=request,
        )
        messages.success(request, _("Connector saved."))
        return redirect("channels:connector-edit", connector.pk)
    context = {
        "connector": connector, "form": form, "urls": _webhook_urls(request, connector),
        "status": selectors.connector_status(connector), "kind": connector.kind,
        "kind_label": connector.get_kind_display(), "secret_names": connector.secret_names(),
    }
    return render(request, "channels/connector_form.html", context)


@require_POST
@roles_required(Role.ADMIN)
def connector_test_event(request: HttpRequest, connector_id: int) -> HttpResponse:
    connector = _connector_or_404(connector_id)
    outcome = trial_events.send_test_event(connector=connector)
    if outcome.ok:
        messages.success(request, _("Test event accepted: %(detail)s") % {"detail": outcome.detail})
    else:
        messages.error(request, _("Test event refused: %(detail)s") % {"detail": outcome.detail})
    return redirect("channels:connector-edit", connector.pk)


@require_GET
@roles_required(Role.ADMIN)
def connector_events(request: HttpRequest, connector_id: int) -> HttpResponse:
    connector = _connector_or_404(connector_id)
    status = request.GET.get("status", RawEvent.Status.FAILED)
    if status not in RawEvent.Status.values:
        status = RawEvent.Status.FAILED
    page = paginate(request, selectors.dead_letters(connector, status))
    context = {"connector": connector, "page": page, "status": status, "statuses": RawEvent.Status.choices}
    return render(request, "channels/connector_events.html", context)


@require_GET
@roles_required(Role.ADMIN)
def connector_outbound(request: HttpRequest, connector_id: int) -> HttpResponse:
    connector = _connector_or_404(connector_id)
    page = paginate(request, selectors.outbound_messages(connector))
    return render(request, "channels/connector_outbound.html", {"connector": connector, "page": page})


@require_POST
@roles_required(Role.ADMIN)
def connector_retry(request: HttpRequest, connector_id: int) -> HttpResponse:
    connector = _connector_or_404(connector_id)
    form = RetryForm(request.POST)
    ids = form.cleaned_data["event_ids"] if form.is_valid() and form.cleaned_data["event_ids"] else None
    count = services.retry_failed_events(connector=connector, event_ids=ids, actor=request.user, request=request)
    messages.success(request, _("%(count)s events queued again.") % {"count": count})
    return redirect(reverse("channels:connector-events", args=[connector.pk]) + "?status=failed")


@require_GET
@public_view
def openapi_schema(request: HttpRequest) -> HttpResponse:
    return JsonResponse(openapi_document(server=request.build_absolute_uri("/")), json_dumps_params={"ensure_ascii": False})
