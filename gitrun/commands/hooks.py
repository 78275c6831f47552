"""``git run hooks install|uninstall`` and ``git run hook pre-push``: the guard on publishing runs.

Which runs a push publishes (checked by the hook):

* runs pushed explicitly: every ``refs/experiments/<id>`` on the hook's stdin (what ``git run push``
  sends, or a hand-written ``git push origin refs/experiments/...``);
* runs whose snapshot a pushed branch or tag contains: the run's snapshot commit is among the
  commits the push publishes (reachable from the pushed local commit, not from the remote's old
  value nor from any remote-tracking branch of that remote), e.g. after ``git merge <snapshot>``.
  Runs that merely *started from* a pushed commit are not published by the push and are not checked.

* runs whose notes the push publishes: a pushed ``refs/notes/gitrun`` carries every note that
  differs from the remote's, and the run of each such note is checked.

Under the pre-commit framework (stage ``pre-push``) only the *first* ref line arrives, as
``PRE_COMMIT_*`` variables (``PRE_COMMIT_TO_REF``, ``PRE_COMMIT_FROM_REF``, ...): a push of
``main 'refs/experiments/*:refs/experiments/*'`` would show the hook ``main`` alone. So without ref
lines on stdin the hook works out the whole push itself: it finds the ``git push`` command that
started it (its ancestor process) and asks git what that push would update (``git push --dry-run
--porcelain --no-verify`` with the same arguments). Where that is not possible it checks every run
ref and note the remote lacks (``git ls-remote``), plus the ref pre-commit named.
"""

from __future__ import annotations

import os
import stat
import sys
from dataclasses import dataclass
from pathlib import Path

from gitrun.commands.check import report
from gitrun.commands.context import Context, open_context
from gitrun.errors import UsageError
from gitrun.model.run import Run
from gitrun.store.commits import first_parent, has_object
from gitrun.store.git import run_git
from gitrun.store.notes import note_blobs_at
from gitrun.store.refs import EXPERIMENTS_PREFIX, NOTES_REF, read_ref, ref_targets

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
        elif item.remote_ref == NOTES_REF:
            for noted in _runs_of_new_notes(ctx, item):
                if noted not in chosen:
                    chosen[noted] = ctx.store.get(noted)
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


def _notes(ctx: Context, sha: str) -> dict[str, str]:
    """Annotated commit -> note blob of a notes commit (empty when it is not here)."""
    return note_blobs_at(ctx.repo, sha) if sha != ZERO else {}


def _runs_of_new_notes(ctx: Context, item: PushedRef) -> list[str]:
    """Runs whose note the pushed notes commit has and the remote's lacks (or holds otherwise)."""
    remote_notes = _notes(ctx, item.remote_sha)
    by_snapshot = _snapshots(ctx)
    return [by_snapshot[key] for key, blob in _notes(ctx, item.local_sha).items()
            if remote_notes.get(key) != blob and key in by_snapshot]


def _ancestor_push_arguments() -> list[str] | None:
    """The arguments after ``push`` of the ``git push`` that (indirectly) started this hook, or None.

    Read from /proc (Linux); hook managers sit between git and us, so a few ancestors are looked at.
    """
    pid = os.getppid()
    for _ in range(8):
        try:
            argv = [arg.decode("utf-8", "surrogateescape")
                    for arg in Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0") if arg]
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            return None
        if argv and os.path.basename(argv[0]) in ("git", "git.exe") and "push" in argv:
            return _arguments_after_push(argv)
        parent = next((line.split()[1] for line in status.splitlines() if line.startswith("PPid:")), "0")
        pid = int(parent)
        if pid <= 1:
            return None
    return None


# The user's push already asked for credentials; a second connection must never ask again (it
# fails instead, and the hook falls back to what it can work out).
_NO_PROMPT = {"GIT_TERMINAL_PROMPT": "0", "GIT_ASKPASS": "", "SSH_ASKPASS": "", "GCM_INTERACTIVE": "never"}
_GLOBAL_WITH_VALUE = {"-C", "-c", "--git-dir", "--work-tree", "--namespace", "--exec-path"}
_NOT_FOR_DRY_RUN = {"--no-verify", "--verify", "-q", "--quiet", "-v", "--verbose", "--progress", "--no-progress",
                    "--porcelain", "--dry-run", "-n"}


def _arguments_after_push(argv: list[str]) -> list[str] | None:
    index = 1
    while index < len(argv) and argv[index] != "push":
        index += 2 if argv[index] in _GLOBAL_WITH_VALUE else 1
    if index >= len(argv):
        return None
    return [arg for arg in argv[index + 1:] if arg not in _NOT_FOR_DRY_RUN]


def refs_from_dry_run(ctx: Context, arguments: list[str]) -> list[PushedRef] | None:
    """Every ref update the push would make, as git itself works it out (``--dry-run --porcelain``)."""
    result = run_git(["push", "--dry-run", "--porcelain", "--no-verify", *arguments], ctx.paths.workdir,
                     check=False, env=_NO_PROMPT)
    refs: list[PushedRef] = []
    for line in result.text.splitlines():
        parts = line.split("\t")
        if len(parts) < 3 or parts[0] not in (" ", "+", "*") or ":" not in parts[1]:
            continue
        source, target = parts[1].rsplit(":", 1)
        local = run_git(["rev-parse", "--verify", "-q", source + "^{}"], ctx.paths.workdir, check=False).text.strip()
        old = parts[2].split("..")[0] if ".." in parts[2] else ""
        remote = run_git(["rev-parse", "--verify", "-q", old], ctx.paths.workdir, check=False).text.strip() \
            if old else ""
        if local:
            refs.append(PushedRef(source, local, target, remote or ZERO))
    return refs if result.returncode == 0 else None


def refs_the_remote_lacks(ctx: Context, remote: str) -> list[PushedRef]:
    """Every local run ref and the notes ref, as pushes to ``remote``, where the remote lacks them."""
    listed = run_git(["ls-remote", remote, EXPERIMENTS_PREFIX + "*", NOTES_REF], ctx.paths.workdir, check=False,
                     env=_NO_PROMPT)
    theirs: dict[str, str] = {}
    for line in listed.text.splitlines():
        sha, _, name = line.partition("\t")
        if name:
            theirs[name] = sha
    refs: list[PushedRef] = []
    ours = ref_targets(ctx.repo, EXPERIMENTS_PREFIX)
    notes = read_ref(ctx.repo, NOTES_REF)
    if notes is not None:
        ours[NOTES_REF] = str(notes)
    for name, local in ours.items():
        if theirs.get(name) != local:
            refs.append(PushedRef(name, local, name, theirs.get(name, ZERO)))
    return refs


def _snapshots(ctx: Context) -> dict[str, str]:
    """Snapshot commit -> run id, from the run refs alone (a result commit's parent is the snapshot)."""
    found: dict[str, str] = {}
    for name, target in ref_targets(ctx.repo, EXPERIMENTS_PREFIX).items():
        snapshot = first_parent(ctx.repo, target)
        if snapshot is not None:
            found[snapshot] = name[len(EXPERIMENTS_PREFIX):]
    return found


def _published_commits(ctx: Context, remote: str, pushes: list[PushedRef]) -> set[str]:
    args = ["rev-list"] + [item.local_sha for item in pushes] + ["--not"]
    for item in pushes:
        if item.remote_sha != ZERO and has_object(ctx.repo, item.remote_sha):
            args.append(item.remote_sha)
    if remote and not remote.startswith(("-", "/", ".")) and "://" not in remote and ":" not in remote:
        args.append(f"--remotes={remote}")
    result = run_git(args, ctx.paths.workdir, check=False)
    return set(result.text.split()) if result.returncode == 0 else set()


def pushed_refs(ctx: Context, remote: str, stdin_text: str, env: dict[str, str]) -> list[PushedRef]:
    """What the push publishes: git's ref lines on stdin, or, when a hook manager passed fewer (one
    ref in ``PRE_COMMIT_*`` variables, or none), what the push would update, worked out here."""
    lines = parse_stdin(stdin_text)
    if lines:
        return lines
    named = refs_from_pre_commit(env) or []
    arguments = _ancestor_push_arguments()
    found = refs_from_dry_run(ctx, arguments) if arguments is not None else None
    if found is None and remote:
        found = refs_the_remote_lacks(ctx, remote)
    return [*named, *(found or [])]


def pre_push_command(args: list[str]) -> int:
    ctx = open_context()
    remote = args[0] if args else os.environ.get("PRE_COMMIT_REMOTE_NAME", "")
    stdin_text = sys.stdin.read() if not sys.stdin.isatty() else ""
    pushed = pushed_refs(ctx, remote, stdin_text, dict(os.environ))
    runs = runs_being_pushed(ctx, remote, pushed)
    if not runs:
        return 0
    return report(ctx, runs, out=sys.stderr, context="pre-push")
