"""Shared output helpers for commands: JSON, tables, short ids."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Sequence
from typing import Any

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
    ids = sorted(run.id for run in runs)
    result: dict[str, str] = {}
    for index, run_id in enumerate(ids):
        length = minimum
        for neighbour in (ids[index - 1] if index else "", ids[index + 1] if index + 1 < len(ids) else ""):
            common = 0
            while common < len(run_id) and common < len(neighbour) and run_id[common] == neighbour[common]:
                common += 1
            length = max(length, common + 1)
        result[run_id] = run_id[: min(length, len(run_id))]
    return result


def table(rows: Sequence[Sequence[Any]], headers: Sequence[str]) -> str:
    """tabulate's ``simple`` format; single-line text cells (every listing) skip tabulate (10x faster)."""
    plain = _plain_table(rows, headers)
    if plain is not None:
        return plain
    from tabulate import tabulate

    return tabulate(rows, headers=headers, tablefmt="simple", disable_numparse=True)


def _plain_table(rows: Sequence[Sequence[Any]], headers: Sequence[str]) -> str | None:
    """What tabulate prints for text cells: stripped, left-aligned, columns at least header + 2 wide."""
    cells = [[("" if cell is None else cell).strip() for cell in row] for row in rows
             if all(cell is None or isinstance(cell, str) for cell in row)]
    if len(cells) != len(rows) or any(len(row) != len(headers) for row in cells):
        return None
    if any("\n" in cell or "\x1b" in cell or "\t" in cell for row in cells for cell in row):
        return None
    widths = [len(header) + 2 for header in headers]
    for row in cells:
        widths = [max(width, len(cell)) for width, cell in zip(widths, row, strict=True)]
    lines = ["  ".join(header.ljust(width) for header, width in zip(headers, widths, strict=True)).rstrip(),
             "  ".join("-" * width for width in widths)]
    lines += ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in cells]
    return "\n".join(lines)


def truncate(text: str, width: int) -> str:
    """One line of at most ``width`` characters: runs of white space (newlines too) become one space."""
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"
