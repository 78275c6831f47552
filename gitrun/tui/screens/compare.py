"""Two or more runs side by side: what differs, overlaid charts (one colour per run), the code diff."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.console import Group
from rich.syntax import Syntax
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import DataTable, Footer, SelectionList, Static, TabbedContent, TabPane
from textual.widgets.selection_list import Selection

from gitrun.model.charts import PALETTE
from gitrun.model.run import Run
from gitrun.model.terminal import printable
from gitrun.tui.comparison import compare_runs, shared_metrics
from gitrun.tui.text import shown
from gitrun.tui.widgets.chart import Line, MetricChart

if TYPE_CHECKING:
    from gitrun.tui.base import AppBase

MAX_CHARTS = 4


class CompareScreen(Screen[None]):
    BINDINGS = [
        Binding("escape", "app.pop_screen", "back"),
        Binding("a", "toggle_all", "all / differences"),
        Binding("l", "log_scale", "log y", show=False),
    ]

    def __init__(self, runs: list[Run]) -> None:
        super().__init__()
        self.runs = runs
        self.show_all = False
        self.log_y = False

    @property
    def gapp(self) -> AppBase:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        legend = Text("compare: ")
        for index, run in enumerate(self.runs):
            legend.append(f"■ {printable(run.name or run.id[:10])}  ", style=PALETTE[index % len(PALETTE)])
        yield Static(legend, id="title")
        with TabbedContent(initial="differences", id="compare-tabs"):
            with TabPane("differences", id="differences"):
                yield DataTable(id="compare-table", cursor_type="row", zebra_stripes=True)
            with TabPane("charts", id="charts"), Horizontal():
                yield SelectionList[str](id="compare-metrics")
                yield VerticalScroll(id="compare-charts")
            with TabPane("code", id="code"), VerticalScroll():
                yield Static("loading…", id="compare-code")
        yield Footer()

    def on_mount(self) -> None:
        self.load_runs()

    @work(thread=True, exclusive=True, group="compare-runs")
    def load_runs(self) -> None:
        """The runs' whole notes (the table holds lighter copies): environment, data, summaries."""
        runs = [self.gapp.source.refresh(run) for run in self.runs]
        self.app.call_from_thread(self.show_runs, runs)

    def show_runs(self, runs: list[Run]) -> None:
        self.runs = runs
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

    def action_toggle_all(self) -> None:
        self.show_all = not self.show_all
        self.fill_table()
        self.notify("showing everything" if self.show_all else "showing only what differs")

    @on(SelectionList.SelectedChanged, "#compare-metrics")
    def picked(self) -> None:
        self.load_charts()

    @work(thread=True, exclusive=True, group="compare-charts")
    def load_charts(self) -> None:
        names = list(self.query_one("#compare-metrics", SelectionList).selected)[:MAX_CHARTS]
        results = self.gapp.source.results
        charts = [(name, [Line(run.name or run.id[:10], results.series(run, name, buckets=120), index)
                          for index, run in enumerate(self.runs)]) for name in names]
        self.app.call_from_thread(self.show_charts, charts)

    def show_charts(self, charts: list[tuple[str, list[Line]]]) -> None:
        box = self.query_one("#compare-charts", VerticalScroll)
        box.remove_children()
        for name, lines in charts:
            chart = MetricChart(name, classes="compare-chart")
            chart.log_y = self.log_y
            box.mount(chart)
            chart.show(lines, name)

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
