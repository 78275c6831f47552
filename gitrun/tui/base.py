"""What the screens and widgets need of the application: the run source, preferences and navigation.

The application (``gitrun.tui.app``) subclasses ``AppBase`` and imports every screen; the screens
and widgets import only this module, so the application and its screens never import each other.
"""

from __future__ import annotations

from textual.app import App
from textual.notifications import SeverityLevel

from gitrun.model.run import Run
from gitrun.model.terminal import printable
from gitrun.tui.prefs import Prefs
from gitrun.tui.source import RunSource

LIGHT, DARK = "textual-light", "textual-dark"


class AppBase(App[None]):
    source: RunSource
    prefs: Prefs

    def notify(self, message: str, *, title: str = "", severity: SeverityLevel = "information",
               timeout: float | None = None, markup: bool = True) -> None:
        """Every notification as plain text: messages name runs, tags and errors from a teammate's note."""
        super().notify(printable(message), title=printable(title), severity=severity, timeout=timeout, markup=False)

    def syntax_theme(self) -> str:
        return "ansi_light" if self.theme == LIGHT or "light" in self.theme else "ansi_dark"

    def open_run(self, run: Run) -> None:
        raise NotImplementedError

    def open_compare(self, runs: list[Run]) -> None:
        raise NotImplementedError

    def open_journal(self) -> None:
        raise NotImplementedError

    def listed_runs(self) -> list[Run] | None:
        """The runs the runs screen shows now (None before its first load)."""
        raise NotImplementedError
