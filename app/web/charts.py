"""Geometry of the server-rendered SVG charts (the templates draw and label them).

No chart library and no script: the pages keep their strict Content-Security-Policy, and the
numbers are in the page as text too.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

WIDTH = 640
BAR_HEIGHT = 26
BAR_GAP = 10
LABEL_WIDTH = 250
# room left and right of a timeline for the first and last hour's label
MARGIN = 30


@dataclass(frozen=True)
class Bar:
    key: str
    value: int
    y: int
    width: int  # in the chart's units; 0 for a zero value


@dataclass(frozen=True)
class BarChart:
    title_id: str
    bars: list[Bar]
    height: int
    label_width: int = LABEL_WIDTH
    width: int = WIDTH

    @property
    def total(self) -> int:
        return sum(b.value for b in self.bars)


def bars(items: Sequence[tuple[str, int]], *, title_id: str) -> BarChart:
    """Horizontal bars, scaled to the largest value."""
    top = max((v for _, v in items), default=0)
    room = WIDTH - LABEL_WIDTH - 60
    out = []
    for i, (key, value) in enumerate(items):
        width = round(room * value / top) if top else 0
        out.append(Bar(key, value, i * (BAR_HEIGHT + BAR_GAP), width))
    return BarChart(title_id, out, max(1, len(items)) * (BAR_HEIGHT + BAR_GAP))


class LocalSlot(Protocol):
    @property
    def start(self) -> dt.datetime: ...

    @property
    def end(self) -> dt.datetime: ...

    @property
    def label(self) -> str: ...


@dataclass(frozen=True)
class Block:
    x: float
    width: float
    label: str
    start: str


@dataclass(frozen=True)
class Timeline:
    blocks: list[Block]
    ticks: list[tuple[float, str]]  # hour marks: x and "09:00"
    width: int = WIDTH
    height: int = 60


def timeline(slots: Sequence[LocalSlot]) -> Timeline | None:
    """One day's slots on an hour scale; gaps between blocks are the breaks."""
    if not slots:
        return None
    first = min(s.start for s in slots)
    last = max(s.end for s in slots)
    origin = first.replace(minute=0, second=0, microsecond=0)
    end = last if last.minute == 0 else last.replace(minute=0) + dt.timedelta(hours=1)
    span = max(1.0, (end - origin).total_seconds())
    scale = (WIDTH - 2 * MARGIN) / span

    def x(t: dt.datetime) -> float:
        return round(MARGIN + (t - origin).total_seconds() * scale, 1)

    blocks = [
        Block(
            x(s.start), round(max(1.0, x(s.end) - x(s.start) - 2), 1), s.label, f"{s.start:%H:%M}"
        )
        for s in slots
    ]
    ticks = []
    t = origin
    while t <= end:
        ticks.append((x(t), f"{t:%H:%M}"))
        t += dt.timedelta(hours=1)
    return Timeline(blocks, ticks)
