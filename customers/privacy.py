"""Data-subject requests (PIPL / GDPR): export everything about a person, or erase it.

Both walk one registry of customer-related tables: each entry says which rows are about
a person and how to anonymize them. Later apps register their own tables (a segment
membership, a conversation) with `register_customer_table`, and a test fails while any
model with a foreign key to Customer is missing from it, so no table can be forgotten.

Erasure anonymizes in place, set-wise (one statement per table), and keeps what the law
and the brand's arithmetic need:
- the Customer row stays as an anonymous record (aggregates: order count, revenue,
  interaction counts) with every personal field blanked and `erased_at` set;
- identities are deleted, not hashed: a hash of an email or a phone number can be reversed
  by trying every number, so it would still be personal data; and with no identity left, a
  person who comes back starts a new profile and is never re-linked to the erased one;
- interactions keep channel, kind, time and sentiment (for counts) but lose text and
  metadata; notes, tags and merge suggestions are deleted;
- orders keep amount, currency, time, status, store and SKUs (revenue reports) but lose
  the order number (it finds the person in the shop's own system) and free-text item fields;
- consents keep the history of statuses (evidence that permission was respected) but
  lose personal evidence (IP, user agent, addresses, free text);
- merges lose the profile fields they saved for unmerge; audit entries about the person
  lose their before/after values.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import tempfile
import uuid
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import connection, models, transaction
from django.db.models import Q
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from customers.models import (
    Consent,
    Customer,
    CustomerTag,
    DataRequest,
    Identity,
    Interaction,
    Merge,
    MergeSuggestion,
    Note,
    Order,
)
from scrm.staff.models import AuditEntry
from scrm.staff.services import record_audit
from scrm.tasks import brand_task

logger = logging.getLogger(__name__)

Ids = list[int]

# Consent evidence keys that name no one (which form, which version, which campaign).
NON_PERSONAL_EVIDENCE_KEYS = ("form", "version", "policy")
# Order item keys kept after erasure: what was bought, not what was written on it.
NON_PERSONAL_ITEM_KEYS = ("sku", "qty", "price", "quantity", "amount", "currency")


@dataclass(frozen=True)
class CustomerTable:
    """A table with rows about customers.

    `rows(ids)` selects the rows about the customers `ids`; `fields` are the exported
    columns (lookups such as "tag__name" allowed; default: every concrete column);
    `erase(ids)` anonymizes those rows and returns how many it touched (None: nothing
    personal in the table)."""

    name: str
    model: type[models.Model]
    rows: Callable[[Ids], Q]
    erase: Callable[[Ids], int] | None
    fields: tuple[str, ...] = field(default=())

    def columns(self) -> tuple[str, ...]:
        return self.fields or tuple(f.attname for f in self.model._meta.concrete_fields)

    def queryset(self, ids: Ids) -> models.QuerySet:
        return self.model._default_manager.filter(self.rows(ids)).order_by("pk")


_TABLES: dict[str, CustomerTable] = {}


def register_customer_table(
    name: str,
    model: type[models.Model],
    *,
    erase: Callable[[Ids], int] | None,
    rows: Callable[[Ids], Q] | None = None,
    fields: Iterable[str] = (),
) -> CustomerTable:
    """Declare a table with data about customers, for export and erasure. `rows` defaults
    to the rows whose `customer` is one of the ids."""
    table = CustomerTable(
        name=name, model=model, rows=rows or (lambda ids: Q(customer_id__in=ids)),
        erase=erase, fields=tuple(fields),
    )
    _TABLES[name] = table
    return table


def customer_tables() -> list[CustomerTable]:
    return list(_TABLES.values())


def subject_ids(customer: Customer) -> Ids:
    """The customer and every profile ever merged into them (same person), however deep."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""WITH RECURSIVE person(id) AS (
                    SELECT %s::bigint
                    UNION SELECT c.id FROM {connection.ops.quote_name(Customer._meta.db_table)} c
                    JOIN person p ON c.merged_into_id = p.id)
                SELECT id FROM person ORDER BY id""",
            [customer.pk],
        )
        return [row[0] for row in cursor.fetchall()]


# --- the registered tables -----------------------------------------------------------------


def _erase_profiles(ids: Ids) -> int:
    return Customer.objects.filter(pk__in=ids).update(
        display_name="", avatar_url="", gender=Customer.Gender.UNKNOWN, birthday=None,
        locale="", city="", province="", country="", attributes={},
        erased_at=timezone.now(), updated_at=timezone.now(),
    )


def _delete(model: type[models.Model], where: Callable[[Ids], Q]) -> Callable[[Ids], int]:
    def erase(ids: Ids) -> int:
        deleted, _per_model = model._default_manager.filter(where(ids)).delete()
        return deleted

    return erase


def _erase_interactions(ids: Ids) -> int:
    return Interaction.objects.filter(customer_id__in=ids).update(text="", metadata={})


def _erase_orders(ids: Ids) -> int:
    table = connection.ops.quote_name(Order._meta.db_table)
    with connection.cursor() as cursor:
        # The order number becomes a digest: still unique, no longer searchable in the
        # shop's system. Items keep only what was bought (jsonb rebuilt in SQL).
        cursor.execute(
            f"""UPDATE {table} o
                   SET external_id = 'erased-' || left(encode(sha256(convert_to(o.external_id, 'UTF8')), 'hex'), 40),
                       items = COALESCE((
                           SELECT jsonb_agg(COALESCE((
                               SELECT jsonb_object_agg(k, v) FROM jsonb_each(
                                   CASE WHEN jsonb_typeof(item) = 'object' THEN item ELSE '{{}}'::jsonb END
                               ) AS e(k, v) WHERE k = ANY(%s)), '{{}}'::jsonb))
                             FROM jsonb_array_elements(
                                 CASE WHEN jsonb_typeof(o.items) = 'array' THEN o.items ELSE '[]'::jsonb END
                             ) AS item), '[]'::jsonb)
                 WHERE o.customer_id = ANY(%s) AND o.external_id NOT LIKE 'erased-%%'""",
            [list(NON_PERSONAL_ITEM_KEYS), ids],
        )
        return cursor.rowcount


def _erase_consents(ids: Ids) -> int:
    table = connection.ops.quote_name(Consent._meta.db_table)
    with connection.cursor() as cursor:
        # The append-only trigger lets this transaction, and only it, rewrite evidence.
        cursor.execute("SELECT set_config('scrm.consent_rewrite', 'on', true)")
        cursor.execute(
            f"""UPDATE {table} c
                   SET evidence = COALESCE((
                       SELECT jsonb_object_agg(k, v) FROM jsonb_each(c.evidence) AS e(k, v)
                        WHERE k = ANY(%s)), '{{}}'::jsonb) || '{{"erased": true}}'::jsonb
                 WHERE c.customer_id = ANY(%s) AND jsonb_typeof(c.evidence) = 'object'""",
            [list(NON_PERSONAL_EVIDENCE_KEYS), ids],
        )
        count = cursor.rowcount
        cursor.execute("SELECT set_config('scrm.consent_rewrite', 'off', true)")
        return count


def _erase_merges(ids: Ids) -> int:
    return Merge.objects.filter(Q(survivor_id__in=ids) | Q(merged_id__in=ids)).update(
        attributes={}, reason=""
    )


def _erase_data_requests(ids: Ids) -> int:
    requests = DataRequest.objects.filter(customer_id__in=ids)
    for path in requests.exclude(file="").values_list("file", flat=True):  # bounded: a few per person
        default_storage.delete(path)
    return requests.update(file="")


def _erase_audit_entries(ids: Ids) -> int:
    return AuditEntry.objects.filter(
        object_type=Customer._meta.label_lower, object_id__in=[str(pk) for pk in ids]
    ).update(changes={}, object_repr="")


register_customer_table("profile", Customer, rows=lambda ids: Q(pk__in=ids), erase=_erase_profiles)
register_customer_table("identities", Identity, erase=_delete(Identity, lambda ids: Q(customer_id__in=ids)))
register_customer_table("consents", Consent, erase=_erase_consents)
register_customer_table("interactions", Interaction, erase=_erase_interactions)
register_customer_table("orders", Order, erase=_erase_orders)
register_customer_table(
    "tags", CustomerTag, fields=("id", "customer_id", "tag__name", "added_by__username", "added_at"),
    erase=_delete(CustomerTag, lambda ids: Q(customer_id__in=ids)),
)
register_customer_table(
    "notes", Note, fields=("id", "customer_id", "author__username", "body", "created_at"),
    erase=_delete(Note, lambda ids: Q(customer_id__in=ids)),
)
register_customer_table(
    "merges", Merge, rows=lambda ids: Q(survivor_id__in=ids) | Q(merged_id__in=ids), erase=_erase_merges,
)
register_customer_table(
    "merge_suggestions", MergeSuggestion,
    rows=lambda ids: Q(customer_a_id__in=ids) | Q(customer_b_id__in=ids),
    erase=_delete(MergeSuggestion, lambda ids: Q(customer_a_id__in=ids) | Q(customer_b_id__in=ids)),
)
register_customer_table(
    "data_requests", DataRequest,
    fields=("id", "customer_id", "kind", "status", "reason", "requested_by__username", "created_at", "completed_at"),
    erase=_erase_data_requests,
)
register_customer_table(
    "audit", AuditEntry,
    rows=lambda ids: Q(object_type=Customer._meta.label_lower, object_id__in=[str(pk) for pk in ids]),
    fields=("id", "actor_name", "action", "object_id", "changes", "created_at"),
    erase=_erase_audit_entries,
)


# --- export ---------------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


def _csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(_plain(value))


def _rows(table: CustomerTable, ids: Ids) -> Iterator[dict[str, Any]]:
    columns = table.columns()
    for row in table.queryset(ids).values_list(*columns).iterator(chunk_size=2000):
        yield {column: _plain(value) for column, value in zip(columns, row, strict=True)}


def write_export(customer: Customer, target: io.IOBase) -> dict[str, int]:
    """Writes the zip: per table `<name>.json` (a list of objects) and `<name>.csv`, plus
    manifest.json. Streams each table (no table is held in memory). Returns row counts."""
    ids = subject_ids(customer)
    counts: dict[str, int] = {}
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for table in customer_tables():
            # A zip takes one open member at a time: the table is read once per format.
            columns = table.columns()
            with archive.open(f"{table.name}.csv", "w") as raw, io.TextIOWrapper(raw, encoding="utf-8", newline="") as out:
                writer = csv.writer(out)
                writer.writerow(columns)
                for row in _rows(table, ids):
                    writer.writerow([_csv_cell(row[c]) for c in columns])
            count = 0
            with archive.open(f"{table.name}.json", "w") as raw, io.TextIOWrapper(raw, encoding="utf-8") as out:
                out.write("[")
                for row in _rows(table, ids):
                    out.write(("," if count else "") + "\n" + json.dumps(row, ensure_ascii=False))
                    count += 1
                out.write("\n]\n")
            counts[table.name] = count
        archive.writestr("manifest.json", json.dumps({
            "customer_id": customer.pk, "profiles": ids, "generated_at": timezone.now().isoformat(),
            "tables": counts,
        }, indent=2))
    return counts


# --- requests -------------------------------------------------------------------------------


def _subject_label(customer: Customer) -> str:
    # Pseudonymous from the start: the request list never shows a name that an erasure
    # would then have to chase.
    return f"#{customer.pk}"


@transaction.atomic
def request_export(
    *, customer: Customer, actor: User, reason: str = "", request: HttpRequest | None = None
) -> DataRequest:
    data_request = DataRequest.objects.create(
        customer=customer, subject_label=_subject_label(customer), kind=DataRequest.Kind.EXPORT,
        reason=reason.replace("\x00", "")[:500], requested_by=actor,
    )
    record_audit(
        actor=actor, action="customers.export_requested", obj=data_request, request=request,
        object_repr=str(data_request), changes={"customer": [None, customer.pk], "reason": [None, data_request.reason]},
    )
    transaction.on_commit(lambda: export_customer_task.delay(data_request.pk))
    return data_request


@transaction.atomic
def request_erasure(
    *, customer: Customer, actor: User, confirmation: str, reason: str,
    request: HttpRequest | None = None,
) -> DataRequest:
    """Queue an erasure. `confirmation` must be the customer's id, typed by the person."""
    if confirmation.strip() != str(customer.pk):
        raise ValidationError({"confirmation": _("Type the customer's ID, %(id)s, to confirm.") % {"id": customer.pk}})
    if not reason.strip():
        raise ValidationError({"reason": _("Say why (for example, the ticket of the request).")})
    data_request = DataRequest.objects.create(
        customer=customer, subject_label=_subject_label(customer), kind=DataRequest.Kind.ERASE,
        reason=reason.replace("\x00", "").strip()[:500], requested_by=actor,
    )
    record_audit(
        actor=actor, action="customers.erasure_requested", obj=data_request, request=request,
        object_repr=str(data_request), changes={"customer": [None, customer.pk], "reason": [None, data_request.reason]},
    )
    transaction.on_commit(lambda: erase_customer_task.delay(data_request.pk))
    return data_request


def _start(data_request_id: int, kind: str) -> DataRequest | None:
    """Claim a queued (or redelivered, still running) request; None if already finished."""
    with transaction.atomic():
        data_request = (
            DataRequest.objects.select_for_update().filter(pk=data_request_id, kind=kind).first()
        )
        if data_request is None or data_request.status in (DataRequest.Status.DONE, DataRequest.Status.FAILED):
            return None
        data_request.status = DataRequest.Status.RUNNING
        data_request.save(update_fields=["status"])
        return data_request


def _fail(data_request: DataRequest, error: Exception) -> None:
    logger.exception("data request failed", extra={"data_request": data_request.pk})
    DataRequest.objects.filter(pk=data_request.pk).update(
        status=DataRequest.Status.FAILED, completed_at=timezone.now(),
        error="; ".join(getattr(error, "messages", None) or [str(error)])[:2000],
    )


def run_export(*, data_request_id: int) -> DataRequest | None:
    data_request = _start(data_request_id, DataRequest.Kind.EXPORT)
    if data_request is None:
        return None
    customer = data_request.customer
    try:
        if customer is None or customer.erased_at is not None:
            raise ValidationError(_("The customer no longer exists or was erased."))
        with tempfile.TemporaryFile() as spool:
            counts = write_export(customer, spool)
            spool.seek(0)
            name = default_storage.save(
                f"data-requests/{timezone.now():%Y/%m}/export-{customer.pk}-{uuid.uuid4().hex}.zip", File(spool)
            )
    except Exception as error:  # recorded on the request and logged; the page shows it
        _fail(data_request, error)
        return data_request
    with transaction.atomic():
        DataRequest.objects.filter(pk=data_request.pk).update(
            status=DataRequest.Status.DONE, file=name, summary={"rows": counts},
            completed_at=timezone.now(),
        )
        record_audit(
            actor=data_request.requested_by, action="customers.exported", obj=data_request,
            object_repr=str(data_request), changes={"rows": [None, counts]},
        )
    data_request.refresh_from_db()
    return data_request


def erase_customer(*, customer: Customer) -> dict[str, int]:
    """Anonymize everything about `customer` (and profiles merged into them), set-wise:
    one statement per registered table, all in one transaction. Returns rows per table."""
    ids = subject_ids(customer)
    with transaction.atomic():
        return {table.name: table.erase(ids) for table in customer_tables() if table.erase is not None}


def run_erasure(*, data_request_id: int) -> DataRequest | None:
    data_request = _start(data_request_id, DataRequest.Kind.ERASE)
    if data_request is None:
        return None
    try:
        if data_request.customer is None:
            raise ValidationError(_("The customer no longer exists."))
        with transaction.atomic():
            counts = erase_customer(customer=data_request.customer)
            DataRequest.objects.filter(pk=data_request.pk).update(
                status=DataRequest.Status.DONE, summary={"rows": counts}, completed_at=timezone.now(),
            )
            record_audit(
                actor=data_request.requested_by, action="customers.erased", obj=data_request,
                object_repr=str(data_request), changes={"rows": [None, counts], "reason": [None, data_request.reason]},
            )
    except Exception as error:  # recorded on the request and logged; the page shows it
        _fail(data_request, error)
        return data_request
    data_request.refresh_from_db()
    return data_request


# --- tasks (thin: ids in, service call) ----------------------------------------------------


@brand_task(acks_late=True)
def export_customer_task(data_request_id: int) -> None:
    run_export(data_request_id=data_request_id)


@brand_task(acks_late=True)
def erase_customer_task(data_request_id: int) -> None:
    run_erasure(data_request_id=data_request_id)
