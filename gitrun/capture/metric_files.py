"""Metric points from files a script writes (``--metrics FILE``).

- JSON / YAML / TOML: ``{"acc": 0.9}`` (one point per number, nested names joined with ``/``),
  ``{"loss": [0.5, 0.4]}`` (a series, steps 0, 1, ...), or a list of rows
  ``[{"step": 1, "loss": 0.5}, ...]``.
- JSON lines (``.jsonl``): one row per line.
- CSV / TSV: a header row; a column named step/epoch/iter/iteration/global_step gives the step
  (else the row number); every other numeric column is a series.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from gitrun.capture.params import parse_param_text

STEP_COLUMNS = ("step", "global_step", "iter", "iteration", "epoch")
MAX_FILE_BYTES = 64 * 1024 * 1024


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            return None
        return number
    return None


def _step(value: Any) -> int | None:
    number = _number(value)
    if number is None or not math.isfinite(number) or number != int(number):
        return None
    return int(number)


def points_from_rows(rows: Sequence[Mapping[str, Any]], time: float) -> list[dict[str, Any]]:
    points: list[dict[str, Any]] = []
    for row in rows:
        step = None
        step_key = None
        for key in STEP_COLUMNS:
            found = next((k for k in row if str(k).strip().lower() == key), None)
            if found is not None and _step(row[found]) is not None:
                step, step_key = _step(row[found]), found
                break
        for key, value in row.items():
            if key == step_key or key is None:
                continue
            number = _number(value)
            if number is not None:
                points.append({"name": str(key).strip(), "step": step, "time": time, "value": number})
    return points


def _from_mapping(data: Mapping[str, Any], time: float, prefix: str = "") -> list[dict[str, Any]]:
    points: list[dict[str, Any]] = []
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            points.extend(_from_mapping(value, time, name + "/"))
        elif isinstance(value, list):
            for index, item in enumerate(value):
                number = _number(item) if not isinstance(item, str) else None
                if number is not None:
                    points.append({"name": name, "step": index, "time": time, "value": number})
        else:
            number = _number(value) if not isinstance(value, str) else None
            if number is not None:
                points.append({"name": name, "step": None, "time": time, "value": number})
    return points


def read_metric_file(path: Path) -> list[dict[str, Any]]:
    """The points in one metrics file; ValueError when it cannot be read as one."""
    try:
        size = path.stat().st_size
        time = path.stat().st_mtime
    except OSError as err:
        raise ValueError(f"{path.name}: {err.strerror}")
    if size > MAX_FILE_BYTES:
        raise ValueError(f"{path.name}: larger than {MAX_FILE_BYTES} bytes")
    text = path.read_text(encoding="utf-8", errors="replace")
    suffix = path.suffix.lower()
    if suffix in (".csv", ".tsv"):
        dialect = "excel-tab" if suffix == ".tsv" else "excel"
        rows = list(csv.DictReader(io.StringIO(text), dialect=dialect))
        return points_from_rows(rows, time)
    if suffix == ".jsonl":
        import json

        rows = []
        for line in text.splitlines():
            try:
                row = json.loads(line)
            except (ValueError, RecursionError):
                continue
            if isinstance(row, dict):
                rows.append(row)
        return points_from_rows(rows, time)
    try:
        data = parse_param_text(text, suffix if suffix in (".json", ".yaml", ".yml", ".toml") else ".json")
    except Exception as err:
        raise ValueError(f"{path.name}: {err}")
    if isinstance(data, list):
        return points_from_rows([row for row in data if isinstance(row, Mapping)], time)
    if isinstance(data, Mapping):
        return _from_mapping(data, time)
    raise ValueError(f"{path.name}: neither a mapping nor a list of rows")
