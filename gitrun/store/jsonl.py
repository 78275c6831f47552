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
from typing import Any, BinaryIO

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


CHUNK_BYTES = 1 << 20  # what a reader holds at once, whatever the file's size
MAX_LINE_BYTES = 64 << 20  # a "line" longer than this is damage, not a record: dropped


def read_records(path: Path | str) -> Iterator[dict[str, Any]]:
    """Every record of the file, read in chunks: memory stays bounded for a file of any size."""
    for chunk in read_record_chunks(path):
        yield from chunk


def read_record_chunks(path: Path | str, chunk_bytes: int = CHUNK_BYTES) -> Iterator[list[dict[str, Any]]]:
    """The file's records, a chunk of whole lines at a time (about ``chunk_bytes`` each)."""
    for block in read_line_blocks(path, chunk_bytes):
        yield parse_record_lines(block)


def read_line_blocks(path: Path | str, chunk_bytes: int = CHUNK_BYTES) -> Iterator[bytes]:
    """The file's whole lines, about ``chunk_bytes`` at a time, without the last newline of each block."""
    try:
        with open(path, "rb") as handle:
            yield from _blocks(handle, chunk_bytes)
    except OSError:
        return  # no such file (nothing spooled), or unreadable: what was read stands


def _blocks(handle: BinaryIO, chunk_bytes: int) -> Iterator[bytes]:
    carry = b""
    while True:
        block = handle.read(chunk_bytes)
        if not block:
            return  # what follows the last newline is a torn line (a writer killed mid-write)
        data = carry + block
        end = data.rfind(b"\n")
        if end < 0:
            carry = data if len(data) <= MAX_LINE_BYTES else b""
            continue
        carry = data[end + 1:]
        if end > 0:
            yield data[:end]


def parse_record_lines(data: bytes) -> list[dict[str, Any]]:
    """The JSON objects among whole lines (a block of the file, or what a reader tailing it read up to a
    newline): the whole block parsed at once, line by line if one is damaged."""
    text = data.decode("utf-8", "replace")
    try:
        # One parse for the whole chunk (about a million points a second) ...
        records = json.loads("[" + text.replace("\n", ",") + "]")
    except ValueError:
        records = []
        for line in text.split("\n"):  # ... or line by line when one of them is damaged
            try:
                records.append(json.loads(line))
            except ValueError:
                continue
    return [record for record in records if isinstance(record, dict)]
