"""``git run list``: the runs, newest first."""

from __future__ import annotations

from gitrun.commands.context import open_context
from gitrun.commands.output import print_json, short_ids, table, truncate
from gitrun.model.run import run_summary_json
from gitrun.model.timefmt import human_age, human_duration


def list_command(as_json: bool = False, limit: int | None = None) -> int:
    ctx = open_context()
    runs = ctx.store.list_runs()
    if limit is not None:
        runs = runs[:limit]
    if as_json:
        print_json([run_summary_json(run) for run in runs])
        return 0
    if not runs:
        print("no runs yet: record one with `git run -- COMMAND`")
        return 0
    ids = short_ids(runs)
    rows = [
        [
            ids[run.id],
            run.name,
            run.status,
            human_age(run.started) if run.started else "-",
            human_duration(run.duration_s) if run.duration_s is not None else "-",
            run.branch or "-",
            truncate(run.message or " ".join(run.command), 50),
        ]
        for run in runs
    ]
    print(table(rows, ["id", "name", "status", "age", "duration", "branch", "message"]))
    return 0
