"""Import pages (upload → mapping and preview → progress → result) and the CSV export
of the customer list."""

from __future__ import annotations

from django.contrib import messages
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from customers import selectors
from customers.export import export_customers_csv
from customers.forms import CustomerFilterForm
from customers.imports import services
from customers.imports.forms import MappingForm, UploadForm
from customers.imports.parsing import ImportFileError
from customers.models import ImportJob, Tag
from scrm.pagination import paginate
from scrm.staff.roles import Role, roles_required
from scrm.staff.services import record_audit

IMPORT_ROLES = (Role.ADMIN, Role.MARKETER)


def _job_or_404(import_id: int) -> ImportJob:
    try:
        return ImportJob.objects.select_related("created_by").get(pk=import_id)
    except ImportJob.DoesNotExist:
        raise Http404 from None


def _list_page(request: HttpRequest, form: UploadForm, *, status: int = 200) -> HttpResponse:
    page = paginate(request, ImportJob.objects.select_related("created_by"), per_page=20)
    return render(request, "customers/imports/import_list.html", {"page": page, "form": form}, status=status)


@require_GET
@roles_required(*IMPORT_ROLES)
def import_list(request: HttpRequest) -> HttpResponse:
    return _list_page(request, UploadForm(max_bytes=services.max_upload_bytes()))


@require_POST
@roles_required(*IMPORT_ROLES)
def import_upload(request: HttpRequest) -> HttpResponse:
    form = UploadForm(request.POST, request.FILES, max_bytes=services.max_upload_bytes())
    if form.is_valid():
        try:
            job = services.create_import_job(
                upload=form.cleaned_data["file"], kind=form.cleaned_data["kind"],
                actor=request.user, request=request,
            )
        except ImportFileError as error:
            form.add_error("file", str(error))
        else:
            return redirect("customers:import-mapping", import_id=job.pk)
    return _list_page(request, form, status=400)


@require_http_methods(["GET", "POST"])
@roles_required(*IMPORT_ROLES)
def import_mapping(request: HttpRequest, import_id: int) -> HttpResponse:
    job = _job_or_404(import_id)
    if job.status != ImportJob.Status.UPLOADED:
        return redirect("customers:import-detail", import_id=job.pk)
    form_args = {"headers": job.options.get("headers", []), "choices": services.mapping_choices(job), "kind": job.kind}
    if request.method == "GET":
        form = MappingForm(initial=MappingForm.initial_for(job), **form_args)
        mapping, options = job.mapping, job.options
    else:
        form = MappingForm(request.POST, **form_args)
        if not form.is_valid():
            return _mapping_page(request, job, form, None, status=400)
        mapping, options = form.mapping(), form.import_options()
        if request.POST.get("action") == "start":
            try:
                services.start_import(job=job, mapping=mapping, options=options, actor=request.user, request=request)
            except ValueError as error:
                messages.error(request, str(error))
            else:
                return redirect("customers:import-detail", import_id=job.pk)
    preview = services.preview(job, mapping=mapping, options=options)
    return _mapping_page(request, job, form, preview)


def _mapping_page(request: HttpRequest, job: ImportJob, form: MappingForm, preview: object, *, status: int = 200) -> HttpResponse:
    template = "customers/imports/import_mapping.html"
    if request.htmx and request.POST.get("action") != "start":
        template, status = template + "#preview", 200  # htmx swaps only 2xx answers
    return render(request, template, {"job": job, "form": form, "preview": preview}, status=status)


@require_GET
@roles_required(*IMPORT_ROLES)
def import_detail(request: HttpRequest, import_id: int) -> HttpResponse:
    job = services.progress_of(_job_or_404(import_id))
    template = "customers/imports/import_detail.html"
    if request.htmx:
        template += "#progress"
    return render(request, template, {"job": job, "active": job.status in services.ACTIVE})


@require_GET
@roles_required(*IMPORT_ROLES)
def import_error_report(request: HttpRequest, import_id: int) -> FileResponse:
    job = _job_or_404(import_id)
    if not job.error_report:
        raise Http404
    return FileResponse(job.error_report.open("rb"), as_attachment=True, filename=f"import-{job.pk}-errors.csv",
                        content_type="text/csv; charset=utf-8")


@require_GET
@roles_required(*IMPORT_ROLES)
def customer_export(request: HttpRequest) -> StreamingHttpResponse:
    form = CustomerFilterForm(
        request.GET, tags=list(Tag.objects.values_list("name", flat=True)), cities=selectors.customer_cities(),
    )
    search = form.search_arguments()
    record_audit(actor=request.user, action="customers.exported", request=request, object_type="customers.customer",
                 object_repr=_("Customer list CSV"), changes={"filters": [None, {k: v for k, v in search.items() if v}]})
    response = StreamingHttpResponse(export_customers_csv(selectors.customer_search(**search)),
                                     content_type="text/csv; charset=utf-8")
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="customers-{stamp}.csv"'
    return response
