"""Field values straight from the read index's rows, for ``--where`` and ``--sort`` on the default table.

``git run list --sort -metrics.acc`` at 10,000 runs spent most of its time building a ``Run`` per
row and decoding each run's whole metrics JSON to read one number. Here a field becomes SQL
expressions appended to the listing columns (``index.listing_rows``): a typed column, or, for
``params.NAME``/``metrics.NAME``, SQLite's ``json_type``/``json_extract`` of that one key, so a row
carries the value itself. A getter per field turns a row into exactly the values
``gitrun.model.fields.resolve`` gives on the ``Run`` that ``RunIndex.runs`` would have built from
the same row (property-tested in tests/test_row_fields.py), and ``gitrun.model.query_compiled``
runs the expression over rows through them.

A JSON column SQLite cannot read (Python writes NaN and Infinity, which JSON has no word for) or an
integer beyond 64 bits comes back whole and is decoded here. Fields that the typed and section
columns do not hold (``data.*``, ``env.*``, ``note``, ...) are not answered here: ``RowFields.supports``
says so and the caller reads ``Run`` objects instead.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from gitrun.model import fields
from gitrun.model.query_compiled import numbers_of
from gitrun.model.timefmt import from_iso
from gitrun.store.listing_stamp import LISTING_COLUMNS

Row = tuple[Any, ...]
Path = tuple[str, ...]
Getter = Callable[[Row], list[Any]]

# What ``RunIndex.listing_rows`` selects first, in this order (the default table's columns).
_AT = {name: index for index, name in enumerate(LISTING_COLUMNS)}
# Typed columns whose value is the field's one value (absent when NULL).
_PLAIN = {"id": "id", "name": "name", "status": "status", "message": "message", "user": "user", "host": "host",
          "cwd": "cwd", "started": "started", "ended": "ended", "exit_code": "exit_code", "commit": "snapshot_commit"}
_OTHER = frozenset({"branch", "duration", "age", "base", "baseline", "expect", "command", "tag", "tags",
                    "params", "metrics", "summary"})
# A section key SQLite's JSON path can name as it is: no dot (a dotted name may be a nested table),
# no quote or backslash.
_SIMPLE_KEY = re.compile(r"[A-Za-z0-9_/:@+*\- ]+")


class RowFields:
    """A ``FieldSource`` over listing rows: the SQL to append, and one getter per field path."""

    def __init__(self, paths: Iterable[Path], now: datetime) -> None:
        self.now = now
        self.expressions: list[str] = []  # appended to the listing columns, in this order
        self.parameters: list[str] = []  # bound to the expressions' ``?`` in order
        self._columns: dict[str, int] = {}
        self._getters: dict[Path, Getter] = {}
        for path in paths:
            self.values(path)

    @staticmethod
    def supports(paths: Iterable[Path]) -> bool:
        """Whether every path is answered from the row (else the caller reads ``Run`` objects)."""
        for path in paths:
            root, rest = path[0], (path[1] if len(path) > 1 else "")
            if root in _PLAIN:
                continue
            if root not in _OTHER or (root == "expect" and rest not in ("", "met")):
                return False
        return True

    def values(self, path: Path) -> Getter:
        found = self._getters.get(path)
        if found is None:
            found = self._getters[path] = self._getter(path)
        return found

    def numbers(self, path: Path) -> Callable[[Row], list[float | None]]:
        return numbers_of(self.values(path))

    # --- building the getters ------------------------------------------------------------------

    def _column(self, name: str) -> int:
        """The row position of a typed column of ``run_index`` (selected once)."""
        if name in _AT:
            return _AT[name]
        if name not in self._columns:
            self._columns[name] = len(LISTING_COLUMNS) + len(self.expressions)
            self.expressions.append(name)
        return self._columns[name]

    def _expression(self, sql: str, parameters: list[str]) -> int:
        self.expressions.append(sql)
        self.parameters.extend(parameters)
        return len(LISTING_COLUMNS) + len(self.expressions) - 1

    def _getter(self, path: Path) -> Getter:
        root, rest = path[0], (path[1] if len(path) > 1 else "")
        if root in _PLAIN:
            at = self._column(_PLAIN[root])
            return lambda row: [] if row[at] is None else [row[at]]
        if root == "branch":
            branch, detached = self._column("branch"), self._column("detached")

            def branch_of(row: Row) -> list[Any]:
                name = row[branch] or ("(detached)" if row[detached] else "")
                return [name] if name else []

            return branch_of
        if root == "duration":
            at = self._column("duration_s")
            return lambda row: [] if row[at] is None else [float(row[at])]
        if root == "base":
            at = self._column("base_commit")
            return lambda row: [row[at]] if row[at] else []
        if root == "age":
            return self._age()
        if root == "baseline":
            at = self._column("baseline_of")
            return lambda row: [] if row[at] == "[]" else fields.baseline_branches({"baseline_of": json.loads(row[at])})
        if root == "expect":
            at = self._column("expect_met")
            return lambda row: [] if row[at] is None else [bool(row[at])]
        if root == "command":
            at = self._column("command")
            return lambda row: [" ".join(str(arg) for arg in command)] if (command := _decoded(row[at])) else []
        if root in ("tag", "tags"):
            return self._tags()
        if root in ("params", "metrics"):
            if _SIMPLE_KEY.fullmatch(rest):
                return self._json_key(root, rest)
            at = self._column(root)
            return lambda row: fields.section_values(_decoded(row[at]), rest)
        if root == "summary":
            at = self._column("summary")
            return lambda row: fields.summary_values(_decoded(row[at]), rest)
        raise ValueError(f"{'.'.join(path)} is not answered from the index's rows")  # supports() said so

    def _age(self) -> Getter:
        at, now = self._column("started"), self.now

        def age(row: Row) -> list[Any]:
            text = row[at]
            return [(now - from_iso(text)).total_seconds()] if isinstance(text, str) else []

        return age

    def _tags(self) -> Getter:
        tags_at, data_at = self._column("tags"), self._column("data")

        def tags(row: Row) -> list[Any]:
            own = [] if row[tags_at] == "[]" else [str(tag) for tag in json.loads(row[tags_at])]
            data = _decoded(row[data_at])
            return fields.run_tags(own, {"data": data} if data else {})

        return tags

    def _json_key(self, column: str, key: str) -> Getter:
        """One key of a section's JSON, read by SQLite: its JSON type and its value.

        The value is the whole column when SQLite cannot read the JSON (NaN, Infinity) or when it
        would round an integer beyond 64 bits to a float; both are decoded here.
        """
        path = f'$."{key}"'
        kind = self._expression(f"CASE WHEN json_valid({column}) THEN json_type({column}, ?) ELSE 'invalid' END",
                                [path])
        value = self._expression(
            f"CASE WHEN NOT json_valid({column}) THEN {column} "
            f"WHEN json_type({column}, ?) = 'integer' AND typeof(json_extract({column}, ?)) = 'real' THEN {column} "
            f"ELSE json_extract({column}, ?) END", [path, path, path])

        def values(row: Row) -> list[Any]:
            found = row[kind]
            if found is None:
                return []
            item = row[value]
            if found == "invalid" or (found == "integer" and isinstance(item, str)):
                return fields.section_values(json.loads(item), key)
            if found == "true" or found == "false":
                return [found == "true"]
            if found == "object" or found == "array":
                return [json.loads(item)]
            return [item]

        return values


def _decoded(text: str) -> Any:
    """A JSON column as ``RunIndex.runs`` puts it in a document: an empty table or list is left out."""
    return None if text in ("{}", "[]") else json.loads(text)
