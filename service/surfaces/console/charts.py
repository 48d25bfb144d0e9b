"""Bar charts drawn on the server as inline SVG.

Why not a chart library in the browser: the console's figures are a handful of bars per
chart, already computed by the analytics view; drawing them here needs no vendored script,
renders with the page (no flash, no JavaScript, works offline and under a strict CSP),
prints, and is testable without a browser. `Chart` holds only geometry; the template
(`_chart.html`) turns it into `<svg>`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

WIDTH, HEIGHT = 640, 220
TOP, BOTTOM, LEFT = 20, 40, 8  # room for values above the bars and labels below
MAX_LABEL = 14


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    text: str  # the value as shown
    x: float
    y: float
    width: float
    height: float

    @property
    def middle(self) -> float:
        return self.x + self.width / 2


@dataclass(frozen=True)
class Chart:
    title: str
    bars: tuple[Bar, ...]
    width: int = WIDTH
    height: int = HEIGHT

    @property
    def baseline(self) -> int:
        return self.height - BOTTOM

    @property
    def empty(self) -> bool:
        return not self.bars


def bar_chart(title: str, points: Sequence[tuple[str, float]], unit: str = "") -> Chart:
    """One bar per (label, value); bar heights scale to the largest value."""
    if not points:
        return Chart(title, ())
    top = max(value for _, value in points) or 1.0
    slot = (WIDTH - LEFT) / len(points)
    room = HEIGHT - TOP - BOTTOM
    bars = []
    for n, (label, value) in enumerate(points):
        height = room * max(value, 0.0) / top
        bars.append(
            Bar(
                label=_short(label),
                value=value,
                text=_text(value, unit),
                x=LEFT + n * slot + slot * 0.15,
                y=TOP + room - height,
                width=slot * 0.7,
                height=height,
            )
        )
    return Chart(title, tuple(bars))


def _short(label: str) -> str:
    return label if len(label) <= MAX_LABEL else label[: MAX_LABEL - 1] + "…"


def _text(value: float, unit: str) -> str:
    if unit == "$":
        return f"${value:,.2f}"
    shown = f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"
    return f"{shown}{unit}"
