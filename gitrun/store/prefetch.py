"""A first pull's fetch, started before gitrun's heavy imports.

``git run pull`` into a clone without runs is one ``git fetch`` (``first_pull_fetch_args``) plus
gitrun's own work; with objects already local (a clone of a local path hard-links them), the fetch
is only ~0.15 s of ref writes, so Python's start-up and imports (pygit2, click, the store: about
0.1 s of CPU) would decide the cost. The fetch is a subprocess, so ``gitrun.cli.main`` calls
``start_first_pull`` first thing and the imports run while git fetches; the sharing engine's pull
then ``take_first_pull``s that fetch instead of starting its own. Only the plain forms start one
(``pull``, ``pull REMOTE``), only in a repository without run refs, and only for the remote the pull
itself resolves (the named one, else the current branch's upstream remote, else ``origin``; it must
be configured). This module imports no pygit2.
"""

from __future__ import annotations

import atexit
import os
from dataclasses import dataclass

from gitrun.store.gitcli import NO_AUTO_MAINTENANCE, GitProcess, GitResult, start_git
from gitrun.store.refnames import EXPERIMENTS_PREFIX, first_pull_refspecs


def first_pull_fetch_args(remote: str) -> list[str]:
    """``git`` arguments of a first pull's one fetch (never starts auto-maintenance, no ``--prune``)."""
    return [*NO_AUTO_MAINTENANCE, "fetch", "--quiet", "--no-tags", "--no-write-fetch-head", remote,
            *first_pull_refspecs(remote)]


@dataclass(frozen=True)
class _Started:
    remote: str
    process: GitProcess


_started: list[_Started] = []


def start_first_pull(args: list[str]) -> None:
    """Start a first pull's fetch for ``git run pull ARGS`` when that is what the pull will do."""
    if len(args) > 1 or any(arg.startswith("-") for arg in args):
        return  # options (--no-fetch, --help): the ordinary path
    cwd = os.getcwd()
    runs = start_git(["for-each-ref", "--count=1", "--format=%(refname)", EXPERIMENTS_PREFIX], cwd)
    remotes = start_git(["config", "--get-regexp", r"^remote\..*\.url$"], cwd)
    heads = None if args else start_git(["for-each-ref", "--format=%(HEAD)%(upstream:remotename)", "refs/heads/"],
                                        cwd)
    answers = [process.wait() if process is not None else None for process in (runs, remotes, heads)]
    remote = _remote_to_fetch(args, *answers)
    if remote is None:
        return
    process = start_git(first_pull_fetch_args(remote), cwd)
    if process is not None:
        if not _started:
            atexit.register(_wait_all)  # gitrun never leaves a fetch of its own running behind it
        _started.append(_Started(remote, process))


def _remote_to_fetch(args: list[str], runs: GitResult | None, remotes: GitResult | None,
                     heads: GitResult | None) -> str | None:
    if runs is None or runs.returncode != 0 or runs.stdout.strip() or remotes is None:
        return None  # not a repository, or it has runs: not a first pull
    configured = set()
    for line in remotes.text.splitlines():
        key = line.split(" ", 1)[0]
        if key.startswith("remote.") and key.endswith(".url"):
            configured.add(key[len("remote."):-len(".url")])
    remote = args[0] if args else "origin"
    if not args and heads is not None and heads.returncode == 0:
        current = [line[1:] for line in heads.text.splitlines() if line.startswith("*")]
        if current and current[0] in configured:
            remote = current[0]
    return remote if remote in configured else None


def take_first_pull(remote: str) -> GitResult | None:
    """The result of the fetch started early for ``remote`` (waiting for it to end); None when none
    was. A fetch started for another remote is waited for and dropped (None)."""
    result = None
    while _started:
        started = _started.pop(0)
        done = started.process.wait()
        result = done if started.remote == remote else None
    return result


def _wait_all() -> None:
    while _started:
        _started.pop().process.wait()
