"""Admin forms for the inbox's configuration: teams, routing rules, canned replies, SLA."""

from __future__ import annotations

from datetime import date, time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django import forms
from django.contrib.auth.models import User
from django.utils.translation import gettext_lazy as _

from customers.models import Channel
from engagement.inbox.models import CannedReply, Priority, RoutingRule, SlaPolicy, Team


def _words(value: str) -> list[str]:
    return [part.strip() for part in value.replace("\n", ",").split(",") if part.strip()][:50]


class TeamForm(forms.ModelForm):
    members = forms.ModelMultipleChoiceField(
        queryset=User.objects.filter(is_active=True).order_by("username"), required=False,
        widget=forms.CheckboxSelectMultiple, label=_("Members"),
    )

    class Meta:
        model = Team
        fields = ["name", "strategy", "is_default", "members"]


class RoutingRuleForm(forms.ModelForm):
    channels = forms.MultipleChoiceField(choices=Channel.choices, required=False, widget=forms.CheckboxSelectMultiple, label=_("Channels"))
    languages = forms.CharField(required=False, label=_("Languages"), help_text=_("Comma-separated codes, e.g. zh, en."))
    keywords = forms.CharField(required=False, label=_("Keywords"), help_text=_("Any of these words (comma-separated)."))
    customer_tags = forms.CharField(required=False, label=_("Customer tags"), help_text=_("Any of these tags, e.g. VIP."))
    add_labels = forms.CharField(required=False, label=_("Add labels"))

    class Meta:
        model = RoutingRule
        fields = ["name", "position", "enabled", "channels", "languages", "keywords", "customer_tags",
                  "negative_sentiment", "set_priority", "set_team", "add_labels"]

    def __init__(self, *args, **kwargs) -> None:  # noqa: ANN002, ANN003
        super().__init__(*args, **kwargs)
        for name in ("languages", "keywords", "customer_tags", "add_labels"):
            if self.instance.pk:
                self.initial[name] = ", ".join(getattr(self.instance, name))

    def clean_languages(self) -> list[str]:
        return [word.lower() for word in _words(self.cleaned_data["languages"])]

    def clean_keywords(self) -> list[str]:
        return _words(self.cleaned_data["keywords"])

    def clean_customer_tags(self) -> list[str]:
        return _words(self.cleaned_data["customer_tags"])

    def clean_add_labels(self) -> list[str]:
        return _words(self.cleaned_data["add_labels"])


class CannedReplyForm(forms.ModelForm):
    class Meta:
        model = CannedReply
        fields = ["title", "shortcut", "body"]
        help_texts = {"body": _("Variables: {{ customer.display_name|there }}, {{ customer.first_name }}, {{ agent.name }}, {{ brand.name }}.")}


class SlaPolicyForm(forms.ModelForm):
    business_hours = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 7}), label=_("Business hours"),
        help_text=_("One line per weekday: Mon 09:00-18:00, 13:00-17:00. Days not listed are closed. Empty: round the clock."),
    )
    holidays = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 3}), label=_("Holidays"),
        help_text=_("Dates, one per line or comma-separated: 2026-10-01."),
    )
    first_response = forms.CharField(label=_("First response targets (minutes: low, normal, high, urgent)"), initial="480, 240, 60, 15")
    resolution = forms.CharField(label=_("Resolution targets (minutes: low, normal, high, urgent)"), initial="4320, 1440, 480, 120")

    DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

    class Meta:
        model = SlaPolicy
        fields = ["name", "timezone"]

    def __init__(self, *args, **kwargs) -> None:  # noqa: ANN002, ANN003
        super().__init__(*args, **kwargs)
        policy = self.instance
        if policy.pk:
            self.initial["business_hours"] = "\n".join(
                f"{self.DAYS[int(day)].title()} " + ", ".join(f"{a}-{b}" for a, b in spans)
                for day, spans in sorted(policy.business_hours.items())
            )
            self.initial["holidays"] = "\n".join(policy.holidays)
            self.initial["first_response"] = ", ".join(str(policy.first_response_minutes.get(str(p), "")) for p in Priority.values)
            self.initial["resolution"] = ", ".join(str(policy.resolution_minutes.get(str(p), "")) for p in Priority.values)

    def clean_timezone(self) -> str:
        try:
            ZoneInfo(self.cleaned_data["timezone"])
        except (ZoneInfoNotFoundError, ValueError):
            raise forms.ValidationError(_("Unknown time zone.")) from None
        return self.cleaned_data["timezone"]

    def clean_business_hours(self) -> dict[str, list[list[str]]]:
        hours: dict[str, list[list[str]]] = {}
        for line in self.cleaned_data["business_hours"].splitlines():
            if not line.strip():
                continue
            day, _sep, spans = line.strip().partition(" ")
            if day[:3].lower() not in self.DAYS:
                raise forms.ValidationError(_("Start each line with a weekday (Mon … Sun): %(line)s") % {"line": line[:40]})
            for span in spans.split(","):
                try:
                    start, end = (time.fromisoformat(part.strip()) for part in span.split("-"))
                except ValueError:
                    raise forms.ValidationError(_("Write hours as 09:00-18:00: %(line)s") % {"line": line[:40]}) from None
                hours.setdefault(str(self.DAYS.index(day[:3].lower())), []).append([start.strftime("%H:%M"), end.strftime("%H:%M")])
        return hours

    def clean_holidays(self) -> list[str]:
        try:
            return sorted({date.fromisoformat(word).isoformat() for word in _words(self.cleaned_data["holidays"])})
        except ValueError:
            raise forms.ValidationError(_("Write dates as 2026-10-01.")) from None

    def _targets(self, name: str) -> dict[str, int]:
        try:
            values = [int(word) for word in _words(self.cleaned_data[name])]
        except ValueError:
            values = []
        if len(values) != 4 or min(values) < 1:
            raise forms.ValidationError(_("Give four positive numbers of minutes."))
        return {str(p): v for p, v in zip(Priority.values, values, strict=True)}

    def clean_first_response(self) -> dict[str, int]:
        return self._targets("first_response")

    def clean_resolution(self) -> dict[str, int]:
        return self._targets("resolution")

    def save(self, commit: bool = True) -> SlaPolicy:  # noqa: FBT001, FBT002
        policy = super().save(commit=False)
        policy.business_hours = self.cleaned_data["business_hours"]
        policy.holidays = self.cleaned_data["holidays"]
        policy.first_response_minutes = self.cleaned_data["first_response"]
        policy.resolution_minutes = self.cleaned_data["resolution"]
        policy.active = True
        if commit:
            policy.save()
        return policy


__all__ = ["CannedReplyForm", "RoutingRuleForm", "SlaPolicyForm", "TeamForm"]
