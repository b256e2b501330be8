"""Merge pages: the merge panel on a profile (history, suggestions, "merge with…"),
the side-by-side confirmation, unmerge, and the brand-wide suggestions queue.

Admins and Marketers merge, unmerge and decide suggestions; Agents only look.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from customers import selectors, suggestions
from customers.merging import MergeError, merge, unmerge
from customers.models import Customer, Merge, MergeRule, MergeSuggestion
from scrm.pagination import paginate
from scrm.staff.roles import ALL_ROLES, Role, role_of, roles_required

MERGE_ROLES = (Role.ADMIN, Role.MARKETER)
SEARCH_RESULTS = 10


class MergeReasonForm(forms.Form):
    reason = forms.CharField(
        label=gettext_lazy("Why are these the same person?"), max_length=500, required=False
    )


def _customer_or_404(customer_id: int) -> Customer:
    try:
        return selectors.customer_profile(customer_id)
    except Customer.DoesNotExist:
        raise Http404 from None


def _can_merge(request: HttpRequest) -> bool:
    return role_of(request.user) in MERGE_ROLES


def _merge_history(customer: Customer) -> list[Merge]:
    return list(
        Merge.objects.filter(Q(survivor=customer) | Q(merged=customer))
        .select_related("survivor", "merged", "actor", "undone_by")
        .order_by("-created_at", "-pk")[:50]
    )


@require_GET
@roles_required(*ALL_ROLES)
def merge_panel(request: HttpRequest, customer_id: int) -> HttpResponse:
    customer = _customer_or_404(customer_id)
    context = {
        "customer": customer,
        "history": _merge_history(customer),
        "open_suggestions": list(suggestions.open_suggestions_for(customer)[:20]),
        "can_merge": _can_merge(request),
    }
    template = "customers/merge/panel.html#panel" if request.htmx else "customers/merge/panel.html"
    return render(request, template, context)


@require_GET
@roles_required(*MERGE_ROLES)
def merge_search(request: HttpRequest, customer_id: int) -> HttpResponse:
    customer = _customer_or_404(customer_id)
    query = request.GET.get("q", "").strip()[:200]
    results = []
    if query:
        results = list(
            selectors.customer_search(query=query).exclude(pk=customer.pk)[:SEARCH_RESULTS]
        )
    context = {"customer": customer, "query": query, "results": results}
    return render(request, "customers/merge/search.html", context)


@roles_required(*MERGE_ROLES)
def merge_confirm(request: HttpRequest, customer_id: int, other_id: int) -> HttpResponse:
    """GET: both profiles side by side; POST: fold `other` into this customer."""
    customer, other = _customer_or_404(customer_id), _customer_or_404(other_id)
    if customer.pk == other.pk:
        raise Http404
    form = MergeReasonForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            merge(
                customer, other, rule=MergeRule.MANUAL, actor=request.user, request=request,
                reason=form.cleaned_data["reason"],
            )  # fmt: skip
        except MergeError as error:
            messages.error(request, str(error))
        else:
            messages.success(request, _("Profiles merged."))
        return redirect("customers:customer-detail", customer_id=customer.pk)
    context = {
        "customer": customer,
        "other": other,
        "form": form,
        "pair": _side_by_side(customer, other),
    }
    return render(request, "customers/merge/confirm.html", context)


def _side_by_side(customer: Customer, other: Customer) -> list[tuple[str, object, object]]:
    fields = ["display_name", "city", "province", "country", "gender", "locale", "last_seen_at"]
    rows: list[tuple[str, object, object]] = [
        (
            str(Customer._meta.get_field(name).verbose_name),
            getattr(customer, name),
            getattr(other, name),
        )
        for name in fields
    ]
    rows.append((_("Paid orders"), customer.order_count, other.order_count))
    rows.append((_("Identities"), customer.identities.count(), other.identities.count()))
    return rows


@require_POST
@roles_required(*MERGE_ROLES)
def merge_undo(request: HttpRequest, merge_id: int) -> HttpResponse:
    record = get_object_or_404(Merge, pk=merge_id)
    try:
        restored = unmerge(record, actor=request.user, request=request)
    except MergeError as error:
        messages.error(request, str(error))
        return redirect("customers:customer-detail", customer_id=record.survivor_id)
    messages.success(request, _("Merge undone: both profiles are back."))
    return redirect("customers:customer-detail", customer_id=restored.pk)


# --- suggestions ----------------------------------------------------------------------------


@require_GET
@roles_required(*ALL_ROLES)
def suggestion_queue(request: HttpRequest) -> HttpResponse:
    page = paginate(request, suggestions.open_suggestions())
    context = {"page": page, "can_merge": _can_merge(request), "run": suggestions.suggestion_run()}
    return render(request, "customers/merge/suggestions.html", context)


@require_POST
@roles_required(*MERGE_ROLES)
def suggestion_run_start(request: HttpRequest) -> HttpResponse:
    suggestions.start_suggestion_run()
    if request.htmx:
        return _run_progress(request)
    return redirect("customers:merge-suggestions")


@require_GET
@roles_required(*ALL_ROLES)
def suggestion_run_progress(request: HttpRequest) -> HttpResponse:
    return _run_progress(request)


def _run_progress(request: HttpRequest) -> HttpResponse:
    context = {"run": suggestions.suggestion_run(), "can_merge": _can_merge(request)}
    return render(request, "customers/merge/suggestions.html#run-progress", context)


def _back(request: HttpRequest, suggestion: MergeSuggestion) -> HttpResponse:
    customer_id = request.POST.get("customer")
    if customer_id and customer_id.isdigit() and int(customer_id) in (
        suggestion.customer_a_id, suggestion.customer_b_id,
    ):  # fmt: skip
        return redirect("customers:customer-detail", customer_id=int(customer_id))
    return redirect("customers:merge-suggestions")


@require_POST
@roles_required(*MERGE_ROLES)
def suggestion_accept(request: HttpRequest, suggestion_id: int) -> HttpResponse:
    suggestion = get_object_or_404(MergeSuggestion, pk=suggestion_id)
    keep_id = request.POST.get("keep", "")
    keep = None
    if keep_id.isdigit() and int(keep_id) in (suggestion.customer_a_id, suggestion.customer_b_id):
        keep = Customer.objects.get(pk=int(keep_id))
    try:
        suggestions.accept_suggestion(suggestion, actor=request.user, keep=keep, request=request)
    except (MergeError, suggestions.SuggestionClosed) as error:
        messages.error(request, str(error))
    else:
        messages.success(request, _("Profiles merged."))
    if keep is not None:
        return redirect("customers:customer-detail", customer_id=keep.pk)
    return _back(request, suggestion)


@require_POST
@roles_required(*MERGE_ROLES)
def suggestion_dismiss(request: HttpRequest, suggestion_id: int) -> HttpResponse:
    suggestion = get_object_or_404(MergeSuggestion, pk=suggestion_id)
    try:
        suggestions.dismiss_suggestion(suggestion, actor=request.user)
    except suggestions.SuggestionClosed as error:
        messages.error(request, str(error))
    else:
        messages.success(request, _("Suggestion dismissed."))
    return _back(request, suggestion)
