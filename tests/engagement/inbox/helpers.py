"""Arranging inbox state: inbound messages through the real hook, agents, teams."""

from __future__ import annotations

import itertools
from datetime import datetime

from django.utils import timezone

from channels import hooks
from customers.models import Customer, CustomerTag, Interaction, InteractionKind, Tag
from engagement.inbox.models import AgentProfile, Team
from tests.conftest import make_staff

_ids = itertools.count(1)


def inbound(
    customer: Customer, connector, text: str = "hello", *, at: datetime | None = None,  # noqa: ANN001
    language: str = "", sentiment: float | None = None, metadata: dict | None = None,
) -> hooks.NewInteraction:
    """Record an inbound message interaction and return what the pipeline would publish
    (the published text is as the platform sent it, NUL bytes included)."""
    at = at or timezone.now()
    metadata = {"via_identity": {"kind": "wechat_openid", "scope": "", "value": f"o_{customer.pk}"}, **(metadata or {})}
    interaction = Interaction.objects.create(
        customer=customer, channel=connector.channel, kind=InteractionKind.MESSAGE_IN, occurred_at=at, text=text.replace("\x00", "\ufffd"),
        external_id=f"test:{next(_ids)}:{at.timestamp()}", language=language, sentiment=sentiment,
        metadata=metadata,
    )
    return hooks.NewInteraction(
        id=interaction.pk, customer_id=customer.pk, channel=connector.channel, kind=interaction.kind,
        occurred_at=at, text=text, external_id=interaction.external_id, connector_id=connector.pk,
        language=language, sentiment=sentiment, metadata=metadata,
    )


def deliver(*items: hooks.NewInteraction) -> None:
    hooks.publish(list(items))


def agent(*, capacity: int = 5, online: bool = True, teams: tuple[Team, ...] = (), role: str = "Agent"):  # noqa: ANN201
    user = make_staff(role)
    AgentProfile.objects.create(
        user=user, capacity=capacity,
        availability=AgentProfile.Availability.ONLINE if online else AgentProfile.Availability.AWAY,
    )
    for team in teams:
        team.members.add(user)
    return user


def tag(customer: Customer, name: str) -> None:
    CustomerTag.objects.create(customer=customer, tag=Tag.objects.get_or_create(name=name)[0])
