"""What channels keeps about customers, declared to the merge and privacy registries:
outbound messages follow a merge, are exported with the person, and lose their content
and recipient handle on erasure (the row stays, as a count of what was sent)."""

from __future__ import annotations

from django.db.models import Q


def _erase_outbound(ids: list[int]) -> int:
    from channels.models import OutboundMessage

    return OutboundMessage.objects.filter(customer_id__in=ids).update(payload={}, recipient="", error="")


def register() -> None:
    from channels.models import OutboundMessage
    from customers.merging import register_customer_relation
    from customers.privacy import register_customer_table

    register_customer_relation(OutboundMessage)
    register_customer_table(
        "outbound_messages", OutboundMessage, rows=lambda ids: Q(customer_id__in=ids), erase=_erase_outbound,
        fields=("id", "customer_id", "connector__name", "recipient", "kind", "purpose", "payload", "status",
                "error_code", "created_at", "sent_at"),
    )
