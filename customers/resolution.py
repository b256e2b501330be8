"""Identity resolution: which customer is the person behind each event.

The ingestion pipeline hands `resolve()` a micro-batch of claims ("the sender of this
event is OpenID X of app A, UnionID U, called 小明"). Resolution reads every identity the
batch names in one query, decides in memory which claims are one person and which
existing profiles they are, and writes the outcome set-wise: new customers, new
identities (INSERT … ON CONFLICT DO NOTHING), verification upgrades and profile fields,
a handful of statements for 10,000 claims.

The rules (issue 3, "Identity resolution"):

- An identity belongs to one customer. A claim naming a known identity is that customer;
  identities it names that nobody has yet are attached to them.
- Strong identifiers make two profiles one person (a deterministic merge, recorded with
  its rule): the same WeChat UnionID, the same membership number, the same *verified*
  email or phone (verified by the claim and, when the identity exists, on file too).
  When a claim carries a strong identifier, every identifying handle in it (strong ones
  and platform ids: OpenIDs, PSIDs, …) belongs to that person, so the profiles behind
  them are merged into the oldest one.
- Weak handles (unverified emails and phones, device ids, a verified email on file as
  unverified) never merge anything: shared family devices and mistyped addresses are
  what merge suggestions are for, decided by a person. A known email or phone still
  tells us who the person is when nothing identifying in the claim is known; a device id
  does so only for events that name nobody else (an anonymous page view).
- Invalid emails and phones are kept as unverified raw values; values that cannot be
  stored (over 255 characters) are dropped rather than truncated, since a truncated
  handle could name someone else.

Concurrency: two workers may resolve overlapping batches. The unique constraint on
(kind, scope, value) decides who created an identity; a worker whose insert lost a race
rolls its attempt back (to a savepoint) and resolves again, now reading the winner's rows.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from django.db import OperationalError, connection, transaction
from django.utils import timezone

from customers.channels import IdentityKind
from customers.merging import MergeError, merge
from customers.models import Customer, Identity, MergeRule
from customers.normalize import normalize_email, normalize_phone
from scrm.db import execute_bound, fetch_bound

logger = logging.getLogger(__name__)

__all__ = ["Claim", "IdentityClaim", "identity_ref", "normalize_identity", "resolve"]

# Interactions written for a resolved claim record which identity they came through under
# this metadata key (see identity_ref), so an unmerge can send later activity back to the
# person whose identity it came from.
VIA_IDENTITY = "via_identity"

MAX_VALUE_LENGTH = 255
MAX_SCOPE_LENGTH = 64
MAX_SOURCE_LENGTH = 64
MAX_NAME_LENGTH = 200
MAX_AVATAR_LENGTH = 500
MAX_ATTEMPTS = 5

# Always strong: the platform or the brand vouches that the value names one person.
_ALWAYS_STRONG: dict[str, str] = {
    IdentityKind.WECHAT_UNIONID: MergeRule.UNIONID,
    IdentityKind.MEMBER_ID: MergeRule.MEMBER_ID,
}
# Strong only when verified.
_STRONG_WHEN_VERIFIED: dict[str, str] = {
    IdentityKind.EMAIL: MergeRule.VERIFIED_EMAIL,
    IdentityKind.PHONE: MergeRule.VERIFIED_PHONE,
}
# Handles several people may share (a family tablet) or anyone may type: never identifying.
_WEAK_KINDS = frozenset({IdentityKind.DEVICE_ID})
_KINDS = frozenset(IdentityKind.values)

Key = tuple[str, str, str]  # (kind, scope, value)


@dataclass(frozen=True)
class IdentityClaim:
    kind: str  # IdentityKind value
    value: str  # raw; normalized by resolve()
    scope: str = ""  # e.g. the WeChat official-account app id for wechat_openid
    verified: bool = False
    source: str = ""  # connector / import name


@dataclass(frozen=True)
class Claim:
    """One event's claims about one person."""

    identities: tuple[IdentityClaim, ...]
    display_name: str = ""
    avatar_url: str = ""
    seen_at: datetime | None = None


@dataclass(frozen=True)
class _Handle:
    key: Key
    verified: bool
    source: str


@dataclass
class _PreparedClaim:
    handles: list[_Handle]
    display_name: str
    avatar_url: str
    seen_at: datetime | None


def _clean_text(raw: object, limit: int) -> str:
    """Stripped, without NUL bytes (PostgreSQL text cannot hold them), cut to `limit`."""
    if not isinstance(raw, str):
        return ""
    return raw.replace("\x00", "").strip()[:limit]


def normalize_identity(claim: IdentityClaim, *, source: str = "") -> _Handle | None:
    """The stored form of a claimed identity, or None when it cannot be stored.

    Emails and phones that do not validate are kept raw and unverified, never verified."""
    if claim.kind not in _KINDS:
        raise ValueError(f"unknown identity kind: {claim.kind!r}")
    raw = claim.value if isinstance(claim.value, str) else ""
    verified = bool(claim.verified)
    if claim.kind == IdentityKind.EMAIL:
        value = normalize_email(raw)
    elif claim.kind == IdentityKind.PHONE:
        value = normalize_phone(raw)
    else:
        value = None
    if value is None:
        if claim.kind in (IdentityKind.EMAIL, IdentityKind.PHONE):
            verified = False
        value = raw.replace("\x00", "").strip()
    if not value or len(value) > MAX_VALUE_LENGTH:
        return None
    scope = _clean_text(claim.scope, MAX_SCOPE_LENGTH)
    source_name = _clean_text(claim.source or source, MAX_SOURCE_LENGTH)
    return _Handle(key=(str(claim.kind), scope, value), verified=verified, source=source_name)


def identity_ref(claim: IdentityClaim) -> dict[str, str] | None:
    """What an interaction stores under metadata[VIA_IDENTITY]: the identity it came
    through, in stored form (so an unmerge can match it), or None when unstorable."""
    handle = normalize_identity(claim)
    if handle is None:
        return None
    kind, scope, value = handle.key
    return {"kind": kind, "scope": scope, "value": value}


def _prepare(claim: Claim, source: str) -> _PreparedClaim:
    handles: dict[Key, _Handle] = {}
    for identity in claim.identities:
        handle = normalize_identity(identity, source=source)
        if handle is None:
            continue
        seen = handles.get(handle.key)
        if seen is None:
            handles[handle.key] = handle
        elif handle.verified and not seen.verified:
            handles[handle.key] = _Handle(handle.key, True, seen.source or handle.source)
    avatar = _clean_text(claim.avatar_url, MAX_AVATAR_LENGTH + 1)
    return _PreparedClaim(
        handles=list(handles.values()),
        display_name=_clean_text(claim.display_name, MAX_NAME_LENGTH),
        # A cut URL points nowhere: too long means none.
        avatar_url="" if len(avatar) > MAX_AVATAR_LENGTH else avatar,
        seen_at=claim.seen_at,
    )


# --- planning: in memory, no queries ------------------------------------------------------


@dataclass
class _Plan:
    """Union-find over claims, identities and existing customers."""

    parent: dict[object, object] = field(default_factory=dict)
    customers: dict[object, list[int]] = field(default_factory=dict)  # root -> customer ids
    merge_rule: dict[int, str] = field(default_factory=dict)  # customer -> rule joining it

    def find(self, node: object) -> object:
        parent = self.parent.setdefault(node, node)
        if parent == node:
            return node
        root = self.find(parent)
        self.parent[node] = root
        return root

    def union(self, a: object, b: object, rule: str | None = None) -> None:
        root_a, root_b = self.find(a), self.find(b)
        if root_a == root_b:
            return
        left, right = self.customers.get(root_a, []), self.customers.get(root_b, [])
        if left and right:
            # Two profiles become one. Only strong edges may get here (see _plan).
            for customer_id in left + right:
                self.merge_rule.setdefault(customer_id, rule or MergeRule.MANUAL)
        self.parent[root_b] = root_a
        if right:
            self.customers[root_a] = left + right
            self.customers.pop(root_b, None)


def _plan(
    claims: list[_PreparedClaim], existing: dict[Key, tuple[int, bool]]
) -> tuple[_Plan, dict[Key, int]]:
    """Group claims into people. Returns the union-find and, for each identity nobody
    had, the index of the first claim that named it."""
    plan = _Plan()
    for key, (customer_id, _verified) in existing.items():
        customer_node = ("c", customer_id)
        if plan.find(customer_node) == customer_node and customer_node not in plan.customers:
            plan.customers[customer_node] = [customer_id]
        plan.union(customer_node, ("k", key))
    owner: dict[Key, int] = {}  # new identity -> first claim naming it
    owner_verified: dict[Key, bool] = {}

    def known(key: Key) -> bool:
        return key in existing or key in owner

    def strong_rule(handle: _Handle) -> str | None:
        kind = handle.key[0]
        if kind in _ALWAYS_STRONG:
            return _ALWAYS_STRONG[kind]
        if kind in _STRONG_WHEN_VERIFIED and handle.verified:
            on_file = (
                existing[handle.key][1]
                if handle.key in existing
                else owner_verified.get(handle.key, True)
            )
            return _STRONG_WHEN_VERIFIED[kind] if on_file else None
        return None

    def identifying(handle: _Handle) -> bool:
        kind = handle.key[0]
        return kind not in _WEAK_KINDS and kind not in _STRONG_WHEN_VERIFIED

    def first_known(handles: list[_Handle]) -> _Handle | None:
        return next((handle for handle in handles if known(handle.key)), None)

    for index, claim in enumerate(claims):
        node = ("q", index)
        plan.find(node)
        rules = [rule for handle in claim.handles if (rule := strong_rule(handle))]
        binding = [h for h in claim.handles if strong_rule(h) or identifying(h)]
        # A shared device says who someone is only when the event names nobody else.
        weak_anchors = [h for h in claim.handles if not binding or h.key[0] not in _WEAK_KINDS]
        if rules:
            for handle in binding:
                plan.union(node, ("k", handle.key), rules[0])
            # Nothing binding is known: a known weak handle still says who this is.
            anchor = None if any(known(h.key) for h in binding) else first_known(weak_anchors)
        else:
            anchor = first_known(binding) or first_known(weak_anchors)
        if anchor is not None:
            plan.union(node, ("k", anchor.key))
        for handle in claim.handles:
            if not known(handle.key):
                plan.union(node, ("k", handle.key))
                owner[handle.key] = index
                owner_verified[handle.key] = handle.verified
    return plan, owner


# --- writing: set-wise ---------------------------------------------------------------------


class _LostRace(Exception):
    """Another worker created one of our new identities first: resolve again."""


def resolve(claims: Sequence[Claim], *, source: str = "") -> list[int]:
    """Customer id for each claim, in order.

    Creates customers and identities as needed, attaches new identities of a known person
    to them, and applies the deterministic merge rules (module docstring) when one claim's
    identities span several customers. A claim with no storable identity gets a new
    customer of its own. The cost is a fixed number of set-based statements per batch,
    plus a fixed number per deterministic merge (merges are rare). Safe under concurrency.
    """
    prepared = [_prepare(claim, source) for claim in claims]
    if not prepared:
        return []
    for attempt in range(1, MAX_ATTEMPTS + 1):
        try:
            with transaction.atomic():
                return _resolve_with(prepared)
        except _LostRace:
            logger.info("identity resolution lost a race, retrying", extra={"attempt": attempt})
        except OperationalError as error:
            if getattr(error.__cause__, "sqlstate", None) != "40P01" or attempt == MAX_ATTEMPTS:
                raise
            logger.info("identity resolution deadlocked, retrying", extra={"attempt": attempt})
    raise RuntimeError("identity resolution kept losing races; giving up")


def _table(model: type) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def _fetch_existing(keys: list[Key]) -> dict[Key, tuple[int, bool]]:
    if not keys:
        return {}
    kinds, scopes, values = (list(column) for column in zip(*keys, strict=True))
    rows = fetch_bound(
        f"""
        SELECT i.kind, i.scope, i.value, i.customer_id, i.verified
          FROM {_table(Identity)} i
          JOIN unnest(%b::text[], %b::text[], %b::text[]) AS k(kind, scope, value)
            ON i.kind = k.kind AND i.scope = k.scope AND i.value = k.value
        """,
        [kinds, scopes, values],
    )
    return {(kind, scope, value): (cid, verified) for kind, scope, value, cid, verified in rows}




def _resolve_with(claims: list[_PreparedClaim]) -> list[int]:
    all_keys = sorted({handle.key for claim in claims for handle in claim.handles})
    existing = _fetch_existing(all_keys)
    plan, owner = _plan(claims, existing)

    # One person per group of claims; the oldest profile survives a deterministic merge.
    roots = [plan.find(("q", index)) for index in range(len(claims))]
    group_claims: dict[object, list[int]] = {}
    for index, root in enumerate(roots):
        group_claims.setdefault(root, []).append(index)
    new_groups = [root for root in group_claims if not plan.customers.get(root)]
    new_ids = _create_customers([[claims[i] for i in group_claims[r]] for r in new_groups])
    customer_of: dict[object, int] = dict(zip(new_groups, new_ids, strict=True))
    merges: list[tuple[int, int, str]] = []
    for root in group_claims:
        if root in customer_of:
            continue
        ids = sorted(plan.customers[root])
        customer_of[root] = ids[0]
        merges.extend(
            (ids[0], other, plan.merge_rule.get(other, MergeRule.MANUAL)) for other in ids[1:]
        )

    # Deterministic merges first: they move the merged profiles' identities, which the
    # writes below then find on the survivor.
    if merges:
        live = {
            pk: customer
            for pk, customer in Customer.objects.in_bulk(
                {pk for pair in merges for pk in pair[:2]}
            ).items()
        }
        for survivor_id, merged_id, rule in merges:
            try:
                merge(live[survivor_id], live[merged_id], rule=rule, reason="identity resolution")
            except MergeError:
                # Another worker merged them a moment ago (merge re-checks under a lock).
                logger.info("deterministic merge already done", extra={"merged": merged_id})
        absorbed = {merged_id: survivor_id for survivor_id, merged_id, _rule in merges}
        existing = {
            key: (absorbed.get(customer_id, customer_id), verified)
            for key, (customer_id, verified) in existing.items()
        }

    _insert_identities(claims, roots, customer_of, owner)
    _upgrade_verification(claims, roots, customer_of, existing)
    _update_profiles(claims, roots, customer_of, exclude=set(new_ids))
    return [customer_of[root] for root in roots]


def _latest(claims: list[_PreparedClaim], attribute: str) -> str:
    """The value of the most recently seen claim that has one (ties: the later claim)."""
    best, best_at = "", None
    for claim in claims:
        value = getattr(claim, attribute)
        if value and (best_at is None or claim.seen_at is None or claim.seen_at >= best_at):
            best, best_at = value, claim.seen_at or best_at
    return best


def _create_customers(groups: list[list[_PreparedClaim]]) -> list[int]:
    if not groups:
        return []
    now = timezone.now()
    names, avatars, firsts, lasts = [], [], [], []
    for group in groups:
        seen = [claim.seen_at for claim in group if claim.seen_at is not None]
        names.append(_latest(group, "display_name"))
        avatars.append(_latest(group, "avatar_url"))
        firsts.append(min(seen) if seen else None)
        lasts.append(max(seen) if seen else None)
    # Ids from the table's own sequence, in our order, so each group knows its id.
    ids = [row[0] for row in fetch_bound(
        "SELECT nextval(pg_get_serial_sequence(%b::text, 'id')) FROM generate_series(1, %b::int)",
        [Customer._meta.db_table, len(groups)],
    )]
    execute_bound(
        f"""
        INSERT INTO {_table(Customer)}
               (id, display_name, avatar_url, gender, locale, city, province, country,
                attributes, first_seen_at, last_seen_at, created_at, updated_at,
                interaction_counts, total_interactions_30d, order_count, revenue)
        SELECT n.id, n.name, n.avatar, %b::text, '', '', '', '', '{{}}'::jsonb, n.first_at,
               n.last_at, %b::timestamptz, %b::timestamptz, '{{}}'::jsonb, 0, 0, 0
          FROM unnest(%b::bigint[], %b::text[], %b::text[], %b::timestamptz[],
                      %b::timestamptz[]) AS n(id, name, avatar, first_at, last_at)
        """,
        [Customer.Gender.UNKNOWN, now, now, ids, names, avatars, firsts, lasts],
    )
    return ids


def _insert_identities(
    claims: list[_PreparedClaim],
    roots: list[object],
    customer_of: dict[object, int],
    owner: dict[Key, int],
) -> None:
    """New identities go to the person of the first claim that named them. A verified
    claim anywhere in that person's claims verifies the identity."""
    rows: dict[Key, list] = {}
    for index, claim in enumerate(claims):
        customer_id = customer_of[roots[index]]
        for handle in claim.handles:
            if (
                owner.get(handle.key) is None
                or customer_of[roots[owner[handle.key]]] != customer_id
            ):
                continue
            row = rows.setdefault(handle.key, [customer_id, handle.verified, handle.source])
            row[1] = row[1] or handle.verified
    if not rows:
        return
    keys = sorted(rows)  # a fixed order, so two workers take row locks in the same order
    inserted = execute_bound(
        f"""
        INSERT INTO {_table(Identity)}
               (customer_id, kind, scope, value, verified, source, created_at)
        SELECT n.customer_id, n.kind, n.scope, n.value, n.verified, n.source, %b::timestamptz
          FROM unnest(%b::bigint[], %b::text[], %b::text[], %b::text[], %b::boolean[],
                      %b::text[]) WITH ORDINALITY AS n(customer_id, kind, scope, value,
                                                       verified, source, position)
         ORDER BY n.position
            ON CONFLICT (kind, scope, value) DO NOTHING
        """,
        [
            timezone.now(),
            [rows[key][0] for key in keys],
            [key[0] for key in keys],
            [key[1] for key in keys],
            [key[2] for key in keys],
            [rows[key][1] for key in keys],
            [rows[key][2] for key in keys],
        ],
    )
    if inserted != len(keys):
        raise _LostRace


def _upgrade_verification(
    claims: list[_PreparedClaim],
    roots: list[object],
    customer_of: dict[object, int],
    existing: dict[Key, tuple[int, bool]],
) -> None:
    """A verified claim verifies an identity on file as unverified, when the claim's
    person is the identity's owner (a verified claim about someone else's handle is a
    conflict for a person to look at, not a reason to move it)."""
    upgrade = sorted(
        {
            handle.key
            for index, claim in enumerate(claims)
            for handle in claim.handles
            if handle.verified
            and handle.key in existing
            and not existing[handle.key][1]
            and existing[handle.key][0] == customer_of[roots[index]]
        }
    )
    if not upgrade:
        return
    execute_bound(
        f"""
        UPDATE {_table(Identity)} i SET verified = TRUE
          FROM unnest(%b::text[], %b::text[], %b::text[]) AS k(kind, scope, value)
         WHERE i.kind = k.kind AND i.scope = k.scope AND i.value = k.value
        """,
        [[k[0] for k in upgrade], [k[1] for k in upgrade], [k[2] for k in upgrade]],
    )


def _update_profiles(
    claims: list[_PreparedClaim],
    roots: list[object],
    customer_of: dict[object, int],
    *,
    exclude: set[int],
) -> None:
    """Returning people: widen first/last seen; a name or avatar from an event at least
    as recent as the profile's last sighting replaces the old one (people rename
    themselves on social platforms), and fills a blank one whenever it came."""
    per_customer: dict[int, list[_PreparedClaim]] = {}
    for index, claim in enumerate(claims):
        customer_id = customer_of[roots[index]]
        if customer_id not in exclude:
            per_customer.setdefault(customer_id, []).append(claim)
    ids, names, avatars, firsts, lasts = [], [], [], [], []
    for customer_id in sorted(per_customer):
        group = per_customer[customer_id]
        seen = [claim.seen_at for claim in group if claim.seen_at is not None]
        name, avatar = _latest(group, "display_name"), _latest(group, "avatar_url")
        if not (seen or name or avatar):
            continue
        ids.append(customer_id)
        names.append(name)
        avatars.append(avatar)
        firsts.append(min(seen) if seen else None)
        lasts.append(max(seen) if seen else None)
    if not ids:
        return
    execute_bound(
        f"""
        UPDATE {_table(Customer)} c
           SET display_name = CASE
                   WHEN u.name <> '' AND (c.display_name = '' OR c.last_seen_at IS NULL
                                          OR u.last_at >= c.last_seen_at)
                   THEN u.name ELSE c.display_name END,
               avatar_url = CASE
                   WHEN u.avatar <> '' AND (c.avatar_url = '' OR c.last_seen_at IS NULL
                                            OR u.last_at >= c.last_seen_at)
                   THEN u.avatar ELSE c.avatar_url END,
               first_seen_at = LEAST(c.first_seen_at, u.first_at),
               last_seen_at = GREATEST(c.last_seen_at, u.last_at),
               updated_at = %b::timestamptz
          FROM unnest(%b::bigint[], %b::text[], %b::text[], %b::timestamptz[],
                      %b::timestamptz[]) AS u(id, name, avatar, first_at, last_at)
         WHERE c.id = u.id
        """,
        [timezone.now(), ids, names, avatars, firsts, lasts],
    )
