"""Forms for the customer pages: they validate request data and never save."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.html import format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext_lazy as _

from customers.channels import Channel, ConsentChannel
from customers.models import InteractionKind, Tag
from customers.selectors import DEFAULT_SORT, ORDER_KIND, SORTS

LAST_SEEN_CHOICES = [
    ("", _("Any time")),
    (7, _("Last 7 days")),
    (30, _("Last 30 days")),
    (90, _("Last 90 days")),
    (365, _("Last year")),
]
MAX_BULK_CUSTOMERS = 1000


_SELECTED = mark_safe(" selected")  # noqa: S308 - a constant


def _blank(label: str) -> list[tuple[str, str]]:
    return [("", label)]


class CustomerFilterForm(forms.Form):
    q = forms.CharField(required=False, max_length=200)
    channel = forms.ChoiceField(required=False, choices=_blank(_("All channels")) + Channel.choices)
    tag = forms.ChoiceField(required=False)
    city = forms.ChoiceField(required=False)
    consent = forms.ChoiceField(
        required=False,
        choices=_blank(_("Any consent"))
        + [c for c in ConsentChannel.choices if c[0] != ConsentChannel.ALL],
    )
    last_seen = forms.TypedChoiceField(
        required=False, choices=LAST_SEEN_CHOICES, coerce=int, empty_value=None
    )
    sort = forms.ChoiceField(required=False, choices=[(s, s) for s in SORTS])

    def __init__(self, *args: Any, tags: list[str], cities: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["tag"].choices = _blank(_("All tags")) + [(t, t) for t in tags]
        self.fields["city"].choices = _blank(_("All cities")) + [(c, c) for c in cities]

    SELECTS = ("channel", "tag", "city", "consent", "last_seen")

    def selects(self) -> list[tuple[str, str, SafeString]]:
        """(name, label, its <option> elements with the current one selected) for each
        filter drop-down. Built here rather than by a template loop: a brand's city list
        alone is a few hundred options, and a template costs far more per option."""
        found = []
        for name in self.SELECTS:
            field = self[name]
            current = "" if not field.value() else str(field.value())
            options = format_html_join(
                "", "<option value=\"{}\"{}>{}</option>",
                ((value, _SELECTED if str(value) == current else "", label) for value, label in field.field.choices),
            )
            found.append((name, field.label, options))
        return found

    def search_arguments(self) -> dict[str, Any]:
        """Keyword arguments for customer_search from the fields that validated."""
        self.is_valid()  # an invalid field is left out of cleaned_data, so it filters nothing
        data = self.cleaned_data
        return {
            "query": data.get("q") or "",
            "channel": data.get("channel") or "",
            "tag": data.get("tag") or "",
            "city": data.get("city") or "",
            "consent": data.get("consent") or "",
            "last_seen_days": data.get("last_seen"),
            "sort": data.get("sort") or DEFAULT_SORT,
        }


class CustomerIdsField(forms.Field):
    widget = forms.MultipleHiddenInput

    def to_python(self, value: Any) -> list[int]:
        if not value:
            return []
        try:
            ids = [int(v) for v in value]
        except (TypeError, ValueError) as error:
            raise ValidationError(_("Select customers from the list.")) from error
        if len(ids) > MAX_BULK_CUSTOMERS:
            raise ValidationError(
                _("Select at most %(n)s customers at a time."), params={"n": MAX_BULK_CUSTOMERS}
            )
        return ids


class BulkTagForm(forms.Form):
    customer_ids = CustomerIdsField(error_messages={"required": _("Select at least one customer.")})
    tag = forms.CharField(max_length=Tag._meta.get_field("name").max_length, strip=True)
    action = forms.ChoiceField(choices=[("tag", _("Add tag")), ("untag", _("Remove tag"))])


class NoteForm(forms.Form):
    body = forms.CharField(
        label=_("Note"), max_length=5000, widget=forms.Textarea(attrs={"rows": 3})
    )


class TimelineFilterForm(forms.Form):
    channel = forms.ChoiceField(required=False, choices=_blank(_("All channels")) + Channel.choices)
    kind = forms.ChoiceField(
        required=False,
        choices=_blank(_("Everything")) + [(ORDER_KIND, _("Order"))] + InteractionKind.choices,
    )
    before = forms.CharField(required=False, max_length=100)

    def timeline_arguments(self) -> dict[str, Any]:
        self.is_valid()
        data = self.cleaned_data
        return {
            "channel": data.get("channel") or None,
            "kinds": [data["kind"]] if data.get("kind") else None,
            "before": data.get("before") or None,
        }
