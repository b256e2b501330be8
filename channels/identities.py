"""Identity resolution as the pipeline sees it: claims in, one customer id per claim out.

`resolve_claims` is the one place the pipeline calls; the rules (strong identifiers merge,
weak handles never do, races retried) live in customers.resolution.
"""

from __future__ import annotations

from collections.abc import Sequence

from customers.resolution import VIA_IDENTITY, Claim, IdentityClaim, identity_ref, resolve

__all__ = ["VIA_IDENTITY", "Claim", "IdentityClaim", "identity_ref", "resolve_claims"]


def resolve_claims(claims: Sequence[Claim]) -> list[int]:
    """Customer id for each claim, creating customers and identities as needed (in bulk)."""
    return resolve(claims, source="channels")
