"""Arranging campaigns in tests: a static segment of given customers, a WeChat customer
with or without consent, a WeChat connector (optionally pointed at a sandbox), a campaign
with one message sending through it."""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone

from channels import services as channel_services
from channels.models import Connector
from customers.models import Consent, Customer, Identity
from engagement.campaigns.models import Campaign, Variant
from segments.models import Segment, SegmentMembership
from tests.customers.factories import ConsentFactory, CustomerFactory, IdentityFactory


def segment_of(customers: list[Customer], name: str = "Audience") -> Segment:
    segment = Segment.objects.create(name=name, kind=Segment.Kind.STATIC, size=len(customers))
    SegmentMembership.objects.bulk_create(
        [SegmentMembership(segment=segment, customer=c, entered_at=timezone.now()) for c in customers]
    )
    return segment


def wechat_customer(*, consent: str | None = Consent.Status.GRANTED, channel: str = "wechat",
                    at: datetime | None = None, **fields: object) -> Customer:
    customer = CustomerFactory(**fields)
    IdentityFactory(customer=customer, kind=Identity.Kind.WECHAT_OPENID, scope="wxapp", value=f"o-{customer.pk}")
    if consent:
        ConsentFactory(customer=customer, channel=channel, status=consent, recorded_at=at or timezone.now())
    return customer


SANDBOX_APPID, SANDBOX_TOKEN, SANDBOX_SECRET = "wx1234567890", "wechat-token", "wechat-app-secret"


def wechat_connector(*, api_base: str = "http://127.0.0.1:9", sends_per_second: int = 20) -> Connector:
    """The brand's WeChat account; by default its API is a closed port (nothing is delivered
    in tests that do not run the outbox)."""
    return channel_services.create_connector(
        kind="wechat_oa", name="WeChat", actor=None,
        config={"appid": SANDBOX_APPID, "api_base": api_base, "sends_per_second": sends_per_second},
        secrets={"token": SANDBOX_TOKEN, "app_secret": SANDBOX_SECRET},
    )


def campaign_for(segment: Segment, *, text: str = "Hi {{ name | friend }}", **fields: object) -> Campaign:
    if "connector" not in fields and not Connector.objects.filter(kind="wechat_oa", enabled=True).exists():
        wechat_connector()
    defaults = {"name": "Spring tea", "channel": "wechat", "message_type": Campaign.MessageType.TEMPLATE,
                "quiet_start": 0, "quiet_end": 0, "status": Campaign.Status.SENDING}
    campaign = Campaign.objects.create(**{**defaults, **fields})
    campaign.segments.add(segment)
    Variant.objects.create(campaign=campaign, name="A", text=text, template_id="TPL1", template_data={"first": text})
    return campaign
