"""The attribute schema page (Admin) and the attribute editor on the profile (HTMX)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from customers import attributes, selectors
from customers.models import AttributeDefinition, Customer
from customers.privacy_views import CleanCharField
from scrm.staff.roles import ALL_ROLES, Role, role_of, roles_required

SCHEMA_ROLES = (Role.ADMIN,)
EDIT_ROLES = (Role.ADMIN, Role.MARKETER)
Type = AttributeDefinition.Type


class DefinitionForm(forms.Form):
    key = CleanCharField(label=gettext_lazy("Key"), max_length=64, required=False,
                         help_text=gettext_lazy("Lowercase letters, digits and underscores; fixed once used."))
    label = CleanCharField(label=gettext_lazy("Label"), max_length=200)
    type = forms.ChoiceField(label=gettext_lazy("Type"), choices=Type.choices, required=False)
    choices = CleanCharField(label=gettext_lazy("Choices"), required=False, max_length=10000,
                             help_text=gettext_lazy("For a choice attribute: one per line."),
                             widget=forms.Textarea(attrs={"rows": 3}))

    def choice_list(self) -> list[str]:
        return [line for line in self.cleaned_data.get("choices", "").splitlines() if line.strip()]


def _apply_errors(form: forms.Form, error: ValidationError) -> None:
    if hasattr(error, "error_dict"):
        for name, errors in error.message_dict.items():
            for message in errors:
                form.add_error(name if name in form.fields else None, message)
    else:
        for message in error.messages:
            form.add_error(None, message)


def _schema_page(request: HttpRequest, form: DefinitionForm, *, status: int = 200,
                 edit_forms: dict[int, DefinitionForm] | None = None) -> HttpResponse:
    definitions = list(AttributeDefinition.objects.order_by("deleted_at", "label", "id"))
    edit_forms = edit_forms or {}
    rows = [
        (d, edit_forms.get(d.pk) or DefinitionForm(initial={
            "key": d.key, "label": d.label, "type": d.type, "choices": "\n".join(d.choices)}),
         attributes.key_in_use(d.key))  # bounded: a brand has tens of attributes
        for d in definitions
    ]
    return render(request, "customers/attributes/schema.html", {"form": form, "rows": rows}, status=status)


@require_GET
@roles_required(*SCHEMA_ROLES)
def attribute_schema(request: HttpRequest) -> HttpResponse:
    return _schema_page(request, DefinitionForm())


@require_POST
@roles_required(*SCHEMA_ROLES)
def attribute_create(request: HttpRequest) -> HttpResponse:
    form = DefinitionForm(request.POST)
    if form.is_valid():
        try:
            attributes.create_definition(
                key=form.cleaned_data["key"], label=form.cleaned_data["label"],
                type=form.cleaned_data["type"] or Type.TEXT, choices=form.choice_list(),
                actor=request.user, request=request,
            )
        except ValidationError as error:
            _apply_errors(form, error)
        else:
            messages.success(request, _("Attribute added."))
            return redirect("customers:attribute-schema")
    return _schema_page(request, form, status=400)


@require_POST
@roles_required(*SCHEMA_ROLES)
def attribute_update(request: HttpRequest, definition_id: int) -> HttpResponse:
    definition = get_object_or_404(AttributeDefinition, pk=definition_id)
    form = DefinitionForm(request.POST)
    if form.is_valid():
        try:
            attributes.update_definition(
                definition=definition, label=form.cleaned_data["label"], choices=form.choice_list(),
                key=form.cleaned_data["key"] or None, type=form.cleaned_data["type"] or None,
                actor=request.user, request=request,
            )
        except ValidationError as error:
            _apply_errors(form, error)
        else:
            messages.success(request, _("Attribute saved."))
            return redirect("customers:attribute-schema")
    return _schema_page(request, DefinitionForm(), status=400, edit_forms={definition.pk: form})


@require_POST
@roles_required(*SCHEMA_ROLES)
def attribute_delete(request: HttpRequest, definition_id: int) -> HttpResponse:
    definition = get_object_or_404(AttributeDefinition, pk=definition_id)
    restore = request.POST.get("restore") == "1"
    attributes.set_definition_deleted(definition=definition, deleted=not restore, actor=request.user, request=request)
    messages.success(request, _("Attribute restored.") if restore else _("Attribute deleted."))
    return redirect("customers:attribute-schema")


# --- the profile's attribute editor ---------------------------------------------------------


def _value_field(definition: AttributeDefinition) -> forms.Field:
    label = definition.label
    if definition.type == Type.BOOL:
        return forms.ChoiceField(label=label, required=False,
                                 choices=[("", "—"), ("true", _("Yes")), ("false", _("No"))])
    if definition.type == Type.CHOICE:
        return forms.ChoiceField(label=label, required=False,
                                 choices=[("", "—")] + [(c, c) for c in definition.choices])
    widget: forms.Widget = forms.TextInput(attrs={"maxlength": attributes.TEXT_MAX_LENGTH})
    if definition.type == Type.NUMBER:
        widget = forms.TextInput(attrs={"inputmode": "decimal"})
    elif definition.type == Type.DATE:
        widget = forms.DateInput(attrs={"type": "date"})
    return CleanCharField(label=label, required=False, widget=widget, strip=True)


class AttributeValuesForm(forms.Form):
    """One field per active definition (named by key); checks are the service's."""

    def __init__(self, *args: Any, definitions: list[AttributeDefinition], customer: Customer, **kwargs: Any) -> None:
        initial = {}
        for d in definitions:
            value = customer.attributes.get(d.key)
            initial[d.key] = ("true" if value else "false") if isinstance(value, bool) else value
        super().__init__(*args, initial=initial, **kwargs)
        for d in definitions:
            self.fields[d.key] = _value_field(d)
        # ChoiceField checks choices itself; others accept any text for the service to judge.
        for field in self.fields.values():
            if isinstance(field, forms.ChoiceField):
                field.error_messages["invalid_choice"] = _("Choose one of the listed values.")


def _customer_or_404(customer_id: int) -> Customer:
    customer = selectors.live_customers().filter(pk=customer_id).first()
    if customer is None:
        raise Http404
    return customer


def _editor(request: HttpRequest, customer: Customer, form: AttributeValuesForm | None = None,
            *, saved: bool = False, status: int = 200) -> HttpResponse:
    definitions = list(attributes.active_definitions())
    form = form or AttributeValuesForm(definitions=definitions, customer=customer)
    known = {d.key for d in definitions}
    context = {
        "customer": customer, "form": form, "saved": saved,
        "can_edit": role_of(request.user) in EDIT_ROLES,
        "values": [(d, customer.attributes.get(d.key)) for d in definitions],
        "other_values": sorted((k, v) for k, v in customer.attributes.items() if k not in known),
    }
    template = "customers/attributes/editor.html" if request.htmx else "customers/attributes/editor_page.html"
    return render(request, template, context, status=status)


@require_GET
@roles_required(*ALL_ROLES)
def customer_attributes(request: HttpRequest, customer_id: int) -> HttpResponse:
    return _editor(request, _customer_or_404(customer_id))


@require_POST
@roles_required(*EDIT_ROLES)
def customer_attributes_save(request: HttpRequest, customer_id: int) -> HttpResponse:
    customer = _customer_or_404(customer_id)
    definitions = list(attributes.active_definitions())
    form = AttributeValuesForm(request.POST, definitions=definitions, customer=customer)
    if form.is_valid():
        try:
            attributes.set_customer_attributes(
                customer=customer, actor=request.user, request=request,
                values={d.key: form.cleaned_data.get(d.key) for d in definitions},
            )
        except ValidationError as error:
            _apply_errors(form, error)
        else:
            if not request.htmx:
                messages.success(request, _("Attributes saved."))
                return redirect("customers:customer-detail", customer_id=customer.pk)
            return _editor(request, customer, saved=True)
    if not request.htmx:
        messages.error(request, _("Some attributes are not valid."))
    return _editor(request, customer, form, status=200 if request.htmx else 400)
