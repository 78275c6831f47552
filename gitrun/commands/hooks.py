"""``git run hooks install|uninstall`` and ``git run hook pre-push``: the guard on publishing runs.

Which runs a push publishes (checked by the hook):

* runs pushed explicitly: every ``refs/experiments/<id>`` on the hook's stdin (what ``git run push``
  sends, or a hand-written ``git push origin refs/experiments/...``);
* runs whose snapshot a pushed branch or tag contains: the run's snapshot commit is among the
  commits the push publishes (reachable from the pushed local commit, not from the remote's old
  value nor from any remote-tracking branch of that remote), e.g. after ``git merge <snapshot>``.
  Runs that merely *started from* a pushed commit are not published by the push and are not checked.

Under the pre-commit framework (stage ``pre-push``) the ref lines arrive as ``PRE_COMMIT_*``
variables (``PRE_COMMIT_TO_REF``, ``PRE_COMMIT_FROM_REF``, ``PRE_COMMIT_REMOTE_BRANCH``,
``PRE_COMMIT_LOCAL_BRANCH``, ``PRE_COMMIT_REMOTE_NAME``), which are read instead of stdin.
"""

from __future__ import annotations

import os
import stat
import sys
from dataclasses import dataclass
from pathlib import Path

import pygit2

from gitrun.commands.check import report
from gitrun.commands.context import Context, open_context
from gitrun.errors import UsageError
from gitrun.model.run import Run
from gitrun.store.git import run_git
from gitrun.store.refs import EXPERIMENTS_PREFIX, read_ref

MARKER = "# gitrun pre-push hook"
CHAINED_SUFFIX = ".gitrun-chained"
ZERO = "0" * 40

SHIM = """#!/bin/sh
# gitrun pre-push hook: refuses to push runs that others could not reproduce.
# Installed by `git run hooks install`; remove with `git run hooks uninstall`; skip once with
# `git push --no-verify`. A hook that was here before is kept as pre-push.gitrun-chained and runs first.
GITRUN_PYTHON=""
input=$(mktemp "${TMPDIR:-/tmp}/gitrun-pre-push.XXXXXX") || exit 1
trap 'rm -f "$input"' EXIT
cat > "$input"
chained="$(dirname "$0")/pre-push.gitrun-chained"
if [ -x "$chained" ]; then
    "$chained" "$@" < "$input" || exit $?
fi
if [ -n "$GITRUN_PYTHON" ] && [ -x "$GITRUN_PYTHON" ]; then
    "$GITRUN_PYTHON" -m gitrun hook pre-push "$@" < "$input"
elif command -v git-run >/dev/null 2>&1; then
    git-run hook pre-push "$@" < "$input"
else
    python3 -m gitrun hook pre-push "$@" < "$input"
fi
"""


@dataclass(frozen=True)
class PushedRef:
    local_ref: str
    local_sha: str
    remote_ref: str
    remote_sha: str


def hooks_dir(ctx: Context) -> Path:
    """Where git looks for hooks: ``core.hooksPath`` when set, else ``.git/hooks`` (worktree-aware)."""
    text = run_git(["rev-parse", "--git-path", "hooks"], ctx.paths.workdir).text.strip()
    path = Path(text)
    return path if path.is_absolute() else (ctx.paths.workdir / path).resolve()


def shim_text() -> str:
    """The hook as installed: the repository's ``hooks/pre-push`` with this interpreter as fallback."""
    return SHIM.replace('GITRUN_PYTHON=""', f'GITRUN_PYTHON="{sys.executable}"', 1)


def _is_ours(path: Path) -> bool:
    try:
        return "gitrun pre-push hook" in path.read_text(errors="replace")
    except OSError:
        return False


def install_command() -> int:
    ctx = open_context(recover=False)
    directory = hooks_dir(ctx)
    directory.mkdir(parents=True, exist_ok=True)
    hook = directory / "pre-push"
    chained = directory / ("pre-push" + CHAINED_SUFFIX)
    note = ""
    if (hook.exists() or hook.is_symlink()) and not _is_ours(hook):
        if chained.exists():
            raise UsageError(f"{hook} exists and so does {chained.name}",
                             hint="merge them by hand, then run `git run hooks install` again")
        hook.rename(chained)
        note = f"; your previous hook was kept as {chained.name} and runs first"
    hook.write_text(shim_text())
    hook.chmod(hook.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    print(f"gitrun: installed the pre-push hook in {hook}{note}. Pushes of runs are now checked "
          "(skip once with `git push --no-verify`; remove with `git run hooks uninstall`).")
    return 0


def uninstall_command() -> int:
    ctx = open_context(recover=False)
    directory = hooks_dir(ctx)
    hook = directory / "pre-push"
    chained = directory / ("pre-push" + CHAINED_SUFFIX)
    if not _is_ours(hook):
        print("gitrun: no gitrun pre-push hook is installed")
        return 0
    hook.unlink()
    restored = ""
    if chained.exists():
        chained.rename(hook)
        restored = "; your previous hook is back in place"
    print(f"gitrun: removed the pre-push hook{restored}")
    return 0


def parse_stdin(text: str) -> list[PushedRef]:
    refs: list[PushedRef] = []
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 4:
            refs.append(PushedRef(*parts))
    return refs


def refs_from_pre_commit(env: dict[str, str]) -> list[PushedRef] | None:
    """The pushed ref as the pre-commit framework describes it, or None outside pre-commit."""
    to_ref = env.get("PRE_COMMIT_TO_REF")
    if not to_ref:
        return None
    return [PushedRef(env.get("PRE_COMMIT_LOCAL_BRANCH", ""), to_ref, env.get("PRE_COMMIT_REMOTE_BRANCH", ""),
                      env.get("PRE_COMMIT_FROM_REF") or ZERO)]


def runs_being_pushed(ctx: Context, remote: str, pushed: list[PushedRef]) -> list[Run]:
    chosen: dict[str, Run] = {}
    branch_pushes: list[PushedRef] = []
    for item in pushed:
        if item.local_sha == ZERO or item.local_ref == "(delete)":
            continue
        if item.remote_ref.startswith(EXPERIMENTS_PREFIX):
            for ref in (item.local_ref, item.remote_ref):
                if ref.startswith(EXPERIMENTS_PREFIX) and read_ref(ctx.repo, ref) is not None:
                    run = ctx.store.get(ref[len(EXPERIMENTS_PREFIX):])
                    chosen[run.id] = run
                    break
        elif item.remote_ref.startswith("refs/notes/"):
            continue
        else:
            branch_pushes.append(item)
    if branch_pushes:
        by_snapshot = _snapshots(ctx)  # no note is read unless a run is published
        if by_snapshot:
            for commit in _published_commits(ctx, remote, branch_pushes):
                run_id = by_snapshot.get(commit)
                if run_id is not None and run_id not in chosen:
                    chosen[run_id] = ctx.store.get(run_id)
    return sorted(chosen.values(), key=lambda run: run.id)


def _snapshots(ctx: Context) -> dict[str, str]:
    """Snapshot commit -> run id, from the run refs alone (a result commit's parent is the snapshot)."""
    found: dict[str, str] = {}
    for name in ctx.repo.listall_references():
        if not name.startswith(EXPERIMENTS_PREFIX):
            continue
        target = read_ref(ctx.repo, name)
        commit = ctx.repo.get(target) if target is not None else None
        if isinstance(commit, pygit2.Commit) and commit.parent_ids:
            found[str(commit.parent_ids[0])] = name[len(EXPERIMENTS_PREFIX):]
    return found


def _published_commits(ctx: Context, remote: str, pushes: list[PushedRef]) -> set[str]:
    args = ["rev-list"] + [item.local_sha for item in pushes] + ["--not"]
    for item in pushes:
        if item.remote_sha != ZERO and ctx.repo.get(item.remote_sha) is not None:
            args.append(item.remote_sha)
    if remote and not remote.startswith(("-", "/", ".")) and "://" not in remote and ":" not in remote:
        args.append(f"--remotes={remote}")
    result = run_git(args, ctx.paths.workdir, check=False)
    return set(result.text.split()) if result.returncode == 0 else set()


def pre_push_command(args: list[str]) -> int:
    ctx = open_context()
    remote = args[0] if args else os.environ.get("PRE_COMMIT_REMOTE_NAME", "")
    pushed: list[PushedRef] | None = refs_from_pre_commit(dict(os.environ))
    if pushed is None:
        pushed = parse_stdin(sys.stdin.read()) if not sys.stdin.isatty() else []
    runs = runs_being_pushed(ctx, remote, pushed)
    if not runs:
        return 0
    return report(ctx, runs, out=sys.stderr, context="pre-push")
