"""Forms for segment pages: they validate, never save (services do)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from segments.models import ScoringSettings, Segment

MAX_UPLOAD = 20 * 1024 * 1024


class SegmentForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200)
    description = forms.CharField(label=_("Description"), required=False, max_length=5000,
                                  widget=forms.Textarea(attrs={"rows": 2}))
    kind = forms.ChoiceField(label=_("Kind"), choices=Segment.Kind.choices, initial=Segment.Kind.DYNAMIC)

    def clean_name(self) -> str:
        name = self.cleaned_data["name"]
        if "\x00" in name:
            raise forms.ValidationError(_("The name contains a NUL character."))
        return name

    def clean_description(self) -> str:
        return self.cleaned_data["description"].replace("\x00", "")


class UploadForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200)
    file = forms.FileField(label=_("CSV or text file of customer IDs, emails or phone numbers"))

    def clean_file(self):  # noqa: ANN201
        upload = self.cleaned_data["file"]
        if upload.size > MAX_UPLOAD:
            raise forms.ValidationError(_("The file is larger than 20 MB."))
        return upload


class SegmentSearchForm(forms.Form):
    q = forms.CharField(required=False, max_length=200)


class ScoringSettingsForm(forms.ModelForm):
    class Meta:
        model = ScoringSettings
        fields = ["half_life_days", "weight_consumption", "weight_social", "weight_activity",
                  "key_percent", "middle_percent"]

    def clean(self):  # noqa: ANN201
        data = super().clean()
        weights = [data.get(k) or 0 for k in ("weight_consumption", "weight_social", "weight_activity")]
        if any(w < 0 for w in weights) or sum(weights) <= 0:
            raise forms.ValidationError(_("Weights must be zero or more, and not all zero."))
        if (data.get("key_percent") or 0) + (data.get("middle_percent") or 0) > 100:
            raise forms.ValidationError(_("Key and middle together cannot exceed 100 %."))
        if not data.get("half_life_days"):
            raise forms.ValidationError(_("The half-life must be at least one day."))
        return data
