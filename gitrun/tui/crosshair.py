"""The crosshair: one step marked on every chart at once, and each line's value there (no textual).

The run's metrics tab and the compare screen's charts share one cursor position, an x value (a
step, or a Unix time when the charts are against time). Moving it goes from one drawn point to the
next at least one chart column away, so every key press moves the mark visibly, and stops on steps
that exist (a value is read, never interpolated). A line that has no point within half a column of
the cursor (a run that stopped earlier) reads ``-``. Downsampled lines hold each column's lowest and
highest point: their value is the nearest of those, shown with ``~``.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence
from dataclasses import dataclass

from gitrun.model.downsample import Series


@dataclass(frozen=True)
class Reading:
    label: str
    value: str  # "-" when the line has no point at the cursor
    colour: int  # palette index of the line


def steps_of(series: Sequence[Series]) -> list[float]:
    """Every x some line has a point at, sorted (the positions the cursor can stop on)."""
    return sorted({x for item in series for x in item.xs})


def span(steps: Sequence[float], x_range: tuple[float, float] | None) -> tuple[float, float] | None:
    if x_range is not None:
        return x_range
    return (steps[0], steps[-1]) if steps else None


def move(steps: Sequence[float], current: float | None, delta: int, columns: int,
         x_range: tuple[float, float] | None = None) -> float | None:
    """The cursor ``delta`` columns to the right (negative: left), snapped to a step that exists.

    With no cursor yet, the first press shows it at the right end (the newest step) going left, at
    the left end going right."""
    bounds = span(steps, x_range)
    if bounds is None:
        return None
    low, high = bounds
    visible = [x for x in steps if low <= x <= high] or list(steps)
    if current is None:
        return visible[-1] if delta < 0 else visible[0]
    gap = (high - low) / max(columns, 1) * abs(delta)
    if delta > 0:
        index = bisect.bisect_left(visible, current + gap * 0.999)
        return visible[min(index, len(visible) - 1)]
    index = bisect.bisect_right(visible, current - gap * 0.999) - 1
    return visible[max(index, 0)]


def at_fraction(steps: Sequence[float], fraction: float, x_range: tuple[float, float] | None = None) -> float | None:
    """The step nearest to a point ``fraction`` (0..1) along the x range (a mouse position)."""
    bounds = span(steps, x_range)
    if bounds is None:
        return None
    low, high = bounds
    return nearest(steps, low + (high - low) * min(1.0, max(0.0, fraction)))


def nearest(xs: Sequence[float], target: float) -> float | None:
    index = nearest_index(xs, target)
    return None if index is None else xs[index]


def nearest_index(xs: Sequence[float], target: float) -> int | None:
    """Index of the x closest to ``target`` in ascending ``xs`` (the earlier one on a tie)."""
    if not xs:
        return None
    index = bisect.bisect_left(xs, target)
    if index == 0:
        return 0
    if index == len(xs):
        return len(xs) - 1
    return index - 1 if target - xs[index - 1] <= xs[index] - target else index


def value_at(series: Series, x: float, tolerance: float) -> str:
    """The line's value at step ``x`` as shown: exact, ``~`` when downsampled, ``-`` when it has none."""
    index = nearest_index(series.xs, x)
    if index is None or abs(series.xs[index] - x) > tolerance:
        return "-"
    text = short_number(series.ys[index])
    return f"~{text}" if series.downsampled and series.xs[index] != x else text


def readings(lines: Sequence[tuple[str, Series, int]], x: float, columns: int,
             x_range: tuple[float, float] | None = None) -> list[Reading]:
    """Each line's value at the cursor; ``lines`` are (label, series, palette index)."""
    bounds = span(steps_of([series for _, series, _ in lines]), x_range)
    tolerance = 0.0 if bounds is None else (bounds[1] - bounds[0]) / max(columns, 1) / 2
    return [Reading(label, value_at(series, x, tolerance), colour) for label, series, colour in lines]


def short_number(value: float) -> str:
    if not math.isfinite(value):
        return str(value)
    if value == int(value) and abs(value) < 1e12:
        return str(int(value))
    return f"{value:.4g}"
