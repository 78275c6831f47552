"""The runs table's field values, resolved once per load: each keystroke in the filter and each sort
then costs a lookup per run, not a walk through its note (no textual here).

At 10,000 runs, ``fields.resolve`` and the query evaluator took 120-250 ms of CPU per keystroke.
Values are kept per field path for the runs of one load (a reload makes a new cache); a running
run's values (live metrics) and the clock's fields (``age``) are never kept. The filter keeps the
query language's semantics by calling its own ``evaluate`` and ``compare``: only numeric
comparisons, the common case, take a shortcut through numbers converted once.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from gitrun.model import fields
from gitrun.model import status as statuses
from gitrun.model.query import BoolOp, Compare, Node, Not, as_number, compare, evaluate, parse
from gitrun.model.run import Run

Matcher = Callable[[Run], bool]
CLOCK_FIELDS = ("age", "duration")  # a running run's duration grows; age grows for every run
NUMERIC = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge, "==": operator.eq,
           "!=": operator.ne}


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
    """A predicate for a ``--where`` expression (None when empty); raises QueryError when invalid."""
    if not text.strip():
        return None
    cache = values or ValueCache()
    return _compiled(parse(text, "filter").root, cache, now)


def _compiled(node: Node, cache: ValueCache, now: datetime) -> Matcher:
    if isinstance(node, BoolOp):
        parts = [_compiled(child, cache, now) for child in node.operands]
        if len(parts) == 2:  # the common case, without a generator per run
            first, second = parts
            if node.op == "and":
                return lambda run: first(run) and second(run)
            return lambda run: first(run) or second(run)
        if node.op == "and":
            return lambda run: all(part(run) for part in parts)
        return lambda run: any(part(run) for part in parts)
    if isinstance(node, Not):
        inner = _compiled(node.operand, cache, now)
        return lambda run: not inner(run)
    if isinstance(node, Compare) and _numeric(node):
        return _numeric_compare(node, cache, now)
    return lambda run: evaluate(node, lambda path: cache.get(run, path, now), now)


def _numeric(node: Compare) -> bool:
    """``field OP number`` on a field that is not a tag list (whose ``!=`` means "none of them")."""
    return isinstance(node.value, float) and node.op in NUMERIC and node.field[0] not in ("tag", "tags")


def _numeric_compare(node: Compare, cache: ValueCache, now: datetime) -> Matcher:
    test, expected, op, path = NUMERIC[node.op], node.value, node.op, node.field

    kept = cache.number_table(path)

    def matches(run: Run) -> bool:
        numbers = kept.get(run.id)
        if numbers is None:
            numbers = cache.numbers(run, path, now)
        for index, number in enumerate(numbers):
            if number is not None:
                if test(number, expected):
                    return True
            elif compare(cache.get(run, path, now)[index], op, expected):  # text, None: the language's rules
                return True
        return False

    return matches
