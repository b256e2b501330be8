"""Campaign sends through the channels outbox: which connector a campaign sends through,
what the platform receives, and how the outbox's and the platform's answers come back
onto CampaignRecipient rows (set-wise: one statement per campaign, one per receipt batch).

The outbox owns delivery (consent and reply window at send time, the per-connector rate
limit, retries with backoff, at most once per row); the campaign keeps its own throttle
(messages per second into the outbox) and its funnel.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import connection

from channels.models import KIND_CHANNEL, Connector, OutboundMessage
from customers.models import Consent, InteractionKind
from engagement.campaigns.models import Campaign, CampaignRecipient

# Platforms that send no delivery receipt for these messages: the send API answers success
# only once the message is in the customer's chat (WeChat customer-service messages), so
# the outbox's "sent" is also the delivery. Not template messages: WeChat accepts those
# first and reports delivery later (TEMPLATESENDJOBFINISH, a receipt below).
DELIVERED_ON_SEND = frozenset({Connector.Kind.WECHAT_OA, Connector.Kind.WECOM})
RECEIPT_KINDS = {InteractionKind.CAMPAIGN_DELIVERED: "delivered", InteractionKind.CAMPAIGN_READ: "read"}


def campaign_connector(campaign: Campaign) -> Connector | None:
    """The campaign's own connector if it is enabled and on the campaign's channel, else
    (when none was chosen) the brand's first enabled connector for the channel. A chosen
    connector that was disabled is not silently swapped for another account."""
    if campaign.connector_id is not None:
        chosen = campaign.connector
        return chosen if chosen.enabled and chosen.channel == campaign.channel else None
    return sendable_connectors(campaign.channel).first()


def sendable_connectors(channel: str) -> Any:
    kinds = [kind for kind, kind_channel in KIND_CHANNEL.items() if kind_channel == channel]
    return Connector.objects.filter(enabled=True, kind__in=kinds).exclude(kind__in=["web_api", "orders"]).order_by("id")


def outbound_message(*, connector: Connector, row: CampaignRecipient, purpose: str) -> OutboundMessage:
    """The unsaved outbox row for one rendered recipient message."""
    message = row.message
    kind = OutboundMessage.Kind.TEXT
    if message.get("type") == "template":
        kind = OutboundMessage.Kind.TEMPLATE
        # WeChat's template API wants {"first": {"value": "…"}}.
        payload: dict[str, Any] = {
            "template_id": message.get("template_id", ""), "url": message.get("url", ""),
            "data": {key: {"value": value} for key, value in (message.get("data") or {}).items()},
        }
    elif message.get("type") == "email":
        payload = {"subject": message.get("subject", ""), "html": message.get("html", ""), "text": message.get("text", "")}
    else:
        payload = {"text": message.get("text", "")}
        if message.get("image_url"):
            payload["image_url"] = message["image_url"]
    return OutboundMessage(
        connector=connector, customer_id=row.customer_id, recipient=row.address, kind=kind, payload=payload,
        purpose=OutboundMessage.Purpose.SERVICE if purpose == Consent.Purpose.SERVICE else OutboundMessage.Purpose.MARKETING,
    )


def _t(model: type) -> str:
    return connection.ops.quote_name(model._meta.db_table)


_SYNC_SQL = """
UPDATE {recipient} r
   SET status = CASE WHEN o.status = 'sent' THEN (CASE WHEN c.kind = ANY(%(on_send)s) AND o.kind <> 'template'
                                                        THEN 'delivered' ELSE 'sent' END)
                     ELSE 'failed' END,
       sent_at = CASE WHEN o.status = 'sent' THEN o.sent_at END,
       delivered_at = CASE WHEN o.status = 'sent' AND c.kind = ANY(%(on_send)s) AND o.kind <> 'template' THEN o.sent_at END,
       error = CASE WHEN o.status = 'sent' THEN '' ELSE left(concat_ws(': ', nullif(o.error_code, ''), o.error), 2000) END
  FROM {outbound} o JOIN {connector} c ON c.id = o.connector_id
 WHERE r.status = 'queued' AND {scope}
   AND o.id = r.outbound_message_id AND o.status IN ('sent', 'failed', 'unknown')
"""


def sync_outbox(*, campaign_id: int | None = None) -> int:
    """Copy finished outbox rows (sent, failed, interrupted) onto their queued recipients,
    for one campaign or all; returns how many recipients still wait for the outbox."""
    scope = "r.campaign_id = %(campaign)s" if campaign_id is not None else "TRUE"
    params = {"campaign": campaign_id, "on_send": list(DELIVERED_ON_SEND)}
    with connection.cursor() as cursor:
        cursor.execute(
            _SYNC_SQL.format(recipient=_t(CampaignRecipient), outbound=_t(OutboundMessage), connector=_t(Connector), scope=scope),
            params,
        )
        cursor.execute(
            f"SELECT count(*) FROM {_t(CampaignRecipient)} r WHERE r.status = 'queued' AND {scope}", params,
        )
        return cursor.fetchone()[0]


_FUNNEL_AFTER = {"delivered": ("queued", "sent"), "read": ("queued", "sent", "delivered")}


def record_receipts(batch: Sequence[Any]) -> int:
    """channels.hooks subscriber: delivery and read receipts (interactions of kind
    campaign_delivered / campaign_read whose metadata names the outbox row, as
    `outbound_message`, or the platform's message id, as `platform_message_id`) set the
    recipient's timestamps once and raise its status, never lower it. One statement per kind.

    WeChat's TEMPLATESENDJOBFINISH (success) arrives as a delivered receipt naming the
    template send's msgid; Meta's delivery and read webhooks are not parsed yet."""
    updated = 0
    for kind, stage in RECEIPT_KINDS.items():
        by_id = [(int(i.metadata["outbound_message"]), i.occurred_at) for i in batch
                 if i.kind == kind and str(i.metadata.get("outbound_message", "")).isdigit()]
        by_platform_id = [(str(i.metadata["platform_message_id"]), i.occurred_at) for i in batch
                          if i.kind == kind and i.metadata.get("platform_message_id")]
        if not by_id and not by_platform_id:
            continue
        stamps = ["sent_at", "delivered_at"] + (["read_at"] if stage == "read" else [])
        assignments = ", ".join(f"{column} = COALESCE(r.{column}, receipt.at)" for column in stamps)
        with connection.cursor() as cursor:
            cursor.execute(
                f"""
                WITH receipt AS (
                    SELECT id, min(at) AS at FROM (
                        SELECT o.id, x.at FROM unnest(%(ids)s::bigint[], %(id_at)s::timestamptz[]) x(id, at)
                          JOIN {_t(OutboundMessage)} o ON o.id = x.id
                        UNION ALL
                        SELECT o.id, x.at FROM unnest(%(pids)s::text[], %(pid_at)s::timestamptz[]) x(pid, at)
                          JOIN {_t(OutboundMessage)} o ON o.platform_message_id = x.pid
                    ) matched GROUP BY id
                )
                UPDATE {_t(CampaignRecipient)} r
                   SET {assignments},
                       status = CASE WHEN r.status = ANY(%(earlier)s) THEN %(stage)s ELSE r.status END
                  FROM receipt WHERE r.outbound_message_id = receipt.id
                """,
                {
                    "ids": [pk for pk, _at in by_id], "id_at": [at for _pk, at in by_id],
                    "pids": [pid for pid, _at in by_platform_id], "pid_at": [at for _pid, at in by_platform_id],
                    "earlier": list(_FUNNEL_AFTER[stage]), "stage": stage,
                },
            )
            updated += cursor.rowcount
    return updated
