"""Metric series built from the spool by streaming: memory stays bounded whatever the point count.

The spool's ``metrics.jsonl`` is read a block of whole lines at a time (``store.jsonl.read_line_blocks``).
A block whose lines are all in the plain form gitrun's writers use (``model.point_columns``) is taken
as columns: each metric's TSV text and values, with no Python object per point field; any other
block (console points, an odd line) is parsed as JSON and fed point by point (``add``). TSV text
(``model.series`` format) waits in each series' buffer and is appended to one file per series in a
folder of the spool once ``FLUSH_BYTES`` are waiting over all series. Summaries (last, count, last
step, finite min and max) are kept as points pass. The stored run gets each series as a blob read
from its file (``store.trees`` takes a ``Path``), so a run of 10 million points is finalised in
constant memory. Without a folder (a running run shown live) the series are kept in memory as
lists of points instead.

The rules are ``model.series.build_series``'s (a point without an integer step gets the count of
its series so far; names are checked; ints become floats) plus one: a metric logged through the
API (points without ``src``) drops the console's points of the same name, so nothing is counted
twice. Since that is known only at the end, a series that has both console and other points is
also written without its console points (a second file, from the first console point on).
"""

from __future__ import annotations

import math
import shutil
from array import array
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from itertools import chain
from pathlib import Path
from typing import Any

from gitrun.model.point_columns import Columns, SeriesText, periodic_series, plain_columns, spaced_runs
from gitrun.model.series import CONSOLE_SOURCE, SYSTEM_PREFIX, TSV_HEADER, SeriesPoint, valid_name
from gitrun.store.jsonl import parse_record_lines

FLUSH_POINTS = 20_000  # points fed one by one (over all series) before they are formatted
FLUSH_BYTES = 4 << 20  # TSV text waiting (over all series) before it is appended to the files
SERIES_BLOCK_BYTES = 2 << 20  # spool read at once: fewer, larger blocks for the column path
_INF = float("inf")
_TSV_LINE = b"%d\t%.3f\t%r\n"


class _Series:
    """One series being built: its file (or its points, in memory) and its running summary.

    Points fed one by one wait in ``buffer``; ``fold`` summarises them and (streaming) turns them
    into TSV text in ``texts``; ``flush`` appends that text to the file.
    """

    __slots__ = ("buffer", "done", "high", "last", "last_step", "low", "path", "texts", "waiting")

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.buffer: list[SeriesPoint] = []
        self.done = 0  # points summarised and turned into text (streaming)
        self.texts: list[bytes] = []  # TSV text not yet in the file
        self.waiting = 0  # its bytes
        self.last = 0.0
        self.last_step = 0
        self.low = _INF
        self.high = -_INF
        if path is not None:
            path.write_text(TSV_HEADER, encoding="utf-8")

    @property
    def count(self) -> int:
        return self.done + len(self.buffer)

    def fold(self) -> None:
        """Summarise the buffered points and, when streaming, turn them into TSV text."""
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
        # One formatting call for the whole buffer: the same text as model.series.series_tsv.
        self._wait((_TSV_LINE * len(points)) % tuple(chain.from_iterable(points)))
        self.done += len(points)
        points.clear()

    def extend(self, columns: Columns | SeriesText) -> int:
        """Append a block's points of this series, as columns or TSV text (streaming only); the bytes
        now waiting."""
        self.fold()  # points fed one by one before these come first
        if isinstance(columns, SeriesText):
            text, last_step = columns.text, columns.last_step
        else:
            steps = columns.steps
            if None in steps:  # logged without a step: numbered by their place in the series
                base = self.done
                steps = [b"%d" % (base + index) if step is None else step for index, step in enumerate(steps)]
            lines = zip(steps, columns.times, columns.texts, strict=True)
            text = b"\n".join(map(b"\t".join, lines)) + b"\n"  # type: ignore[arg-type]
            last_step = int(steps[-1])  # type: ignore[arg-type]
        self._wait(text)
        values = columns.values
        self.done += len(values)
        self.last = values[-1]
        self.last_step = last_step
        if not math.isfinite(sum(values)):  # NaN or inf among them (or a sum past the largest float)
            values = array("d", filter(math.isfinite, values))
        if values:
            self.low = min(self.low, min(values))
            self.high = max(self.high, max(values))
        return len(text)

    def _wait(self, text: bytes) -> None:
        self.texts.append(text)
        self.waiting += len(text)

    def flush(self) -> None:
        """Fold, then append the waiting text to the file."""
        self.fold()
        if self.path is None or not self.texts:
            return
        with open(self.path, "ab") as handle:
            handle.write(b"".join(self.texts))
        self.texts.clear()
        self.waiting = 0

    def fork(self, path: Path | None) -> _Series:
        """A copy of this series so far (its file copied), to continue on its own."""
        twin = _Series(None)
        if self.path is not None:
            self.flush()
            twin.path = path
            if path is not None:
                shutil.copyfile(self.path, path)
        twin.buffer = list(self.buffer)
        twin.done, twin.last, twin.last_step, twin.low, twin.high = (
            self.done, self.last, self.last_step, self.low, self.high)
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
    """Feed points in logging order (``add_block`` a block of spool lines, ``add`` parsed points),
    then ``finish``: the series by name."""

    def __init__(self, folder: Path | None, flush_points: int = FLUSH_POINTS, flush_bytes: int = FLUSH_BYTES) -> None:
        self.folder = folder
        self.flush_points = flush_points
        self.flush_bytes = flush_bytes
        if folder is not None:
            folder.mkdir(parents=True, exist_ok=True)
        self._all: dict[str, _Series] = {}  # every point of each name
        self._plain: dict[str, _Series] = {}  # non-console points, for names that also have console ones
        self._api: set[str] = set()  # names with points logged through the API
        self._valid: dict[str, bool] = {}
        self._pending = 0  # points fed one by one since the last fold
        self._waiting = 0  # bytes of TSV text since the last flush
        self._files = 0

    def _new_path(self) -> Path | None:
        if self.folder is None:
            return None
        self._files += 1
        return self.folder / f"{self._files}.tsv"

    def add_block(self, block: bytes) -> list[dict[str, Any]] | None:
        """A block of whole spool lines, cut around the sampler's lines (``spaced_runs``): each run taken
        as text or columns when its lines are all plain points (streaming); else parsed, fed through
        ``add`` and returned (for what else reads the points)."""
        if self.folder is None:
            records = parse_record_lines(block)
            self.add(records)
            return records
        parsed: list[dict[str, Any]] | None = None
        for run in spaced_runs(block):
            as_text = periodic_series(run)
            if as_text is not None:
                for lines in as_text:
                    self.add_columns(lines)
                continue
            found = plain_columns(run)
            if found is not None:
                self.add_columns(found)
                continue
            records = parse_record_lines(run)
            self.add(records)
            parsed = records if parsed is None else parsed + records
        return parsed

    def add_columns(self, found: Mapping[str, Columns | SeriesText]) -> None:
        """Points without ``src`` (logged through the API or sampled), by name (streaming only)."""
        for name, columns in found.items():
            series = self._all.get(name)
            if series is None:
                series = self._all[name] = _Series(self._new_path())
            self._api.add(name)
            self._waiting += series.extend(columns)
            twin = self._plain.get(name)
            if twin is not None:
                self._waiting += twin.extend(columns)
        if self._waiting >= self.flush_bytes:
            self._flush_all()

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
            buffer.append((series.done + len(buffer) if step is None else step, time, value))
            if src != CONSOLE_SOURCE and plain and name in plain:
                twin = plain[name]
                buffer = twin.buffer
                buffer.append((twin.done + len(buffer) if step is None else step, time, value))
        self._pending += len(points)
        if self._pending >= self.flush_points:
            self._fold_all()

    def _fold_all(self) -> None:
        if self.folder is not None:
            waiting = 0
            for series in (*self._all.values(), *self._plain.values()):
                series.fold()
                waiting += series.waiting
            self._waiting = waiting
            if waiting >= self.flush_bytes:
                self._flush_all()
        self._pending = 0

    def _flush_all(self) -> None:
        for series in (*self._all.values(), *self._plain.values()):
            series.flush()
        self._waiting = 0

    def finish(self, drop_console: Collection[str] = ()) -> dict[str, BuiltSeries]:
        """The series; ``drop_console``: names whose console points are not a series (console facts)."""
        built: dict[str, BuiltSeries] = {}
        for name, series in self._all.items():
            if name in self._plain and (name in self._api or name in drop_console):
                series = self._plain[name]  # console points of an API metric (or a console fact) are dropped
            points = None if self.folder is not None else list(series.buffer)
            series.flush()  # in memory: only the summary
            if series.count:
                built[name] = BuiltSeries(series.summary(), series.path, points)
        return built


def last_values(built: Mapping[str, BuiltSeries]) -> dict[str, float]:
    """The last value of every series but the system's (``model.series.last_values``)."""
    return {name: series.summary["last"] for name, series in built.items() if not name.startswith(SYSTEM_PREFIX)}
