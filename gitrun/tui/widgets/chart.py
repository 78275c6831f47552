"""A line chart of metric series (textual-plotext), one stable colour per run or series."""

from __future__ import annotations

import math
from dataclasses import dataclass

from textual_plotext import PlotextPlot

from gitrun.model.charts import PALETTE
from gitrun.model.downsample import Series, smooth
from gitrun.model.terminal import printable


def rgb(index: int) -> tuple[int, int, int]:
    """The palette colour for a run or series position: the same index, the same colour on every chart."""
    text = PALETTE[index % len(PALETTE)].lstrip("#")
    return int(text[0:2], 16), int(text[2:4], 16), int(text[4:6], 16)


@dataclass
class Line:
    label: str
    series: Series
    colour: int  # index into the palette


class MetricChart(PlotextPlot):
    """Draws lines; ``log_y``, ``smoothing`` (0..0.99) and an x range apply to every line."""

    DEFAULT_CSS = """
    MetricChart { height: 1fr; min-height: 8; }
    """

    def __init__(self, title: str = "", **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.title = title
        self.lines: list[Line] = []
        self.log_y = False
        self.smoothing = 0.0
        self.x_label = "step"
        self.x_range: tuple[float, float] | None = None

    def show(self, lines: list[Line], title: str | None = None) -> None:
        self.lines = lines
        if title is not None:
            self.title = title
        self.redraw()

    def redraw(self) -> None:
        plt = self.plt
        plt.clear_data()
        plt.clear_figure()
        plt.title(printable(self.title))  # plotext's output is read back as ANSI: no escape may pass
        plt.xlabel(self.x_label)
        drawn = 0
        for line in self.lines:
            xs, ys = self._visible(line.series)
            if self.log_y:
                kept = [(x, y) for x, y in zip(xs, ys, strict=True) if y > 0]
                xs, ys = [x for x, _ in kept], [y for _, y in kept]
            if not xs:
                continue
            if self.smoothing > 0:
                ys = smooth(ys, self.smoothing)
            plt.plot(xs, ys, label=printable(line.label), color=rgb(line.colour), marker="braille")
            drawn += 1
        if drawn and self.log_y:
            plt.yscale("log")
        if not drawn:
            plt.title(f"{printable(self.title)} (no points{' > 0 for a log scale' if self.log_y else ''})")
        self.refresh()

    def _visible(self, series: Series) -> tuple[list[float], list[float]]:
        if self.x_range is None:
            return series.xs, series.ys
        low, high = self.x_range
        pairs = [(x, y) for x, y in zip(series.xs, series.ys, strict=True) if low <= x <= high]
        return [x for x, _ in pairs], [y for _, y in pairs]

    def zoom(self, factor: float) -> None:
        """Narrow (factor < 1) or widen the x range around its right end (where training is)."""
        xs = [x for line in self.lines for x in line.series.xs]
        if not xs:
            return
        full_low, full_high = min(xs), max(xs)
        low, high = self.x_range or (full_low, full_high)
        span = (high - low) * factor
        if factor >= 1 and span >= full_high - full_low:
            self.x_range = None
        else:
            self.x_range = (max(full_low, high - max(span, 1e-9)), high)
        self.redraw()

    def value_at(self, fraction: float) -> list[str]:
        """Each line's value nearest to a point ``fraction`` (0..1) along the x range: the crosshair."""
        xs = [x for line in self.lines for x in line.series.xs]
        if not xs:
            return []
        low, high = self.x_range or (min(xs), max(xs))
        target = low + (high - low) * fraction
        out = []
        for line in self.lines:
            if not line.series.xs:
                continue
            index = min(range(len(line.series.xs)), key=lambda i: abs(line.series.xs[i] - target))
            value = line.series.ys[index]
            out.append(f"{line.label} {_short(value)} @ {_short(line.series.xs[index])}")
        return out


def _short(value: float) -> str:
    if not math.isfinite(value):
        return str(value)
    if value == int(value) and abs(value) < 1e12:
        return str(int(value))
    return f"{value:.4g}"
