"""Two or more runs side by side: what differs, overlaid charts (one colour per run), the code diff."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.console import Group
from rich.syntax import Syntax
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import DataTable, SelectionList, Static, TabbedContent, TabPane
from textual.widgets.selection_list import Selection

from gitrun.model.charts import PALETTE
from gitrun.model.run import Run
from gitrun.model.terminal import printable
from gitrun.tui.comparison import compare_runs, shared_metrics
from gitrun.tui.text import shown
from gitrun.tui.widgets.chart import CROSSHAIR_BINDINGS, Line, MetricChart, move_crosshair, point_crosshair, readout
from gitrun.tui.widgets.footer import KeyFooter

if TYPE_CHECKING:
    from gitrun.tui.base import AppBase

MAX_CHARTS = 4
TABS = ("differences", "charts", "code")


class CompareScreen(Screen[None]):
    BINDINGS = [
        Binding("escape", "app.pop_screen", "back"),
        Binding("a", "toggle_all", "all / differences"),
        Binding("l", "log_scale", "log y", show=False),
        *[Binding(str(index + 1), f"tab('{name}')", name, show=False) for index, name in enumerate(TABS)],
        *CROSSHAIR_BINDINGS,
    ]

    def __init__(self, runs: list[Run]) -> None:
        super().__init__()
        self.runs = runs
        self.show_all = False
        self.log_y = False
        self.cross: float | None = None  # the crosshair's step, the same on every chart
        self.cards: list[tuple[MetricChart, Static]] = []  # each chart and the readout under it

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "cross":  # the crosshair's keys belong to the charts tab
            return self.query_one(TabbedContent).active == "charts"
        return True

    @property
    def gapp(self) -> AppBase:
        return self.app  # type: ignore[return-value]

    def chart_runs(self) -> list[Run]:
        """The compared runs, then the pinned ones (overlaid on every chart, in their own colours)."""
        ids = {run.id for run in self.runs}
        return self.runs + [run for run in self.gapp.pinned_runs() if run.id not in ids]

    def legend(self) -> Text:
        legend = Text("compare: ")
        for index, run in enumerate(self.chart_runs()):
            pin = " ◆" if run.id in self.gapp.prefs.pinned else ""
            legend.append(f"■ {printable(run.name or run.id[:10])}{pin}  ", style=PALETTE[index % len(PALETTE)])
        return legend

    def compose(self) -> ComposeResult:
        yield Static(self.legend(), id="title")
        with TabbedContent(initial="differences", id="compare-tabs"):
            with TabPane("differences", id="differences"):
                yield DataTable(id="compare-table", cursor_type="row", zebra_stripes=True)
            with TabPane("charts", id="charts"), Horizontal():
                yield SelectionList[str](id="compare-metrics")
                yield VerticalScroll(id="compare-charts")
            with TabPane("code", id="code"), VerticalScroll():
                yield Static("loading…", id="compare-code")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.load_runs()

    @work(thread=True, exclusive=True, group="compare-runs")
    def load_runs(self) -> None:
        """The runs' whole notes (the table holds lighter copies): environment, data, summaries."""
        runs = [self.gapp.source.refresh(run) for run in self.runs]
        self.app.call_from_thread(self.show_runs, runs)

    def show_runs(self, runs: list[Run]) -> None:
        self.runs = runs
        self.query_one("#title", Static).update(self.legend())
        self.fill_table()
        names = shared_metrics(self.runs)
        picker = self.query_one("#compare-metrics", SelectionList)
        picker.add_options([Selection(shown(name), name, index < 2) for index, name in enumerate(names)])
        self.load_charts()
        self.load_code()

    def fill_table(self) -> None:
        table = self.query_one("#compare-table", DataTable)
        table.clear(columns=True)
        table.add_column("section", key="section")
        table.add_column("name", key="name")
        for index, run in enumerate(self.runs):
            table.add_column(shown(run.name or run.id[:10], style=PALETTE[index % len(PALETTE)]), key=run.id)
        rows = compare_runs(self.runs, self.gapp.source.direction, self.show_all)
        for row in rows:
            cells: list[Any] = []
            for index, value in enumerate(row.values):
                style = "bold green" if row.best == index else ("dim" if row.same else "")
                cells.append(shown(value + (" ★" if row.best == index else ""), style=style))
            arrow = {"lower": " ↓", "higher": " ↑"}.get(row.direction or "", "")
            table.add_row(shown(row.section), shown(row.key + arrow), *cells)
        if not rows:
            table.add_row("", "no differences" + ("" if self.show_all else " (a shows everything)"),
                          *[""] * len(self.runs))
        what = "everything" if self.show_all else "only what differs"
        self.query_one("#title", Static).tooltip = what

    def action_tab(self, name: str) -> None:
        self.query_one(TabbedContent).active = name

    def action_toggle_all(self) -> None:
        self.show_all = not self.show_all
        self.fill_table()
        self.notify("showing everything" if self.show_all else "showing only what differs")

    @on(SelectionList.SelectedChanged, "#compare-metrics")
    def picked(self) -> None:
        self.load_charts()

    @on(TabbedContent.TabActivated, "#compare-tabs")
    def tab_changed(self, event: TabbedContent.TabActivated) -> None:
        if event.pane.id == "charts":  # left and right move the crosshair (on the tab bar they change tabs)
            self.query_one("#compare-metrics", SelectionList).focus()

    @work(thread=True, exclusive=True, group="compare-charts")
    def load_charts(self) -> None:
        """One chart per picked metric, a line per run (pinned runs last: drawn on top)."""
        names = list(self.query_one("#compare-metrics", SelectionList).selected)[:MAX_CHARTS]
        results = self.gapp.source.results
        runs = self.chart_runs()
        charts = [(name, [Line(run.name or run.id[:10], results.series(run, name, buckets=120), index)
                          for index, run in enumerate(runs)]) for name in names]
        self.app.call_from_thread(self.show_charts, charts)

    def show_charts(self, charts: list[tuple[str, list[Line]]]) -> None:
        box = self.query_one("#compare-charts", VerticalScroll)
        box.remove_children()
        self.cards = []
        for name, lines in charts:
            chart = MetricChart(name, classes="compare-chart")
            chart.log_y = self.log_y
            chart.cross_x = self.cross
            label = Static("", classes="readout")
            box.mount(Vertical(chart, label, classes="compare-card"))
            chart.show(lines, name)
            self.cards.append((chart, label))
        self.update_readouts()

    def charts(self) -> list[MetricChart]:
        return [chart for chart, _ in self.cards]

    def update_readouts(self) -> None:
        """Under each chart, every run's value at the crosshair."""
        for chart, label in self.cards:
            label.update(readout(chart.readings(), self.cross) if self.cross is not None else Text(""))

    def action_cross(self, columns: int) -> None:
        self.cross = move_crosshair(self.charts(), self.cross, columns)
        self.update_readouts()

    @on(MetricChart.Pointed)
    def pointed(self, event: MetricChart.Pointed) -> None:
        self.cross = point_crosshair(self.charts(), event.chart, event.fraction)
        self.update_readouts()

    def action_log_scale(self) -> None:
        self.log_y = not self.log_y
        for chart in self.query(MetricChart):
            chart.log_y = self.log_y
            chart.redraw()

    @work(thread=True, group="compare-code")
    def load_code(self) -> None:
        diff = self.gapp.source.results.snapshot_diff(self.runs[0], self.runs[1])
        self.app.call_from_thread(self.show_code, diff)

    def show_code(self, diff: Any) -> None:
        a, b = self.runs[0], self.runs[1]
        widget = self.query_one("#compare-code", Static)
        if not diff.files:
            widget.update(shown(f"same code in {a.name} and {b.name}"))
            return
        head = Text(printable(f"code of {b.name} against {a.name}: {len(diff.files)} file(s)") + "\n" + "\n".join(
            f"{status} {printable(path)}  +{added} -{removed}" for status, path, added, removed in diff.files) + "\n")
        patch = printable(diff.patch, keep_newlines=True)
        widget.update(Group(head, Syntax(patch, "diff", theme=self.gapp.syntax_theme())))
