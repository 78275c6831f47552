"""A line chart of metric series (textual-plotext), one stable colour per run or series."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual import events
from textual.app import RenderResult
from textual.binding import Binding
from textual.message import Message
from textual_plotext import PlotextPlot

from gitrun.model.charts import PALETTE
from gitrun.model.downsample import Series, smooth
from gitrun.model.terminal import printable
from gitrun.tui import crosshair

CROSSHAIR_RGB = (150, 150, 150)  # grey: visible on the light and the dark theme, no run's colour
CROSSHAIR_BINDINGS = [
    Binding("left", "cross(-1)", "crosshair ←", show=False),
    Binding("right", "cross(1)", "crosshair →", show=False),
    Binding("shift+left", "cross(-10)", "crosshair ← 10", show=False),
    Binding("shift+right", "cross(10)", "crosshair → 10", show=False),
    Binding("comma", "cross(-1)", "crosshair ←", show=False),
    # shown under this key: a focused list's own (inactive) left/right hide the arrows' entry in the footer
    Binding("full_stop", "cross(1)", "crosshair", key_display="←→"),
]


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
    """Draws lines; ``log_y``, ``smoothing`` (0..0.99) and an x range apply to every line;
    ``cross_x`` marks the crosshair's step with a vertical line."""

    class Pointed(Message):
        """The mouse is over (or clicked) the plot area, at ``fraction`` (0..1) of the x range."""

        def __init__(self, chart: MetricChart, fraction: float) -> None:
            super().__init__()
            self.chart = chart
            self.fraction = fraction

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
        self.cross_x: float | None = None
        self._canvas: tuple[int, int] | None = None  # first and last column of the plot area, once drawn
        self._drawn = False  # nothing to plot before the first show() or redraw(): no plotext render

    def show(self, lines: list[Line], title: str | None = None) -> None:
        self.lines = lines
        if title is not None:
            self.title = title
        self.redraw()

    def redraw(self) -> None:
        self._drawn = True
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
        bounds = self.x_bounds()
        if drawn and bounds is not None and bounds[0] < bounds[1]:
            plt.xlim(*bounds)  # the crosshair's mouse mapping needs to know the range drawn
            if self.cross_x is not None and bounds[0] <= self.cross_x <= bounds[1]:
                plt.vline(self.cross_x, CROSSHAIR_RGB)
        if not drawn:
            plt.title(f"{printable(self.title)} (no points{' > 0 for a log scale' if self.log_y else ''})")
        self.refresh()

    def x_bounds(self) -> tuple[float, float] | None:
        """The x range drawn: the zoom, else every line's first to last step."""
        if self.x_range is not None:
            return self.x_range
        xs = [x for line in self.lines for x in line.series.xs[:1] + line.series.xs[-1:]]
        return (min(xs), max(xs)) if xs else None

    def steps(self) -> list[float]:
        """Where the crosshair can stop on this chart."""
        return crosshair.steps_of([line.series for line in self.lines])

    def plot_columns(self) -> int:
        """Columns of the plot area (what one crosshair step moves by)."""
        if self._canvas is not None:
            return max(1, self._canvas[1] - self._canvas[0] + 1)
        return max(1, (self.size.width or 100) - 10)

    def set_cross(self, x: float | None) -> None:
        if x != self.cross_x:
            self.cross_x = x
            self.redraw()

    def readings(self) -> list[crosshair.Reading]:
        """Each line's value at the crosshair (empty when it is hidden)."""
        if self.cross_x is None:
            return []
        return crosshair.readings([(line.label, line.series, line.colour) for line in self.lines], self.cross_x,
                                  self.plot_columns(), self.x_range)

    def render(self) -> RenderResult:
        if not self._drawn:  # its series are still being read
            return Text("")
        drawn = super().render()
        if isinstance(drawn, Text):
            self._canvas = _plot_area(drawn.plain)
        return drawn

    def on_mouse_move(self, event: events.MouseMove) -> None:
        self._point(event.x)

    def on_click(self, event: events.Click) -> None:
        self._point(event.x)

    def _point(self, column: int) -> None:
        if self._canvas is None or not self.lines:
            return
        first, last = self._canvas
        if first <= column <= last:
            self.post_message(self.Pointed(self, (column - first) / max(1, last - first)))

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


def _plot_area(plain: str) -> tuple[int, int] | None:
    """The columns inside plotext's frame (``┌`` ... ``┐``), read from the drawn text."""
    for row in plain.splitlines():
        left, right = row.find("┌"), row.rfind("┐")
        if 0 <= left < right - 1:
            return left + 1, right - 1
    return None


def move_crosshair(charts: list[MetricChart], current: float | None, columns: int) -> float | None:
    """Move the crosshair shared by these charts ``columns`` columns, mark it on each; its new step."""
    steps = sorted({x for chart in charts for x in chart.steps()})
    if not charts or not steps:
        return None
    first = charts[0]
    x = crosshair.move(steps, current, columns, first.plot_columns(), first.x_range)
    for chart in charts:
        chart.set_cross(x)
    return x


def point_crosshair(charts: list[MetricChart], pointed: MetricChart, fraction: float) -> float | None:
    """The crosshair where the mouse is on ``pointed``, marked on every chart."""
    steps = sorted({x for chart in charts for x in chart.steps()})
    x = crosshair.at_fraction(steps, fraction, pointed.x_bounds())
    for chart in charts:
        chart.set_cross(x)
    return x


def readout(readings: list[crosshair.Reading], x: float, axis: str = "step") -> Text:
    """``step 1200 │ ■ loss 0.41  ■ acc ~0.9``: each line's value at the crosshair, in its colour."""
    text = Text(f"{axis} {crosshair.short_number(x)} │")
    for reading in readings:
        text.append(" ■ ", style=PALETTE[reading.colour % len(PALETTE)])
        text.append(f"{printable(reading.label)} {reading.value}")  # a Text: a metric name is never markup
    return text
