"""Folding two customer profiles into one, and taking a merge back.

A merge repoints every row hung on the merged profile to the survivor, one UPDATE per
table, and keeps the primary keys it moved in the Merge row, so an unmerge moves exactly
those rows back. Tables are listed in a registry: an app that hangs rows on a customer
later (conversations, scores, campaign sends…) calls `register_customer_relation` from its
AppConfig.ready() and merges carry its rows too.

Survivorship (profile fields and custom attributes): a blank value never beats a filled
one; between two filled values, the profile with a verified identity wins, and between
equals the one seen most recently ("latest verified value wins"). Losing values are kept
in Merge.attributes["conflicts"].

Unmerge puts both people back even after new activity arrived on the survivor: the rows
the merge moved go back; interactions that arrived later go with the restored person
when they came through one of that person's identities (metadata["via_identity"], which
the ingestion pipeline writes, see customers.resolution.identity_ref). Later orders, notes
and identities attached after the merge stay on the survivor: nothing says whose they are.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.contrib.auth.models import User
from django.db import connection, models, transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from customers.models import (
    Consent,
    Customer,
    CustomerTag,
    Identity,
    Interaction,
    Merge,
    MergeRule,
    MergeSuggestion,
    Note,
    Order,
)
from customers.services import refresh_customer_aggregates

logger = logging.getLogger(__name__)

__all__ = [
    "CustomerRelation",
    "MergeError",
    "PROFILE_FIELDS",
    "customer_relations",
    "merge",
    "register_customer_relation",
    "unmerge",
]

# Customer fields settled by survivorship; "unknown" gender counts as blank.
PROFILE_FIELDS = (
    "display_name", "avatar_url", "gender", "birthday", "locale", "city", "province", "country",
)  # fmt: skip
# Merges a person decided on, audited; deterministic merges are recorded in Merge only.
AUDITED_RULES = frozenset({MergeRule.MANUAL, MergeRule.SUGGESTION})


class MergeError(ValueError):
    """The merge or unmerge cannot happen (same profile, not live, already undone)."""


@dataclass(frozen=True)
class CustomerRelation:
    """A table whose rows belong to a customer through `column`."""

    model: type[models.Model]
    column: str
    # Column sets that are unique together with the customer column: a row whose twin the
    # survivor already has stays where it is (the same tag on both profiles, say).
    unique_with: tuple[tuple[str, ...], ...]

    @property
    def label(self) -> str:
        return self.model._meta.label_lower


_RELATIONS: dict[str, CustomerRelation] = {}


def register_customer_relation(model: type[models.Model], field: str = "customer") -> None:
    """Let merges carry `model`'s rows, whose `field` is a foreign key to Customer.

    Unique constraints that include the field are read from the model, so duplicates
    are never created on the survivor."""
    customer_field = model._meta.get_field(field)
    unique_with: list[tuple[str, ...]] = []
    field_sets = [
        tuple(c.fields)
        for c in model._meta.constraints
        if isinstance(c, models.UniqueConstraint) and c.fields
    ]
    field_sets += [tuple(names) for names in model._meta.unique_together]
    if getattr(customer_field, "unique", False):
        field_sets.append((field,))
    for names in field_sets:
        if field in names:
            unique_with.append(
                tuple(model._meta.get_field(name).column for name in names if name != field)
            )
    relation = CustomerRelation(
        model=model, column=customer_field.column, unique_with=tuple(unique_with)
    )
    _RELATIONS[relation.label] = relation


# Tables with a customer foreign key that a merge deliberately leaves where they are.
NOT_MOVED = {
    "customers.customer": "merged_into is the merge itself",
    "customers.merge": "the history names both profiles as they were",
    "customers.mergesuggestion": "a pair is stored once; hidden while merged, back on unmerge",
    "customers.datarequest": "a request stays with the profile it was made about",
}


def customer_relations() -> list[CustomerRelation]:
    return list(_RELATIONS.values())


for _model in (Identity, Interaction, Order, Consent, CustomerTag, Note):
    register_customer_relation(_model)


# --- merge ---------------------------------------------------------------------------------


def merge(
    survivor: Customer,
    merged: Customer,
    *,
    rule: str,
    actor: User | None = None,
    reason: str = "",
    request: HttpRequest | None = None,
) -> Merge:
    """Fold `merged` into `survivor`: its rows move, it keeps pointing at the survivor
    (merged_into), and the survivor's fields follow the survivorship rule."""
    if survivor.pk == merged.pk:
        raise MergeError(_("a profile cannot be merged into itself"))
    with transaction.atomic():
        _lock_customers([survivor.pk, merged.pk])
        survivor.refresh_from_db()
        merged.refresh_from_db()
        if not survivor.is_live or not merged.is_live:
            raise MergeError(_("only live profiles can be merged"))
        before = _snapshot(survivor)
        conflicts = _apply_survivorship(survivor, merged)
        moved = {
            relation.label: _move(relation, merged.pk, survivor.pk)
            for relation in customer_relations()
        }
        record = Merge.objects.create(
            survivor=survivor,
            merged=merged,
            rule=rule,
            reason=reason[:500],
            actor=actor if actor is not None and actor.pk else None,
            moved={label: pks for label, pks in moved.items() if pks},
            attributes={
                "survivor_before": before,
                "survivor_after": _snapshot(survivor),
                "merged": _snapshot(merged),
                "conflicts": conflicts,
            },
        )
        survivor.save()
        merged.merged_into = survivor
        merged.save(update_fields=["merged_into", "updated_at"])
        MergeSuggestion.objects.filter(
            customer_a_id=min(survivor.pk, merged.pk),
            customer_b_id=max(survivor.pk, merged.pk),
            status=MergeSuggestion.Status.OPEN,
        ).update(
            status=MergeSuggestion.Status.ACCEPTED,
            decided_at=timezone.now(),
            decided_by=actor if actor is not None and actor.pk else None,
        )
        refresh_customer_aggregates(customer_ids=[survivor.pk, merged.pk])
        if rule in AUDITED_RULES:
            from scrm.staff.services import record_audit

            record_audit(
                actor=actor,
                action="customer.merge",
                obj=record,
                request=request,
                changes={
                    "survivor": survivor.pk,
                    "merged": merged.pk,
                    "rule": rule,
                    "reason": reason[:500],
                },
            )
    survivor.refresh_from_db()
    return record


def _lock_customers(ids: list[int]) -> None:
    # Always in id order, so two merges touching the same profiles cannot deadlock.
    list(Customer.objects.select_for_update().filter(pk__in=ids).order_by("pk").values_list("pk"))


def _move(relation: CustomerRelation, source: int, target: int) -> list[int]:
    qn = connection.ops.quote_name
    table, column = qn(relation.model._meta.db_table), qn(relation.column)
    pk = qn(relation.model._meta.pk.column)
    guards = "".join(
        f" AND NOT EXISTS (SELECT 1 FROM {table} twin WHERE twin.{column} = %(target)s"
        + "".join(f" AND twin.{qn(c)} = moving.{qn(c)}" for c in columns)
        + ")"
        for columns in relation.unique_with
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} moving SET {column} = %(target)s"
            f" WHERE moving.{column} = %(source)s{guards} RETURNING moving.{pk}",
            {"source": source, "target": target},
        )
        return sorted(row[0] for row in cursor.fetchall())


def _jsonable(value: Any) -> Any:
    if isinstance(value, date | datetime):
        return value.isoformat()
    return value


def _snapshot(customer: Customer) -> dict[str, Any]:
    fields = {name: _jsonable(getattr(customer, name)) for name in PROFILE_FIELDS}
    fields["attributes"] = dict(customer.attributes or {})
    return fields


def _blank(name: str, value: Any) -> bool:
    return value in (None, "", [], {}) or (name == "gender" and value == Customer.Gender.UNKNOWN)


def _apply_survivorship(survivor: Customer, merged: Customer) -> dict[str, Any]:
    """Set the survivor's fields; return {field: {"kept", "lost", "from"}} for every field
    where the two profiles disagreed (attribute keys as "attributes.<key>")."""
    verified = set(
        Identity.objects.filter(customer_id__in=[survivor.pk, merged.pk], verified=True)
        .values_list("customer_id", flat=True)
        .distinct()
    )
    epoch = datetime.min.replace(tzinfo=timezone.get_current_timezone())

    def rank(customer: Customer) -> tuple[bool, datetime]:
        return customer.pk in verified, customer.last_seen_at or customer.created_at or epoch

    merged_wins = rank(merged) > rank(survivor)
    conflicts: dict[str, Any] = {}

    def settle(label: str, ours: Any, theirs: Any) -> Any:
        if _blank(label, theirs) or ours == theirs:
            return ours
        if _blank(label, ours) or merged_wins:
            if not _blank(label, ours):
                conflicts[label] = {
                    "kept": _jsonable(theirs),
                    "lost": _jsonable(ours),
                    "from": "merged",
                }
            return theirs
        conflicts[label] = {"kept": _jsonable(ours), "lost": _jsonable(theirs), "from": "survivor"}
        return ours

    for name in PROFILE_FIELDS:
        setattr(survivor, name, settle(name, getattr(survivor, name), getattr(merged, name)))
    attributes = dict(survivor.attributes or {})
    for key, theirs in (merged.attributes or {}).items():
        attributes[key] = settle(f"attributes.{key}", attributes.get(key), theirs)
    survivor.attributes = attributes
    survivor.first_seen_at = min(
        (at for at in (survivor.first_seen_at, merged.first_seen_at) if at), default=None
    )
    survivor.last_seen_at = max(
        (at for at in (survivor.last_seen_at, merged.last_seen_at) if at), default=None
    )
    return conflicts


# --- unmerge -------------------------------------------------------------------------------


def unmerge(
    merge_record: Merge, *, actor: User | None = None, request: HttpRequest | None = None
) -> Customer:
    """Take a merge back; returns the restored profile. Later merges into the same
    survivor are untouched (A←B, A←C: unmerging B leaves C merged)."""
    with transaction.atomic():
        record = Merge.objects.select_for_update().get(pk=merge_record.pk)
        if record.undone_at is not None:
            raise MergeError(_("this merge was already undone"))
        _lock_customers([record.survivor_id, record.merged_id])
        survivor, merged = record.survivor, record.merged
        holders = _absorbing_chain(survivor)
        for label, pks in record.moved.items():
            relation = _RELATIONS.get(label)
            if relation is None:
                logger.warning("unmerge: no relation registered", extra={"relation": label})
                continue
            _move_back(relation, pks, holders, merged.pk)
        returned = _return_later_interactions(holders, merged.pk)
        _restore_survivor_fields(survivor, record.attributes)
        Customer.objects.filter(pk=merged.pk).update(merged_into=None, updated_at=timezone.now())
        record.undone_at = timezone.now()
        record.undone_by = actor if actor is not None and actor.pk else None
        record.attributes = {**record.attributes, "returned_interactions": returned}
        record.save(update_fields=["undone_at", "undone_by", "attributes"])
        refresh_customer_aggregates(customer_ids=[*holders, merged.pk])
        from scrm.staff.services import record_audit

        record_audit(
            actor=actor,
            action="customer.unmerge",
            obj=record,
            request=request,
            changes={
                "survivor": survivor.pk,
                "restored": merged.pk,
                "later_interactions": len(returned),
            },
        )
    merge_record.refresh_from_db()
    merged.refresh_from_db()
    return merged


def _absorbing_chain(customer: Customer) -> list[int]:
    """The customer and every profile it has since been merged into (rows it received
    may have travelled on). Bounded by the number of merges, not by rows."""
    chain = [customer.pk]
    parent = customer.merged_into_id
    while parent is not None and parent not in chain:
        chain.append(parent)
        parent = Customer.objects.filter(pk=parent).values_list("merged_into_id", flat=True).first()
    return chain


def _move_back(relation: CustomerRelation, pks: list[int], holders: list[int], target: int) -> None:
    qn = connection.ops.quote_name
    table, column = qn(relation.model._meta.db_table), qn(relation.column)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET {column} = %s"
            f" WHERE {qn(relation.model._meta.pk.column)} = ANY(%s) AND {column} = ANY(%s)",
            [target, pks, holders],
        )


def _return_later_interactions(holders: list[int], target: int) -> list[int]:
    """Interactions on the survivor that came through an identity the restored person
    owns (now that their identities are back) belong to that person."""
    qn = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            UPDATE {qn(Interaction._meta.db_table)} i SET customer_id = %(target)s
             WHERE i.customer_id = ANY(%(holders)s)
               AND i.metadata ? 'via_identity'
               AND EXISTS (
                   SELECT 1 FROM {qn(Identity._meta.db_table)} d
                    WHERE d.customer_id = %(target)s
                      AND d.kind = i.metadata -> 'via_identity' ->> 'kind'
                      AND d.scope = COALESCE(i.metadata -> 'via_identity' ->> 'scope', '')
                      AND d.value = i.metadata -> 'via_identity' ->> 'value')
            RETURNING i.id
            """,
            {"target": target, "holders": holders},
        )
        return sorted(row[0] for row in cursor.fetchall())


def _restore_survivor_fields(survivor: Customer, history: dict[str, Any]) -> None:
    """Fields the merge changed on the survivor go back to what they were, unless
    someone changed them since (then the newer edit stands)."""
    before, after = history.get("survivor_before"), history.get("survivor_after")
    if not before or not after:
        return
    survivor.refresh_from_db()
    current = _snapshot(survivor)
    changed = False
    for name in PROFILE_FIELDS:
        if after.get(name) != before.get(name) and current.get(name) == after.get(name):
            setattr(survivor, name, _field_value(name, before.get(name)))
            changed = True
    attributes = dict(survivor.attributes or {})
    for key in set(before["attributes"]) | set(after["attributes"]):
        was, merged_value = before["attributes"].get(key), after["attributes"].get(key)
        if was != merged_value and attributes.get(key) == merged_value:
            if key in before["attributes"]:
                attributes[key] = was
            else:
                attributes.pop(key, None)
            changed = True
    if changed:
        survivor.attributes = attributes
        survivor.save()


def _field_value(name: str, stored: Any) -> Any:
    if name == "birthday" and isinstance(stored, str):
        return date.fromisoformat(stored)
    return stored
