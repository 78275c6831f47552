"""Shared output helpers for commands: JSON, tables, short ids."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Sequence
from typing import Any

from gitrun.model.run import Run


def print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, indent=2, ensure_ascii=False, default=str) + "\n")


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
    from tabulate import tabulate

    return tabulate(rows, headers=headers, tablefmt="simple", disable_numparse=True)


def truncate(text: str, width: int) -> str:
    """One line of at most ``width`` characters: runs of white space (newlines too) become one space."""
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"
