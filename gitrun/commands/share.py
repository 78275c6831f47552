"""``git run push``, ``pull``, ``fetch``, ``remote setup`` and ``rm --remote``: parse, call the
sharing engine (``gitrun.store.sharing``), print. The protocol is documented there and in
docs/format.md ("Sharing and merging")."""

from __future__ import annotations

import sys

from gitrun.commands.context import Context, open_context
from gitrun.model.run import Run
from gitrun.store.sharing import PushResult, Sharing
from gitrun.store.sharing.remote import UNDO_PATTERN


def sharing(ctx: Context) -> Sharing:
    return Sharing(ctx.repo, ctx.paths, ctx.store)


def resolve_remote(ctx: Context, remote: str | None) -> str:
    """REMOTE, else the current branch's upstream remote, else ``origin``; it must exist."""
    return sharing(ctx).resolve_remote(remote)


def _to_stderr(message: str) -> None:
    print(message, file=sys.stderr)


def push_runs(ctx: Context, remote: str, chosen: list[str] | None, deletions: list[str] | None = None,
              no_verify: bool = False, quiet: bool = False) -> PushResult | None:
    """Push (fetch, merge, atomic push, retried); None when there was nothing to push."""
    return sharing(ctx).push(remote, chosen, deletions, no_verify, notify=None if quiet else _to_stderr)


def fetch_command(remote: str | None) -> int:
    engine = sharing(open_context())
    fetched = engine.fetch(engine.resolve_remote(remote))
    print(f"gitrun: fetched {fetched.runs} run(s) from {fetched.remote} into {fetched.tracking_prefix} "
          f"(`git run pull {fetched.remote}` merges them)")
    return 0


def pull_command(remote: str | None, no_fetch: bool = False) -> int:
    engine = sharing(open_context())
    name = engine.resolve_remote(remote)
    summary = engine.pull(name, fetch=not no_fetch)
    parts = [f"{len(summary.new_runs)} new run(s)"]
    if summary.updated_runs:
        parts.append(f"{len(summary.updated_runs)} updated")
    if summary.removed_runs:
        parts.append(f"{len(summary.removed_runs)} removed (deleted on {name})")
    parts.append(f"metadata of {summary.merged_notes} run(s) merged")
    if summary.journal_changed:
        parts.append("journal updated")
    print(f"gitrun: pulled from {name}: " + ", ".join(parts))
    for run_id in summary.kept_local:
        print(f"gitrun: run {run_id} differs from {name}'s copy; kept yours (`git run push` sends it)")
    for run_id, run_name in summary.id_like_names:
        print(f"gitrun: warning: pulled run {run_id} is named '{run_name}', which looks like a run id prefix; "
              "ids win, so refer to it by its id", file=sys.stderr)
    return 0


def select_for_push(ctx: Context, references: list[str], where: str | None) -> list[str] | None:
    if not references and not where:
        return None
    runs: list[Run] = [ctx.store.resolve(reference) for reference in references]
    if where:
        from gitrun.commands.selection import select_runs

        runs += select_runs(ctx.store.list_runs(), ctx.repo, where=where, all_branches=True).runs
    return sorted({run.id for run in runs})


def push_command(remote: str | None, references: list[str], where: str | None = None,
                 no_verify: bool = False) -> int:
    ctx = open_context()
    engine = sharing(ctx)
    if remote is not None and remote not in engine.remotes():
        references = [remote, *references]  # `git run push RUN` with the default remote
        remote = None
    name = engine.resolve_remote(remote)
    chosen = select_for_push(ctx, references, where)
    if chosen is not None and not chosen:
        print("gitrun: no run matches; nothing pushed")
        return 0
    result = engine.push(name, chosen, no_verify=no_verify, notify=_to_stderr)
    if result is None:
        print(f"gitrun: {name} is up to date")
        return 0
    notes = "and their metadata" if result.published_notes else ""
    print(f"gitrun: pushed {len(result.pushed_runs)} run(s) {notes} to {name}".replace("  ", " "))
    return 0


def remote_setup_command(remote: str | None, undo: bool = False) -> int:
    engine = sharing(open_context(recover=False))
    name = engine.resolve_remote(remote)
    key = f"remote.{name}.fetch"
    if undo:
        engine.setup_remote(name, undo=True)
        print(f"gitrun: `git fetch {name}` no longer brings runs")
        return 0
    added = engine.setup_remote(name)
    state = "now brings" if added else "already brought"
    print(f"gitrun: `git fetch {name}` {state} runs and their metadata into refs/gitrun/remotes/{name}/; "
          f"`git run pull {name} --no-fetch` merges them.\n"
          f"To undo: git run remote setup {name} --undo   (or: git config --unset-all {key} '{UNDO_PATTERN}')")
    return 0


def remove_remote(ctx: Context, runs: list[Run], remote: str | None) -> int:
    """Delete ``runs`` here and on the remote; their notes become tombstones so no merge revives them."""
    engine = sharing(ctx)
    return len(engine.delete_everywhere(runs, engine.resolve_remote(remote)))


def remove_remote_command(ctx: Context, runs: list[Run], yes: bool, remote: str | None = None) -> int:
    """``git run rm --remote``: confirm, then delete here and on the remote."""
    from gitrun.commands.interact import confirm

    name = resolve_remote(ctx, remote)
    plural = "s" if len(runs) != 1 else ""
    if not yes:
        print(f"{len(runs)} run{plural} to delete here and on {name}, for everyone:")
        for run in runs:
            print(f"  {run.id[:10]}  {run.name}")
    if not confirm(f"Delete {len(runs)} run{plural} everywhere?", yes):
        print("nothing deleted")
        return 1
    remove_remote(ctx, runs, name)
    print(f"deleted {len(runs)} run{plural} here and on {name}")
    return 0
