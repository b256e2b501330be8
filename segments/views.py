"""Segment pages (list, builder, detail, upload, export), the marketer dashboard and the
scoring settings. Admins and marketers only."""

from __future__ import annotations

import json

from django.contrib import messages
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from scrm.charts import line_chart
from scrm.pagination import paginate
from scrm.staff.roles import Role, roles_required
from scrm.staff.services import record_audit
from segments import builder, dashboards, scores, selectors, services
from segments.forms import ScoringSettingsForm, SegmentForm, SegmentSearchForm, UploadForm
from segments.models import ScoringSettings, Segment
from segments.rules import RuleError
from segments.rules.fields import FIELD_GROUPS, field_catalog

SEGMENT_ROLES = (Role.ADMIN, Role.MARKETER)


def _segment_or_404(segment_id: int) -> Segment:
    segment = Segment.objects.filter(pk=segment_id).first()
    if segment is None:
        raise Http404
    return segment


@require_GET
@roles_required(*SEGMENT_ROLES)
def segment_list(request: HttpRequest) -> HttpResponse:
    form = SegmentSearchForm(request.GET)
    query = form.cleaned_data["q"].strip() if form.is_valid() else ""
    segments = Segment.objects.all()
    if query:
        segments = segments.filter(name__icontains=query)
    page = paginate(request, segments.order_by("name", "id"))
    lines = selectors.sparklines(list(page.object_list))
    rows = [(s, line_chart(lines[s.pk], width=120, height=36)) for s in page.object_list]
    context = {"page": page, "rows": rows, "query": query}
    template = "segments/segment_list.html#segment-table" if request.htmx else "segments/segment_list.html"
    return render(request, template, context)


def _builder_context(rule: object) -> dict[str, object]:
    catalog = field_catalog()
    groups = [(str(g), [f for f in catalog.values() if f.group == g]) for g in FIELD_GROUPS]
    return {
        "tree": builder.view_tree(rule, catalog), "field_groups": groups,
        "segments": list(Segment.objects.order_by("name").values_list("id", "name")[:500]),
        "rule_json": json.dumps(rule, ensure_ascii=False),
    }


def _initial_rule(request: HttpRequest) -> dict[str, object]:
    try:
        rule = json.loads(request.GET.get("rule", ""))
    except ValueError:
        rule = None
    return rule if isinstance(rule, dict) else {"all": [dict(builder.DEFAULT_CONDITION)]}


@require_http_methods(["GET", "POST"])
@roles_required(*SEGMENT_ROLES)
def segment_create(request: HttpRequest) -> HttpResponse:
    return _edit_page(request, None)


@require_http_methods(["GET", "POST"])
@roles_required(*SEGMENT_ROLES)
def segment_edit(request: HttpRequest, segment_id: int) -> HttpResponse:
    return _edit_page(request, _segment_or_404(segment_id))


def _edit_page(request: HttpRequest, segment: Segment | None) -> HttpResponse:
    errors: list[str] = []
    if request.method == "POST":
        form = SegmentForm(request.POST)
        rule = builder.rule_from_post(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                if segment is None:
                    segment = services.create_segment(
                        name=data["name"], description=data["description"], rule=rule, kind=data["kind"],
                        actor=request.user, request=request,
                    )
                else:
                    services.update_segment(
                        segment=segment, name=data["name"], description=data["description"], rule=rule,
                        actor=request.user, request=request,
                    )
                messages.success(request, _("Segment saved."))
                return redirect("segments:segment-detail", segment_id=segment.pk)
            except RuleError as error:
                errors = error.errors
    else:
        initial = {"name": segment.name, "description": segment.description, "kind": segment.kind} if segment else None
        form = SegmentForm(initial=initial)
        rule = segment.rule if segment and segment.rule else _initial_rule(request)
    context = {"form": form, "segment": segment, "rule_errors": errors, **_builder_context(rule)}
    return render(request, "segments/segment_form.html", context)


@require_POST
@roles_required(*SEGMENT_ROLES)
def segment_builder(request: HttpRequest) -> HttpResponse:
    """Re-render the builder after a structural change (add, remove, field changed)."""
    rule = builder.rule_from_post(request.POST)
    action = request.POST.get("action", "")
    if action:
        rule = builder.apply_action(rule, action)
    response = render(request, "segments/segment_form.html#builder", _builder_context(rule))
    response["HX-Trigger-After-Settle"] = "rule-changed"
    return response


@require_POST
@roles_required(*SEGMENT_ROLES)
def segment_preview(request: HttpRequest) -> HttpResponse:
    """The live count and a sample of matching customers, or why the rule is invalid."""
    rule = builder.rule_from_post(request.POST)
    segment_id = request.POST.get("segment_id", "")
    context: dict[str, object] = {}
    try:
        context.update(selectors.preview(rule, segment_id=int(segment_id) if segment_id.isdigit() else None))
    except RuleError as error:
        context["rule_errors"] = error.errors
    return render(request, "segments/segment_form.html#preview", context)


@require_GET
@roles_required(*SEGMENT_ROLES)
def segment_detail(request: HttpRequest, segment_id: int) -> HttpResponse:
    segment = _segment_or_404(segment_id)
    page = paginate(request, selectors.segment_members(segment))
    if request.htmx and request.GET.get("page"):
        return render(request, "segments/segment_detail.html#members", {"segment": segment, "page": page})
    context = {
        "segment": segment, "page": page,
        "size_chart": line_chart(selectors.size_history(segment)),
        "events": selectors.recent_events(segment),
    }
    return render(request, "segments/segment_detail.html", context)


@require_POST
@roles_required(*SEGMENT_ROLES)
def segment_refresh(request: HttpRequest, segment_id: int) -> HttpResponse:
    from segments.tasks import refresh_segment_task

    segment = _segment_or_404(segment_id)
    if segment.kind == Segment.Kind.DYNAMIC:
        Segment.objects.filter(pk=segment.pk).update(status=Segment.Status.QUEUED)
        transaction.on_commit(lambda: refresh_segment_task.delay(segment.pk))
        segment.status = Segment.Status.QUEUED
    if request.htmx:
        return render(request, "segments/segment_detail.html#status", {"segment": segment})
    return redirect("segments:segment-detail", segment_id=segment.pk)


@require_GET
@roles_required(*SEGMENT_ROLES)
def segment_status(request: HttpRequest, segment_id: int) -> HttpResponse:
    segment = _segment_or_404(segment_id)
    response = render(request, "segments/segment_detail.html#status", {"segment": segment})
    if segment.status == Segment.Status.IDLE and request.GET.get("polling"):
        response["HX-Refresh"] = "true"  # done: reload members, chart and events
    return response


@require_GET
@roles_required(*SEGMENT_ROLES)
def segment_export(request: HttpRequest, segment_id: int) -> StreamingHttpResponse:
    segment = _segment_or_404(segment_id)
    record_audit(actor=request.user, action="segment.export", obj=segment, request=request)
    response = StreamingHttpResponse(services.export_rows(segment), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="segment-{segment.pk}.csv"'
    return response


@require_POST
@roles_required(*SEGMENT_ROLES)
def segment_delete(request: HttpRequest, segment_id: int) -> HttpResponse:
    segment = _segment_or_404(segment_id)
    services.delete_segment(segment=segment, actor=request.user, request=request)
    messages.success(request, _("Segment deleted."))
    return redirect("segments:segment-list")


@require_http_methods(["GET", "POST"])
@roles_required(*SEGMENT_ROLES)
def segment_upload(request: HttpRequest) -> HttpResponse:
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        segment, parsed = services.create_list_segment(
            name=form.cleaned_data["name"], data=form.cleaned_data["file"].read(),
            actor=request.user, request=request,
        )
        messages.success(request, _("%(size)s customers matched; %(rejected)s values were not recognised.")
                         % {"size": segment.size, "rejected": parsed.rejected})
        return redirect("segments:segment-detail", segment_id=segment.pk)
    return render(request, "segments/segment_upload.html", {"form": form})


@require_GET
@roles_required(*SEGMENT_ROLES)
def dashboard(request: HttpRequest) -> HttpResponse:
    return render(request, "segments/dashboard.html", dashboards.marketer_dashboard())


@require_http_methods(["GET", "POST"])
@roles_required(Role.ADMIN, Role.MARKETER)
def scoring_settings(request: HttpRequest) -> HttpResponse:
    current = ScoringSettings.current()
    form = ScoringSettingsForm(request.POST or None, instance=current)
    moves = None
    if request.method == "POST" and form.is_valid():
        if request.POST.get("action") == "save":
            with transaction.atomic():
                form.save()
                record_audit(actor=request.user, action="scoring.update", obj=current, request=request,
                             changes={k: form.cleaned_data[k] for k in form.changed_data})
            from segments.tasks import compute_scores_task

            transaction.on_commit(compute_scores_task.delay)
            messages.success(request, _("Settings saved; scores are being recomputed."))
            return redirect("segments:scoring-settings")
        moves = dashboards.tier_moves(scores.preview_tiers(**{
            k: form.cleaned_data[k] for k in
            ("weight_consumption", "weight_social", "weight_activity", "key_percent", "middle_percent")
        }))
    template = "segments/scoring.html#preview" if request.htmx else "segments/scoring.html"
    return render(request, template, {"form": form, "moves": moves})

