"""The actions every screen offers (tag, note, baseline, delete, push, copy): a dialog, then a worker.

Writes run in a thread worker so the UI never waits on git; errors become a notification with the
same one-line message the command line prints.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable
from typing import TYPE_CHECKING

from gitrun.errors import GitrunError
from gitrun.model.run import Run
from gitrun.tui.screens.dialogs import ConfirmDialog, NoteEditor, TextPrompt

if TYPE_CHECKING:
    from gitrun.tui.base import AppBase

Done = Callable[[], object]


def in_background(app: AppBase, work: Callable[[], str], done: Done | None) -> None:
    """Run ``work`` in a thread; notify its message (or its error), then call ``done`` on the UI thread."""

    def job() -> None:
        try:
            message, severity = work(), "information"
        except GitrunError as err:
            message, severity = str(err) + (f" ({err.hint})" if getattr(err, "hint", None) else ""), "error"
        app.call_from_thread(finish, message, severity)

    def finish(message: str, severity: str) -> None:
        if message:
            app.notify(message, severity=severity)  # type: ignore[arg-type]  # plain text: GitRunApp.notify
        if done is not None:
            done()

    app.run_worker(job, thread=True, group="action")


def _names(runs: list[Run]) -> str:
    shown = ", ".join(run.name or run.id[:10] for run in runs[:3])
    return shown + (f" and {len(runs) - 3} more" if len(runs) > 3 else "")


def ask_tags(app: AppBase, runs: list[Run], remove: bool, done: Done | None = None) -> None:
    if not runs:
        return
    verb = "remove" if remove else "add"

    def answered(text: str | None) -> None:
        tags = (text or "").split()
        if not tags:
            return

        def work() -> str:
            for run in runs:
                app.source.tag(run, tags, remove=remove)
            return f"{'untagged' if remove else 'tagged'} {_names(runs)}: {' '.join(tags)}"

        in_background(app, work, done)

    app.push_screen(TextPrompt(f"Tags to {verb} on {_names(runs)} (space separated)",
                               placeholder="candidate imagenet:v3"), answered)


def edit_note(app: AppBase, run: Run, done: Done | None = None) -> None:
    def answered(text: str | None) -> None:
        if text is None:
            return
        def work() -> str:
            app.source.set_note(run, text)
            return f"note of {run.name} saved"

        in_background(app, work, done)

    app.push_screen(NoteEditor(f"Note of {run.name}", str(run.doc.get("note", ""))), answered)


def mark_baseline(app: AppBase, run: Run, runs: list[Run], done: Done | None = None) -> None:
    def work() -> str:
        branch = app.source.mark_baseline(run, runs)
        return f"{run.name} is now the baseline of {branch}"

    in_background(app, work, done)


def delete(app: AppBase, runs: list[Run], done: Done | None = None) -> None:
    if not runs:
        return

    def answered(yes: bool | None) -> None:
        if not yes:
            return

        def work() -> str:
            app.source.delete(runs)
            return f"deleted {_names(runs)}"

        in_background(app, work, done)

    app.push_screen(ConfirmDialog(f"Delete {len(runs)} run{'s' if len(runs) != 1 else ''}: {_names(runs)}?"),
                    answered)


def push(app: AppBase, runs: list[Run], done: Done | None = None) -> None:
    if not runs:
        return

    def answered(remote: str | None) -> None:
        if not remote or not remote.strip():
            return
        in_background(app, lambda: app.source.push([run.id for run in runs], remote.strip()), done)

    app.push_screen(TextPrompt(f"Push {_names(runs)} to remote:", value="origin"), answered)


def reproduce_command(run: Run) -> str:
    """What reruns this run's code and command: put its snapshot in the working tree, run it again."""
    cwd = str(run.doc.get("cwd", ".") or ".")
    command = shlex.join(run.command) if run.command else "…"
    prefix = f"cd {shlex.quote(cwd)} && " if cwd != "." else ""
    return f"git run apply {run.id[:10]} && {prefix}git run -m {shlex.quote('rerun of ' + run.id[:10])} -- {command}"


def copy(app: AppBase, text: str, what: str) -> None:
    app.copy_to_clipboard(text)
    app.notify(f"copied {what}: {text}")
