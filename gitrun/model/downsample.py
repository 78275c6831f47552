"""Downsampling a metric series for display: min and max per bucket, so spikes stay visible.

A chart 100 columns wide cannot show 100,000 points; taking every 1,000th point would hide the
one step where the loss exploded. Keeping each bucket's lowest and highest point (in their
original order) draws the same envelope a full plot would, from at most ``2 * buckets`` points.
Non-finite values (NaN, inf) are skipped for the envelope but counted.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field


@dataclass
class Series:
    """What a chart draws: x (step or Unix time) and y, possibly downsampled from ``count`` points."""

    name: str
    xs: list[float] = field(default_factory=list)
    ys: list[float] = field(default_factory=list)
    count: int = 0  # points in the full series
    last: float | None = None  # the full series' last value (finite or not)
    low: float | None = None  # min over the full series' finite values
    high: float | None = None

    @property
    def downsampled(self) -> bool:
        return len(self.xs) < self.count


def minmax_buckets(xs: Sequence[float], ys: Sequence[float], buckets: int, name: str = "") -> Series:
    """At most two points per bucket (its min and its max, in x order); every point when they fit."""
    count = len(ys)
    out = Series(name, count=count, last=ys[-1] if count else None)
    if not count:
        return out
    if math.isfinite(sum(ys)):  # no NaN or inf (the common case): min/max/index run at C speed
        out.low, out.high = min(ys), max(ys)
        if count <= 2 * buckets or buckets <= 0:
            out.xs, out.ys = [float(x) for x in xs], [float(y) for y in ys]
            return out
        values = list(ys)
        for start, end in _bounds(count, buckets):
            part = values[start:end]
            low_index = start + part.index(min(part))
            high_index = start + part.index(max(part))
            for index in sorted({low_index, high_index}):
                out.xs.append(float(xs[index]))
                out.ys.append(float(values[index]))
        return out
    finite = [index for index in range(count) if math.isfinite(ys[index])]
    if finite:
        out.low = min(ys[index] for index in finite)
        out.high = max(ys[index] for index in finite)
    if count <= 2 * buckets or buckets <= 0:
        out.xs = [float(xs[index]) for index in finite]
        out.ys = [float(ys[index]) for index in finite]
        return out
    for start, end in _bounds(count, buckets):
        _append_extremes(out, xs, ys, start, end)
    return out


def _bounds(count: int, buckets: int) -> list[tuple[int, int]]:
    size = count / buckets
    edges = [0] + [min(count, round((bucket + 1) * size)) for bucket in range(buckets)]
    return [(edges[i], edges[i + 1]) for i in range(buckets) if edges[i + 1] > edges[i]]


def _append_extremes(out: Series, xs: Sequence[float], ys: Sequence[float], start: int, end: int) -> None:
    low_index = high_index = -1
    low = high = 0.0
    for index in range(start, end):
        value = ys[index]
        if not math.isfinite(value):
            continue
        if low_index < 0 or value < low:
            low, low_index = value, index
        if high_index < 0 or value > high:
            high, high_index = value, index
    if low_index < 0:
        return
    for index in sorted({low_index, high_index}):
        out.xs.append(float(xs[index]))
        out.ys.append(float(ys[index]))


def smooth(values: Sequence[float], weight: float) -> list[float]:
    """Exponential moving average (TensorBoard's smoothing slider, debiased); weight 0 = unchanged."""
    if weight <= 0:
        return list(values)
    out: list[float] = []
    average = 0.0
    for count, value in enumerate(values, start=1):
        average = average * weight + (1 - weight) * value
        out.append(average / (1 - weight ** count))
    return out
