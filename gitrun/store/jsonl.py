"""Line-delimited JSON files of the live spool: parameters, metric points, artifacts.

Several writers append to the same file (the script's ``gitrun.log``, the console parser and the
system sampler all append to ``metrics.jsonl``): each append is one ``write`` of whole lines on a
file opened with ``O_APPEND``, so lines never interleave. Readers skip a torn last line (a writer
killed mid-write) and any line that is not a JSON object.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

METRICS_FILE = "metrics.jsonl"  # {"name", "step" (int|null), "time" (unix s), "value", "src"?}
PARAMS_FILE = "params.jsonl"  # {"source": "argv"|"file:<path>"|"argparse"|"click"|"api", "params": {...}}
ARTIFACTS_FILE = "artifacts.jsonl"  # {"path", "name", "size", "hash", "mtime", "copy"?}
METRIC_FILES_FILE = "metrics-files.json"  # {"cwd": ..., "files": [...]}: --metrics FILE
OUTPUTS_START_FILE = "outputs-start.json"  # the working tree's stat listing at start


def append_lines(path: Path | str, lines: Iterable[str]) -> None:
    """Append whole lines with one write call."""
    data = "".join(line if line.endswith("\n") else line + "\n" for line in lines).encode("utf-8")
    if not data:
        return
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        view = memoryview(data)
        while view:
            written = os.write(fd, view)
            view = view[written:]
    finally:
        os.close(fd)


def append_records(path: Path | str, records: Iterable[dict[str, Any]]) -> None:
    append_lines(path, (json.dumps(record, ensure_ascii=False, allow_nan=True) for record in records))


def read_records(path: Path | str) -> Iterator[dict[str, Any]]:
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError:
        return
    end = data.rfind(b"\n")
    if end < 0:
        return
    text = data[:end].decode("utf-8", "replace")  # what follows the last newline is a torn line
    try:
        # One parse for the whole file (a million points in about a second) ...
        records = json.loads("[" + text.replace("\n", ",") + "]")
    except ValueError:
        records = []
        for line in text.split("\n"):  # ... or line by line when one of them is damaged
            try:
                records.append(json.loads(line))
            except ValueError:
                continue
    for record in records:
        if isinstance(record, dict):
            yield record
