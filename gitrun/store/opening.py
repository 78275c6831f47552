"""Opening a repository the one way every command, job and library user does.

``open_store`` gives the repository, its run store and its settings (``[tool.gitrun]``,
``.gitrun.toml`` and the repository's ``git config gitrun.*``), and runs the caller's recovery
(finalising orphaned runs belongs to the runner, which the store must not import, so the caller
supplies it): ``commands/context.py`` (every command) and ``runner/replay.py`` (every job) both open
through it.

A reading command decides colour and pager from the same settings before it runs
(``commands/paging.py``): ``shared_opening`` opens once for the whole command, and ``open_store``
inside it, for the same folder, returns that opening instead of reading the settings again.
"""

from __future__ import annotations

import contextvars
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pygit2

from gitrun.store.config import Settings, load_settings
from gitrun.store.git import RepoPaths, Repository, open_repository
from gitrun.store.runs import RunStore

Recovery = Callable[[RunStore, Settings], object]


@dataclass
class OpenedRepository:
    """One opened repository: the pygit2 handle stays for the store functions it is passed to."""

    repo: Repository
    paths: RepoPaths
    store: RunStore
    settings: Settings
    start: Path = field(default_factory=Path.cwd)  # the folder it was opened from (resolved)

    def git_config(self, name: str) -> str | None:
        """The repository's (and the user's) git config value ``name``, or None."""
        return config_value(self.repo.config, name)


_SHARED: contextvars.ContextVar[OpenedRepository | None] = contextvars.ContextVar("gitrun_opened", default=None)


def _start_folder(start: Path | str | None) -> Path:
    return Path(start or os.getcwd()).resolve()


def open_store(start: Path | str | None = None, recover: Recovery | None = None) -> OpenedRepository:
    """Open the repository holding ``start`` (default: the current folder), then run ``recover``.

    Raises ``NotARepository`` (one line) outside a working tree or in a bare repository.
    """
    folder = _start_folder(start)
    shared = _SHARED.get()
    opened = shared if shared is not None and shared.start == folder else _open(folder)
    if recover is not None:
        recover(opened.store, opened.settings)
    return opened


def _open(folder: Path) -> OpenedRepository:
    repo, paths = open_repository(folder)
    settings = load_settings(paths.workdir, repo.config)
    return OpenedRepository(repo, paths, RunStore(repo, paths), settings, folder)


@contextmanager
def shared_opening(start: Path | str | None = None) -> Iterator[OpenedRepository | None]:
    """Open once for the ``with`` block (None outside a repository); ``open_store`` in it reuses it."""
    try:
        opened: OpenedRepository | None = _open(_start_folder(start))
    except Exception:  # outside a repository (completion, --help): the command says so if it needs one
        opened = None
    token = _SHARED.set(opened)
    try:
        yield opened
    finally:
        _SHARED.reset(token)


def config_value(config: pygit2.Config | None, name: str) -> str | None:
    """``name`` from a git config, or None when unset or unreadable."""
    if config is None:
        return None
    try:
        value = config[name]
    except (KeyError, ValueError, pygit2.GitError):
        return None
    return str(value) if value is not None else None


def repository_git_config(repo: pygit2.Repository) -> Callable[[str], str | None]:
    """The repository's (and the user's) git config as a function of the name (None when unset)."""
    return lambda name: config_value(repo.config, name)


def user_git_config(name: str) -> str | None:
    """``name`` from the user's own git config (global and system), for use outside a repository."""
    try:
        config = pygit2.Config.get_global_config()
    except Exception:
        return None
    return config_value(config, name)
