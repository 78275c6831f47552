"""Metric series built from the spool by streaming: memory stays bounded whatever the point count.

The spool's ``metrics.jsonl`` is read a chunk at a time (``store.jsonl.read_record_chunks``); each
point goes to its series' buffer, and buffers are written as TSV (``model.series`` format) to one
file per series in a folder of the spool whenever ``flush_points`` points are waiting. Summaries
(last, count, last step, finite min and max) are kept as points pass. The stored run gets each
series as a blob read from its file (``store.trees`` takes a ``Path``), so a run of 10 million
points is finalised in constant memory. Without a folder (a running run shown live) the series
are kept in memory as lists of points instead.

The rules are ``model.series.build_series``'s (a point without an integer step gets the count of
its series so far; names are checked; ints become floats) plus one: a metric logged through the
API (points without ``src``) drops the console's points of the same name, so nothing is counted
twice. Since that is known only at the end, a series that has both console and other points is
also written without its console points (a second file, from the first console point on).
"""

from __future__ import annotations

import shutil
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from itertools import chain
from pathlib import Path
from typing import Any

from gitrun.model.series import CONSOLE_SOURCE, SYSTEM_PREFIX, TSV_HEADER, SeriesPoint, valid_name

FLUSH_POINTS = 20_000  # points buffered (over all series) before they are written out
_INF = float("inf")
_TSV_LINE = "%d\t%.3f\t%r\n"


class _Series:
    """One series being built: its file (or its points, in memory) and its running summary.

    Points wait in ``buffer``; ``fold`` adds them to the summary and (streaming) to the file.
    """

    __slots__ = ("buffer", "flushed", "high", "last", "last_step", "low", "path")

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.buffer: list[SeriesPoint] = []
        self.flushed = 0  # points already folded out of the buffer (into the file)
        self.last = 0.0
        self.last_step = 0
        self.low = _INF
        self.high = -_INF
        if path is not None:
            path.write_text(TSV_HEADER, encoding="utf-8")

    @property
    def count(self) -> int:
        return self.flushed + len(self.buffer)

    def fold(self) -> None:
        """Summarise the buffered points and, when streaming, append them to the file."""
        points = self.buffer
        if not points:
            return
        self.last_step, _, self.last = points[-1]
        finite = [value for _, _, value in points if -_INF < value < _INF]  # NaN and inf: never min or max
        if finite:
            self.low = min(self.low, min(finite))
            self.high = max(self.high, max(finite))
        if self.path is None:
            return
        with open(self.path, "a", encoding="utf-8") as handle:
            # One formatting call for the whole buffer: the same text as model.series.series_tsv.
            handle.write((_TSV_LINE * len(points)) % tuple(chain.from_iterable(points)))
        self.flushed += len(points)
        points.clear()

    def fork(self, path: Path | None) -> _Series:
        """A copy of this series so far (its file copied), to continue on its own."""
        twin = _Series(None)
        if self.path is not None:
            self.fold()
            twin.path = path
            if path is not None:
                shutil.copyfile(self.path, path)
        twin.buffer = list(self.buffer)
        twin.flushed, twin.last, twin.last_step, twin.low, twin.high = (
            self.flushed, self.last, self.last_step, self.low, self.high)
        return twin

    def summary(self) -> dict[str, Any]:
        """As ``model.series.summarise`` gives it (call ``fold`` first)."""
        found: dict[str, Any] = {"last": self.last, "count": self.count, "last_step": self.last_step}
        if self.low <= self.high:
            found["min"] = self.low
            found["max"] = self.high
        return found


@dataclass
class BuiltSeries:
    summary: dict[str, Any]
    path: Path | None = None  # the TSV file (streaming)
    points: list[SeriesPoint] | None = None  # the points (in memory)


class SeriesBuilder:
    """Feed points (``add``) in logging order, then ``finish``: the series by name."""

    def __init__(self, folder: Path | None, flush_points: int = FLUSH_POINTS) -> None:
        self.folder = folder
        self.flush_points = flush_points
        if folder is not None:
            folder.mkdir(parents=True, exist_ok=True)
        self._all: dict[str, _Series] = {}  # every point of each name
        self._plain: dict[str, _Series] = {}  # non-console points, for names that also have console ones
        self._api: set[str] = set()  # names with points logged through the API
        self._valid: dict[str, bool] = {}
        self._pending = 0
        self._files = 0

    def _new_path(self) -> Path | None:
        if self.folder is None:
            return None
        self._files += 1
        return self.folder / f"{self._files}.tsv"

    def add(self, points: Sequence[Mapping[str, Any]]) -> None:
        """Hot loop (millions of points): exact type checks, cached name checks, locals."""
        all_series, plain, api, valid = self._all, self._plain, self._api, self._valid
        for point in points:
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
            if kind is int:
                value = float(value)
            time = point.get("time")
            if time.__class__ is not float:
                time = float(time) if time.__class__ is int else 0.0
            step = point.get("step")
            if step.__class__ is not int:
                step = None  # numbered by its place in the series
            series = all_series.get(name)
            if series is None:
                series = all_series[name] = _Series(self._new_path())
            src = point.get("src")
            if src is None:
                api.add(name)
            elif src == CONSOLE_SOURCE and name not in plain:
                plain[name] = series.fork(self._new_path())  # every point so far was not from the console
            buffer = series.buffer
            buffer.append((series.flushed + len(buffer) if step is None else step, time, value))
            if src != CONSOLE_SOURCE and plain and name in plain:
                twin = plain[name]
                buffer = twin.buffer
                buffer.append((twin.flushed + len(buffer) if step is None else step, time, value))
        self._pending += len(points)
        if self._pending >= self.flush_points:
            self._fold_all()

    def _fold_all(self) -> None:
        if self.folder is not None:
            for series in (*self._all.values(), *self._plain.values()):
                series.fold()
        self._pending = 0

    def finish(self, drop_console: Collection[str] = ()) -> dict[str, BuiltSeries]:
        """The series; ``drop_console``: names whose console points are not a series (console facts)."""
        built: dict[str, BuiltSeries] = {}
        for name, series in self._all.items():
            if name in self._plain and (name in self._api or name in drop_console):
                series = self._plain[name]  # console points of an API metric (or a console fact) are dropped
            points = None if self.folder is not None else list(series.buffer)
            series.fold()  # in memory: only the summary
            if series.count:
                built[name] = BuiltSeries(series.summary(), series.path, points)
        return built


def last_values(built: Mapping[str, BuiltSeries]) -> dict[str, float]:
    """The last value of every series but the system's (``model.series.last_values``)."""
    return {name: series.summary["last"] for name, series in built.items() if not name.startswith(SYSTEM_PREFIX)}
