"""Scalars from TensorBoard event files (``events.out.tfevents.*``), with no code change in the run.

``torch.utils.tensorboard.SummaryWriter``, ``tensorboardX`` and ``tf.summary`` all write the same
format: TFRecord framing (little-endian uint64 length, its masked CRC-32C, the data, the data's
masked CRC-32C) around ``Event`` protocol buffers. A scalar is a ``Summary.Value`` with a
``simple_value`` (float32; the classic writers) or a one-element ``tensor`` whose metadata names the
``scalars`` plugin or the scalar data class (``tf.summary`` in TF 2, ``new_style`` writers); the
metadata comes with a tag's first value only, so it is remembered per tag.

Two readers give the same points: the ``tensorboard`` package's ``EventFileLoader`` when it is
installed, else the small decoder below (the wire format decoded by hand: varints, fixed32/64 and
length-delimited fields; unknown fields skipped). A torn or corrupt record (the writer was killed)
ends that file's reading; what came before it is kept. Values written as float32 are given as the
shortest decimal that is the same float32 (``0.1``, not ``0.10000000149011612``).
"""

from __future__ import annotations

import importlib.util
import math
import os
import struct
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

EVENT_FILE_MARK = "tfevents"
MAX_RECORD = 1024 * 1024  # a larger record holds an image, audio or a graph, never a scalar
SCALARS_PLUGIN = "scalars"
DATA_CLASS_SCALAR = 1
# TensorProto dtypes that hold numbers, and how one element of tensor_content is laid out.
_CONTENT = {1: "<f", 2: "<d", 3: "<i", 9: "<q", 4: "<B", 5: "<h", 6: "<b", 17: "<H", 22: "<I", 23: "<Q"}
DT_HALF, DT_BFLOAT16 = 19, 14


@dataclass(frozen=True)
class Scalar:
    tag: str
    step: int
    wall_time: float
    value: float


def is_event_file(path: str) -> bool:
    return EVENT_FILE_MARK in os.path.basename(path)


def package_available() -> bool:
    try:
        return importlib.util.find_spec("tensorboard") is not None
    except (ImportError, ValueError):
        return False


def read_scalars(path: Path, use_package: bool | None = None) -> list[Scalar]:
    """Every scalar in one event file, in file order."""
    if use_package is None:
        use_package = package_available()
    if use_package:
        try:
            return list(_package_scalars(path))
        except ImportError:
            pass
    with open(path, "rb") as handle:
        return list(_decode_file(handle))


def scalar_series(paths: Iterable[Path], use_package: bool | None = None,
                  max_points: int = 2_000_000) -> tuple[dict[str, list[tuple[int, float, float]]], bool]:
    """Series named ``tb/<tag>`` from event files (``tb/<folder>/<tag>`` when the files are in
    several folders: the folder relative to their common one, as TensorBoard names its runs), each
    ``[(step, wall time, value)]`` in file order; and whether ``max_points`` cut them short."""
    files = sorted(paths, key=lambda path: (str(path.parent), path.name))
    if not files:
        return {}, False
    folders = sorted({str(path.parent) for path in files})
    common = os.path.commonpath(folders)
    series: dict[str, list[tuple[int, float, float]]] = {}
    total = 0
    for path in files:
        relative = os.path.relpath(path.parent, common).replace(os.sep, "/")
        prefix = "tb/" if relative == "." else f"tb/{relative}/"
        try:
            scalars = read_scalars(path, use_package)
        except OSError:
            continue
        for scalar in scalars:
            tag = "/".join(part for part in scalar.tag.split("/") if part)[:200]
            if not tag:
                continue
            if total >= max_points:
                return series, True
            series.setdefault(prefix + tag, []).append((scalar.step, scalar.wall_time, scalar.value))
            total += 1
    return series, False


# --- the tensorboard package ----------------------------------------------------------------------

def _package_scalars(path: Path) -> Iterator[Scalar]:
    import logging

    logging.getLogger("tensorboard").setLevel(logging.ERROR)  # "TensorFlow installation not found"
    from tensorboard.backend.event_processing.event_file_loader import EventFileLoader
    from tensorboard.util import tensor_util

    scalar_tags: set[str] = set()
    for event in EventFileLoader(str(path)).Load():
        if not event.HasField("summary"):
            continue
        for value in event.summary.value:
            kind = value.WhichOneof("value")
            if value.HasField("metadata") and (value.metadata.plugin_data.plugin_name == SCALARS_PLUGIN
                                               or value.metadata.data_class == DATA_CLASS_SCALAR):
                scalar_tags.add(value.tag)
            if kind == "simple_value":
                number = _from_float32(value.simple_value)
            elif kind == "tensor" and value.tag in scalar_tags:
                array = tensor_util.make_ndarray(value.tensor)
                if array.size != 1 or array.dtype.kind not in "fiub":
                    continue
                item = array.reshape(-1)[0]
                number = _from_float32(float(item)) if array.dtype.itemsize <= 4 and array.dtype.kind == "f" \
                    else float(item)
            else:
                continue
            yield Scalar(value.tag, int(event.step), float(event.wall_time), number)


# --- the hand-written decoder ---------------------------------------------------------------------

def _records(handle: BinaryIO) -> Iterator[bytes]:
    """The records of a TFRecord file, streamed; a record too large to be a scalar's is skipped."""
    while True:
        header = handle.read(12)
        if len(header) < 12:
            return  # the end, or a torn header (the writer is still writing, or was killed)
        length, length_crc = struct.unpack("<QI", header)
        if _masked_crc(header[:8]) != length_crc:
            return  # damaged framing: nothing after it can be trusted
        if length > MAX_RECORD:
            handle.seek(length + 4, os.SEEK_CUR)  # an image or a graph: no scalar in it
            continue
        data = handle.read(length + 4)
        if len(data) < length + 4:
            return  # torn last record
        yield data[:length]


def _decode_file(handle: BinaryIO) -> Iterator[Scalar]:
    scalar_tags: set[str] = set()
    for record in _records(handle):
        try:
            yield from _decode_event(memoryview(record), scalar_tags)
        except (ValueError, IndexError, struct.error, UnicodeDecodeError):
            continue  # one undecodable event: skip it


def _decode_event(record: memoryview, scalar_tags: set[str]) -> Iterator[Scalar]:
    wall_time = 0.0
    step = 0
    summaries: list[memoryview] = []
    for number, wire, value in _fields(record):
        if number == 1 and wire == 1:
            (wall_time,) = struct.unpack("<d", value.to_bytes(8, "little"))  # type: ignore[union-attr]
        elif number == 2 and wire == 0:
            step = _signed64(value)  # type: ignore[arg-type]
        elif number == 5 and wire == 2:
            summaries.append(value)  # type: ignore[arg-type]
    for summary in summaries:
        for number, wire, value in _fields(summary):
            if number == 1 and wire == 2:
                scalar = _decode_value(value, scalar_tags)  # type: ignore[arg-type]
                if scalar is not None:
                    yield Scalar(scalar[0], step, wall_time, scalar[1])


def _decode_value(data: memoryview, scalar_tags: set[str]) -> tuple[str, float] | None:
    tag = ""
    simple: float | None = None
    tensor: memoryview | None = None
    for number, wire, value in _fields(data):
        if number == 1 and wire == 2:
            tag = bytes(value).decode("utf-8")  # type: ignore[arg-type]
        elif number == 2 and wire == 5:
            (raw,) = struct.unpack("<f", value.to_bytes(4, "little"))  # type: ignore[union-attr]
            simple = _from_float32(raw)
        elif number == 8 and wire == 2:
            tensor = value  # type: ignore[assignment]
        elif number == 9 and wire == 2 and _is_scalar_metadata(value):  # type: ignore[arg-type]
            scalar_tags.add(tag)
    if simple is not None:
        return tag, simple
    if tensor is not None and tag in scalar_tags:
        number_value = _tensor_scalar(tensor)
        if number_value is not None:
            return tag, number_value
    return None


def _is_scalar_metadata(data: memoryview) -> bool:
    for number, wire, value in _fields(data):
        if number == 1 and wire == 2:  # plugin_data
            for inner, inner_wire, name in _fields(value):  # type: ignore[arg-type]
                if inner == 1 and inner_wire == 2 and bytes(name) == SCALARS_PLUGIN.encode():  # type: ignore[arg-type]
                    return True
        elif number == 4 and wire == 0 and value == DATA_CLASS_SCALAR:
            return True
    return False


def _tensor_scalar(data: memoryview) -> float | None:
    """The one number of a scalar TensorProto, or None (more elements, strings, unknown types)."""
    dtype = 0
    elements = 1
    values: list[float] = []
    content = b""
    for number, wire, value in _fields(data):
        if number == 1 and wire == 0:
            dtype = int(value)  # type: ignore[arg-type]
        elif number == 2 and wire == 2:
            elements = _shape_size(value)  # type: ignore[arg-type]
        elif number == 4 and wire == 2:
            content = bytes(value)  # type: ignore[arg-type]
        elif number == 5:  # float_val
            values += _packed(value, wire, "<f", 5)
        elif number == 6:  # double_val
            values += _packed(value, wire, "<d", 1)
        elif number in (7, 10):  # int_val, int64_val
            values += [float(_signed64(v)) for v in _packed_varints(value, wire)]
        elif number == 13:  # half_val: the fp16 bits in an int32
            values += [struct.unpack("<e", (v & 0xFFFF).to_bytes(2, "little"))[0]
                       for v in _packed_varints(value, wire)]
    if elements != 1:
        return None
    if content:
        if dtype == DT_HALF and len(content) == 2:
            return float(struct.unpack("<e", content)[0])
        if dtype == DT_BFLOAT16 and len(content) == 2:
            return _from_float32(struct.unpack("<f", b"\0\0" + content)[0])
        layout = _CONTENT.get(dtype)
        if layout is None or struct.calcsize(layout) != len(content):
            return None
        number_value = float(struct.unpack(layout, content)[0])
        return _from_float32(number_value) if layout == "<f" else number_value
    if len(values) == 1 and dtype in (1, 2, 3, 9, 19, 4, 5, 6, 17, 22, 23, 14):
        return _from_float32(values[0]) if dtype == 1 else values[0]
    return None


def _shape_size(data: memoryview) -> int:
    size = 1
    for number, wire, dim in _fields(data):
        if number == 2 and wire == 2:  # dim { size = 1 }
            for inner, inner_wire, value in _fields(dim):  # type: ignore[arg-type]
                if inner == 1 and inner_wire == 0:
                    size *= _signed64(value)  # type: ignore[arg-type]
        elif number == 3 and wire == 0 and value:  # unknown_rank
            return -1
    return size


def _packed(value: int | memoryview, wire: int, layout: str, single_wire: int) -> list[float]:
    width = struct.calcsize(layout)
    if wire == 2:
        raw = bytes(value)  # type: ignore[arg-type]
        return [float(v[0]) for v in struct.iter_unpack(layout, raw[:len(raw) - len(raw) % width])]
    if wire == single_wire:
        return [float(struct.unpack(layout, int(value).to_bytes(width, "little"))[0])]  # type: ignore[arg-type]
    return []


def _packed_varints(value: int | memoryview, wire: int) -> list[int]:
    if wire == 0:
        return [int(value)]  # type: ignore[arg-type]
    if wire != 2:
        return []
    raw = bytes(value)  # type: ignore[arg-type]
    out: list[int] = []
    position = 0
    while position < len(raw):
        number, position = _varint(raw, position)
        out.append(number)
    return out


def _fields(data: memoryview | bytes) -> Iterator[tuple[int, int, int | memoryview]]:
    """(field number, wire type, value) of one message: ints for varint/fixed, a view for bytes."""
    view = memoryview(data) if not isinstance(data, memoryview) else data
    raw = view.tobytes() if len(view) < 4096 else view
    position = 0
    end = len(view)
    while position < end:
        key, position = _varint(raw, position)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, position = _varint(raw, position)
            yield number, wire, value
        elif wire == 1:
            if position + 8 > end:
                raise ValueError("truncated fixed64")
            yield number, wire, int.from_bytes(view[position:position + 8], "little")
            position += 8
        elif wire == 2:
            length, position = _varint(raw, position)
            if position + length > end:
                raise ValueError("truncated field")
            yield number, wire, view[position:position + length]
            position += length
        elif wire == 5:
            if position + 4 > end:
                raise ValueError("truncated fixed32")
            yield number, wire, int.from_bytes(view[position:position + 4], "little")
            position += 4
        else:
            raise ValueError(f"unsupported wire type {wire}")


def _varint(data: bytes | memoryview, position: int) -> tuple[int, int]:
    result = 0
    shift = 0
    while True:
        byte = data[position]
        position += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, position
        shift += 7
        if shift > 63:
            raise ValueError("varint too long")


def _signed64(value: int) -> int:
    return value - (1 << 64) if value >= 1 << 63 else value


def _from_float32(value: float) -> float:
    """The shortest decimal that reads back as the same float32: 0.1, not 0.10000000149011612."""
    if not math.isfinite(value):
        return value
    packed = struct.pack("<f", value)
    for digits in range(6, 10):
        candidate = float(f"{value:.{digits}g}")
        if struct.pack("<f", candidate) == packed:
            return candidate
    return value


# --- CRC-32C (Castagnoli), masked as TFRecord does -------------------------------------------------

def _crc_table() -> list[int]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x82F63B78 if crc & 1 else crc >> 1
        table.append(crc)
    return table


_TABLE = _crc_table()


def _crc32c(data: bytes) -> int:
    crc = 0xFFFFFFFF
    for byte in data:
        crc = _TABLE[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def _masked_crc(data: bytes) -> int:
    crc = _crc32c(data)
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF
