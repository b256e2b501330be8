"""Identity resolution as the pipeline sees it: claims in, one customer id per claim out.

`resolve_claims` is the one place the pipeline calls. It is an interim, set-wise
resolver (exact identity match, else a new customer) until `customers.resolution.resolve`
lands on main; wiring that in replaces the body of `resolve_claims` with one line, and
the Claim types below are the same shape as that module's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from django.db import connection
from django.utils import timezone

from customers.models import Customer, Identity


@dataclass(frozen=True)
class IdentityClaim:
    kind: str
    value: str
    scope: str = ""
    verified: bool = False
    source: str = ""


@dataclass(frozen=True)
class Claim:
    identities: tuple[IdentityClaim, ...]
    display_name: str = ""
    avatar_url: str = ""
    seen_at: datetime | None = None


def resolve_claims(claims: Sequence[Claim]) -> list[int]:
    """Customer id for each claim, creating customers and identities as needed (in bulk)."""
    return _interim_resolve(claims)


Key = tuple[str, str, str]


def _key(identity: IdentityClaim) -> Key:
    return (identity.kind, identity.scope, identity.value)


def _lookup(keys: set[Key]) -> dict[Key, int]:
    if not keys:
        return {}
    kinds, scopes, values = zip(*sorted(keys), strict=True)
    with connection.cursor() as cursor:
        cursor.execute(
            f"""SELECT i.kind, i.scope, i.value, i.customer_id
                  FROM {connection.ops.quote_name(Identity._meta.db_table)} i
                  JOIN unnest(%s::text[], %s::text[], %s::text[]) AS k(kind, scope, value)
                    ON i.kind = k.kind AND i.scope = k.scope AND i.value = k.value""",
            [list(kinds), list(scopes), list(values)],
        )
        return {(kind, scope, value): customer_id for kind, scope, value, customer_id in cursor.fetchall()}


def _interim_resolve(claims: Sequence[Claim]) -> list[int]:
    all_keys = {_key(identity) for claim in claims for identity in claim.identities}
    known = _lookup(all_keys)
    # Claims naming nobody we know become new customers, one per distinct first identity.
    new_people: dict[Key, Claim] = {}
    for claim in claims:
        if not any(_key(identity) in known for identity in claim.identities):
            new_people.setdefault(_key(claim.identities[0]), claim)
    if new_people:
        now = timezone.now()
        created = Customer.objects.bulk_create(
            [
                Customer(
                    display_name=claim.display_name[:200], avatar_url=claim.avatar_url[:500],
                    first_seen_at=claim.seen_at or now, last_seen_at=claim.seen_at or now,
                )
                for claim in new_people.values()
            ]
        )
        for key, customer in zip(new_people, created, strict=True):
            known.setdefault(key, customer.pk)
    # Attach every claimed identity to its claim's customer (a concurrent batch may have
    # won a race for the same handle: ON CONFLICT keeps theirs, and we re-read below).
    rows: dict[Key, tuple[int, IdentityClaim]] = {}
    for claim in claims:
        owner = next(known[_key(i)] for i in claim.identities if _key(i) in known)
        for identity in claim.identities:
            rows.setdefault(_key(identity), (owner, identity))
    Identity.objects.bulk_create(
        [
            Identity(
                customer_id=owner, kind=identity.kind, scope=identity.scope, value=identity.value,
                verified=identity.verified, source=identity.source[:64],
            )
            for owner, identity in rows.values()
        ],
        ignore_conflicts=True,
    )
    known = _lookup(all_keys)
    return [next(known[_key(i)] for i in claim.identities if _key(i) in known) for claim in claims]
