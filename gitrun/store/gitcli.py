"""The one helper for git subprocesses (``run_git``; ``start_git`` for one that runs while gitrun
goes on), without pygit2: a first pull starts its fetch from here before the heavy imports.

``gitrun.store.git`` re-exports everything here; import it from there unless pygit2 must not load yet.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from gitrun.errors import GitCommandError


@dataclass(frozen=True)
class GitResult:
    returncode: int
    stdout: bytes
    stderr: bytes

    @property
    def text(self) -> str:
        return self.stdout.decode("utf-8", "surrogateescape")


def run_git(
    args: Sequence[str],
    cwd: Path | str,
    *,
    input_bytes: bytes | None = None,
    stdin_path: Path | None = None,
    env: Mapping[str, str] | None = None,
    check: bool = True,
    timeout: float | None = None,
) -> GitResult:
    """Run ``git ARGS`` in ``cwd``; raise GitCommandError with git's own message when it fails.

    ``stdin_path`` streams a file to git's standard input (large files are never read into memory).
    """
    full_env = dict(os.environ)
    if env:
        full_env.update(env)
    started = time.perf_counter()
    try:
        with open(stdin_path, "rb") if stdin_path is not None else contextlib.nullcontext() as stdin:
            proc = subprocess.run(
                ["git", *args],
                cwd=str(cwd),
                input=input_bytes,
                stdin=stdin,
                capture_output=True,
                env=full_env,
                timeout=timeout,
                check=False,
            )
    except FileNotFoundError:
        raise GitCommandError("git is not installed or not on PATH", hint="install git 2.30 or newer")
    except subprocess.TimeoutExpired:
        raise GitCommandError(f"git {args[0]} timed out after {timeout} s")
    result = GitResult(proc.returncode, proc.stdout, proc.stderr)
    trace = os.environ.get(TRACE_ENV)
    if trace:
        _trace(trace, time.perf_counter() - started, args)
    if check and proc.returncode != 0:
        message = _last_meaningful_line(proc.stderr) or f"exit status {proc.returncode}"
        raise GitCommandError(f"git {' '.join(args[:2])} failed: {message}")
    return result


# Leading arguments for gitrun's own fetches and pushes: git would otherwise start `git maintenance run
# --auto` (or an auto-gc) inside them, which once made a first push wait 99 s.
NO_AUTO_MAINTENANCE: tuple[str, ...] = ("-c", "gc.auto=0", "-c", "maintenance.auto=false")

TRACE_ENV = "GITRUN_TRACE_GIT"  # a file: each git subprocess's wall time and arguments are appended to it


def _trace(path: str, seconds: float, args: Sequence[str]) -> None:
    """One line per git subprocess (``bench/bench_share.py`` profiles push and pull with it)."""
    words = [arg for arg in args if not arg.startswith(("-", "+", "^")) and "=" not in arg][:2]
    with contextlib.suppress(OSError), open(path, "a", encoding="utf-8") as out:
        out.write(f"{seconds * 1000:.1f}\tgit {' '.join(words)}\n")


def stream_git(args: Sequence[str], cwd: Path | str, chunk_size: int = 1024 * 1024) -> Iterator[bytes]:
    """Run ``git ARGS`` and yield its standard output in chunks, never holding more than one.

    For output of any size (``git cat-file blob`` of a 2 GiB blob); raises GitCommandError when git
    fails, after the output it gave.
    """
    try:
        proc = subprocess.Popen(["git", *args], cwd=str(cwd), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    except FileNotFoundError:
        raise GitCommandError("git is not installed or not on PATH", hint="install git 2.30 or newer")
    assert proc.stdout is not None and proc.stderr is not None
    try:
        while chunk := proc.stdout.read(chunk_size):
            yield chunk
    finally:
        proc.stdout.close()
        stderr = proc.stderr.read()
        proc.stderr.close()
        returncode = proc.wait()
    if returncode != 0:
        message = _last_meaningful_line(stderr) or f"exit status {returncode}"
        raise GitCommandError(f"git {' '.join(args[:2])} failed: {message}")


def run_git_on_terminal(args: Sequence[str], cwd: Path | str) -> int:
    """Run ``git ARGS`` on the caller's own terminal (its pager, colours, config); return its status.

    ``run_git`` captures output; ``git run diff --code`` instead lets ``git diff`` own the terminal,
    so the user's ``core.pager``, ``color.diff`` and diff drivers apply exactly as for ``git diff``.
    """
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        return subprocess.call(["git", *args], cwd=str(cwd))
    except FileNotFoundError:
        raise GitCommandError("git is not installed or not on PATH", hint="install git 2.30 or newer")


def _last_meaningful_line(stderr: bytes) -> str:
    lines = [line.strip() for line in stderr.decode("utf-8", "replace").splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith(("fatal:", "error:"))]
    return (errors or lines or [""])[-1]


class GitProcess:
    """A git subprocess started by ``start_git`` and still running; ``wait`` gives its result."""

    def __init__(self, args: Sequence[str], proc: subprocess.Popen[bytes], started: float) -> None:
        self.args = list(args)
        self._proc = proc
        self._started = started
        self._result: GitResult | None = None

    def wait(self) -> GitResult:
        if self._result is None:
            stdout, stderr = self._proc.communicate()
            self._result = GitResult(self._proc.returncode, stdout, stderr)
            trace = os.environ.get(TRACE_ENV)
            if trace:
                _trace(trace, time.perf_counter() - self._started, self.args)
        return self._result


def start_git(args: Sequence[str], cwd: Path | str) -> GitProcess | None:
    """Start ``git ARGS`` in ``cwd`` without waiting (output captured); None when git is missing."""
    started = time.perf_counter()
    try:
        proc = subprocess.Popen(["git", *args], cwd=str(cwd), stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    except OSError:
        return None
    return GitProcess(args, proc, started)

