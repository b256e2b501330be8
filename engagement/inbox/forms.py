"""Inbox forms: they validate; services change state."""

from __future__ import annotations

import uuid

from django import forms
from django.utils.translation import gettext_lazy as _

from customers.models import Channel
from engagement.inbox.models import Team

MAX_REPLY = 20_000
VIEWS = [
    ("open", _("Open")), ("mine", _("Mine")), ("unassigned", _("Unassigned")), ("queue", _("Queue")),
    ("pending", _("Pending")), ("snoozed", _("Snoozed")), ("resolved", _("Resolved")), ("all", _("All")),
]
SNOOZE_HOURS = [(1, _("1 hour")), (4, _("4 hours")), (24, _("1 day")), (72, _("3 days")), (168, _("1 week"))]


class InboxFilterForm(forms.Form):
    view = forms.ChoiceField(choices=VIEWS, required=False)
    team = forms.TypedChoiceField(coerce=int, required=False, empty_value=None)
    channel = forms.ChoiceField(choices=[("", _("All channels")), *Channel.choices], required=False)
    sla = forms.BooleanField(required=False, label=_("SLA at risk"))
    negative = forms.BooleanField(required=False, label=_("Negative sentiment"))
    q = forms.CharField(required=False, max_length=100)
    before = forms.IntegerField(required=False, min_value=1)

    def __init__(self, *args, **kwargs) -> None:  # noqa: ANN002, ANN003
        super().__init__(*args, **kwargs)
        self.fields["team"].choices = [("", _("All teams")), *Team.objects.values_list("id", "name")]

    def spec(self):  # noqa: ANN201
        from engagement.inbox.selectors import InboxFilter

        data = self.cleaned_data if self.is_valid() else {}
        return InboxFilter(
            view=data.get("view") or "open", team_id=data.get("team"), channel=data.get("channel") or "",
            sla_at_risk=bool(data.get("sla")), negative=bool(data.get("negative")),
            q=(data.get("q") or "").replace("\x00", "").strip(), before=data.get("before"),
        )


class ReplyForm(forms.Form):
    # Optional when an image is attached; services.send_reply refuses a reply with neither.
    text = forms.CharField(max_length=MAX_REPLY, required=False, widget=forms.Textarea(attrs={"rows": 3}), label=_("Reply"))
    image = forms.FileField(required=False, label=_("Image"))
    version = forms.IntegerField(widget=forms.HiddenInput)
    client_key = forms.CharField(max_length=64, widget=forms.HiddenInput)

    @classmethod
    def fresh(cls, *, version: int, text: str = "") -> ReplyForm:
        return cls(initial={"version": version, "client_key": uuid.uuid4().hex, "text": text})


class NoteForm(forms.Form):
    text = forms.CharField(max_length=MAX_REPLY, widget=forms.Textarea(attrs={"rows": 2}), label=_("Internal note"))


class AssignForm(forms.Form):
    assignee = forms.IntegerField(required=False, min_value=1)


class TransferForm(forms.Form):
    team = forms.IntegerField(required=False, min_value=1)


class SnoozeForm(forms.Form):
    hours = forms.TypedChoiceField(choices=SNOOZE_HOURS, coerce=int)


class AvailabilityForm(forms.Form):
    availability = forms.ChoiceField(choices=[("online", _("Online")), ("away", _("Away"))])
