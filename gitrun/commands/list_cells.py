"""The cells of ``git run list --columns``/``--csv``: any field of a run (gitrun.model.fields).

Apart from ``list_runs`` because the default table does without the query language: importing it is
start-up time that every ``git run list`` would pay.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from gitrun.commands.output import name_with_baseline, truncate
from gitrun.model import fields
from gitrun.model.query import format_value
from gitrun.model.run import Run
from gitrun.model.timefmt import human_age, human_duration


def cell(run: Run, path: tuple[str, ...], now: datetime, ids: dict[str, str], branch: str) -> str:
    root = path[0]
    if root == "id":
        return ids.get(run.id, run.id[:10])
    if root == "name":
        return name_with_baseline(run.name, fields.baseline_branches(run.doc), branch)
    if root == "age":
        return human_age(run.started, now) if run.started else "-"
    if root == "duration":
        return human_duration(run.duration_s) if run.duration_s is not None else "-"
    if root == "branch":
        return run.branch or "-"
    if root == "message":
        text = run.message or " ".join(run.command)
        tags = "".join(f"[{tag}] " for tag in run.tags)
        expect = run.doc.get("expect")
        if isinstance(expect, dict) and "met" in expect:
            tags += "(expect met) " if expect["met"] else "(expect missed) "
        return truncate(tags + text, 60)
    if root == "expect":
        expect = run.doc.get("expect")
        if isinstance(expect, dict) and "met" in expect and len(path) == 1:
            return "met" if expect["met"] else "missed"
    return truncate(format_value(fields.resolve(run, path, now)), 40)


def raw_cell(run: Run, path: tuple[str, ...], now: datetime) -> Any:
    if path[0] == "message":
        return run.message
    if path[0] == "age":
        values = fields.resolve(run, ("started",), now)
        return values[0] if values else ""
    values = fields.resolve(run, path, now)
    if not values:
        return ""
    if len(values) == 1 and isinstance(values[0], int | float) and not isinstance(values[0], bool):
        return values[0]
    return format_value(values) if len(values) > 1 or not isinstance(values[0], str) else values[0]
