"""The one helper for git subprocesses (``gitcli.py``, re-exported here), and opening a repository.

pygit2 does the in-process work; the git CLI is used where users expect their own configuration,
credentials and hooks (push, fetch) or where libgit2 lacks a feature (LFS clean filters).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pygit2

from gitrun.errors import NotARepository
from gitrun.store.gitcli import (  # noqa: F401  (re-exported: the one helper for git subprocesses)
    TRACE_ENV,
    GitProcess,
    GitResult,
    run_git,
    run_git_on_terminal,
    start_git,
    stream_git,
)

# The repository handle, for annotations above the store: commands hand it to store functions and
# call nothing on it themselves (docs/architecture.md, "Commands and pygit2").
Repository = pygit2.Repository


@dataclass
class RepoPaths:
    """Where a repository lives on disk."""

    workdir: Path  # the working tree root
    gitdir: Path  # the repository's own .git directory (a worktree's private gitdir for worktrees)
    commondir: Path  # the shared .git directory (same as gitdir outside linked worktrees)

    @property
    def gitrun_dir(self) -> Path:
        """gitrun's private state (live spools, caches): in the common dir so worktrees share it."""
        return self.commondir / "gitrun"


def open_repository(start: Path | str | None = None) -> tuple[pygit2.Repository, RepoPaths]:
    """Open the repository containing ``start`` (default: the current directory).

    ``GIT_DIR`` and ``GIT_WORK_TREE`` (which ``git --git-dir=... --work-tree=... run`` sets) are
    honoured as git honours them: with ``GIT_DIR`` and no work tree named (by ``GIT_WORK_TREE`` or
    ``core.worktree``), the current directory is the top of the working tree. Both are made
    absolute in the environment, so git subprocesses started from another folder find the same
    repository.

    Raises NotARepository outside a git working tree and for bare repositories, since a run
    needs a working tree to snapshot.
    """
    where = Path(start or os.getcwd()).resolve()
    if os.environ.get("GIT_DIR"):
        repo = _open_from_environment()
        found = str(repo.path)
    else:
        discovered = pygit2.discover_repository(str(where))
        if discovered is None:
            raise NotARepository(
                f"not a git repository: {where}", hint="run inside a git working tree, or `git init` one"
            )
        found = discovered
        repo = pygit2.Repository(found)
    if repo.is_bare or repo.workdir is None:
        raise NotARepository(
            f"{found.rstrip('/')} is a bare repository", hint="run inside a clone that has a working tree"
        )
    gitdir = Path(repo.path).resolve()
    commondir_file = gitdir / "commondir"
    commondir = (gitdir / commondir_file.read_text().strip()).resolve() if commondir_file.exists() else gitdir
    return repo, RepoPaths(Path(repo.workdir).resolve(), gitdir, commondir)


def _open_from_environment() -> pygit2.Repository:
    gitdir = Path(os.environ["GIT_DIR"]).resolve()
    try:
        repo = pygit2.Repository(str(gitdir), flags=pygit2.enums.RepositoryOpenFlag.NO_SEARCH)
    except pygit2.GitError:
        raise NotARepository(f"not a git repository: GIT_DIR={os.environ['GIT_DIR']}",
                             hint="point GIT_DIR at a repository's .git folder, or unset it")
    os.environ["GIT_DIR"] = str(gitdir)
    work_tree = os.environ.get("GIT_WORK_TREE")
    if work_tree:
        top = Path(work_tree).resolve()
        os.environ["GIT_WORK_TREE"] = str(top)
    elif repo.config.get_bool("core.bare") if "core.bare" in repo.config else False:
        return repo  # refused as bare by the caller
    elif "core.worktree" in repo.config:
        top = (gitdir / str(repo.config["core.worktree"])).resolve()
    else:
        top = Path(os.getcwd()).resolve()  # git's rule for GIT_DIR without a work tree
    if not top.is_dir():
        raise NotARepository(f"the working tree {top} does not exist", hint="check GIT_WORK_TREE")
    repo.workdir = str(top)
    return repo


def fresh_repository(paths: RepoPaths) -> pygit2.Repository:
    """A new Repository object: libgit2 caches the index and config per object."""
    repo = pygit2.Repository(str(paths.gitdir))
    if repo.workdir is None or Path(repo.workdir).resolve() != paths.workdir:
        repo.workdir = str(paths.workdir)  # a separate git dir (GIT_DIR, --separate-git-dir)
    return repo


def user_identity(repo: pygit2.Repository) -> str:
    """``Name <email>`` of the identity gitrun's commits carry (``default_signature``)."""
    signature = default_signature(repo)
    return f"{signature.name} <{signature.email}>"


def default_signature(repo: pygit2.Repository) -> pygit2.Signature:
    """The user's identity from git config, else a neutral one: a run must never fail for lack of it."""
    try:
        return repo.default_signature
    except (KeyError, pygit2.GitError):
        host = os.uname().nodename or "localhost"
        return pygit2.Signature("gitrun", f"gitrun@{host}")
