"""``--expect EXPR``: a condition on the run, written before it starts and checked when it ends.

At start the note gets ``expect = {expression = "..."}``; when the run is finalised (also a crashed
run, by whichever command recovers it) the expression is evaluated on the final metadata and
``met`` (bool) and ``detail`` (the values it looked at) are added. An expression that does not parse
is reported at start and stored with ``met = false`` and the error as ``detail``.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

from gitrun.errors import GitrunError
from gitrun.model.run import Run
from gitrun.runner.extensions import RecordExtension

if TYPE_CHECKING:
    from gitrun.model import query

# The query language is imported only by runs that use --expect: it costs ~5 ms on every run.


class ExpectExtension(RecordExtension):
    def prepare(self) -> None:
        expression = self.rec.options.get("expect")
        if not expression:
            return
        from gitrun.model import query

        entry: dict[str, Any] = {"expression": str(expression)}
        try:
            query.parse(str(expression), "--expect expression")
        except query.QueryError as err:
            print(f"gitrun: warning: {err}", file=sys.stderr)
            entry.update(met=False, detail=f"invalid expression: {err.message} (column {err.column})")
        self.rec.doc["expect"] = entry


def _fields_of(node: query.Node) -> list[tuple[str, ...]]:
    from gitrun.model import query

    if isinstance(node, query.Compare | query.Present):
        return [node.field]
    if isinstance(node, query.Not):
        return _fields_of(node.operand)
    if isinstance(node, query.BoolOp):
        return [path for child in node.operands for path in _fields_of(child)]
    if isinstance(node, query.Since):
        return [("started",)]
    return []


def _not_recorded(doc: dict[str, Any], path: tuple[str, ...]) -> str:
    """Why a field has no value; a metric printed only once is a console fact, not a series."""
    name = ".".join(path)
    console = doc.get("console")
    facts = console.get("facts") if isinstance(console, dict) else None
    if path[0] == "metrics" and isinstance(facts, dict) and ".".join(path[1:]) in facts:
        from gitrun.model import query

        value = query.format_value([facts[".".join(path[1:])]])
        return f"{name} was not recorded (printed once, {value}: a console fact, not a metric series)"
    return f"{name} was not recorded"


def check_expect(doc: dict[str, Any]) -> None:
    """Evaluate ``doc["expect"]`` on the final metadata ``doc`` (in place)."""
    entry = doc.get("expect")
    if not isinstance(entry, dict) or str(entry.get("detail", "")).startswith("invalid expression"):
        return
    from gitrun.model import fields, query

    try:
        parsed = query.parse(str(entry.get("expression", "")), "--expect expression")
    except query.QueryError as err:
        entry.update(met=False, detail=f"invalid expression: {err.message} (column {err.column})")
        return
    run = Run(str(doc.get("id", "")), "", str(doc.get("result_commit", "")), str(doc.get("snapshot_commit", "")),
              doc)
    try:
        met = parsed.matches(lambda path: fields.resolve(run, path))
    except GitrunError as err:  # a ~ pattern that ran out of time: missed, and the run is still recorded
        entry.update(met=False, detail=f"not evaluated: {err}")
        return
    seen = []
    for path in dict.fromkeys(_fields_of(parsed.root)):
        name = ".".join(path)
        values = fields.resolve(run, path)
        seen.append(f"{name} = {query.format_value(values)}" if values else _not_recorded(doc, path))
    entry["met"] = bool(met)
    entry["detail"] = "; ".join(seen)
