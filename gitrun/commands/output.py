"""Shared output helpers for commands: JSON, tables, short ids, terminal-safe text, fitting the width.

Every string from a note or a tree may come from a teammate's pushed run: table cells and the
lines of ``show``/``diff`` go through ``gitrun.model.terminal.printable`` one line at a time (a
newline in a file name shows as ``\\n``), and ``install_printable_streams`` makes the same function
the last step of everything written to stdout and stderr by a command (escape sequences never
reach the terminal, whichever print site forgot).
"""

from __future__ import annotations

import io
import json
import os
import sys
import textwrap
from collections.abc import Iterable, Sequence
from itertools import chain
from typing import TYPE_CHECKING, Any, TextIO

from gitrun.model.terminal import printable

if TYPE_CHECKING:  # not at run time: the warm `git run list` (cli/fastlist.py) never builds a Run
    from gitrun.model.run import Run


def print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, indent=2, ensure_ascii=False, default=str) + "\n")


def write_json_array(items: Iterable[Any]) -> None:
    """What ``print_json(list(items))`` prints, written one item at a time (memory stays flat)."""
    out = sys.stdout
    first = True
    for item in items:
        text = json.dumps(item, indent=2, ensure_ascii=False, default=str)
        out.write(("[\n  " if first else ",\n  ") + text.replace("\n", "\n  "))
        first = False
    out.write("[]\n" if first else "\n]\n")


def short_ids(runs: Iterable[Run], minimum: int = 8) -> dict[str, str]:
    """The shortest prefix of each id (at least ``minimum`` chars) that no other run shares."""
    return short_ids_of([run.id for run in runs], minimum)


def short_ids_of(run_ids: Iterable[str], minimum: int = 8) -> dict[str, str]:
    ids = sorted(run_ids)
    # How many leading characters each id shares with the next one (only counted past ``minimum``).
    shared = [_shared_prefix(ids[i], ids[i + 1], minimum) for i in range(len(ids) - 1)]
    result: dict[str, str] = {}
    for index, run_id in enumerate(ids):
        before = shared[index - 1] if index else 0
        after = shared[index] if index < len(shared) else 0
        result[run_id] = run_id[: max(minimum, before + 1, after + 1)]
    return result


def _shared_prefix(a: str, b: str, minimum: int) -> int:
    if a[:minimum] != b[:minimum]:
        return 0  # fewer than ``minimum`` shared: the minimum length tells them apart
    common = minimum
    while common < len(a) and common < len(b) and a[common] == b[common]:
        common += 1
    return common


MIN_WIDTH = 40  # below this, fitting does more harm than good
MIN_COLUMN = 6


def output_width(stream: Any = None) -> int | None:
    """Columns to fit output into: ``$COLUMNS`` when set, the terminal's width when ``stream``
    (stdout by default) is one, else None: piped output is not cut, like git's."""
    columns = os.environ.get("COLUMNS", "")
    if columns.isdigit() and int(columns) > 0:
        return max(int(columns), MIN_WIDTH)
    stream = sys.stdout if stream is None else stream
    try:
        if not stream.isatty():
            return None
    except (AttributeError, ValueError):
        return None
    import shutil  # only for a terminal: piped output (and the warm listing's) never needs it

    return max(shutil.get_terminal_size().columns, MIN_WIDTH)


def table(rows: Sequence[Sequence[Any]], headers: Sequence[str], width: int | None = None) -> str:
    """A plain table; with ``width``, the widest columns' cells are cut (ending in …) until it fits."""
    text = _render_table(rows, headers)
    if width is None:
        return text
    cells = [["" if cell is None else str(cell) for cell in row] for row in rows]
    while max((len(line) for line in text.splitlines()), default=0) > width:
        widths = [max([len(str(header)), *(len(row[index]) for row in cells if index < len(row))])
                  for index, header in enumerate(headers)]
        widest = max(range(len(widths)), key=lambda index: widths[index])
        excess = max((len(line) for line in text.splitlines()), default=0) - width
        target = max(widths[widest] - excess, MIN_COLUMN, len(str(headers[widest])))
        if target >= widths[widest]:
            break  # nothing more to cut
        for row in cells:
            if widest < len(row):
                row[widest] = truncate(row[widest], target)
        text = _render_table(cells, headers)
    return text


def _render_table(rows: Sequence[Sequence[Any]], headers: Sequence[str]) -> str:
    """tabulate's ``simple`` format; single-line text cells (every listing) skip tabulate (10x faster)."""
    plain = _plain_table(rows, headers)
    if plain is not None:
        return plain
    from tabulate import tabulate

    return tabulate([[printable(str(cell)) for cell in row] for row in rows],
                    headers=[printable(str(header)) for header in headers], tablefmt="simple", disable_numparse=True)


def wrap(text: str, width: int | None, indent: str = "", first_indent: str | None = None) -> list[str]:
    """``text`` as lines of at most ``width`` columns (one line when ``width`` is None)."""
    first = indent if first_indent is None else first_indent
    if width is None:
        return [first + " ".join(text.split())]
    return textwrap.wrap(" ".join(text.split()), width=width, initial_indent=first, subsequent_indent=indent,
                         break_long_words=True, break_on_hyphens=False) or [first]


def fit(line: str, width: int | None) -> str:
    """One line cut to ``width`` columns (ending in …); unchanged when ``width`` is None."""
    return line if width is None or len(line) <= width else line[: width - 1] + "…"


def _plain_table(rows: Sequence[Sequence[Any]], headers: Sequence[str]) -> str | None:
    """What tabulate prints (numbers not parsed) for text and integer cells: stripped, left-aligned,
    every column at least its header + 2 wide.

    Written for 10,000 rows: cells are stripped, measured and padded by C code (``map``, ``zip``,
    ``str.format``), not one Python call per cell.
    """
    cells: list[list[str]] = []
    for row in rows:
        if len(row) != len(headers):
            return None
        try:
            cells.append(list(map(str.strip, row)))  # every cell text: the common case
        except TypeError:
            mixed = _mixed_cells(row)
            if mixed is None:
                return None
            cells.append(mixed)
    every = "".join(chain.from_iterable(cells))
    if "\n" in every or "\x1b" in every or "\t" in every:
        return None
    widths = [len(header) + 2 for header in headers]
    if cells:
        columns = zip(*cells, strict=True)
        widths = [max(width, max(map(len, column))) for width, column in zip(widths, columns, strict=True)]
    row_format = "  ".join(f"{{:<{width}}}" for width in widths)  # "{:<8}".format(text) == text.ljust(8)
    lines = [row_format.format(*headers).rstrip(), "  ".join("-" * width for width in widths)]
    lines += [row_format.format(*row).rstrip() for row in cells]
    return "\n".join(lines)


def _mixed_cells(row: Sequence[Any]) -> list[str] | None:
    """A row's cells when not all are text: None is empty, an int is its digits, anything else: tabulate."""
    out = []
    for cell in row:
        if isinstance(cell, str):
            out.append(cell.strip())
        elif cell is None:
            out.append("")
        elif type(cell) is int:
            out.append(str(cell))
        else:
            return None
    return out


def name_with_baseline(name: str, marks: Sequence[str], branch: str) -> str:
    """A run's name as tables show it: marked when it is a baseline (of which branches, unless only
    the current one)."""
    if not marks:
        return name
    return f"{name} (baseline{'' if list(marks) == [branch] else ' of ' + ','.join(marks)})"


def truncate(text: str, width: int) -> str:
    """One line of at most ``width`` characters: runs of white space (newlines too) become one space."""
    text = printable(" ".join(text.split()))
    return text if len(text) <= width else text[: width - 1] + "…"


def join_lines(lines: Iterable[str]) -> str:
    """``lines`` as one text, each kept on one line (blank lines a line starts with are kept)."""
    return "\n".join(_one_line(line) for line in lines)


def _one_line(line: str) -> str:
    body = line.lstrip("\n")
    return "\n" * (len(line) - len(body)) + printable(body)


class PrintableStream(io.TextIOBase):
    """A text stream that passes everything through ``printable`` (lines and tabs kept)."""

    def __init__(self, inner: TextIO) -> None:
        self.inner = inner
        self.keep_colours = False  # gitrun's own colours, when colour is on (commands/paging.py)

    def write(self, text: str) -> int:
        self.inner.write(printable(text, keep_newlines=True, keep_colours=self.keep_colours))
        return len(text)

    def flush(self) -> None:
        self.inner.flush()

    def fileno(self) -> int:
        return self.inner.fileno()

    def isatty(self) -> bool:
        return self.inner.isatty()

    def writable(self) -> bool:
        return True

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return self.inner.encoding

    @property
    def errors(self) -> str | None:  # type: ignore[override]
        return self.inner.errors

    @property
    def buffer(self) -> Any:
        return self.inner.buffer  # raw bytes (``show --log``) choose their own treatment


def write_control(sequence: str) -> None:
    """gitrun's own terminal control (``watch`` clearing the screen) to stdout, past the sanitiser
    that would show it as text; never for text from a run."""
    stream = sys.stdout
    target = stream.inner if isinstance(stream, PrintableStream) else stream
    target.write(sequence)


def install_printable_streams() -> None:
    """Make ``printable`` the last step of every write to stdout and stderr (idempotent)."""
    if not isinstance(sys.stdout, PrintableStream):
        sys.stdout = PrintableStream(sys.stdout)
    if not isinstance(sys.stderr, PrintableStream):
        sys.stderr = PrintableStream(sys.stderr)
