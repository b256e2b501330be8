"""The agent workspace: conversation list, thread, reply and actions, all as HTMX fragments.

Polling fragments (the list, the thread) carry an ETag; the inbox script sends it back in
If-None-Match and an unchanged fragment costs one indexed read and a 304.
"""

from __future__ import annotations

import zlib
from datetime import timedelta

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.http import quote_etag
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import condition, require_GET, require_http_methods, require_POST

from customers.models import Channel
from engagement.inbox import (
    canned,
    images,
    list_rows,
    presence,
    reports,
    selectors,
    services,
    windows,
)
from engagement.inbox.forms import (
    SNOOZE_HOURS,
    AssignForm,
    AvailabilityForm,
    InboxFilterForm,
    NoteForm,
    ReplyForm,
    SnoozeForm,
    TransferForm,
)
from engagement.inbox.models import CannedReply, Conversation, Team
from scrm import charts
from scrm.staff.roles import Role, roles_required

AGENT_ROLES = (Role.ADMIN, Role.AGENT)
WORKSPACE = "engagement/inbox/workspace.html"
PANE = "engagement/inbox/conversation.html"


# --- fingerprints for conditional polling ---------------------------------------------------


def _list_etag(request: HttpRequest) -> str:
    params = "&".join(f"{k}={v}" for k, v in sorted(request.GET.items()))
    # crc32, not hash(): str hashes change with each interpreter (PYTHONHASHSEED), so the
    # ETags changed at every restart and differed between web servers.
    return f"l{request.user.pk}-{get_language()}-{selectors.inbox_fingerprint()}-{zlib.crc32(params.encode()):x}"


def _thread_etag(request: HttpRequest, conversation_id: int) -> str | None:
    fingerprint = selectors.thread_fingerprint(conversation_id)
    if fingerprint is None:
        return None  # the view answers 404
    return f"t{request.user.pk}-{get_language()}-{fingerprint}"


def _conversation_or_404(conversation_id: int) -> Conversation:
    try:
        return selectors.conversation_for_agent(conversation_id)
    except Conversation.DoesNotExist:
        raise Http404 from None


def _no_store(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = "private, no-cache"
    return response


# --- pages and fragments ----------------------------------------------------------------


@require_GET
@roles_required(*AGENT_ROLES)
def inbox(request: HttpRequest) -> HttpResponse:
    return render(request, WORKSPACE, _list_context(request) | {"pane": None})


@require_GET
@roles_required(*AGENT_ROLES)
@condition(etag_func=lambda request: _list_etag(request))
def conversation_list(request: HttpRequest) -> HttpResponse:
    return _no_store(render(request, f"{WORKSPACE}#conversation-list", _list_context(request)))


def _list_context(request: HttpRequest) -> dict:
    form = InboxFilterForm(request.GET)
    spec = form.spec()
    rows = list(selectors.conversation_list(request.user, spec)[: selectors.LIST_LIMIT + 1])
    now = timezone.now()
    return {
        "form": form, "spec": spec, "conversations": rows[: selectors.LIST_LIMIT],
        "rows": list_rows.rendered_rows(rows[: selectors.LIST_LIMIT], now=now),
        "more": rows[-1].pk if len(rows) > selectors.LIST_LIMIT else None,
        "counts": selectors.inbox_counts(request.user), "list_etag": quote_etag(_list_etag(request)),
        "query": request.GET.urlencode(), "teams": selectors.teams(), "channels": Channel.choices,
        "availability": selectors.availability_of(request.user), "now": now,
    }


@require_GET
@roles_required(*AGENT_ROLES)
def conversation(request: HttpRequest, conversation_id: int) -> HttpResponse:
    item = _conversation_or_404(conversation_id)
    services.mark_read(conversation_id=item.pk)
    context = _pane_context(request, item)
    if request.htmx:
        return render(request, PANE, context)
    return render(request, WORKSPACE, _list_context(request) | context | {"pane": True})


def _pane_context(request: HttpRequest, item: Conversation, **extra: object) -> dict:
    now = timezone.now()
    return {
        "conversation": item, "messages": selectors.thread(item),
        "window": windows.reply_window(channel=item.channel, last_inbound_at=item.last_inbound_at, now=now),
        "reply_form": extra.pop("reply_form", None) or ReplyForm.fresh(version=item.version),
        "note_form": NoteForm(), "panel": selectors.customer_panel(item),
        "agents": selectors.assignable_agents(), "teams": selectors.teams(),
        "canned": selectors.canned_replies(), "snooze_choices": SNOOZE_HOURS,
        "queue_position": services.queue_position(item), "overdue": selectors.is_overdue(item, now),
        "thread_etag": quote_etag(_thread_etag(request, item.pk) or ""), "now": now,
        "emoji": EMOJI, "image_limit_mb": images.MAX_BYTES // 2**20, "image_limit_bytes": images.MAX_BYTES,
        "image_types": sorted(images.CHANNEL_TYPES.get(item.channel, ())),
        "image_kinds": ", ".join(sorted(images.EXTENSIONS[t].upper() for t in images.CHANNEL_TYPES.get(item.channel, ()))), **extra,
    }


EMOJI = ("😀", "🙂", "😉", "😊", "🙏", "👍", "👌", "🎉", "❤️", "😢", "😅", "🤝", "✅", "📦", "🚚", "💳")


@require_GET
@roles_required(*AGENT_ROLES)
@condition(etag_func=lambda request, conversation_id: _thread_etag(request, conversation_id))
def conversation_thread(request: HttpRequest, conversation_id: int) -> HttpResponse:
    item = _conversation_or_404(conversation_id)
    context = {
        "conversation": item, "messages": selectors.thread(item),
        "thread_etag": quote_etag(_thread_etag(request, item.pk) or ""),
        "queue_position": services.queue_position(item), "overdue": selectors.is_overdue(item),
    }
    return _no_store(render(request, f"{PANE}#thread", context))


@require_http_methods(["GET", "POST"])
@roles_required(*AGENT_ROLES)
def conversation_presence(request: HttpRequest, conversation_id: int) -> HttpResponse:
    item = _conversation_or_404(conversation_id)
    if request.method == "POST":
        presence.record_typing(conversation_id=item.pk, username=request.user.get_username())
        return HttpResponse(status=204)
    typing = presence.others_typing(conversation_id=item.pk, username=request.user.get_username())
    return _no_store(render(request, f"{PANE}#presence", {"conversation": item, "typing": typing}))


# --- writes ----------------------------------------------------------------------------------


def _pane(request: HttpRequest, conversation_id: int, **extra: object) -> HttpResponse:
    return render(request, PANE, _pane_context(request, _conversation_or_404(conversation_id), **extra))


@require_POST
@roles_required(*AGENT_ROLES)
def conversation_reply(request: HttpRequest, conversation_id: int) -> HttpResponse:
    item = _conversation_or_404(conversation_id)
    form = ReplyForm(request.POST, request.FILES)
    if not form.is_valid():
        return _pane(request, item.pk, reply_form=form)
    try:
        services.send_reply(
            conversation_id=item.pk, author=request.user, text=form.cleaned_data["text"],
            version=form.cleaned_data["version"], client_key=form.cleaned_data["client_key"],
            image=form.cleaned_data["image"],
        )
    except services.StaleConversation as stale:
        # Keep the draft; the new version lets a deliberate second click send it.
        fresh = ReplyForm.fresh(version=stale.conversation.version, text=form.cleaned_data["text"])
        return _pane(request, item.pk, reply_form=fresh, reply_error=_reattach(str(stale), form))
    except services.InboxError as error:
        fresh = ReplyForm.fresh(version=item.version, text=form.cleaned_data["text"])
        return _pane(request, item.pk, reply_form=fresh, reply_error=_reattach(str(error), form))
    return _pane(request, item.pk)


def _reattach(error: str, form: ReplyForm) -> str:
    # A file input cannot be refilled by the server: say so rather than drop it silently.
    return f"{error} {_('Attach the image again.')}" if form.cleaned_data.get("image") else error


@require_POST
@roles_required(*AGENT_ROLES)
def conversation_note(request: HttpRequest, conversation_id: int) -> HttpResponse:
    item = _conversation_or_404(conversation_id)
    form = NoteForm(request.POST)
    if form.is_valid():
        try:
            services.add_note(conversation_id=item.pk, author=request.user, text=form.cleaned_data["text"])
        except services.InboxError as error:
            return _pane(request, item.pk, action_error=str(error))
    return _pane(request, item.pk)


@require_POST
@roles_required(*AGENT_ROLES)
def conversation_action(request: HttpRequest, conversation_id: int, action: str) -> HttpResponse:
    item = _conversation_or_404(conversation_id)
    if action not in ACTIONS:
        raise Http404
    try:
        ACTIONS[action](request, item)
    except (services.InboxError, ValueError) as error:
        return _pane(request, item.pk, action_error=str(error))
    return _pane(request, item.pk)


def _assign(request: HttpRequest, item: Conversation) -> None:
    form = AssignForm(request.POST)
    if not form.is_valid():
        raise services.InboxError(_("Choose an agent."))
    assignee = None
    if form.cleaned_data["assignee"]:
        assignee = selectors.assignable_agents().filter(pk=form.cleaned_data["assignee"]).first()
        if assignee is None:
            raise services.InboxError(_("That agent does not exist."))
    services.assign(conversation_id=item.pk, assignee=assignee, actor=request.user)


def _take(request: HttpRequest, item: Conversation) -> None:
    services.agent_profile(request.user)
    services.assign(conversation_id=item.pk, assignee=request.user, actor=request.user)


def _transfer(request: HttpRequest, item: Conversation) -> None:
    form = TransferForm(request.POST)
    team = Team.objects.filter(pk=form.cleaned_data["team"]).first() if form.is_valid() and form.cleaned_data["team"] else None
    services.transfer(conversation_id=item.pk, team=team, actor=request.user)


def _snooze(request: HttpRequest, item: Conversation) -> None:
    form = SnoozeForm(request.POST)
    if not form.is_valid():
        raise services.InboxError(_("Choose how long to snooze."))
    until = timezone.now() + timedelta(hours=form.cleaned_data["hours"])
    services.snooze(conversation_id=item.pk, until=until, actor=request.user)


ACTIONS = {
    "assign": _assign,
    "take": _take,
    "transfer": _transfer,
    "snooze": _snooze,
    "resolve": lambda request, item: services.resolve(conversation_id=item.pk, actor=request.user),
    "reopen": lambda request, item: services.reopen(conversation_id=item.pk, actor=request.user),
}


@require_GET
@roles_required(*AGENT_ROLES)
def canned_reply(request: HttpRequest, conversation_id: int, canned_id: int) -> HttpResponse:
    item = _conversation_or_404(conversation_id)
    reply = CannedReply.objects.filter(pk=canned_id).first()
    if reply is None:
        raise Http404
    values = canned.variables_for(
        customer_name=item.customer.display_name, agent_name=request.user.get_full_name() or request.user.get_username(),
        brand_name=request.tenant.name, channel=str(dict(Channel.choices).get(item.channel, item.channel)),
    )
    form = ReplyForm.fresh(version=int(request.GET.get("version") or item.version), text=canned.render(reply.body, values))
    return render(request, f"{PANE}#reply-text", {"reply_form": form, "conversation": item})


@require_POST
@roles_required(*AGENT_ROLES)
def availability(request: HttpRequest) -> HttpResponse:
    form = AvailabilityForm(request.POST)
    if form.is_valid():
        services.set_availability(user=request.user, availability=form.cleaned_data["availability"])
    return render(request, f"{WORKSPACE}#availability", {"availability": selectors.availability_of(request.user)})



REPORT_PERIODS = (7, 30, 90)


@require_GET
@roles_required(*AGENT_ROLES)
def inbox_reports(request: HttpRequest) -> HttpResponse:
    days = int(request.GET.get("days", "30")) if request.GET.get("days", "30") in {str(d) for d in REPORT_PERIODS} else 30
    now = timezone.now()
    since = now - timedelta(days=days)
    report = reports.inbox_report(since, none_label=_("No team / nobody"))
    channel_labels = dict(Channel.choices)
    volume = [(str(channel_labels.get(channel, channel)), n) for channel, n in reports.volume_by_channel(since)]

    def minutes(rows: list[reports.TimeStats], field: str) -> list[tuple[str, float]]:
        return [(row.label, round((getattr(row, field) or 0) / 60, 1)) for row in rows]

    context = {
        "days": days, "periods": REPORT_PERIODS, "report": report,
        "volume_chart": charts.bar_chart(volume),
        "daily_chart": charts.line_chart(reports.daily_volume(since, now)),
        "fr_agent_chart": charts.bar_chart(minutes(report.first_response_by_agent, "median")),
        "res_team_chart": charts.bar_chart(minutes(report.resolution_by_team, "median")),
    }
    csat = reports.csat_report(since, none_label=_("No team / nobody"))
    distribution = csat.total.distribution if csat.total else (0, 0, 0, 0, 0)
    context |= {
        "csat": csat,
        "csat_distribution_chart": charts.bar_chart([(f"{n} ★", count) for n, count in zip(range(1, 6), distribution, strict=True)]),
        "csat_agent_chart": charts.bar_chart([(row.label, round(row.average or 0, 2)) for row in csat.by_agent]),
    }
    return render(request, "engagement/inbox/reports.html", context)
