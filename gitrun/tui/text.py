"""Text from a run, made safe for the screen: the UI's only way to show a string it did not write.

A pulled run's name, message, tags, parameters, metric names, branch, environment, file names, note,
log and command were written by someone else (docs/security.md). Two things must never happen to
them on the way to the screen: an escape sequence or control character reaching the terminal (a
clipboard write, a link, a cleared screen), and Rich/Textual markup being interpreted
(``[@click=app.quit]`` would be an action, ``[link=...]`` a link, an unbalanced ``[red`` a crash).
``shown`` gives a ``Text`` (never parsed as markup) of ``printable`` text (every control character
escaped); ``literal`` gives a markup string for the few widgets that only take markup (a ``Label``
prompt, ``Selection`` prompts built from strings).
"""

from __future__ import annotations

from rich.markup import escape
from rich.text import Text

from gitrun.model.terminal import printable, printable_log_text


def shown(value: object, style: str = "", keep_newlines: bool = False) -> Text:
    """``value`` as plain text with its control characters escaped; ``keep_newlines`` for blocks."""
    return Text(printable(str(value), keep_newlines=keep_newlines), style=style)


def literal(value: object) -> str:
    """``value`` escaped for a widget that parses markup: shown exactly as written, never as markup."""
    return escape(printable(str(value)))


def log_line(line: str) -> Text:
    """One line of a console log: its colours (SGR) kept, every other escape and control shown as text.

    ``Text.from_ansi`` alone would turn an OSC 8 sequence in a teammate's log into a live link. Like a
    terminal, a carriage return (a progress bar redrawn) shows what was written after it.
    """
    return Text.from_ansi(printable_log_text(line.rsplit("\r", 1)[-1]), end="")
