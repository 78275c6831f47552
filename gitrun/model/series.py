"""Metric series: points, their stored TSV form, file names, and summaries (pure, no I/O).

A series is the list of ``(step, time, value)`` of one metric name, in logging order. In a run's
result tree it is ``metrics/<name>.tsv`` with the header ``step\\ttime\\tvalue``; ``/`` in a name
makes folders (``system/cpu_percent`` -> ``metrics/system/cpu_percent.tsv``) and every other
character outside ``[A-Za-z0-9._-]`` is written ``%XX`` (UTF-8 bytes).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

SeriesPoint = tuple[int, float, float]  # (step, unix time in seconds, value)
TSV_HEADER = "step\ttime\tvalue\n"
METRICS_DIR = "metrics/"
SYSTEM_PREFIX = "system/"
_SAFE = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-")


def valid_name(name: str) -> bool:
    return bool(name) and len(name) <= 200 and all(part for part in name.split("/"))


def escape_segment(segment: str) -> str:
    out = "".join(char if char in _SAFE else "".join(f"%{byte:02X}" for byte in char.encode("utf-8"))
                  for char in segment)
    if out in (".", ".."):
        out = out.replace(".", "%2E")
    return out


def unescape_segment(segment: str) -> str:
    raw = bytearray()
    index = 0
    while index < len(segment):
        char = segment[index]
        if char == "%" and index + 2 < len(segment) and _is_hex(segment[index + 1:index + 3]):
            raw.append(int(segment[index + 1:index + 3], 16))
            index += 3
        else:
            raw.extend(char.encode("utf-8"))
            index += 1
    return raw.decode("utf-8", "replace")


def _is_hex(text: str) -> bool:
    return len(text) == 2 and all(c in "0123456789abcdefABCDEF" for c in text)


def series_path(name: str) -> str:
    """``train/loss`` -> ``metrics/train/loss.tsv``."""
    return METRICS_DIR + "/".join(escape_segment(part) for part in name.split("/")) + ".tsv"


def name_from_path(path: str) -> str | None:
    """The inverse of ``series_path``; None for paths that are not series."""
    if not path.startswith(METRICS_DIR) or not path.endswith(".tsv"):
        return None
    inner = path[len(METRICS_DIR):-len(".tsv")]
    return "/".join(unescape_segment(part) for part in inner.split("/"))


def format_number(value: float) -> str:
    if isinstance(value, int) or (math.isfinite(value) and value == int(value) and abs(value) < 1e15):
        return str(int(value))
    return repr(float(value))


def series_tsv(points: Iterable[SeriesPoint]) -> bytes:
    lines = [TSV_HEADER]
    lines.extend([f"{step}\t{time:.3f}\t{value!r}\n" for step, time, value in points])
    return "".join(lines).encode("utf-8")


def parse_tsv(data: bytes) -> list[SeriesPoint]:
    points: list[SeriesPoint] = []
    for index, line in enumerate(data.decode("utf-8", "replace").splitlines()):
        if index == 0 and line.startswith("step"):
            continue
        parts = line.split("\t")
        if len(parts) != 3:
            continue
        try:
            points.append((int(float(parts[0])), float(parts[1]), float(parts[2])))
        except ValueError:
            continue
    return points


def summarise(points: list[SeriesPoint]) -> dict[str, Any]:
    """``{last, min, max, count, last_step}`` of a series; NaN/inf never become min or max."""
    finite = [value for _, _, value in points if math.isfinite(value)]
    last_step, _, last = points[-1]
    summary: dict[str, Any] = {"last": last, "count": len(points), "last_step": last_step}
    if finite:
        summary["min"] = min(finite)
        summary["max"] = max(finite)
    return summary


def build_series(raw: Iterable[Mapping[str, Any]]) -> dict[str, list[SeriesPoint]]:
    """Points as spooled (``name``, ``step`` or null, ``time``, ``value``) -> series by name.

    A point without a step gets the number of points its series had before it (0, 1, 2 ...).
    """
    series: dict[str, list[SeriesPoint]] = {}
    valid: dict[str, bool] = {}
    for point in raw:  # hot loop: a million points per second; exact type checks, cached name checks
        name = point.get("name")
        if name.__class__ is not str:
            continue
        ok = valid.get(name)
        if ok is None:
            ok = valid[name] = valid_name(name)
        value: Any = point.get("value")
        kind = value.__class__
        if not ok or (kind is not float and kind is not int):  # bool's class is bool: excluded
            continue
        points = series.get(name)
        if points is None:
            points = series[name] = []
        step = point.get("step")
        if step.__class__ is not int:
            step = len(points)
        time = point.get("time")
        if time.__class__ is not float:
            time = float(time) if time.__class__ is int else 0.0
        points.append((step, time, value if kind is float else float(value)))
    return series


CONSOLE_SOURCE = "console"  # the ``src`` of points the console parser spooled


def without_console_duplicates(points: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Spooled points minus console ones of a metric also logged through the API (no double counting)."""
    api_names = {p.get("name") for p in points if p.get("src") is None}
    return [p for p in points if p.get("src") != CONSOLE_SOURCE or p.get("name") not in api_names]


def last_values(series: Mapping[str, list[SeriesPoint]], include_system: bool = False) -> dict[str, float]:
    return {name: points[-1][2] for name, points in series.items()
            if points and (include_system or not name.startswith(SYSTEM_PREFIX))}
