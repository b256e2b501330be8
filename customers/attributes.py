"""The brand's custom customer fields: the typed schema admins edit, and values checked
against it.

Values live in Customer.attributes (jsonb) keyed by AttributeDefinition.key, stored as
JSON-native types so segments can compare them in SQL: text → string, number → number,
date → "YYYY-MM-DD" string (sorts as text), bool → true/false, choice → one of the
definition's choices. A key is immutable once any customer has a value for it (it is the
column name segments and imports refer to); so is the type, which would strand the
stored values.
"""

from __future__ import annotations

import json
import math
import re
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from customers.models import AttributeDefinition, Customer
from customers.text import clean_text
from scrm.staff.services import record_audit

TEXT_MAX_LENGTH = 1000
MAX_CHOICES = 100
CHOICE_MAX_LENGTH = 100
_TRUE = {"true", "yes", "y", "1", "on"}
_FALSE = {"false", "no", "n", "0", "off"}
_KEY_RE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")

Type = AttributeDefinition.Type


# --- values ---------------------------------------------------------------------------------


def coerce_value(definition: AttributeDefinition, raw: Any) -> Any:
    """The JSON value to store for `raw` (form text or a JSON value), or None for "no
    value". Raises ValidationError with a message a person can act on."""
    if raw is None or (isinstance(raw, str) and not clean_text(raw).strip()):
        return None
    kind = definition.type
    if kind == Type.TEXT:
        text = clean_text(str(raw)).strip()
        if len(text) > TEXT_MAX_LENGTH:
            raise ValidationError(
                _("Use at most %(n)s characters (this has %(len)s)."),
                params={"n": TEXT_MAX_LENGTH, "len": len(text)},
            )
        return text
    if kind == Type.NUMBER:
        return _number(raw)
    if kind == Type.DATE:
        return _date(raw)
    if kind == Type.BOOL:
        return _bool(raw)
    if kind == Type.CHOICE:
        text = clean_text(str(raw)).strip()
        if text not in definition.choices:
            raise ValidationError(_("Choose one of the listed values."))
        return text
    raise ValidationError(_("Unknown attribute type."))


def _number(raw: Any) -> int | float:
    if isinstance(raw, bool):
        raise ValidationError(_("Enter a number."))
    try:
        number = Decimal(str(raw).strip().replace(",", ""))
    except InvalidOperation:
        raise ValidationError(_("Enter a number.")) from None
    if not number.is_finite() or abs(number) >= Decimal("1e15"):
        raise ValidationError(_("Enter a number between -10^15 and 10^15."))
    if number == number.to_integral_value():
        return int(number)
    as_float = float(number)
    if not math.isfinite(as_float):
        raise ValidationError(_("Enter a number."))
    return as_float


def _date(raw: Any) -> str:
    try:
        return date.fromisoformat(str(raw).strip()).isoformat()
    except ValueError:
        raise ValidationError(_("Enter a date as YYYY-MM-DD.")) from None


def _bool(raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValidationError(_("Enter yes or no."))


def active_definitions() -> QuerySet[AttributeDefinition]:
    return AttributeDefinition.objects.filter(deleted_at__isnull=True).order_by("label", "id")


@transaction.atomic
def set_customer_attributes(
    *,
    customer: Customer,
    values: dict[str, Any],
    actor: User | None,
    request: HttpRequest | None = None,
) -> dict[str, list[Any]]:
    """Validate `values` ({key: raw}) against the active schema and store them: a None or
    blank value removes the key. One UPDATE (jsonb concatenation minus removed keys), so a
    concurrent edit of another key is not lost. Returns {key: [before, after]} of what
    changed, which is also what the audit entry records. Raises ValidationError
    ({key: message}) and changes nothing if any value is invalid."""
    values = {clean_text(str(key)): raw for key, raw in values.items()}
    definitions = {d.key: d for d in active_definitions().filter(key__in=list(values))}
    unknown = set(values) - set(definitions)
    errors: dict[str, list[str]] = {key: [_("Unknown attribute.")] for key in unknown}
    cleaned: dict[str, Any] = {}
    for key, raw in values.items():
        if key in definitions:
            try:
                cleaned[key] = coerce_value(definitions[key], raw)
            except ValidationError as error:
                errors[key] = error.messages
    if errors:
        raise ValidationError(errors)
    before = Customer.objects.select_for_update().values_list("attributes", flat=True).get(pk=customer.pk)
    changes = {
        key: [before.get(key), value] for key, value in cleaned.items() if before.get(key) != value
    }
    if not changes:
        return {}
    updates = {k: v for k, v in cleaned.items() if v is not None and k in changes}
    removals = [k for k, v in cleaned.items() if v is None and k in changes]
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {connection.ops.quote_name(Customer._meta.db_table)}"
            " SET attributes = (attributes || %s::jsonb) - %s::text[], updated_at = %s WHERE id = %s",
            [json.dumps(updates), removals, timezone.now(), customer.pk],
        )
    customer.refresh_from_db(fields=["attributes", "updated_at"])
    record_audit(
        actor=actor, action="customers.attributes_changed", obj=customer, request=request,
        object_repr=_("Customer %(id)s") % {"id": customer.pk}, changes=changes,
    )
    return changes


# --- the schema -----------------------------------------------------------------------------


def key_in_use(key: str) -> bool:
    return Customer.objects.filter(attributes__has_key=key).exists()


def _clean_choices(kind: str, choices: list[str]) -> list[str]:
    if kind != Type.CHOICE:
        return []
    seen: list[str] = []
    for choice in choices:
        text = clean_text(choice).strip()
        if text and text not in seen:
            if len(text) > CHOICE_MAX_LENGTH:
                raise ValidationError({"choices": _("Each choice has at most %(n)s characters.") % {"n": CHOICE_MAX_LENGTH}})
            seen.append(text)
    if not seen:
        raise ValidationError({"choices": _("A choice attribute needs at least one choice.")})
    if len(seen) > MAX_CHOICES:
        raise ValidationError({"choices": _("Use at most %(n)s choices.") % {"n": MAX_CHOICES}})
    return seen


@transaction.atomic
def create_definition(
    *, key: str, label: str, type: str, choices: list[str], actor: User | None,
    request: HttpRequest | None = None,
) -> AttributeDefinition:
    key = key.strip().lower()
    if not _KEY_RE.match(key):
        raise ValidationError({"key": _("Start with a letter; use lowercase letters, digits and underscores.")})
    if AttributeDefinition.objects.filter(key=key).exists():
        raise ValidationError({"key": _("An attribute with this key exists (perhaps deleted: restore it instead).")})
    definition = AttributeDefinition(
        key=key, label=clean_text(label).strip(), type=type, choices=_clean_choices(type, choices)
    )
    definition.full_clean()
    definition.save()
    record_audit(
        actor=actor, action="customers.attribute_created", obj=definition, request=request,
        changes={"key": [None, key], "label": [None, definition.label], "type": [None, type],
                 "choices": [None, definition.choices]},
    )
    return definition


@transaction.atomic
def update_definition(
    *, definition: AttributeDefinition, label: str, choices: list[str], key: str | None = None,
    type: str | None = None, actor: User | None, request: HttpRequest | None = None,
) -> AttributeDefinition:
    """Rename, change choices; key and type only while no customer has a value for it."""
    definition = AttributeDefinition.objects.select_for_update().get(pk=definition.pk)
    before = {"key": definition.key, "label": definition.label, "type": definition.type,
              "choices": list(definition.choices)}
    new_key = (key or definition.key).strip().lower()
    new_type = type or definition.type
    if (new_key != definition.key or new_type != definition.type) and key_in_use(definition.key):
        raise ValidationError(_("Customers have values for this attribute: its key and type can no longer change."))
    if new_key != definition.key:
        if not _KEY_RE.match(new_key):
            raise ValidationError({"key": _("Start with a letter; use lowercase letters, digits and underscores.")})
        if AttributeDefinition.objects.filter(key=new_key).exclude(pk=definition.pk).exists():
            raise ValidationError({"key": _("An attribute with this key exists.")})
    definition.key, definition.type = new_key, new_type
    definition.label = clean_text(label).strip()
    definition.choices = _clean_choices(new_type, choices)
    definition.full_clean()
    definition.save()
    after = {"key": definition.key, "label": definition.label, "type": definition.type,
             "choices": definition.choices}
    changes = {k: [before[k], after[k]] for k in before if before[k] != after[k]}
    if changes:
        record_audit(actor=actor, action="customers.attribute_changed", obj=definition,
                     request=request, changes=changes)
    return definition


@transaction.atomic
def set_definition_deleted(
    *, definition: AttributeDefinition, deleted: bool, actor: User | None,
    request: HttpRequest | None = None,
) -> AttributeDefinition:
    """Soft delete (or restore): the editor stops offering it; stored values stay."""
    if (definition.deleted_at is not None) == deleted:
        return definition
    definition.deleted_at = timezone.now() if deleted else None
    definition.save(update_fields=["deleted_at"])
    record_audit(
        actor=actor, action="customers.attribute_deleted" if deleted else "customers.attribute_restored",
        obj=definition, request=request, changes={"deleted": [not deleted, deleted]},
    )
    return definition

