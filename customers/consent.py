"""Consent: an append-only history of permissions per customer × channel × purpose.

Rows are only ever inserted (a trigger in migration 0003 refuses updates of anything but
the customer they hang on, and deletes). The current permission for a channel is the
latest row for that channel or for "all channels", whichever was recorded last, so a
"withdraw everything" is overridden by a later grant on one channel and vice versa.
Campaigns filter with `with_current_consent(...)` / `consent_granted(...)`: one
correlated subquery per customer, served by the consent_current index.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.contrib.auth.models import User
from django.core import signing
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.lookups import Exact
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from customers.channels import IDENTITY_CHANNEL, ConsentChannel
from customers.models import Consent, Customer
from customers.text import clean_json, clean_text
from scrm.staff.services import client_ip, record_audit

PREFERENCE_CENTER_SOURCE = "preference_center"
STAFF_SOURCE = "staff"
_TOKEN_SALT = "customers.preference-center"


def record_consent(
    *,
    customer: Customer,
    channel: str,
    purpose: str,
    status: str,
    source: str,
    evidence: dict[str, Any] | None = None,
    at: datetime | None = None,
    actor: User | None = None,
    request: HttpRequest | None = None,
) -> Consent:
    """Append one consent change; the earlier rows stay as they were."""
    consent = Consent(
        customer=customer,
        channel=channel,
        purpose=purpose,
        status=status,
        source=clean_text(source, max_length=64),
        evidence=clean_json(evidence or {}),
        recorded_at=at or timezone.now(),
    )
    consent.full_clean(exclude=["customer"])
    with transaction.atomic():
        consent.save()
        if actor is not None:
            record_audit(
                actor=actor, action="customers.consent_recorded", obj=customer, request=request,
                object_repr=_("Customer %(id)s") % {"id": customer.pk},
                changes={f"{channel}/{purpose}": [None, status], "source": [None, consent.source]},
            )
    return consent


def _latest_status(channel: str, purpose: str) -> Subquery:
    return Subquery(
        Consent.objects.filter(
            customer=OuterRef("pk"), purpose=purpose, channel__in=[channel, ConsentChannel.ALL]
        )
        .order_by("-recorded_at", "-id")
        .values("status")[:1]
    )


def with_current_consent(
    customers: QuerySet[Customer], *, channel: str, purpose: str, name: str = "consent_status"
) -> QuerySet[Customer]:
    """Annotates `name`: "granted", "withdrawn" or None (never asked) for channel × purpose."""
    return customers.annotate(**{name: _latest_status(channel, purpose)})


def consent_granted(channel: str, purpose: str) -> Q:
    """A filter: the customer's current consent for channel × purpose is "granted"."""
    return Q(Exact(_latest_status(channel, purpose), Value(Consent.Status.GRANTED)))


def consent_history(customer: Customer) -> QuerySet[Consent]:
    return Consent.objects.filter(customer=customer).order_by("-recorded_at", "-id")


def current_statuses(customer: Customer, *, purpose: str) -> dict[str, str | None]:
    """{channel: status or None} for every contact channel, with "all" applied."""
    latest = {
        row.channel: row
        for row in Consent.objects.filter(customer=customer, purpose=purpose)
        .order_by("channel", "-recorded_at", "-id")
        .distinct("channel")
    }
    everywhere = latest.get(ConsentChannel.ALL)
    statuses: dict[str, str | None] = {}
    for channel in ConsentChannel.values:
        if channel == ConsentChannel.ALL:
            continue
        own = latest.get(channel)
        candidates = [row for row in (own, everywhere) if row is not None]
        newest = max(candidates, key=lambda row: (row.recorded_at, row.pk), default=None)
        statuses[channel] = newest.status if newest else None
    return statuses


# --- the public preference center ----------------------------------------------------------


def preference_token(customer: Customer) -> str:
    """A link token for the customer's preference center. The brand's schema is part of
    the salt, so a token minted for one brand opens nothing on another."""
    return signing.dumps({"c": customer.pk}, salt=f"{_TOKEN_SALT}:{connection.schema_name}")


def customer_for_token(token: str) -> Customer | None:
    """The live customer a token names (following merges), or None if forged or erased."""
    try:
        payload = signing.loads(token, salt=f"{_TOKEN_SALT}:{connection.schema_name}")
        customer_id = int(payload["c"])
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        return None
    customer = Customer.objects.filter(pk=customer_id).first()
    seen: set[int] = set()
    while customer is not None and customer.merged_into_id and customer.pk not in seen:
        seen.add(customer.pk)
        customer = Customer.objects.filter(pk=customer.merged_into_id).first()
    if customer is None or customer.erased_at is not None or customer.merged_into_id:
        return None
    return customer


def preference_channels(customer: Customer) -> list[str]:
    """Channels the brand can reach this customer on (from identities), in vocabulary order."""
    reached = {
        IDENTITY_CHANNEL.get(kind)
        for kind in customer.identities.values_list("kind", flat=True).distinct()
    }
    return [c for c in ConsentChannel.values if c in reached]


def record_preferences(
    *, customer: Customer, wanted: dict[str, bool], request: HttpRequest | None = None
) -> list[Consent]:
    """Marketing consent as the customer set it in the preference center: one row per
    channel whose current status differs from what they ticked (set-wise insert)."""
    current = current_statuses(customer, purpose=Consent.Purpose.MARKETING)
    now = timezone.now()
    evidence = {"form": "preference_center/v1"}
    if request is not None:
        evidence["ip"] = client_ip(request) or ""
        evidence["user_agent"] = clean_text(request.META.get("HTTP_USER_AGENT", ""), max_length=300)
    rows = []
    for channel, granted in wanted.items():
        if channel not in ConsentChannel.values or channel == ConsentChannel.ALL:
            raise ValidationError(_("Unknown channel."))
        status = Consent.Status.GRANTED if granted else Consent.Status.WITHDRAWN
        if current.get(channel) != status:
            rows.append(
                Consent(
                    customer=customer, channel=channel, purpose=Consent.Purpose.MARKETING,
                    status=status, source=PREFERENCE_CENTER_SOURCE, evidence=evidence,
                    recorded_at=now,
                )
            )
    return Consent.objects.bulk_create(rows)

