"""``git run gc``: delete runs by rule (e.g. failed and older than 30 days).

Rules combine with "and": ``--status`` (repeatable, any of), ``--older-than``, ``--where``. Runs that
are running, marked as a baseline, or tagged are kept (tagged ones unless ``--include-tagged``):
a tag or a baseline is a user's statement that the run matters.
"""

from __future__ import annotations

from datetime import UTC, datetime

from gitrun.commands.context import open_context
from gitrun.commands.rm import delete_runs
from gitrun.commands.selection import fields_needed, select_runs
from gitrun.errors import UsageError
from gitrun.model import fields
from gitrun.model import status as statuses
from gitrun.model.query import parse_duration
from gitrun.store.index import level_for


def gc_command(status: list[str], older_than: str | None = None, where: str | None = None,
               include_tagged: bool = False, yes: bool = False, dry_run: bool = False) -> int:
    ctx = open_context()
    if not status and not older_than and not where:
        # The project's standing rule, if it has one: [tool.gitrun.gc] status/older_than/where.
        rule = ctx.settings.section("gc")
        configured = rule.get("status", [])
        status = [str(item) for item in (configured if isinstance(configured, list) else [configured])]
        older_than = str(rule["older_than"]) if rule.get("older_than") else None
        where = str(rule["where"]) if rule.get("where") else None
        include_tagged = include_tagged or bool(rule.get("include_tagged", False))
        if status or older_than or where:
            print("using the rule in [tool.gitrun.gc]: " + " and ".join(
                part for part in (f"status in {status}" if status else "", f"older than {older_than}"
                                  if older_than else "", f"where {where}" if where else "") if part))
    if not status and not older_than and not where:
        raise UsageError("give at least one rule: --status, --older-than or --where",
                         hint="e.g. git run gc --status failed --older-than 30d --dry-run, "
                              "or set one in [tool.gitrun.gc]")
    for item in status:
        if item not in statuses.ALL:
            raise UsageError(f"unknown status '{item}'", hint="one of " + ", ".join(statuses.ALL))
    seconds = None
    if older_than is not None:
        seconds = parse_duration(older_than)
        if seconds is None:
            raise UsageError(f"--older-than: '{older_than}' is not a duration", hint="e.g. 30d, 12h, 2w")
    now = datetime.now(UTC)
    runs = ctx.store.list_runs(level_for(fields_needed(where, None)))
    selection = select_runs(runs, ctx.repo, where=where, all_branches=True, now=now)
    chosen = []
    kept = 0
    for run in selection.runs:
        if status and run.status not in status:
            continue
        if seconds is not None and (run.started is None or (now - run.started).total_seconds() < seconds):
            continue
        if run.status == statuses.RUNNING or fields.baseline_branches(run.doc) or (
                run.tags and not include_tagged):
            kept += 1
            continue
        chosen.append(run)
    if kept:
        print(f"keeping {kept} matching run{'s' if kept != 1 else ''} that are running, a baseline, or tagged"
              + ("" if include_tagged else " (--include-tagged to delete tagged ones)"))
    if not chosen:
        print("no runs to delete")
        return 0
    return delete_runs(ctx, chosen, yes, dry_run)
