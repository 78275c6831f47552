"""The main screen: one row per run, newest first, live while runs are going."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Input, Static

from gitrun.errors import GitrunError
from gitrun.model.collector import collector_paused, keep_out_of_collections
from gitrun.model.run import Run
from gitrun.store.index import LITE
from gitrun.tui import actions
from gitrun.tui.columns import (
    GROUPINGS,
    STATUS_MARK,
    Column,
    best_of_sweep,
    column,
    counts,
    covers,
    default_columns,
    detail_needed,
    field_choices,
    filter_error,
    grouped,
    pinned_first,
    sort_runs,
)
from gitrun.tui.columns import cell as cell_text
from gitrun.tui.screens.dialogs import ColumnPicker
from gitrun.tui.source import RunList
from gitrun.tui.text import shown
from gitrun.tui.values import ValueCache, compile_filter
from gitrun.tui.widgets.footer import KeyFooter
from gitrun.tui.widgets.run_table import RunTable, TableColumn, TableRow

if TYPE_CHECKING:
    from gitrun.tui.base import AppBase

STATUS_STYLE = {"running": "bold cyan", "succeeded": "green", "failed": "red", "crashed": "bold red",
                "killed": "red", "interrupted": "yellow"}
SELECTED = "●"
PINNED = "◆"
POLL_SECONDS = 1.0


class RunsScreen(Screen[None]):
    """Filter, sort, group, select; ``enter`` opens a run, ``c`` compares the selected ones."""

    BINDINGS = [
        Binding("enter", "open", "open", show=False),
        Binding("space", "select", "select"),
        Binding("c", "compare", "compare"),
        Binding("slash", "focus_filter", "filter"),
        Binding("s", "sort", "sort"),
        Binding("S", "reverse", "reverse", show=False),
        Binding("g", "group", "group"),
        Binding("a", "all_branches", "all branches"),
        Binding("C", "columns", "columns"),
        Binding("P", "pin", "pin"),
        Binding("t", "tag", "tag"),
        Binding("u", "untag", "untag", show=False),
        Binding("n", "note", "note"),
        Binding("b", "baseline", "baseline", show=False),
        Binding("d", "delete", "delete"),
        Binding("p", "push", "push", show=False),
        Binding("j", "journal", "journal", show=False),
        Binding("y", "copy_id", "copy id", show=False),
        Binding("Y", "copy_command", "copy command", show=False),
        Binding("escape", "clear", "clear", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.data: RunList | None = None
        self.shown_runs: list[Run] = []
        self.selected: set[str] = set()
        self.sort_column: Column | None = None
        self.descending = False
        self.query_text = ""
        self.tokens: tuple[Any, ...] = ()
        self.live: tuple[Any, ...] = ()
        self.loading = False
        self.values = ValueCache()  # the runs' resolved fields, for this load

    @property
    def gapp(self) -> AppBase:
        return self.app  # type: ignore[return-value]

    def columns(self) -> list[Column]:
        extra = []
        for key in self.gapp.prefs.extra_columns:
            try:
                extra.append(column(key))
            except GitrunError:
                continue
        return default_columns() + extra

    def compose(self) -> ComposeResult:
        yield Static("gitrun", id="title")
        yield Input(placeholder="/ filter: status == failed and metrics.acc > 0.9", id="filter")
        yield Static("", id="filter-error")
        yield RunTable(id="runs")
        yield Static("loading runs…", id="counts")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.query_one("#filter-error").display = False
        self.setup_columns()
        self.query_one(RunTable).focus()
        self.load()
        self.set_interval(POLL_SECONDS, self.poll)

    def setup_columns(self) -> None:
        columns = [TableColumn("_sel", " ", 2)]  # pinned, selected
        columns += [TableColumn(col.key, col.header, col.width or 12) for col in self.columns()]
        self.query_one(RunTable).set_columns(columns)

    # --- loading and live updates -------------------------------------------------------------------

    def level(self) -> str:
        return detail_needed(self.query_text, self.columns(), self.gapp.prefs.grouping)

    def ensure_level(self) -> None:
        """Read fuller notes when a filter, column or grouping needs them (``env.*``, ``params.*``),
        and the sweeps when grouping by sweep."""
        if self.data is None:
            return
        if not covers(self.data.level, self.level()) or (self.wants_sweeps() and self.data.sweeps is None):
            self.load()

    def wants_sweeps(self) -> bool:
        return self.gapp.prefs.grouping == "sweep"

    def load(self) -> None:
        """Read the runs again (in a worker); one load at a time, the poll waits for it."""
        self.loading = True
        self.load_worker(self.level(), self.wants_sweeps())

    @work(thread=True, exclusive=True, group="load")
    def load_worker(self, level: str, sweeps: bool) -> None:
        with collector_paused():
            data = self.gapp.source.load(level, sweeps)
        live = self.gapp.source.live_token()
        self.app.call_from_thread(self.show_list, data, live)

    def show_list(self, data: RunList, live: tuple[Any, ...]) -> None:
        self.loading = False
        self.data = data
        self.values = ValueCache()
        keep_out_of_collections()  # thousands of runs, alive until the next load
        self.tokens = data.token
        self.live = live
        self.selected &= {run.id for run in data.runs}
        self.render_table()

    @work(thread=True, exclusive=True, group="poll")
    def poll(self) -> None:
        """Cheap checks each second: the notes ref (any run started, ended, edited) and the spools."""
        source = self.gapp.source
        if self.loading:
            return
        token = source.change_token()
        if token != self.tokens:
            self.app.call_from_thread(self.load)
            return
        live = source.live_token()
        if live != self.live and self.data is not None:
            # only the runs whose spool grew are read again (100 runs going at once stay cheap)
            changed = {entry[0] for entry in set(live) - set(self.live)}
            running = [run for run in self.data.runs if run.status == "running" and run.id in changed]
            for run in running:
                source.apply_live(run)
            self.app.call_from_thread(self.live_changed, live, running)

    def live_changed(self, live: tuple[Any, ...], running: list[Run]) -> None:
        self.live = live
        self.update_rows(running)

    # --- the table -------------------------------------------------------------------------------------

    def filtered(self) -> list[Run]:
        if self.data is None:
            return []
        now = self.gapp.source.now()
        runs = self.data.runs if self.gapp.prefs.all_branches else self.data.head_runs()
        try:
            matcher = compile_filter(self.query_text, now, self.values)
        except GitrunError:
            matcher = None
        if matcher is not None:
            try:
                runs = [run for run in runs if matcher(run)]
            except GitrunError as err:  # a ~ pattern that ran out of time on some run's value
                self.show_filter_error(str(err).splitlines()[0])
        if self.sort_column is not None:
            runs = sort_runs(runs, self.sort_column, self.descending, now, self.values)
        return pinned_first(runs, self.gapp.prefs.pinned)

    def render_table(self) -> None:
        """Filter, sort and group every run; rows make their cells only when drawn."""
        with collector_paused():
            self._render_table()

    def _render_table(self) -> None:
        table = self.query_one(RunTable)
        cursor_key = table.cursor_key
        self.shown_runs = self.filtered()
        now = self.gapp.source.now()
        cols = self.columns()
        rows: list[TableRow] = []
        grouping = self.gapp.prefs.grouping
        if grouping == "none":
            rows = [TableRow(run.id, self.cells_of(run, cols, now)) for run in self.shown_runs]
        else:
            for index, (name, members) in enumerate(grouped(self.shown_runs, grouping)):
                note = self.group_note(grouping, name, members)
                label = [shown(f"── {grouping}: {name or '-'} ({len(members)}){note}")]
                rows.append(TableRow(f"group:{index}", label.copy, group=True))
                rows += [TableRow(f"{run.id}:{index}", self.cells_of(run, cols, now)) for run in members]
        table.set_rows(rows, keep=cursor_key)
        self.update_counts()
        self.update_title()

    def group_note(self, grouping: str, name: str, members: list[Run]) -> str:
        """A sweep's group names its best run by the sweep's metric (as ``git run list --sweep`` does)."""
        if grouping != "sweep" or not name or self.data is None or not self.data.sweeps \
                or name not in self.data.sweeps:
            return ""
        metric = self.data.sweeps[name]
        found = best_of_sweep(members, metric)
        if found is None or metric is None:
            return ""
        run, value = found
        return f" · best ★ {run.name or run.id[:10]}: {metric.name} = {value:g}"

    def cells_of(self, run: Run, cols: list[Column], now: datetime) -> Any:
        return lambda: self.row_cells(run, cols, now)

    def row_cells(self, run: Run, cols: list[Column], now: datetime) -> list[Text]:
        marks = (PINNED if run.id in self.gapp.prefs.pinned else " ") + (SELECTED if run.id in self.selected else " ")
        cells = [Text(marks, style="bold")]
        for col in cols:
            text = cell_text(run, col, now, self.data.short.get(run.id, "") if self.data else "")
            style = STATUS_STYLE.get(run.status, "") if col.key == "status" else \
                "red" if col.key == "expect" and text == "missed" else ""
            cell = shown(text, style=style)  # Text, not str: a run's name is never markup
            cell.no_wrap = True
            cells.append(cell)
        return cells

    def update_rows(self, runs: list[Run]) -> None:
        """Redraw these runs' rows (live metrics, status) without rebuilding the table."""
        keys = [key for run in runs for key in self.row_keys(run.id)]
        self.query_one(RunTable).refresh_rows(keys)

    def row_keys(self, run_id: str) -> list[str]:
        table = self.query_one(RunTable)
        if table.index_of(run_id) is not None:
            return [run_id]
        return [row.key for row in table.rows if row.key.startswith(run_id + ":")]

    def current_run(self) -> Run | None:
        key = self.query_one(RunTable).cursor_key
        if key is None or key.startswith("group:"):
            return None
        run_id = key.split(":", 1)[0]
        return next((run for run in self.shown_runs if run.id == run_id), None)

    def targets(self) -> list[Run]:
        """The selected runs, else the one under the cursor."""
        if self.selected and self.data is not None:
            return [run for run in self.data.runs if run.id in self.selected]
        run = self.current_run()
        return [run] if run is not None else []

    def update_counts(self) -> None:
        if self.data is None:
            return
        total = len(self.data.runs)
        on_head = len(self.data.head_runs())
        scope = "all branches" if self.gapp.prefs.all_branches else f"on HEAD ({total - on_head} hidden: a)"
        by_status = " ".join(f"{STATUS_MARK.get(name, '?')}{count} {name}"
                             for name, count in sorted(counts(self.shown_runs).items()))
        sort = f"  sort {self.sort_column.key}{' ↓' if self.descending else ' ↑'}" if self.sort_column else ""
        group = f"  group {self.gapp.prefs.grouping}" if self.gapp.prefs.grouping != "none" else ""
        picked = f"  {len(self.selected)} selected" if self.selected else ""
        pinned = set(self.gapp.prefs.pinned)
        pins = sum(1 for run in self.data.runs if run.id in pinned) if pinned else 0
        picked += f"  {pins} pinned" if pins else ""
        self.query_one("#counts", Static).update(shown(
            f"{len(self.shown_runs)} of {total} runs · {scope} · {by_status}{sort}{group}{picked}"))

    def update_title(self) -> None:
        branch = self.data.branch if self.data else ""
        self.query_one("#title", Static).update(
            shown(f"gitrun · {self.gapp.source.root.name}" + (f" · {branch}" if branch else "")))

    # --- filter -------------------------------------------------------------------------------------

    @on(Input.Changed, "#filter")
    def filter_changed(self, event: Input.Changed) -> None:
        labels = self.query("#filter-error")
        if not labels:
            return  # the input's first Changed, before the screen is composed
        error = filter_error(event.value)
        self.show_filter_error(error)
        if error is not None:
            return
        self.query_text = event.value
        self.ensure_level()
        self.render_table()

    def show_filter_error(self, error: str | None) -> None:
        label = self.query_one("#filter-error", Static)
        label.display = error is not None
        if error is not None:
            label.update(shown(error, style="red"))

    @on(Input.Submitted, "#filter")
    def filter_done(self) -> None:
        self.focus_table()

    def focus_table(self) -> None:
        # Screen.set_focus, not Widget.focus(), which repaints every row of the table first
        self.set_focus(self.query_one(RunTable))

    def action_focus_filter(self) -> None:
        # at once, not deferred like Widget.focus(): keys typed right after "/" belong to the filter
        self.set_focus(self.query_one("#filter", Input))

    def action_clear(self) -> None:
        if self.focused is self.query_one("#filter", Input):
            self.focus_table()
        elif self.selected:
            self.selected.clear()
            self.render_table()

    # --- sorting, grouping, columns ----------------------------------------------------------------

    def action_sort(self) -> None:
        cols = self.columns()
        keys = [col.key for col in cols]
        index = keys.index(self.sort_column.key) + 1 if self.sort_column else 0
        self.sort_column = cols[index] if index < len(cols) else None
        self.descending = False
        self.render_table()

    def action_reverse(self) -> None:
        self.descending = not self.descending
        self.render_table()

    @on(RunTable.HeaderClicked)
    def header_clicked(self, event: RunTable.HeaderClicked) -> None:
        key = event.key
        col = next((c for c in self.columns() if c.key == key), None)
        if col is None:
            return
        if self.sort_column is not None and self.sort_column.key == key:
            self.descending = not self.descending
        else:
            self.sort_column, self.descending = col, False
        self.render_table()

    def action_group(self) -> None:
        options = [*GROUPINGS, *[key for key in self.gapp.prefs.extra_columns if key.startswith("params.")]]
        current = self.gapp.prefs.grouping
        self.gapp.prefs.grouping = options[(options.index(current) + 1) % len(options)] if current in options \
            else "none"
        self.save_prefs()
        self.ensure_level()
        self.render_table()

    def action_all_branches(self) -> None:
        self.gapp.prefs.all_branches = not self.gapp.prefs.all_branches
        self.save_prefs()
        self.render_table()

    @work(thread=True, exclusive=True, group="columns")
    def action_columns(self) -> None:
        choices = field_choices(self.gapp.source.store.list_runs(LITE))
        self.app.call_from_thread(self.pick_columns, choices)

    def pick_columns(self, choices: list[str]) -> None:
        def chosen(result: list[str] | None) -> None:
            if result is None:
                return
            self.gapp.prefs.extra_columns = result
            self.save_prefs()
            self.setup_columns()
            self.ensure_level()
            self.render_table()

        self.app.push_screen(ColumnPicker(choices, self.gapp.prefs.extra_columns), chosen)

    def save_prefs(self) -> None:
        self.gapp.save_settings()

    # --- selection and navigation -----------------------------------------------------------------

    def action_select(self) -> None:
        run = self.current_run()
        if run is None:
            return
        self.selected ^= {run.id}
        table = self.query_one(RunTable)
        table.refresh_rows(self.row_keys(run.id))
        table.move_cursor(table.cursor + 1)
        self.update_counts()

    def action_open(self) -> None:
        run = self.current_run()
        if run is not None:
            self.gapp.open_run(run)

    @on(RunTable.Chosen)
    def row_chosen(self) -> None:
        self.action_open()

    def action_compare(self) -> None:
        runs = self.targets()
        if len(runs) < 2:
            self.notify("select two or more runs with space, then press c", severity="warning")
            return
        self.gapp.open_compare(runs)

    # --- actions ---------------------------------------------------------------------------------------

    def action_pin(self) -> None:
        self.gapp.toggle_pin(self.targets())

    def action_tag(self) -> None:
        actions.ask_tags(self.gapp, self.targets(), remove=False, done=self.load)

    def action_untag(self) -> None:
        actions.ask_tags(self.gapp, self.targets(), remove=True, done=self.load)

    def action_note(self) -> None:
        run = self.current_run()
        if run is not None:
            actions.edit_note(self.gapp, run, done=self.load)

    def action_baseline(self) -> None:
        run = self.current_run()
        if run is not None and self.data is not None:
            actions.mark_baseline(self.gapp, run, self.data.runs, done=self.load)

    def action_delete(self) -> None:
        def deleted() -> None:
            self.selected.clear()
            self.load()

        actions.delete(self.gapp, self.targets(), done=deleted)

    def action_push(self) -> None:
        actions.push(self.gapp, self.targets(), done=self.load)

    def action_journal(self) -> None:
        self.gapp.open_journal()

    def action_copy_id(self) -> None:
        run = self.current_run()
        if run is not None:
            actions.copy(self.gapp, run.id, "run id")

    def action_copy_command(self) -> None:
        run = self.current_run()
        if run is not None:
            actions.copy(self.gapp, actions.reproduce_command(run), "command")
