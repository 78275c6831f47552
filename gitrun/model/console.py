"""Console facts: numbers a run printed that are not metrics (pure, no I/O).

Whether a console name is a metric is decided for the run as a whole: a name printed on a
*counted* line (one carrying a step/epoch/iter counter, or after one; the parser marks its points
``"counted": true``) or with two different values is a series; any other console number (printed
once, or repeated unchanged, while a script sets up: ``vocab size: 27``) is a fact, kept apart from
the metrics.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from gitrun.model.series import CONSOLE_SOURCE


class ConsoleFacts:
    """Console points fed in logging order (``add``, chunk by chunk) -> the facts (``facts``):
    names never printed on a counted line, with one value only (printed once, or repeated
    unchanged, such as ``vocab size: 27`` from every process), and their last value."""

    def __init__(self) -> None:
        self._counted: set[str] = set()
        self._varied: set[str] = set()
        self._values: dict[str, float] = {}

    def add(self, points: Iterable[Mapping[str, Any]]) -> None:
        values = self._values
        for point in points:
            if point.get("src") != CONSOLE_SOURCE:
                continue
            name = point.get("name")
            value = point.get("value")
            if not isinstance(name, str) or not isinstance(value, int | float) or isinstance(value, bool):
                continue
            if point.get("counted"):
                self._counted.add(name)
            elif name in values and repr(float(values[name])) != repr(float(value)):
                self._varied.add(name)
            values[name] = float(value)

    def facts(self) -> dict[str, float]:
        return {name: value for name, value in self._values.items()
                if name not in self._counted and name not in self._varied}


def console_facts(points: Iterable[Mapping[str, Any]]) -> dict[str, float]:
    """The console facts of spooled points (``src`` = console)."""
    finder = ConsoleFacts()
    finder.add(points)
    return finder.facts()


def split_console_facts(points: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], dict[str, float]]:
    """Spooled points without the console facts' points, and the facts (name: last value)."""
    facts = console_facts(points)
    if not facts:
        return points, {}
    return [p for p in points if p.get("src") != CONSOLE_SOURCE or p.get("name") not in facts], facts
