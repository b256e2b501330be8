"""Customer pages: the searchable list with bulk tagging, and the Profile 360."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from customers import selectors, tagging
from customers.forms import BulkTagForm, CustomerFilterForm, NoteForm, TimelineFilterForm
from customers.list_rows import list_rows
from customers.models import Customer, Tag
from customers.notes import add_note
from customers.paging import page_number, paginate_capped
from scrm.staff.roles import ALL_ROLES, Role, role_of, roles_required

TAGGING_ROLES = (Role.ADMIN, Role.MARKETER)
PER_PAGE = 25
LIST_CAP = 10_000
NARROWED_MAX_PAGES = LIST_CAP // PER_PAGE


@require_GET
@roles_required(*ALL_ROLES)
def customer_list(request: HttpRequest) -> HttpResponse:
    form = CustomerFilterForm(
        request.GET,
        tags=list(Tag.objects.values_list("name", flat=True)),
        cities=selectors.customer_cities(),
    )
    search = form.search_arguments()
    # A sort the user picked is kept; a search without one puts exact matches first.
    picked_sort = form.cleaned_data.get("sort") or ""
    narrowed = any(value for key, value in search.items() if key != "sort")
    if narrowed:
        # A search or filter narrows the list: no count, "Page N" and Previous/Next.
        page = selectors.customer_page(
            number=page_number(request, max_pages=NARROWED_MAX_PAGES),
            per_page=PER_PAGE, max_pages=NARROWED_MAX_PAGES,
            exact_first=not picked_sort, **search,
        )
    else:
        # A brand of ten times the cap surely has more live customers than the cap: the
        # count would only say "10,000+" after reading 10,001 index entries.
        page = paginate_capped(
            request, selectors.customer_rows(selectors.customer_search(**search)),
            per_page=PER_PAGE, cap=LIST_CAP,
            known_over_cap=selectors.customer_table_estimate() >= 10 * LIST_CAP,
        )
        page.object_list = selectors.with_badges(page.object_list)
    context = {
        "page": page, "rows": list_rows(page.object_list), "form": form, "sort": search["sort"], "picked_sort": picked_sort,
        "can_tag": role_of(request.user) in TAGGING_ROLES,
    }
    template = "customers/customer_list.html#customer-table" if request.htmx else "customers/customer_list.html"
    return render(request, template, context)


@require_POST
@roles_required(*TAGGING_ROLES)
def customer_bulk_tag(request: HttpRequest) -> HttpResponse:
    form = BulkTagForm(request.POST)
    if form.is_valid():
        change = tagging.tag_customers if form.cleaned_data["action"] == "tag" else tagging.untag_customers
        count = change(
            customer_ids=form.cleaned_data["customer_ids"], tag_name=form.cleaned_data["tag"],
            actor=request.user, request=request,
        )
        messages.success(request, _("%(tag)s: %(count)s customers updated.") % {"tag": form.cleaned_data["tag"], "count": count})
    else:
        messages.error(request, " ".join(e for errors in form.errors.values() for e in errors))
    back = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
        back = reverse("customers:customer-list")
    return redirect(back)


def _live_customer_or_404(customer_id: int) -> Customer:
    try:
        return selectors.customer_profile(customer_id)
    except Customer.DoesNotExist:
        raise Http404 from None


@require_GET
@roles_required(*ALL_ROLES)
def customer_detail(request: HttpRequest, customer_id: int) -> HttpResponse:
    customer = _live_customer_or_404(customer_id)
    timeline_form = TimelineFilterForm(request.GET)
    context = {
        "customer": customer,
        "identities": selectors.identity_rows(customer),
        "consents": selectors.current_consents(customer),
        "timeline": selectors.customer_timeline(customer, **timeline_form.timeline_arguments()),
        "timeline_form": timeline_form,
        "note_form": NoteForm(),
    }
    return render(request, "customers/customer_detail.html", context)


@require_GET
@roles_required(*ALL_ROLES)
def customer_timeline(request: HttpRequest, customer_id: int) -> HttpResponse:
    customer = _live_customer_or_404(customer_id)
    timeline_form = TimelineFilterForm(request.GET)
    context = {
        "customer": customer,
        "timeline": selectors.customer_timeline(customer, **timeline_form.timeline_arguments()),
        "timeline_form": timeline_form,
    }
    return render(request, "customers/customer_detail.html#timeline-items", context)


@require_POST
@roles_required(*ALL_ROLES)
def customer_note_add(request: HttpRequest, customer_id: int) -> HttpResponse:
    customer = _live_customer_or_404(customer_id)
    form = NoteForm(request.POST)
    if form.is_valid():
        add_note(customer=customer, body=form.cleaned_data["body"], author=request.user)
        if not request.htmx:
            return redirect("customers:customer-detail", customer_id=customer.pk)
        customer = selectors.customer_profile(customer.pk)  # fresh notes prefetch
        form = NoteForm()
    elif not request.htmx:
        messages.error(request, " ".join(form.errors.get("body", [])))
        return redirect("customers:customer-detail", customer_id=customer.pk)
    return render(request, "customers/customer_detail.html#notes", {"customer": customer, "note_form": form})
