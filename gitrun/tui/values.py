"""The runs table's field values, resolved once per load: each keystroke in the filter and each sort
then costs a lookup per run, not a walk through its note (no textual here).

At 10,000 runs, ``fields.resolve`` and the query evaluator took 120-250 ms of CPU per keystroke.
Values are kept per field path for the runs of one load (a reload makes a new cache); a running
run's values (live metrics) and the clock's fields (``age``) are never kept. The filter keeps the
query language's semantics: it is compiled by ``gitrun.model.query_compiled`` (shared with ``git run
list --where``), whose numeric comparisons read the numbers kept here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from gitrun.model import fields
from gitrun.model import status as statuses
from gitrun.model.query import as_number, parse
from gitrun.model.query_compiled import compile_query
from gitrun.model.run import Run

Matcher = Callable[[Run], bool]
CLOCK_FIELDS = ("age", "duration")  # a running run's duration grows; age grows for every run


class ValueCache:
    """``fields.resolve`` per (path, run), kept for the runs of one load."""

    def __init__(self) -> None:
        self._values: dict[tuple[str, ...], dict[str, list[Any]]] = {}
        self._numbers: dict[tuple[str, ...], dict[str, list[float | None]]] = {}
        self._sort: dict[tuple[str, ...], dict[str, tuple[int, float, str]]] = {}

    @staticmethod
    def keeps(run: Run, path: tuple[str, ...]) -> bool:
        return path[0] not in CLOCK_FIELDS and run.status != statuses.RUNNING

    def get(self, run: Run, path: tuple[str, ...], now: datetime | None) -> list[Any]:
        if not self.keeps(run, path):
            return fields.resolve(run, path, now)
        table = self._values.setdefault(path, {})
        found = table.get(run.id)
        if found is None:
            found = table[run.id] = fields.resolve(run, path, now)
        return found

    def number_table(self, path: tuple[str, ...]) -> dict[str, list[float | None]]:
        """The numbers kept so far for ``path``, by run id (a lookup without a call)."""
        return self._numbers.setdefault(path, {})

    def numbers(self, run: Run, path: tuple[str, ...], now: datetime | None) -> list[float | None]:
        """The values as numbers (``None`` for one that is not), as the query language reads them."""
        if not self.keeps(run, path):
            return [as_number(value) for value in fields.resolve(run, path, now)]
        table = self._numbers.setdefault(path, {})
        found = table.get(run.id)
        if found is None:
            found = table[run.id] = [as_number(value) for value in self.get(run, path, now)]
        return found

    def sort_keys(self, runs: Sequence[Run], path: tuple[str, ...],
                  make: Callable[[Run], tuple[int, float, str]]) -> list[tuple[int, float, str]]:
        """A column's sort key of each run, made by ``make`` once (a running run's every time: its
        duration and live metrics change)."""
        table = self._sort.setdefault(path, {})
        keys = []
        for run in runs:
            found = table.get(run.id)
            if found is None:
                found = make(run)
                if run.status != statuses.RUNNING:
                    table[run.id] = found
            keys.append(found)
        return keys


def compile_filter(text: str, now: datetime, values: ValueCache | None = None) -> Matcher | None:
    """A predicate for a ``--where`` expression (None when empty); raises QueryError when invalid.

    Compiled by ``gitrun.model.query_compiled`` (the one compiler, shared with ``git run list
    --where``) over this load's kept values.
    """
    if not text.strip():
        return None
    return compile_query(parse(text, "filter").root, _KeptValues(values or ValueCache(), now), now)


class _KeptValues:
    """The value cache as a ``FieldSource``: numbers kept per run are found without a call."""

    def __init__(self, cache: ValueCache, now: datetime) -> None:
        self.cache = cache
        self.now = now

    def values(self, path: tuple[str, ...]) -> Callable[[Run], list[Any]]:
        cache, now = self.cache, self.now
        return lambda run: cache.get(run, path, now)

    def numbers(self, path: tuple[str, ...]) -> Callable[[Run], list[float | None]]:
        cache, now = self.cache, self.now
        kept = cache.number_table(path)

        def numbers(run: Run) -> list[float | None]:
            found = kept.get(run.id)
            return found if found is not None else cache.numbers(run, path, now)

        return numbers
