"""`{% customer_scores customer as scored %}` for the profile's score panel."""

from __future__ import annotations

from typing import Any

from django import template

from segments.models import CustomerScore
from segments.scores import score_reasons

register = template.Library()


@register.simple_tag
def customer_scores(customer: Any) -> dict[str, Any] | None:
    score = CustomerScore.objects.filter(customer_id=getattr(customer, "pk", None)).first()
    if score is None:
        return None
    return {"score": score, "reasons": score_reasons(score)}
