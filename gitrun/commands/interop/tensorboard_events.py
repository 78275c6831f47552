"""TensorBoard event files written from a run's metric series, without TensorFlow or tensorboardX.

The format is the one ``gitrun.capture.tensorboard`` reads: TFRecord framing (length, masked
CRC-32C of the length, data, masked CRC-32C of the data) around ``Event`` protocol buffers, each
point one event with ``wall_time``, ``step`` and one ``Summary.Value`` (``tag``, ``simple_value``).
TensorBoard keeps scalars as float32, so values are rounded to float32 here as in any event file.
"""

from __future__ import annotations

import os
import re
import struct
from pathlib import Path

from gitrun.capture.tensorboard import _masked_crc
from gitrun.model.run import Run
from gitrun.model.series import SeriesPoint

FILE_VERSION = b"brain.Event:2"
_FOLDER_JUNK = re.compile(r"[^A-Za-z0-9._-]+")


def _varint(value: int) -> bytes:
    if value < 0:
        value += 1 << 64  # int64 as protobuf writes it: ten bytes of two's complement
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _field(number: int, wire: int) -> bytes:
    return _varint(number << 3 | wire)


def _length_delimited(number: int, payload: bytes) -> bytes:
    return _field(number, 2) + _varint(len(payload)) + payload


def encode_event(wall_time: float, step: int, tag: str | None = None, value: float | None = None,
                 file_version: bytes | None = None) -> bytes:
    """One ``Event``: the file's version record, or one scalar."""
    out = _field(1, 1) + struct.pack("<d", wall_time) + _field(2, 0) + _varint(step)
    if file_version is not None:
        out += _length_delimited(3, file_version)
    if tag is not None and value is not None:
        summary_value = _length_delimited(1, tag.encode("utf-8")) + _field(2, 5) + struct.pack("<f", _float32(value))
        out += _length_delimited(5, _length_delimited(1, summary_value))
    return out


def _float32(value: float) -> float:
    try:
        struct.pack("<f", value)
        return value
    except OverflowError:  # beyond float32's range: what a float32 cast gives
        return float("inf") if value > 0 else float("-inf")


def record(data: bytes) -> bytes:
    length = struct.pack("<Q", len(data))
    return length + struct.pack("<I", _masked_crc(length)) + data + struct.pack("<I", _masked_crc(data))


def event_file_bytes(series: dict[str, list[SeriesPoint]], started: float) -> tuple[bytes, int]:
    """(the event file, how many scalars): every point of every series, in time order."""
    points = sorted(((when, name, step, value) for name, items in series.items() for step, when, value in items),
                    key=lambda point: point[0])
    chunks = [record(encode_event(started, 0, file_version=FILE_VERSION))]
    chunks += [record(encode_event(when, step, name, value)) for when, name, step, value in points]
    return b"".join(chunks), len(points)


def run_folder_name(run: Run) -> str:
    """The run's name (TensorBoard shows the folder as the run), with its id to keep folders apart."""
    name = _FOLDER_JUNK.sub("-", run.name).strip("-.")
    return f"{name}-{run.id[:10]}" if name else run.id


def export_run(root: Path, run: Run, series: dict[str, list[SeriesPoint]]) -> tuple[Path, int]:
    """Write ``root/<name>-<id>/events.out.tfevents.<start>.gitrun.<id>``; exporting again rewrites it."""
    started = run.started.timestamp() if run.started else 0.0
    data, count = event_file_bytes(series, started)
    folder = root / run_folder_name(run)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"events.out.tfevents.{int(started)}.gitrun.{run.id}"
    temporary = folder / f".{target.name}.{os.getpid()}.tmp"
    temporary.write_bytes(data)
    temporary.replace(target)  # a reader (a running TensorBoard) never sees half a file
    return folder, count
