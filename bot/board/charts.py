"""Lay out the board's small bar charts as SVG rectangles (geometry only; templates draw them)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

BAR = 4  # viewBox units per bar, gap included
GAP = 1
HEIGHT = 40


@dataclass(frozen=True)
class Rect:
    x: float
    y: float
    width: float
    height: float
    kind: str  # "bar" | "bar-bad": the template's colour classes


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    rects: tuple[Rect, ...]
    peak: float


def stacked_bars(series: Sequence[tuple[float, float]], *, height: int = HEIGHT) -> Chart:
    """One bar per item: the first value drawn from the baseline, the second ("bad") stacked on it.

    Bars are scaled to the tallest total; zero-height parts are left out; an all-zero series is an
    empty chart of the same size, so a quiet window reads as quiet, not as missing.
    """
    peak = max((a + b for a, b in series), default=0.0)
    rects: list[Rect] = []
    for i, (good, bad) in enumerate(series):
        x = i * BAR
        base = float(height)
        for value, kind in ((good, "bar"), (bad, "bar-bad")):
            if value <= 0 or peak <= 0:
                continue
            h = max(1.0, round(value / peak * (height - 1), 2))
            base -= h
            rects.append(Rect(x, round(base, 2), BAR - GAP, h, kind))
    return Chart(width=max(1, len(series)) * BAR, height=height, rects=tuple(rects), peak=peak)


def bars(values: Sequence[float], *, height: int = HEIGHT) -> Chart:
    """Plain bars scaled to the largest value."""
    return stacked_bars([(v, 0.0) for v in values], height=height)
