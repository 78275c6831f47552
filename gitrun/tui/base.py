"""What the screens and widgets need of the application: the run source, preferences and navigation.

The application (``gitrun.tui.app``) subclasses ``AppBase`` and imports every screen; the screens
and widgets import only this module, so the application and its screens never import each other.
"""

from __future__ import annotations

from textual.app import App
from textual.notifications import SeverityLevel

from gitrun.model.run import Run
from gitrun.model.terminal import printable
from gitrun.tui.prefs import Prefs, save_prefs
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

    def pinned_runs(self) -> list[Run]:
        """The pinned runs that are listed now, in the order they were pinned."""
        listed = {run.id: run for run in self.listed_runs() or []}
        return [listed[run_id] for run_id in self.prefs.pinned if run_id in listed]

    def toggle_pin(self, runs: list[Run]) -> None:
        """Pin the runs (or unpin them when all are pinned), remember it for this repository, redraw."""
        if not runs:
            return
        pinned = self.prefs.toggle_pins([run.id for run in runs])
        self.save_settings()
        names = ", ".join(run.name or run.id[:10] for run in runs[:3]) + (" …" if len(runs) > 3 else "")
        self.notify(f"{'pinned' if pinned else 'unpinned'} {names}")
        self.pins_changed()

    def pins_changed(self) -> None:
        """Redraw what shows pinned runs (the runs table)."""

    def save_settings(self) -> None:
        """Write the settings (``.git/gitrun/ui.json``); a read-only ``.git`` only costs a warning."""
        try:
            save_prefs(self.source.state_dir, self.prefs)
        except OSError as err:
            self.notify(f"settings not saved: {err}", severity="warning")
