"""Listening pages: monitors, the dashboard (volume, sentiment, terms, authors, share of
voice) and a live feed; a mention becomes an inbox conversation in one click."""

from __future__ import annotations

from datetime import timedelta

from django import forms
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import quote_etag
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import condition, require_GET, require_POST

from customers.models import Channel
from engagement.inbox import listening, listening_selectors, mentions
from engagement.inbox.models import Mention, Monitor
from scrm import charts
from scrm.staff.roles import Role, roles_required

LISTENING_ROLES = (Role.ADMIN, Role.MARKETER)
PAGE = "engagement/inbox/listening.html"


class MonitorForm(forms.Form):
    name = forms.CharField(max_length=100, label=gettext_lazy("Name"))
    query = forms.CharField(
        max_length=1000, label=gettext_lazy("Query"),
        help_text=gettext_lazy('Words must all appear; OR for alternatives; -word or NOT to exclude; "exact phrase".'),
    )
    channels = forms.MultipleChoiceField(choices=Channel.choices, required=False, label=gettext_lazy("Channels"))
    languages = forms.CharField(max_length=100, required=False, label=gettext_lazy("Languages"),
                                help_text=gettext_lazy("Comma-separated codes, e.g. zh, en. Empty: all."))

    def clean_query(self) -> str:
        query = self.cleaned_data["query"].replace("\x00", "")
        try:
            listening.parse(query)
        except listening.QueryError as error:
            raise forms.ValidationError(_("This query cannot be read: %(error)s") % {"error": error}) from None
        return query

    def clean_languages(self) -> list[str]:
        return [part.strip().lower() for part in self.cleaned_data["languages"].split(",") if part.strip()][:10]


def _monitor(request: HttpRequest) -> Monitor | None:
    raw = request.GET.get("monitor", "")
    if not raw:
        return None
    if not raw.isdigit():
        raise Http404
    monitor = Monitor.objects.filter(pk=int(raw)).first()
    if monitor is None:
        raise Http404
    return monitor


@require_GET
@roles_required(*LISTENING_ROLES)
def listening_dashboard(request: HttpRequest) -> HttpResponse:
    return render(request, PAGE, _context(request, _monitor(request), MonitorForm()))


def _context(request: HttpRequest, monitor: Monitor | None, form: MonitorForm) -> dict:
    now = timezone.now()
    board = listening_selectors.dashboard(
        monitor, since=now - timedelta(days=30), until=now,
        labels={"positive": _("Positive"), "neutral": _("Neutral"), "negative": _("Negative")},
    )
    return {
        "monitor": monitor, "monitors": Monitor.objects.all(), "form": form, "board": board,
        "volume_chart": charts.line_chart(board.daily), "negative_chart": charts.line_chart(board.negative_daily),
        "sentiment_chart": charts.bar_chart(board.sentiment), "voice_chart": charts.bar_chart(board.share_of_voice),
        "terms_chart": charts.bar_chart(board.top_terms[:12]),
        "feed": listening_selectors.feed(monitor), "feed_etag": quote_etag(_feed_etag(request)),
    }


def _feed_etag(request: HttpRequest) -> str:
    monitor = request.GET.get("monitor", "")
    return f"f{get_language()}-{monitor}-{listening_selectors.feed_fingerprint(Monitor.objects.filter(pk=monitor).first() if monitor.isdigit() else None)}"


@require_GET
@roles_required(*LISTENING_ROLES)
@condition(etag_func=lambda request: _feed_etag(request))
def listening_feed(request: HttpRequest) -> HttpResponse:
    monitor = _monitor(request)
    response = render(request, f"{PAGE}#feed", {"feed": listening_selectors.feed(monitor), "monitor": monitor,
                                                 "feed_etag": quote_etag(_feed_etag(request))})
    response["Cache-Control"] = "private, no-cache"
    return response


@require_POST
@roles_required(*LISTENING_ROLES)
def monitor_create(request: HttpRequest) -> HttpResponse:
    form = MonitorForm(request.POST)
    if not form.is_valid():
        return render(request, PAGE, _context(request, None, form), status=200)
    monitor = mentions.create_monitor(
        name=form.cleaned_data["name"], query=form.cleaned_data["query"], channels=form.cleaned_data["channels"],
        languages=form.cleaned_data["languages"], actor=request.user,
    )
    return redirect(f"{reverse('engagement:listening')}?monitor={monitor.pk}")


@require_POST
@roles_required(Role.ADMIN, Role.MARKETER, Role.AGENT)
def mention_reply(request: HttpRequest, mention_id: int) -> HttpResponse:
    mention = Mention.objects.select_related("monitor").filter(pk=mention_id).first()
    if mention is None:
        raise Http404
    try:
        conversation = mentions.open_conversation_from_mention(mention=mention, actor=request.user)
    except ValueError:
        from django.contrib import messages

        messages.error(request, _("This mention has no known author or channel to answer on."))
        return redirect(f"{reverse('engagement:listening')}?monitor={mention.monitor_id}")
    return redirect("engagement:inbox-conversation", conversation.pk)
