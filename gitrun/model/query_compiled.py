"""A ``--where`` expression compiled once into closures over whatever holds a run's values.

``gitrun.model.query.evaluate`` walks the expression's tree for every run and asks a resolver for
each field; at 10,000 runs the walk and the calls cost more than the answer. Compiled, each node is
one closure, and a field's values come from a *getter* made once per field path, so the same
expression runs over ``Run`` objects (the terminal UI, with its per-load value cache) or over the
read index's row tuples (``git run list --where``) through one implementation.

The answers are the query language's own: boolean nodes short-circuit as ``evaluate`` does, a
numeric comparison (``field OP number``, the common case) compares numbers converted once by
``as_number`` and hands anything else (text, None, NaN) to ``compare``, and every other node is
``evaluate`` itself over the getters.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol, TypeVar

from gitrun.model.query import BoolOp, Compare, Node, Not, as_number, compare, evaluate
from gitrun.model.run import Run

Item = TypeVar("Item")
Contra = TypeVar("Contra", contravariant=True)
Path = tuple[str, ...]
NUMERIC = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge, "==": operator.eq,
           "!=": operator.ne}


class FieldSource(Protocol[Contra]):
    """Where a compiled expression reads an item's values: one getter per field path."""

    def values(self, path: Path) -> Callable[[Contra], list[Any]]:
        """A function from an item to its values at ``path`` ([] when absent), as ``fields.resolve``."""
        ...

    def numbers(self, path: Path) -> Callable[[Contra], list[float | None]]:
        """The same values through ``as_number`` (``None`` for one that is not a number)."""
        ...


def numbers_of(values: Callable[[Item], list[Any]]) -> Callable[[Item], list[float | None]]:
    """``FieldSource.numbers`` for a source that keeps no converted values: ``as_number`` over ``values``."""
    return lambda item: [as_number(value) for value in values(item)]


class RunValues:
    """A ``FieldSource`` over ``Run`` objects: ``fields.resolve`` at each path (nothing kept)."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def values(self, path: Path) -> Callable[[Run], list[Any]]:
        from gitrun.model.fields import resolve

        now = self.now
        return lambda run: resolve(run, path, now)

    def numbers(self, path: Path) -> Callable[[Run], list[float | None]]:
        return numbers_of(self.values(path))


def compile_query(node: Node, source: FieldSource[Item], now: datetime) -> Callable[[Item], bool]:
    """A predicate answering ``evaluate(node, ...)`` for an item, through ``source``'s getters."""
    getters: dict[Path, Callable[[Item], list[Any]]] = {}

    def getter(path: Path) -> Callable[[Item], list[Any]]:
        found = getters.get(path)
        if found is None:
            found = getters[path] = source.values(path)
        return found

    return _compiled(node, source, getter, now)


def _compiled(node: Node, source: FieldSource[Item], getter: Callable[[Path], Callable[[Item], list[Any]]],
              now: datetime) -> Callable[[Item], bool]:
    if isinstance(node, BoolOp):
        parts = [_compiled(child, source, getter, now) for child in node.operands]
        if len(parts) == 2:  # the common case, without a generator per item
            first, second = parts
            if node.op == "and":
                return lambda item: first(item) and second(item)
            return lambda item: first(item) or second(item)
        if node.op == "and":
            return lambda item: all(part(item) for part in parts)
        return lambda item: any(part(item) for part in parts)
    if isinstance(node, Not):
        inner = _compiled(node.operand, source, getter, now)
        return lambda item: not inner(item)
    if isinstance(node, Compare) and numeric(node):
        return _numeric_compare(node, source.numbers(node.field), getter(node.field))
    return lambda item: evaluate(node, lambda path: getter(path)(item), now)


def numeric(node: Compare) -> bool:
    """``field OP number`` on a field that is not a tag list (whose ``!=`` means "none of them")."""
    return isinstance(node.value, float) and node.op in NUMERIC and node.field[0] not in ("tag", "tags")


def _numeric_compare(node: Compare, numbers: Callable[[Item], list[float | None]],
                     values: Callable[[Item], list[Any]]) -> Callable[[Item], bool]:
    test, expected, op = NUMERIC[node.op], node.value, node.op

    def matches(item: Item) -> bool:
        found = numbers(item)
        if len(found) == 1:  # one value (every field but tags): no loop
            number = found[0]
            if number is not None:
                return bool(test(number, expected))
            return compare(values(item)[0], op, expected)  # text, None, NaN: the language's rules
        for index, number in enumerate(found):
            if number is not None:
                if test(number, expected):
                    return True
            elif compare(values(item)[index], op, expected):
                return True
        return False

    return matches
