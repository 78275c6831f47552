"""Colour and the pager, decided once per command the way git decides them.

Colour (``--color``): ``always``/``never`` on the command line win; then ``NO_COLOR`` (set and not
empty: no colour, https://no-color.org); then ``gitrun.color`` (git config or the project's files,
``gitrun.store.config``); then git's own ``color.ui``; else ``auto``: colour when stdout is a terminal
(also when it goes through the pager to one) and ``TERM`` is not ``dumb``.

Pager: output of the reading commands goes through the user's pager when stdout is a terminal,
unless ``--no-pager`` (or ``GIT_PAGER``/``PAGER`` set to ``cat`` or empty). The pager is git's
choice: ``GIT_PAGER``, then ``gitrun.pager``, then ``core.pager``, then ``PAGER``, then ``less``;
``LESS`` defaults to ``FRX`` (quit when it fits on one screen, keep colours, leave the screen as it
is) and ``LV`` to ``-c``, as git sets them.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from gitrun.commands.output import PrintableStream
from gitrun.store.config import COLOR_CHOICES, Settings
from gitrun.store.opening import shared_opening, user_git_config

GREEN, RED, YELLOW, CYAN, BOLD, RESET = "\x1b[32m", "\x1b[31m", "\x1b[33m", "\x1b[36m", "\x1b[1m", "\x1b[0m"
STATUS_COLOURS = {"succeeded": GREEN, "failed": RED, "crashed": RED, "killed": RED, "interrupted": YELLOW,
                  "running": CYAN, "unknown": YELLOW, "broken": RED}


@dataclass
class OutputState:
    colour: bool = False
    terminal: bool = False  # stdout ends at a terminal (perhaps through the pager)


STATE = OutputState()


def paint(text: str, colour: str) -> str:
    """``text`` in ``colour`` when colour is on for this command, else ``text`` unchanged."""
    return f"{colour}{text}{RESET}" if STATE.colour and colour and text else text


def status_colour(status: str) -> str:
    return STATUS_COLOURS.get(status.strip(), "")


GitConfig = Callable[[str], str | None]  # a git config value by name, None when unset


def decide_colour(option: str | None, settings: Settings, git_config: GitConfig, on_terminal: bool) -> bool:
    choice = option
    if choice is None and os.environ.get("NO_COLOR"):
        return False
    if choice is None and settings.origin("color") != "default":
        choice = settings.color()
    if choice is None:
        ui = (git_config("color.ui") or "auto").lower()
        choice = {"true": "auto", "false": "never"}.get(ui, ui)
    if choice not in COLOR_CHOICES:
        choice = "auto"
    if choice == "auto":
        return on_terminal and os.environ.get("TERM", "") != "dumb"
    return choice == "always"


def pager_command(settings: Settings, git_config: GitConfig) -> str:
    for candidate in (os.environ.get("GIT_PAGER"), settings.pager() or None, git_config("core.pager"),
                      os.environ.get("PAGER")):
        if candidate is not None:
            return candidate.strip()
    return "less"


@contextmanager
def output_session(color: str | None = None, paginate: bool | None = None) -> Iterator[None]:
    """Colour and (when ``paginate`` is not False and stdout is a terminal) the pager for one command.

    The repository is opened (and its settings read) once: the command's ``open_context`` reuses it.
    """
    with shared_opening() as opened:
        # Outside a repository (completion, --help): the defaults and the user's own git config.
        settings = opened.settings if opened is not None else Settings()
        git_config = opened.git_config if opened is not None else user_git_config
        on_terminal = sys.stdout.isatty()
        STATE.colour = decide_colour(color, settings, git_config, on_terminal)
        STATE.terminal = on_terminal
        pager = pager_command(settings, git_config) if paginate is not False and on_terminal else ""
        try:
            if not pager or pager == "cat":
                _keep_colours(sys.stdout)
                yield
            else:
                yield from _paged(pager)
        finally:
            STATE.colour = STATE.terminal = False
            _keep_colours(sys.stdout)


def to_terminal() -> bool:
    """Whether stdout ends at a terminal (directly, or through the pager)."""
    return STATE.terminal or sys.stdout.isatty()


def _paged(pager: str) -> Iterator[None]:
    env = dict(os.environ)
    env.setdefault("LESS", "FRX")
    env.setdefault("LV", "-c")
    sys.stdout.flush()
    process = subprocess.Popen(pager, shell=True, stdin=subprocess.PIPE, env=env)
    assert process.stdin is not None
    original = sys.stdout
    sys.stdout = PrintableStream(io.TextIOWrapper(process.stdin, encoding="utf-8", errors="surrogateescape"))
    _keep_colours(sys.stdout)
    try:
        yield
    finally:
        try:
            sys.stdout.flush()
            process.stdin.close()
        except (BrokenPipeError, OSError, ValueError):
            pass  # the user left the pager before the end
        sys.stdout = original
        process.wait()


def _keep_colours(stream: object) -> None:
    if isinstance(stream, PrintableStream):
        stream.keep_colours = STATE.colour


def colour_status_column(text: str, headers: list[str]) -> str:
    """A rendered table (``output.table``) with its ``status`` column coloured, when colour is on.

    Colour is added after the table is laid out, in the column the dashes under the header mark, so
    widths are measured on plain text.
    """
    if not STATE.colour or "status" not in headers:
        return text
    lines = text.split("\n")
    if len(lines) < 3:
        return text
    spans = []
    position = 0
    for dashes in lines[1].split("  "):
        if dashes:
            spans.append((position, position + len(dashes)))
        position += len(dashes) + 2
    column = headers.index("status")
    if column >= len(spans):
        return text
    start, end = spans[column]
    for index in range(2, len(lines)):
        line = lines[index]
        value = line[start:end].rstrip()
        colour = status_colour(value)
        if colour:
            lines[index] = line[:start] + paint(value, colour) + line[start + len(value):]
    return "\n".join(lines)
