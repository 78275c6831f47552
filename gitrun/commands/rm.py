"""``git run rm RUN...``: delete runs (their ref and note), after a confirmation."""

from __future__ import annotations

from gitrun.commands.context import Context, open_context
from gitrun.commands.interact import confirm
from gitrun.errors import UsageError
from gitrun.model import status as statuses
from gitrun.model.run import Run
from gitrun.model.timefmt import human_age


def describe(run: Run) -> str:
    age = human_age(run.started) if run.started else "?"
    return f"  {run.id[:10]}  {run.name:<22} {run.status:<10} {age:<9} {run.message[:40]}"


def delete_runs(ctx: Context, runs: list[Run], yes: bool, dry_run: bool, verb: str = "delete") -> int:
    if dry_run:
        print(f"would {verb} {len(runs)} run{'s' if len(runs) != 1 else ''}:")
        for run in runs:
            print(describe(run))
        return 0
    if not runs:
        return 0
    if not yes:
        print(f"{len(runs)} run{'s' if len(runs) != 1 else ''} to {verb}:")
        for run in runs:
            print(describe(run))
    if not confirm(f"{verb.capitalize()} {len(runs)} run{'s' if len(runs) != 1 else ''}?", yes):
        print("nothing deleted")
        return 1
    for run in runs:
        ctx.store.delete(run)
    print(f"deleted {len(runs)} run{'s' if len(runs) != 1 else ''}"
          " (their objects go with the next `git gc` unless other refs keep them)")
    return 0


def rm_command(references: list[str], yes: bool = False, dry_run: bool = False, force: bool = False,
               remote: bool = False) -> int:
    if not references:
        raise UsageError("no runs given", hint="usage: git run rm RUN...")
    ctx = open_context()
    runs: dict[str, Run] = {}
    for reference in references:
        run = ctx.store.resolve(reference)
        runs[run.id] = run
    running = [run for run in runs.values() if run.status == statuses.RUNNING]
    if running and not force:
        raise UsageError(f"{running[0].id[:10]} ({running[0].name}) is still running",
                         hint="stop it first, or add --force")
    if remote and not dry_run:
        from gitrun.commands.share import remove_remote_command

        return remove_remote_command(ctx, list(runs.values()), yes)
    return delete_runs(ctx, list(runs.values()), yes, dry_run)
