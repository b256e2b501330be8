"""Charts rendered as SVG on the server (no chart library, no JavaScript): this module
computes geometry; templates/partials/chart_*.html draw it, escaping every label.

Used everywhere a chart appears, so charts look alike and print, translate and test
like any other HTML.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

PALETTE = ("#4f46e5", "#0ea5e9", "#16a34a", "#d97706", "#dc2626", "#7c3aed", "#db2777", "#64748b")


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    x: float
    y: float
    width: float
    height: float
    color: str
    url: str = ""


@dataclass(frozen=True)
class BarChart:
    bars: list[Bar]
    width: int
    height: int
    max_value: float
    ticks: list[tuple[float, float]] = field(default_factory=list)  # (y, value)
    empty: bool = False


def bar_chart(
    data: Sequence[tuple[str, float]] | Sequence[tuple[str, float, str]],
    *, width: int = 480, height: int = 220, color: str | None = None,
) -> BarChart:
    """Vertical bars; each item is (label, value) or (label, value, link url)."""
    left, bottom, top = 40, 28, 10
    plot_w, plot_h = width - left - 8, height - bottom - top
    max_value = max((float(item[1]) for item in data), default=0.0)
    scale_max = _nice_ceiling(max_value)
    slot = plot_w / max(len(data), 1)
    bars = []
    for index, item in enumerate(data):
        label, value = str(item[0]), float(item[1])
        bar_h = 0.0 if scale_max == 0 else plot_h * value / scale_max
        bars.append(Bar(
            label=label, value=value, x=left + index * slot + slot * 0.15, y=top + plot_h - bar_h,
            width=slot * 0.7, height=bar_h, color=color or PALETTE[index % len(PALETTE)],
            url=str(item[2]) if len(item) > 2 else "",
        ))
    ticks = [(top + plot_h - plot_h * i / 4, scale_max * i / 4) for i in range(5)]
    return BarChart(bars=bars, width=width, height=height, max_value=max_value, ticks=ticks, empty=not data or max_value == 0)


@dataclass(frozen=True)
class LineChart:
    points: str  # SVG polyline points
    labels: list[tuple[float, str]]  # (x, label) under the axis, thinned
    width: int
    height: int
    max_value: float
    last_value: float
    ticks: list[tuple[float, float]] = field(default_factory=list)
    empty: bool = False


def line_chart(data: Sequence[tuple[str, float]], *, width: int = 480, height: int = 200) -> LineChart:
    left, bottom, top = 40, 28, 10
    plot_w, plot_h = width - left - 8, height - bottom - top
    max_value = max((float(v) for _l, v in data), default=0.0)
    scale_max = _nice_ceiling(max_value)
    step = plot_w / max(len(data) - 1, 1)
    coords = []
    for index, (_label, value) in enumerate(data):
        y = top + plot_h - (0 if scale_max == 0 else plot_h * float(value) / scale_max)
        coords.append(f"{left + index * step:.1f},{y:.1f}")
    every = max(1, len(data) // 6)
    labels = [(left + i * step, str(label)) for i, (label, _v) in enumerate(data) if i % every == 0]
    ticks = [(top + plot_h - plot_h * i / 4, scale_max * i / 4) for i in range(5)]
    return LineChart(
        points=" ".join(coords), labels=labels, width=width, height=height, max_value=max_value,
        last_value=float(data[-1][1]) if data else 0.0, ticks=ticks, empty=not data,
    )


def _nice_ceiling(value: float) -> float:
    """Round the axis maximum up to 1, 2, 2.5 or 5 × a power of ten."""
    if value <= 0:
        return 0.0
    magnitude = 10 ** (len(str(int(value))) - 1) if value >= 1 else 1
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * magnitude:
            return step * magnitude
    return 10 * magnitude
