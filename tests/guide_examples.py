"""The user guide's examples as data: which files a page writes and which commands it runs.

The convention (documented at the top of docs/guide/README.md):

* A fence with ``file=PATH`` in its info string (```` ```python file=train.py ````) writes its text
  to PATH (relative to the page's repository) when the page reaches it.
* A ```` ```console ```` fence holds commands: each line starting with ``$ `` is one command (a
  trailing ``\\`` continues it on the next line), run with bash in the page's repository; the lines
  after it, up to the next command, are output that must appear, in order, in what the command
  printed (stdout and stderr together). ``...`` in an output line stands for any text, and a line
  that is only ``...`` stands for any number of lines. A line ``[exit N]`` says the command exits
  with N (default 0).
* More words in the info string: ``slow`` (needs a heavy extra or takes long: run only by the slow
  test) and ``norun`` (shown, never run: installing packages, a real server).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

FENCE = re.compile(r"^(```+|~~~+)\s*([^\n`]*)$")


@dataclass
class Command:
    line: int  # 1-based line of the page where the command starts
    text: str
    expected: list[str] = field(default_factory=list)
    exit_code: int = 0


@dataclass
class Step:
    """A file written, or a console block's commands, in page order."""

    line: int
    slow: bool
    file: str | None = None
    content: str = ""
    commands: list[Command] = field(default_factory=list)


def parse_page(text: str) -> list[Step]:
    """Every runnable step of a markdown page, in order."""
    steps: list[Step] = []
    lines = text.splitlines()
    index = 0
    while index < len(lines):
        opened = FENCE.match(lines[index])
        if not opened:
            index += 1
            continue
        marker, info = opened.group(1), opened.group(2).split()
        start = index + 1
        end = start
        while end < len(lines) and not lines[end].startswith(marker[:3]):
            end += 1
        body = lines[start:end]
        index = end + 1
        words = set(info[1:]) if info else set()
        if "norun" in words:
            continue
        slow = "slow" in words
        target = next((word.removeprefix("file=") for word in info if word.startswith("file=")), None)
        if target:
            steps.append(Step(line=start, slow=slow, file=target, content="\n".join(body) + "\n"))
        elif info and info[0] == "console":
            steps.append(Step(line=start, slow=slow, commands=parse_console(body, start + 1)))
    return steps


def parse_console(body: list[str], first_line: int) -> list[Command]:
    commands: list[Command] = []
    continuing = False
    for offset, raw in enumerate(body):
        if continuing:
            commands[-1].text += "\n" + raw
            continuing = raw.endswith("\\")
        elif raw.startswith("$ "):
            commands.append(Command(line=first_line + offset, text=raw[2:]))
            continuing = raw.endswith("\\")
        elif commands:
            exit_mark = re.fullmatch(r"\[exit (\d+)\]", raw.strip())
            if exit_mark:
                commands[-1].exit_code = int(exit_mark.group(1))
            elif raw.strip():
                commands[-1].expected.append(raw.rstrip())
    return commands


def _line_pattern(expected: str) -> re.Pattern[str]:
    pieces = [re.escape(piece.strip()) for piece in expected.strip().split("...")]
    return re.compile(r".*".join(pieces))


def unmatched_output(expected: list[str], output: str) -> str | None:
    """The first expected line that does not appear (in order) in ``output``; None when all do.

    Each expected line must match one output line (whitespace runs compared loosely), later than
    the previous expected line's match, unless the expected lines are separated by a ``...`` line
    (any lines between) or not: gaps are always allowed, since pages show only what matters.
    """
    actual = [" ".join(line.split()) for line in output.splitlines()]
    position = 0
    for wanted in expected:
        if wanted.strip() == "...":
            continue
        pattern = _line_pattern(" ".join(wanted.split()))
        while position < len(actual) and not pattern.search(actual[position]):
            position += 1
        if position == len(actual):
            return wanted
        position += 1
    return None


def guide_pages(root: Path) -> list[Path]:
    return sorted((root / "docs" / "guide").glob("*.md"))
