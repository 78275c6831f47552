"""A run's console output, colours intact, with a search and ``tail -f`` for a running run."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Input, RichLog, Static

from gitrun.model.run import Run
from gitrun.store.results import LogText
from gitrun.tui.text import log_line, shown

if TYPE_CHECKING:
    from gitrun.tui.base import AppBase

MAX_LINES = 5000  # what the view keeps; `git run show --log` prints everything


class LogView(Vertical):
    BINDINGS = [Binding("slash", "search", "search"), Binding("f", "follow", "follow"),
                Binding("escape", "clear_search", "clear search", show=False)]
    DEFAULT_CSS = """
    LogView { height: 1fr; }
    LogView Input { height: 1; border: none; padding: 0 1; display: none; }
    LogView .log-status { height: 1; color: $text-muted; }
    LogView RichLog { height: 1fr; }
    """

    def __init__(self, run: Run, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.run = run
        self.following = run.status == "running"
        self.pattern = ""
        self.shown_size = -1
        self.text = ""
        self.active = False

    @property
    def gapp(self) -> AppBase:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        yield Input(placeholder="search the log (enter keeps, esc clears)", classes="log-search")
        yield Static("", classes="log-status")
        yield RichLog(highlight=False, markup=False, wrap=False, max_lines=MAX_LINES, auto_scroll=True)

    def activate(self) -> None:
        """Its tab is shown: read the log now (not when the run screen opens)."""
        if not self.active:
            self.active = True
            self.load()

    def set_run(self, run: Run) -> None:
        self.run = run
        if self.following and self.active:
            self.load()

    @work(thread=True, exclusive=True, group="log")
    def load(self) -> None:
        log = self.gapp.source.results.log(self.run)
        self.app.call_from_thread(self.show, log)

    def show(self, log: LogText) -> None:
        if log.size == self.shown_size and log.text == self.text:
            return
        self.shown_size = log.size
        self.text = log.text
        self.redraw_lines()
        where = "live" + (" · following" if self.following else " · paused (f)") if log.live else "stored"
        cut = f" · last {len(log.text):,} of {log.size:,} bytes" if log.shown_from else ""
        search = f" · lines matching '{self.pattern}'" if self.pattern else ""
        self.query_one(".log-status", Static).update(shown(f"{where}{cut}{search}"))

    def redraw_lines(self) -> None:
        view = self.query_one(RichLog)
        view.clear()
        lines = self.text.splitlines()
        if self.pattern:
            lowered = self.pattern.lower()
            lines = [line for line in lines if lowered in line.lower()]
        for line in lines[-MAX_LINES:]:
            text = log_line(line)
            if self.pattern:
                text.highlight_words([self.pattern], style="reverse", case_sensitive=False)
            view.write(text)

    def action_search(self) -> None:
        field = self.query_one(Input)
        field.display = True
        field.focus()

    @on(Input.Changed)
    def searched(self, event: Input.Changed) -> None:
        self.pattern = event.value
        self.redraw_lines()

    @on(Input.Submitted)
    def search_done(self) -> None:
        self.query_one(RichLog).focus()

    def action_clear_search(self) -> None:
        field = self.query_one(Input)
        field.value = ""
        field.display = False
        self.pattern = ""
        self.redraw_lines()
        self.query_one(RichLog).focus()

    def action_follow(self) -> None:
        self.following = not self.following
        self.query_one(RichLog).auto_scroll = self.following
        if self.following:
            self.load()
