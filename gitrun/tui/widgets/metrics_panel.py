"""Metric names to pick from, and a chart of the picked ones (a run's metrics or system tab)."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import SelectionList, Static
from textual.widgets.selection_list import Selection

from gitrun.model.downsample import Series
from gitrun.model.run import Run
from gitrun.model.series import SYSTEM_PREFIX
from gitrun.model.terminal import printable
from gitrun.tui.widgets.chart import CROSSHAIR_BINDINGS, Line, MetricChart, move_crosshair, point_crosshair, readout

if TYPE_CHECKING:
    from gitrun.tui.base import AppBase

SMOOTHING_STEPS = (0.0, 0.6, 0.8, 0.9, 0.95, 0.99)
INITIAL_CHOICES = 3
PAINT_WAIT_SECONDS = 1.0


class MetricsPanel(Horizontal):
    """``system``: the ``system/`` series instead of the run's own metrics."""

    BINDINGS = [
        Binding("l", "log_scale", "log y"),
        Binding("plus,equals_sign", "smoother", "smooth"),
        Binding("minus", "rougher", "less smooth", show=False),
        Binding("x", "x_axis", "step/time"),
        Binding("right_square_bracket", "zoom_in", "zoom", show=False),
        Binding("left_square_bracket", "zoom_out", "unzoom", show=False),
        *CROSSHAIR_BINDINGS,
    ]
    DEFAULT_CSS = """
    MetricsPanel { height: 1fr; }
    MetricsPanel SelectionList { width: 28; height: 1fr; }
    MetricsPanel .chart-box { width: 1fr; }
    MetricsPanel .readout { height: auto; max-height: 3; color: $text-muted; }
    """

    def __init__(self, run: Run, system: bool = False, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.run = run
        self.system = system
        self.names: list[str] = []
        self.smoothing_index = 0
        self.x_axis = "step"
        self.cross: float | None = None  # the crosshair's step (or time); None: hidden
        self.active = False

    @property
    def gapp(self) -> AppBase:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        yield SelectionList[str](classes="names")
        with Vertical(classes="chart-box"):
            yield MetricChart("", classes="chart")
            yield Static("", classes="readout")

    def activate(self) -> None:
        """Its tab is shown: read names and points now (not when the run screen opens). The focus goes
        to the metric names, so left and right move the crosshair (on the tab bar they change tabs)."""
        self.query_one(SelectionList).focus()
        if not self.active:
            self.active = True
            self.load_names()

    def set_run(self, run: Run) -> None:
        """A newer copy of the run (it is still going): reload names and points if shown."""
        self.run = run
        if self.active:
            self.load_names()

    def buckets(self) -> int:
        """Points kept per series: two per bucket (min and max), a bucket per terminal column, which is
        at least the chart's width; the terminal's, not the chart's: known before the chart is laid out,
        so the first series read with the names is the one each later draw finds cached."""
        return max(40, self.app.size.width or 100)

    @work(thread=True, exclusive=True, group="names")
    def load_names(self) -> None:
        """The series' names; the first time, the first series too, so the first chart is drawn from
        the first series read, in the same trip to the main thread."""
        results = self.gapp.source.results
        names = results.series_names(self.run)
        names = [name for name in names if name.startswith(SYSTEM_PREFIX) == self.system]
        first = None
        if names and not self.names:
            first = results.series(self.run, names[0], buckets=self.buckets(), x=self.x_axis)
        self.app.call_from_thread(self.show_names, names, first)

    def show_names(self, names: list[str], first: Series | None = None) -> None:
        picker = self.query_one(SelectionList)
        if names == self.names:
            self.load_points()
            return
        chosen = set(picker.selected) & set(names) or set(names[:INITIAL_CHOICES])
        self.names = names
        with picker.prevent(SelectionList.SelectedChanged):  # load_points below reads the choice
            picker.clear_options()
            picker.add_options([Selection(Text(self.label(name)), name, name in chosen) for name in names])
        if not names:
            self.query_one(MetricChart).show([], "no system samples" if self.system else "no metrics recorded")
        if first is not None and list(picker.selected)[:1] == [first.name]:
            self.draw([first], [])
            self.call_after_refresh(self.load_points, first.name)  # the others once it is painted
        else:
            self.load_points()

    def label(self, name: str) -> str:
        """A series' name as shown (in a Text, never markup): a teammate's metric name, escaped."""
        return printable(name[len(SYSTEM_PREFIX):] if self.system else name)

    @on(SelectionList.SelectedChanged)
    def picked(self) -> None:
        self.load_points()

    @work(thread=True, exclusive=True, group="points")
    def load_points(self, on_screen: str | None = None) -> None:
        """The chosen series, drawn together (each draw is a whole plotext render); on an empty chart
        the first is drawn alone as soon as it is read, and the others are read once it is painted
        (``on_screen``: that first series is drawn already). Then the same metrics of the pinned runs,
        overlaid on top."""
        chosen = list(self.query_one(SelectionList).selected)
        first_paint = not self.query_one(MetricChart).lines
        buckets = self.buckets()
        results = self.gapp.source.results
        series: list[Series] = []
        drawn = [on_screen] if on_screen else []
        for name in chosen:
            series.append(results.series(self.run, name, buckets=buckets, x=self.x_axis))
            if first_paint and not drawn:
                self.draw_and_wait(series[:1])
                drawn = [name]
        if [item.name for item in series] != drawn or (not chosen and self.names):
            self.app.call_from_thread(self.draw, list(series), [])  # none chosen: says how to pick
        pinned: list[tuple[Run, Series]] = []
        for run in self.pinned_others():
            for name in chosen:
                item = results.series(run, name, buckets=buckets, x=self.x_axis)
                if item.xs:
                    pinned.append((run, item))
        if pinned:
            self.app.call_from_thread(self.draw, series, pinned)

    def draw_and_wait(self, series: list[Series]) -> None:
        """(worker) Draw these series, and return once the screen shows them (or after a second): the
        reads that follow would otherwise slow the first paint down, taking turns with it for the GIL."""
        painted = threading.Event()

        def draw() -> None:
            self.draw(series, [])
            self.call_after_refresh(painted.set)

        self.app.call_from_thread(draw)
        painted.wait(PAINT_WAIT_SECONDS)

    def pinned_others(self) -> list[Run]:
        return [run for run in self.gapp.pinned_runs() if run.id != self.run.id]

    def draw(self, series: list[Series], pinned: list[tuple[Run, Series]]) -> None:
        chart = self.query_one(MetricChart)
        chart.x_label = self.x_axis if self.x_axis == "step" else "time (unix s)"
        chart.smoothing = SMOOTHING_STEPS[self.smoothing_index]
        lines = [Line(self.label(item.name), item, self.names.index(item.name) if item.name in self.names else 0)
                 for item in series]
        runs = list(dict.fromkeys(run.id for run, _ in pinned))
        # drawn last, so on top; one colour per pinned run, after the run's own metrics' colours
        lines += [Line(f"{self.label(item.name)} · {printable(run.name or run.id[:10])} ◆", item,
                       len(self.names) + runs.index(run.id)) for run, item in pinned]
        title = ", ".join(self.label(item.name) for item in series) or "pick metrics on the left (space)"
        chart.show(lines, title)
        self.update_readout()

    def update_readout(self) -> None:
        chart = self.query_one(MetricChart)
        parts = []
        if chart.log_y:
            parts.append("log y")
        if chart.smoothing:
            parts.append(f"smoothing {chart.smoothing}")
        if chart.x_range:
            parts.append(f"x {chart.x_range[0]:.6g}..{chart.x_range[1]:.6g}")
        points = [line.series for line in chart.lines]
        if any(item.downsampled for item in points):
            parts.append("min/max per column of " + ", ".join(f"{item.count:,}" for item in points) + " points")
        text = Text(" · ".join(parts))  # holds metric names: never markup
        if self.cross is not None:
            text = readout(chart.readings(), self.cross, chart.x_label.split()[0]) + (Text("  ·  ") + text
                                                                                      if parts else Text())
        self.query_one(".readout", Static).update(text)

    def action_log_scale(self) -> None:
        chart = self.query_one(MetricChart)
        chart.log_y = not chart.log_y
        chart.redraw()
        self.update_readout()

    def action_smoother(self) -> None:
        self.smoothing_index = min(self.smoothing_index + 1, len(SMOOTHING_STEPS) - 1)
        self._resmooth()

    def action_rougher(self) -> None:
        self.smoothing_index = max(self.smoothing_index - 1, 0)
        self._resmooth()

    def _resmooth(self) -> None:
        chart = self.query_one(MetricChart)
        chart.smoothing = SMOOTHING_STEPS[self.smoothing_index]
        chart.redraw()
        self.update_readout()

    def action_x_axis(self) -> None:
        self.x_axis = "time" if self.x_axis == "step" else "step"
        self.query_one(MetricChart).x_range = None
        self.action_hide_cross()  # its step means nothing on a time axis
        self.load_points()

    def action_zoom_in(self) -> None:
        self.query_one(MetricChart).zoom(0.5)
        self.update_readout()

    def action_zoom_out(self) -> None:
        self.query_one(MetricChart).zoom(2.0)
        self.update_readout()

    def action_cross(self, columns: int) -> None:
        """Move the crosshair ``columns`` chart columns (negative: left) to the nearest recorded step."""
        self.cross = move_crosshair([self.query_one(MetricChart)], self.cross, columns)
        self.update_readout()

    def action_hide_cross(self) -> None:
        self.cross = None
        self.query_one(MetricChart).set_cross(None)
        self.update_readout()

    @on(MetricChart.Pointed)
    def pointed(self, event: MetricChart.Pointed) -> None:
        self.cross = point_crosshair([event.chart], event.chart, event.fraction)
        self.update_readout()
