"""One run, in tabs: overview, parameters, metrics, system, data, environment, code, logs, outputs, note."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.console import Group
from rich.syntax import Syntax
from rich.table import Table
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widget import AwaitMount, Widget
from textual.widgets import DataTable, Markdown, Static, TabbedContent, TabPane

from gitrun.model.run import Run
from gitrun.model.terminal import printable
from gitrun.store.results import CodeDiff
from gitrun.tui import actions, details
from gitrun.tui.text import shown
from gitrun.tui.widgets.footer import KeyFooter
from gitrun.tui.widgets.log_view import LogView
from gitrun.tui.widgets.metrics_panel import MetricsPanel

if TYPE_CHECKING:
    from gitrun.tui.base import AppBase

TABS = ("overview", "params", "metrics", "system", "data", "env", "code", "logs", "outputs", "note")
LIVE_SECONDS = 1.0


def key_value_table(title: str, rows: list[tuple[str, str]]) -> Table:
    table = Table(title=title, title_justify="left", show_header=False, box=None, pad_edge=False, expand=False)
    table.add_column(style="bold", no_wrap=True)
    table.add_column(overflow="fold")
    for key, value in rows:
        style = "red" if value.startswith("✗") or value == "missed" else ""
        table.add_row(shown(key), shown(value, style=style))
    return table


class RunScreen(Screen[None]):
    BINDINGS = [
        Binding("escape", "app.pop_screen", "back"),
        *[Binding(str(index + 1) if index < 9 else "0", f"tab('{name}')", name, show=False)
          for index, name in enumerate(TABS)],
        Binding("slash", "search_log", "search log", show=False),
        Binding("t", "tag", "tag"),
        Binding("u", "untag", "untag", show=False),
        Binding("e", "edit_note", "edit note"),
        Binding("b", "baseline", "baseline", show=False),
        Binding("d", "delete", "delete", show=False),
        Binding("y", "copy_id", "copy id", show=False),
        Binding("Y", "copy_command", "copy command", show=False),
        Binding("P", "pin", "pin", show=False),
    ]

    def __init__(self, run: Run) -> None:
        super().__init__()
        self.run = run
        self.loaded: set[str] = set()
        self.code_diff: CodeDiff | None = None
        self.building: dict[str, AwaitMount] = {}  # tabs whose widgets are mounted or being mounted

    @property
    def gapp(self) -> AppBase:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        # Only the first tab's widgets are made now; each other tab's when it is first shown: laying out
        # and styling ten tabs' tables, charts and logs cost more than the chart the user came for.
        yield Static(self.title_text(), id="title")
        with TabbedContent(initial="overview", id="tabs"):
            for name in TABS:
                with TabPane(name, id=name):
                    if name == "overview":
                        yield from self.tab_content(name)
        yield KeyFooter()

    def tab_content(self, name: str) -> list[Widget]:
        """The widgets of one tab, filled by its ``fill_<name>`` once mounted."""
        match name:
            case "overview":
                return [VerticalScroll(Static(id="overview-text"))]
            case "params" | "data" | "outputs":
                return [DataTable(id=f"{name}-table", cursor_type="row")]
            case "metrics" | "system":
                return [MetricsPanel(self.run, system=name == "system", id=f"{name}-panel")]
            case "env":
                return [VerticalScroll(Static(id="env-text"))]
            case "code":
                return [VerticalScroll(Static("loading…", id="code-text"))]
            case "logs":
                return [LogView(self.run, id="log-view")]
            case "note":  # a teammate's link: shown, never opened
                return [VerticalScroll(Markdown(id="note-text", open_links=False))]
        return []

    async def build_tab(self, name: str) -> None:
        """Mount a tab's widgets the first time it is shown (and wait until they are mounted)."""
        mounting = self.building.get(name)
        if mounting is None:
            pane = self.query_one(f"#{name}", TabPane)
            if pane.children:  # composed with the screen (the first tab)
                return
            mounting = self.building[name] = pane.mount(*self.tab_content(name))
        await mounting

    def title_text(self) -> Text:
        run = self.run
        return shown(f"{run.name} · {run.id[:10]} · {run.status}" + (f" · {run.message}" if run.message else ""))

    async def on_mount(self) -> None:
        await self.show_tab("overview")
        self.follow()  # the whole note (the table may hold a lighter copy), then every few seconds if running
        if self.run.status == "running":
            self.set_interval(LIVE_SECONDS, self.follow)

    @on(TabbedContent.TabActivated)
    async def tab_changed(self, event: TabbedContent.TabActivated) -> None:
        pane = event.pane.id or ""
        await self.show_tab(pane)
        if pane in ("metrics", "system") and self.query_one(TabbedContent).active == pane:
            self.query_one(f"#{pane}-panel", MetricsPanel).activate()  # its keys (crosshair) take over

    def action_tab(self, name: str) -> None:
        self.query_one(TabbedContent).active = name

    async def show_tab(self, name: str) -> None:
        if name not in TABS:
            return
        await self.build_tab(name)
        if name in self.loaded:
            return
        self.loaded.add(name)
        fill = getattr(self, f"fill_{name}", None)
        if fill is not None:
            fill()

    # --- tab contents --------------------------------------------------------------------------------

    def fill_overview(self) -> None:
        tables = [key_value_table(title, rows) for title, rows in details.overview(self.run)]
        self.query_one("#overview-text", Static).update(Group(*[item for table in tables for item in (table, "")]))

    def fill_params(self) -> None:
        fill_table(self.query_one("#params-table", DataTable), ("parameter", "value", "source"),
                   details.params(self.run))

    def fill_data(self) -> None:
        fill_table(self.query_one("#data-table", DataTable),
                   ("dataset", "path", "hash", "size", "files", "location", "how"), details.data_rows(self.run))

    def fill_env(self) -> None:
        general, packages, variables = details.environment(self.run)
        packages_table = Table(title=f"packages ({len(packages)})", title_justify="left", box=None)
        for header in ("name", "version", "installer"):
            packages_table.add_column(header)
        for row in packages:
            packages_table.add_row(*map(shown, row))
        self.query_one("#env-text", Static).update(Group(
            key_value_table("environment", general), "", packages_table, "",
            key_value_table(f"variables ({len(variables)})", variables)))

    @work(thread=True, group="code")
    def fill_code(self) -> None:
        diff = self.gapp.source.results.code_diff(self.run)
        self.app.call_from_thread(self.show_code, diff)

    def show_code(self, diff: CodeDiff) -> None:
        self.code_diff = diff
        widget = self.query_one("#code-text", Static)
        if not diff.files:
            widget.update(f"no changes: the run's code is its base commit {diff.base[:12]} exactly")
            return
        summary = "\n".join(f"{status} {printable(path)}  +{added} -{removed}"
                            for status, path, added, removed in diff.files)
        head = shown(f"{len(diff.files)} file(s) changed against base commit {diff.base[:12] or '(none)'}:\n"
                     + summary + ("\n(patch cut: too large to show)" if diff.truncated else "") + "\n",
                     keep_newlines=True)
        syntax = Syntax(printable(diff.patch, keep_newlines=True), "diff", theme=self.gapp.syntax_theme(),
                        word_wrap=False, line_numbers=False)
        widget.update(Group(head, syntax))

    def fill_metrics(self) -> None:
        self.query_one("#metrics-panel", MetricsPanel).activate()

    def fill_system(self) -> None:
        self.query_one("#system-panel", MetricsPanel).activate()

    def fill_logs(self) -> None:
        self.query_one(LogView).activate()

    @work(thread=True, group="outputs")
    def fill_outputs(self) -> None:
        rows = details.outputs(self.gapp.source.results.outputs(self.run))
        self.app.call_from_thread(fill_table, self.query_one("#outputs-table", DataTable),
                                  ("path", "size", "hash", "stored"), rows)

    def fill_note(self) -> None:
        text = printable(str(self.run.doc.get("note", "")), keep_newlines=True) or \
            "*No note yet: press `e` to write one.*"
        self.query_one("#note-text", Markdown).update(text)

    # --- live --------------------------------------------------------------------------------------

    @work(thread=True, exclusive=True, group="follow")
    def follow(self) -> None:
        fresh = self.gapp.source.refresh(self.run)
        self.app.call_from_thread(self.replace_run, fresh)

    def replace_run(self, fresh: Run) -> None:
        self.run = fresh
        self.query_one("#title", Static).update(self.title_text())
        for panel in self.query(MetricsPanel):
            panel.set_run(fresh)
        for view in self.query(LogView):
            view.set_run(fresh)
        self.loaded = {name for name in self.loaded if name in ("metrics", "system", "logs", "code", "outputs")}
        self.call_later(self.show_tab, self.query_one(TabbedContent).active)

    # --- actions ---------------------------------------------------------------------------------------

    async def action_search_log(self) -> None:
        self.action_tab("logs")
        await self.build_tab("logs")
        self.query_one(LogView).action_search()

    def reload(self) -> None:
        self.loaded.clear()
        self.follow()

    def action_tag(self) -> None:
        actions.ask_tags(self.gapp, [self.run], remove=False, done=self.reload)

    def action_untag(self) -> None:
        actions.ask_tags(self.gapp, [self.run], remove=True, done=self.reload)

    def action_edit_note(self) -> None:
        actions.edit_note(self.gapp, self.run, done=self.reload)

    def action_baseline(self) -> None:
        def work_done() -> None:
            self.reload()

        runs = self.gapp.listed_runs() or [self.run]
        actions.mark_baseline(self.gapp, self.run, runs, done=work_done)

    def action_delete(self) -> None:
        actions.delete(self.gapp, [self.run], done=self.app.pop_screen)

    def action_pin(self) -> None:
        self.gapp.toggle_pin([self.run])

    def action_copy_id(self) -> None:
        actions.copy(self.gapp, self.run.id, "run id")

    def action_copy_command(self) -> None:
        actions.copy(self.gapp, actions.reproduce_command(self.run), "command")


def fill_table(table: DataTable[Any], headers: tuple[str, ...], rows: list[tuple[str, ...]]) -> None:
    table.clear(columns=True)
    table.add_columns(*headers)
    if not rows:
        table.add_row(*["(none)"] + [""] * (len(headers) - 1))
    for row in rows:
        table.add_row(*[shown(value) for value in row])  # never markup: values are untrusted
