"""The project journal (``refs/gitrun/journal``): read it, add an entry."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Markdown, Static

from gitrun.model.terminal import printable
from gitrun.tui import actions
from gitrun.tui.screens.dialogs import TextPrompt
from gitrun.tui.widgets.footer import KeyFooter

if TYPE_CHECKING:
    from gitrun.tui.base import AppBase


class JournalScreen(Screen[None]):
    BINDINGS = [Binding("escape", "app.pop_screen", "back"), Binding("a", "add", "add entry")]

    @property
    def gapp(self) -> AppBase:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        yield Static("journal · refs/gitrun/journal", id="title")
        with VerticalScroll():
            yield Markdown("loading…", id="journal-text", open_links=False)  # links from teammates
        yield KeyFooter()

    def on_mount(self) -> None:
        self.load()

    @work(thread=True, exclusive=True)
    def load(self) -> None:
        text = printable(self.gapp.source.journal(), keep_newlines=True) or \
            "*The journal is empty: press `a` to add an entry.*"
        self.app.call_from_thread(self.query_one("#journal-text", Markdown).update, text)

    def action_add(self) -> None:
        def answered(text: str | None) -> None:
            if text and text.strip():
                def work() -> str:
                    self.gapp.source.add_journal_entry(text.strip())
                    return "journal entry added"

                actions.in_background(self.gapp, work, self.load)

        self.app.push_screen(TextPrompt("New journal entry (run:<id> links a run):"), answered)
