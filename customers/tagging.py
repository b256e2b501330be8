"""Tagging customers in bulk from the list page: one statement per change, audited."""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib.auth.models import User
from django.db import transaction
from django.http import HttpRequest

from customers.models import Customer, CustomerTag, Tag
from scrm.staff.services import record_audit


def _live_ids(customer_ids: Iterable[int]) -> list[int]:
    return list(
        Customer.objects.filter(
            pk__in=list(customer_ids), merged_into__isnull=True, erased_at__isnull=True
        ).values_list("pk", flat=True)
    )


@transaction.atomic
def tag_customers(
    *,
    customer_ids: Iterable[int],
    tag_name: str,
    actor: User | None,
    request: HttpRequest | None = None,
) -> int:
    """Adds the tag (created if new) to the live customers among `customer_ids`.

    Returns how many customers were selected; those already tagged are left as they were.
    """
    tag, _created = Tag.objects.get_or_create(name=tag_name.strip())
    ids = _live_ids(customer_ids)
    CustomerTag.objects.bulk_create(
        [CustomerTag(customer_id=pk, tag=tag, added_by=actor) for pk in ids],
        ignore_conflicts=True,
    )
    record_audit(
        actor=actor, action="customers.tagged", obj=tag, request=request,
        changes={"customers": [None, len(ids)]},
    )
    return len(ids)


@transaction.atomic
def untag_customers(
    *,
    customer_ids: Iterable[int],
    tag_name: str,
    actor: User | None,
    request: HttpRequest | None = None,
) -> int:
    """Removes the tag from those of `customer_ids` that carry it; returns how many."""
    tag = Tag.objects.filter(name=tag_name.strip()).first()
    if tag is None:
        return 0
    removed, _per_model = CustomerTag.objects.filter(
        tag=tag, customer_id__in=list(customer_ids)
    ).delete()
    record_audit(
        actor=actor, action="customers.untagged", obj=tag, request=request,
        changes={"customers": [removed, None]},
    )
    return removed
