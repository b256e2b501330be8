"""What the marketer dashboard shows, read from the precomputed snapshots (one row for the
breakdowns, a short series for trends): the page costs the same at 1M customers as at 10."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from django.urls import reverse
from django.utils.translation import gettext as _

from customers.channels import Channel
from scrm.charts import bar_chart, line_chart
from segments.models import Lifecycle, Participation, RFMGroup, Segment, SocialCapitalSnapshot, Tier


def segment_rule_url(rule: dict[str, Any]) -> str:
    """The builder, pre-filled with `rule`: every chart element opens its segment."""
    return reverse("segments:segment-create") + "?" + urlencode({"rule": json.dumps(rule)})


def _score_rule(field: str, value: Any) -> dict[str, Any]:
    return {"all": [{"field": f"score.{field}", "op": "eq", "value": value}]}


def _choice_chart(counts: list[list[Any]], field: str, choices: Any) -> Any:
    labels = dict(choices.choices)
    return bar_chart([
        (str(labels.get(key, key)), n, segment_rule_url(_score_rule(field, key))) for key, n in counts
    ])


def marketer_dashboard() -> dict[str, Any]:
    snapshots = list(SocialCapitalSnapshot.objects.order_by("-day")[:90])[::-1]
    latest = snapshots[-1] if snapshots else None
    context: dict[str, Any] = {"latest": latest, "segment_count": Segment.objects.count()}
    if latest is None:
        return context
    b = latest.breakdown
    grid = {(r, f): c for r, f, c in b.get("rfm_grid", [])}
    peak = max(grid.values(), default=0) or 1
    context.update({
        "lifecycle_chart": _choice_chart(b.get("lifecycle", []), "lifecycle", Lifecycle),
        "tier_chart": _choice_chart(b.get("tier", []), "tier", Tier),
        "participation_chart": _choice_chart(b.get("participation", []), "participation", Participation),
        "rfm_group_chart": _choice_chart(b.get("rfm_group", []), "rfm_group", RFMGroup),
        "rfm_rows": [
            (r, [(f, grid.get((r, f), 0), round(grid.get((r, f), 0) / peak, 2), segment_rule_url({"all": [
                {"field": "score.r", "op": "eq", "value": r}, {"field": "score.f", "op": "eq", "value": f},
            ]})) for f in range(1, 6)])
            for r in range(5, 0, -1)
        ],
        "channel_chart": bar_chart([
            (str(Channel(c).label) if c in Channel.values else c, n,
             segment_rule_url({"all": [{"field": "identity", "op": "has", "value": c}]}))
            for c, n in b.get("channels", [])
        ]),
        "value_chart": _histogram_chart(b.get("value_histogram", []), "value"),
        "activity_chart": _histogram_chart(b.get("activity_histogram", []), "activity"),
        "influence_chart": _histogram_chart(b.get("influence_histogram", []), "influence"),
        "trend": {
            "trust": line_chart([(s.day.strftime("%m-%d"), round(100 * s.trust, 1)) for s in snapshots]),
            "consent": line_chart([(s.day.strftime("%m-%d"), round(100 * s.consent_rate, 1)) for s in snapshots]),
            "relationship": line_chart([(s.day.strftime("%m-%d"), s.relationship_strength) for s in snapshots]),
            "activity": line_chart([(s.day.strftime("%m-%d"), s.activity) for s in snapshots]),
            "revenue": line_chart([(s.day.strftime("%m-%d"), s.revenue_per_customer) for s in snapshots]),
        },
        "largest_segments": list(Segment.objects.order_by("-size")[:8].values("id", "name", "size")),
    })
    return context


def _histogram_chart(bins: list[list[Any]], field: str) -> Any:
    return bar_chart([
        (f"{low:g}–{high:g}", n, segment_rule_url({"all": [
            {"field": f"score.{field}", "op": "between", "value": [low, high]}]}))
        for low, high, n in bins
    ])


def tier_moves(moves: dict[tuple[str, str], int]) -> dict[str, Any]:
    """The preview as a table: rows are today's tier, columns the tier after the change."""
    tiers = [t for t, _label in Tier.choices]
    labels = dict(Tier.choices)
    rows = [(labels[old], [moves.get((old, new), 0) for new in tiers], sum(moves.get((old, new), 0) for new in tiers))
            for old in tiers]
    after = [sum(moves.get((old, new), 0) for old in tiers) for new in tiers]
    moved = sum(n for (old, new), n in moves.items() if old != new)
    return {"columns": [labels[t] for t in tiers], "rows": rows, "after": after, "moved": moved,
            "label": _("customers would change tier")}



