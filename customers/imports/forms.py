"""Forms for the import pages: they validate request data and never save."""

from __future__ import annotations

from typing import Any

from django import forms
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext_lazy as _

from customers.channels import Channel
from customers.models import ImportJob

ENCODING_CHOICES = [
    ("", _("Detect automatically")),
    ("utf-8", "UTF-8"),
    ("utf-8-sig", _("UTF-8 with BOM")),
    ("gb18030", _("GB18030 / GBK (Chinese Excel)")),
    ("utf-16", "UTF-16"),
]


class UploadForm(forms.Form):
    kind = forms.ChoiceField(label=_("What the file holds"), choices=ImportJob.Kind.choices)
    file = forms.FileField(label=_("CSV or Excel (.xlsx) file"))

    def __init__(self, *args: Any, max_bytes: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.max_bytes = max_bytes
        self.fields["file"].widget.attrs["accept"] = ".csv,.txt,.xlsx,text/csv,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        self.fields["file"].help_text = _("Up to %(size)s.") % {"size": filesizeformat(max_bytes)}

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        if upload.size > self.max_bytes:
            raise forms.ValidationError(
                _("The file is too big (%(size)s; at most %(limit)s)."),
                params={"size": filesizeformat(upload.size), "limit": filesizeformat(self.max_bytes)},
            )
        return upload


class MappingForm(forms.Form):
    """One choice per column of the file, plus the options of the import."""

    encoding = forms.ChoiceField(label=_("Text encoding"), choices=ENCODING_CHOICES, required=False)
    phone_region = forms.RegexField(
        label=_("Country for phone numbers without a country code"), regex=r"^[A-Za-z]{2}$",
        initial="CN", max_length=2,
    )
    day_first = forms.BooleanField(label=_("Dates like 03/04/2024 are day first (3 April)"), required=False)
    default_currency = forms.RegexField(label=_("Currency when the file has none"), regex=r"^[A-Za-z]{3}$", initial="CNY", max_length=3, required=False)
    default_channel = forms.ChoiceField(label=_("Channel when the file has none"), choices=Channel.choices, initial=Channel.STORE, required=False)
    create_customers = forms.BooleanField(label=_("Create customers that are not found"), required=False)

    OPTION_FIELDS = ("encoding", "phone_region", "day_first", "default_currency", "default_channel", "create_customers")

    def __init__(self, *args: Any, headers: list[str], choices: list[tuple[str, str]], kind: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.column_names = []
        for index, header in enumerate(headers):
            name = f"col_{index}"
            self.fields[name] = forms.ChoiceField(label=header or f"#{index + 1}", choices=choices, required=False)
            self.column_names.append(name)
        if kind != ImportJob.Kind.ORDERS:
            for name in ("default_currency", "default_channel", "create_customers"):
                del self.fields[name]

    def columns(self) -> list[forms.BoundField]:
        return [self[name] for name in self.column_names]

    def options(self) -> list[forms.BoundField]:
        return [self[name] for name in self.OPTION_FIELDS if name in self.fields]

    def mapping(self) -> dict[str, str]:
        return {
            name.removeprefix("col_"): self.cleaned_data[name]
            for name in self.column_names if self.cleaned_data.get(name)
        }

    def import_options(self) -> dict[str, Any]:
        data = self.cleaned_data
        options: dict[str, Any] = {
            "encoding": data.get("encoding") or "",
            "phone_region": (data.get("phone_region") or "CN").upper(),
            "day_first": bool(data.get("day_first")),
        }
        if "create_customers" in self.fields:
            options["create_customers"] = bool(data.get("create_customers"))
            options["default_currency"] = (data.get("default_currency") or "CNY").upper()
            options["default_channel"] = data.get("default_channel") or Channel.STORE
        return options

    @staticmethod
    def initial_for(job: ImportJob) -> dict[str, Any]:
        initial: dict[str, Any] = {f"col_{i}": key for i, key in job.mapping.items()}
        initial.update({k: v for k, v in job.options.items() if k in MappingForm.OPTION_FIELDS})
        return initial
