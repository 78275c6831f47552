"""Metric points in console output (pure parsing; no I/O).

Recognised without configuration:

- ``name: value`` and ``name=value`` anywhere in a line (``loss: 0.25``, ``acc=0.91``,
  tqdm's ``[..., loss=0.3]``), a trailing ``%`` allowed;
- ``name value`` when the line is split into such pairs by ``|`` or ``,`` or tabs
  (``step 10 | loss 2.93 | lr 3e-4``), or when ``name`` is a step word (``epoch 3 acc=0.91``);
- a line that is a JSON object (``{"loss": 0.2, "step": 10}``): its numbers, nested names joined
  with ``/``.

A step word (``step``, ``global_step``, ``iter``, ``iteration``, ``epoch``, ``batch``) gives the
line's step instead of a metric (``epoch 1/10`` too); ``step`` wins over ``epoch`` when both are
there, and the other is kept as a metric.

Configured patterns (``[tool.gitrun.console_metrics] patterns = [...]``) are regular expressions
with named groups: ``name`` + ``value`` give one point, ``step`` the step, and any other named
group is a metric of that name.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

STEP_WORDS = ("step", "global_step", "iter", "iteration", "it", "epoch", "batch")
_STEP_PRIORITY = {word: index for index, word in enumerate(STEP_WORDS)}
MAX_LINE = 65536
_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07]*\x07")
_NUMBER = r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?"
_NAME = r"[A-Za-z_][A-Za-z0-9_./\-]*"
# name: value / name=value, not glued to other word characters on either side.
_EXPLICIT = re.compile(
    rf"(?<![\w./\-])({_NAME})\s*(?::|=)\s*({_NUMBER})(%?)(?![\w.:/\-])")
# name value (space separated); accepted only in structured lines or for step words.
_SPACED = re.compile(rf"(?<![\w./\-])({_NAME})\s+({_NUMBER})(%?)(?:/\d+)?(?![\w.\-]|:\d)")
_SEGMENT_SPLIT = re.compile(r"\s*[|,\t]\s*")
_SEGMENT_PAIR = re.compile(rf"^({_NAME})\s*(?::|=)?\s*({_NUMBER})(%?)(?:/\d+)?$")


@dataclass
class Point:
    name: str
    value: float
    step: int | None = None


@dataclass
class ConsoleConfig:
    enabled: bool = True
    builtin: bool = True
    patterns: list[re.Pattern[str]] = field(default_factory=list)
    ignore: list[re.Pattern[str]] = field(default_factory=list)


def config_from_settings(section: Mapping[str, Any]) -> ConsoleConfig:
    """``[tool.gitrun.console_metrics]``: ``enabled``, ``builtin``, ``patterns``, ``ignore``.

    Raises ValueError (with the pattern named) for a pattern that is not a regular expression.
    """
    config = ConsoleConfig()
    if "enabled" in section:
        config.enabled = bool(section["enabled"])
    if "builtin" in section:
        config.builtin = bool(section["builtin"])
    for key, target in (("patterns", config.patterns), ("ignore", config.ignore)):
        raw = section.get(key, [])
        if isinstance(raw, str):
            raw = [raw]
        for text in raw if isinstance(raw, list) else []:
            try:
                target.append(re.compile(str(text)))
            except re.error as err:
                raise ValueError(f"console_metrics.{key}: '{text}' is not a regular expression: {err}")
    return config


def _to_float(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value


def _step_of(text: str) -> int | None:
    try:
        value = float(text)
    except ValueError:
        return None
    if not math.isfinite(value) or value != int(value):
        return None
    return int(value)


def parse_line(line: str, config: ConsoleConfig | None = None) -> list[Point]:
    """The metric points in one line of output."""
    config = config or ConsoleConfig()
    if not config.enabled or len(line) > MAX_LINE:
        return []
    if "\x1b" in line:
        line = _ANSI.sub("", line)
    line = line.strip()
    if not line or not any(char.isdigit() for char in line):
        return []
    for pattern in config.ignore:
        if pattern.search(line):
            return []
    pairs: list[tuple[str, float]] = []
    for pattern in config.patterns:
        pairs.extend(_custom_pairs(pattern, line))
    if config.builtin and not pairs and _may_hold_pairs(line):
        pairs = _json_pairs(line) if line[0] == "{" and line[-1] == "}" else _text_pairs(line)
    return _points(pairs)


_MARKS = frozenset(":=|{,\t")


def _may_hold_pairs(line: str) -> bool:
    """A cheap test that skips most plain log lines before any regular expression runs."""
    if not _MARKS.isdisjoint(line):
        return True
    lowered = line.lower()
    return any(word in lowered for word in ("step", "epoch", "iter", "batch", "it "))


def _custom_pairs(pattern: re.Pattern[str], line: str) -> list[tuple[str, float]]:
    pairs: list[tuple[str, float]] = []
    for match in pattern.finditer(line):
        groups = match.groupdict()
        name = groups.pop("name", None)
        value = groups.pop("value", None)
        if name and value is not None:
            number = _to_float(value)
            if number is not None:
                pairs.append((name, number))
        for group_name, text in groups.items():
            if text is None:
                continue
            number = _to_float(text)
            if number is not None:
                pairs.append((group_name, number))
    return pairs


def _json_pairs(line: str) -> list[tuple[str, float]]:
    try:
        data = json.loads(line)
    except ValueError:
        return []
    if not isinstance(data, dict):
        return []
    return list(_numbers(data, ""))


def _numbers(data: Mapping[str, Any], prefix: str) -> Iterable[tuple[str, float]]:
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, bool):
            continue
        if isinstance(value, int | float):
            yield name, float(value)
        elif isinstance(value, dict):
            yield from _numbers(value, name + "/")


def _text_pairs(line: str) -> list[tuple[str, float]]:
    pairs: list[tuple[str, float]] = []
    segments = [segment for segment in _SEGMENT_SPLIT.split(line) if segment]
    structured = len(segments) >= 2 and all(_SEGMENT_PAIR.match(segment) for segment in segments)
    if structured:
        for segment in segments:
            match = _SEGMENT_PAIR.match(segment)
            if match:
                value = _to_float(match.group(2))
                if value is not None:
                    pairs.append((match.group(1), value))
        return pairs
    seen: set[int] = set()
    for match in _EXPLICIT.finditer(line):
        value = _to_float(match.group(2))
        if value is not None:
            pairs.append((match.group(1), value))
            seen.update(range(match.start(), match.end()))
    for match in _SPACED.finditer(line):
        if match.start() in seen or match.group(1).lower() not in _STEP_PRIORITY:
            continue
        value = _to_float(match.group(2))
        if value is not None:
            pairs.append((match.group(1), value))
    return pairs


def _points(pairs: list[tuple[str, float]]) -> list[Point]:
    step: int | None = None
    step_rank = len(STEP_WORDS)
    step_name = ""
    for name, value in pairs:
        rank = _STEP_PRIORITY.get(name.lower())
        if rank is not None and rank < step_rank and _step_of(str(value)) is not None:
            step, step_rank, step_name = int(value), rank, name
    points: list[Point] = []
    for name, value in pairs:
        if name == step_name:
            continue
        points.append(Point(name=name, value=value, step=step))
    return points


class LineSplitter:
    """Bytes in chunks -> complete lines (``\\n`` and ``\\r`` both end a line), per stream."""

    def __init__(self) -> None:
        self._partial: dict[str, bytes] = {}

    def feed(self, stream: str, data: bytes) -> list[str]:
        buffered = self._partial.get(stream, b"") + data
        if b"\r" in buffered:
            buffered = buffered.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        *complete, rest = buffered.split(b"\n")
        self._partial[stream] = rest[-MAX_LINE:]
        return [line.decode("utf-8", "replace") for line in complete]

    def flush(self) -> list[str]:
        lines = [rest.decode("utf-8", "replace") for rest in self._partial.values() if rest]
        self._partial.clear()
        return lines
