"""The Textual application: the runs screen first; run, compare and journal screens pushed on top."""

from __future__ import annotations

from collections.abc import Iterable

from textual.app import SystemCommand
from textual.binding import Binding
from textual.screen import Screen

from gitrun.model.run import Run
from gitrun.tui.base import DARK, LIGHT, AppBase
from gitrun.tui.prefs import Prefs, load_prefs
from gitrun.tui.screens.runs import RunsScreen
from gitrun.tui.source import RunSource


class GitRunApp(AppBase):
    TITLE = "gitrun"
    CSS_PATH = "app.tcss"
    BINDINGS = [
        Binding("q", "quit", "quit"),
        Binding("question_mark", "help", "help"),
        Binding("ctrl+t", "toggle_theme", "light/dark", show=False),
    ]

    def __init__(self, source: RunSource, prefs: Prefs | None = None) -> None:
        super().__init__()
        self.source = source
        self.prefs = prefs or load_prefs(source.state_dir)
        self.runs_screen = RunsScreen()

    def on_mount(self) -> None:
        self.theme = self.prefs.theme if self.prefs.theme in self.available_themes else DARK
        self.push_screen(self.runs_screen)

    # The other screens are imported when first opened: the charts (plotext), markdown and syntax
    # highlighting are not needed for the first screen, which must show within a second.

    def open_run(self, run: Run) -> None:
        from gitrun.tui.screens.run import RunScreen

        self.push_screen(RunScreen(run))

    def open_compare(self, runs: list[Run]) -> None:
        from gitrun.tui.screens.compare import CompareScreen

        self.push_screen(CompareScreen(runs))

    def open_journal(self) -> None:
        from gitrun.tui.screens.journal import JournalScreen

        self.push_screen(JournalScreen())

    def listed_runs(self) -> list[Run] | None:
        return self.runs_screen.data.runs if self.runs_screen.data else None

    def action_help(self) -> None:
        from gitrun.tui.screens.dialogs import HelpScreen

        self.push_screen(HelpScreen())

    def action_toggle_theme(self) -> None:
        self.theme = LIGHT if self.theme != LIGHT else DARK
        self.prefs.theme = self.theme
        self.save_settings()

    def pins_changed(self) -> None:
        if self.runs_screen.data is not None:
            self.runs_screen.render_table()

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        yield SystemCommand("Journal", "Open the project journal", self.open_journal)
        yield SystemCommand("Toggle light/dark", "Switch between the light and dark theme", self.action_toggle_theme)
        if isinstance(screen, RunsScreen):
            for name, action, help_text in (
                    ("Compare selected runs", screen.action_compare, "Side by side: what differs"),
                    ("Choose columns", screen.action_columns, "Parameter and metric columns"),
                    ("Group runs", screen.action_group, "By branch, tag, status or a parameter"),
                    ("All branches", screen.action_all_branches, "Show runs of every branch or only HEAD's"),
                    ("Tag runs", screen.action_tag, "Add tags to the selected runs"),
                    ("Delete runs", screen.action_delete, "Delete the selected runs (asks first)"),
                    ("Push runs", screen.action_push, "Push the selected runs to a remote"),
                    ("Pin runs", screen.action_pin, "Keep the runs on top of the table and on every chart"),
                    ("Mark baseline", screen.action_baseline, "Make this run its branch's baseline")):
                yield SystemCommand(name, help_text, action)


def run_app(source: RunSource, all_branches: bool | None = None) -> None:
    prefs = load_prefs(source.state_dir)
    if all_branches is not None:
        prefs.all_branches = all_branches
    GitRunApp(source, prefs).run()
