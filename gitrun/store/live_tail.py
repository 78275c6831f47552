"""Following running runs' spools: each read parses only what was appended since the last one.

The runs table polls every running run's ``metrics.jsonl`` once a second for its last values. Read
whole, 100 runs going at once cost a parse of every point they ever logged, every second, growing
with the runs (and holding the interpreter while the UI waits for a key). A tail remembers how far
each file was read and the records read so far; torn last lines are left for the next read, a file
that shrank (replaced) is read again from its start.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

from gitrun.model.console import split_console_facts
from gitrun.model.series import SeriesPoint, build_series, without_console_duplicates
from gitrun.store.jsonl import parse_record_lines

MAX_READ_BYTES = 64 << 20  # one poll's read: a spool that grew more is caught up over several polls


class SpoolTails:
    """The records of many append-only JSON-lines files, read incrementally (thread-safe)."""

    def __init__(self) -> None:
        self._read: dict[Path, tuple[int, list[dict[str, Any]]]] = {}
        self._lock = threading.Lock()

    def records(self, path: Path) -> list[dict[str, Any]]:
        """Every whole record of the file so far (the list is shared: do not change it)."""
        with self._lock:
            offset, records = self._read.get(path, (0, []))
            try:
                with open(path, "rb") as handle:
                    if os.fstat(handle.fileno()).st_size < offset:  # replaced by a shorter file
                        offset, records = 0, []
                    handle.seek(offset)
                    data = handle.read(MAX_READ_BYTES)
            except OSError:
                return records
            end = data.rfind(b"\n")
            if end >= 0:
                records = records + parse_record_lines(data[:end])
                offset += end + 1
            self._read[path] = (offset, records)
            return records

    def forget(self, keep: set[Path]) -> None:
        """Drop the files not in ``keep`` (their runs ended)."""
        with self._lock:
            for path in [path for path in self._read if path not in keep]:
                del self._read[path]


def live_series_of(records: list[dict[str, Any]]) -> dict[str, list[SeriesPoint]]:
    """Spooled metric records as series, as the finished run will store them (console facts and
    console duplicates of API-logged metrics left out)."""
    points, _facts = split_console_facts(without_console_duplicates(records))
    return build_series(points)
