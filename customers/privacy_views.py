"""Pages for data-subject requests and consent: the request list (Admin), export and
erase from the profile (Admin), the consent history panel, and the customer's own
preference center (public, reached with a signed link)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from customers import consent, privacy, selectors
from customers.channels import ConsentChannel
from customers.models import Consent, Customer, DataRequest
from customers.text import clean_text
from scrm.pagination import paginate
from scrm.staff.roles import ALL_ROLES, Role, public_view, role_of, roles_required

PRIVACY_ROLES = (Role.ADMIN,)  # a full export is everything about a person: admins only
CONSENT_ROLES = (Role.ADMIN,)


class CleanCharField(forms.CharField):
    """Drops NUL characters (PostgreSQL cannot store them) instead of refusing the form."""

    def to_python(self, value: Any) -> str:
        return clean_text(super().to_python(value))


class ExportForm(forms.Form):
    reason = CleanCharField(label=gettext_lazy("Reason"), max_length=500, required=False)


class EraseForm(forms.Form):
    confirmation = CleanCharField(label=gettext_lazy("Type the customer's ID to confirm"), max_length=32)
    reason = CleanCharField(label=gettext_lazy("Reason"), max_length=500)


class ConsentForm(forms.Form):
    channel = forms.ChoiceField(label=gettext_lazy("Channel"), choices=ConsentChannel.choices)
    purpose = forms.ChoiceField(label=gettext_lazy("Purpose"), choices=Consent.Purpose.choices)
    status = forms.ChoiceField(label=gettext_lazy("Status"), choices=Consent.Status.choices)
    evidence = CleanCharField(
        label=gettext_lazy("Evidence"), max_length=2000,
        help_text=gettext_lazy("How the customer told us: a ticket, a signed form, a call."),
        widget=forms.Textarea(attrs={"rows": 2}),
    )


def _live_customer_or_404(customer_id: int) -> Customer:
    customer = selectors.live_customers().filter(pk=customer_id).first()
    if customer is None:
        raise Http404
    return customer


# --- data requests --------------------------------------------------------------------------


@require_GET
@roles_required(*PRIVACY_ROLES)
def data_request_list(request: HttpRequest) -> HttpResponse:
    page = paginate(request, DataRequest.objects.select_related("requested_by").order_by("-created_at", "-id"))
    running = any(r.status in (DataRequest.Status.QUEUED, DataRequest.Status.RUNNING) for r in page.object_list)
    context = {"page": page, "running": running}
    template = "customers/privacy/request_list.html#request-table" if request.htmx else "customers/privacy/request_list.html"
    return render(request, template, context)


@require_POST
@roles_required(*PRIVACY_ROLES)
def customer_export(request: HttpRequest, customer_id: int) -> HttpResponse:
    customer = _live_customer_or_404(customer_id)
    form = ExportForm(request.POST)
    reason = form.cleaned_data["reason"] if form.is_valid() else ""
    privacy.request_export(customer=customer, actor=request.user, reason=reason, request=request)
    messages.success(request, _("Export queued. It appears below when ready."))
    return redirect("customers:data-request-list")


@require_http_methods(["GET", "POST"])
@roles_required(*PRIVACY_ROLES)
def customer_erase(request: HttpRequest, customer_id: int) -> HttpResponse:
    customer = _live_customer_or_404(customer_id)
    form = EraseForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            privacy.request_erasure(
                customer=customer, actor=request.user, request=request,
                confirmation=form.cleaned_data["confirmation"], reason=form.cleaned_data["reason"],
            )
        except ValidationError as error:
            for name, errors in error.message_dict.items():
                for message in errors:
                    form.add_error(name, message)
        else:
            messages.success(request, _("Erasure queued."))
            return redirect("customers:data-request-list")
    status = 400 if request.method == "POST" else 200
    return render(request, "customers/privacy/erase.html", {"customer": customer, "form": form}, status=status)


@require_GET
@roles_required(*PRIVACY_ROLES)
def data_request_download(request: HttpRequest, data_request_id: int) -> HttpResponse:
    data_request = get_object_or_404(
        DataRequest, pk=data_request_id, kind=DataRequest.Kind.EXPORT, status=DataRequest.Status.DONE
    )
    if not data_request.file or not default_storage.exists(data_request.file.name):
        raise Http404
    return FileResponse(
        default_storage.open(data_request.file.name, "rb"), as_attachment=True,
        filename=f"customer-{data_request.customer_id or 'erased'}-export-{data_request.pk}.zip",
        content_type="application/zip",
    )


# --- consent --------------------------------------------------------------------------------


def _consent_context(request: HttpRequest, customer: Customer, form: ConsentForm | None = None) -> dict[str, Any]:
    can_record = role_of(request.user) in CONSENT_ROLES
    return {
        "customer": customer,
        "history": consent.consent_history(customer)[:200],
        "form": form or (ConsentForm() if can_record else None),
        "can_record": can_record,
        "preference_url": request.build_absolute_uri(
            reverse("customers:preference-center", args=[consent.preference_token(customer)])
        ) if can_record else "",
    }


@require_GET
@roles_required(*ALL_ROLES)
def customer_consents(request: HttpRequest, customer_id: int) -> HttpResponse:
    customer = _live_customer_or_404(customer_id)
    return render(request, "customers/privacy/consent_panel.html", _consent_context(request, customer))


@require_POST
@roles_required(*CONSENT_ROLES)
def customer_consent_record(request: HttpRequest, customer_id: int) -> HttpResponse:
    customer = _live_customer_or_404(customer_id)
    form = ConsentForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        consent.record_consent(
            customer=customer, channel=data["channel"], purpose=data["purpose"], status=data["status"],
            source=consent.STAFF_SOURCE, actor=request.user, request=request,
            evidence={"note": data["evidence"], "recorded_by": request.user.get_username()},
        )
        if not request.htmx:
            messages.success(request, _("Consent recorded."))
            return redirect("customers:customer-detail", customer_id=customer.pk)
        form = None
    elif not request.htmx:
        messages.error(request, " ".join(e for errors in form.errors.values() for e in errors))
        return redirect("customers:customer-detail", customer_id=customer.pk)
    return render(request, "customers/privacy/consent_panel.html", _consent_context(request, customer, form))


# --- the customer's preference center (no login) -------------------------------------------


@public_view
@require_http_methods(["GET", "POST"])
def preference_center(request: HttpRequest, token: str) -> HttpResponse:
    customer = consent.customer_for_token(token)
    if customer is None:
        raise Http404
    channels = consent.preference_channels(customer) or [c for c in ConsentChannel.values if c != ConsentChannel.ALL]
    saved = False
    if request.method == "POST":
        wanted = {channel: request.POST.get(f"channel-{channel}") == "on" for channel in channels}
        consent.record_preferences(customer=customer, wanted=wanted, request=request)
        saved = True
    statuses = consent.current_statuses(customer, purpose=Consent.Purpose.MARKETING)
    rows = [(c, ConsentChannel(c).label, statuses.get(c) == Consent.Status.GRANTED) for c in channels]
    return render(request, "customers/privacy/preference_center.html", {"rows": rows, "saved": saved})
