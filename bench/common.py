"""Helpers shared by the benchmarks: isolated git repos, interleaved timing, markdown sections.

Every benchmark measures gitrun side by side with its baseline in one run (interleaved, so a
slow moment of the machine hits both), reports medians after a warm-up, and writes its own
section of ``docs/benchmarks.md`` between ``<!-- bench:KEY -->`` and ``<!-- /bench:KEY -->``,
leaving the rest of the file (other benchmarks' sections) untouched.
"""

from __future__ import annotations

import os
import platform
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "benchmarks.md"
VENV_BIN = ROOT / ".venv" / "bin"
BENCH_VENV = ROOT / "bench" / ".venv"

IDENTITY = {
    "GIT_AUTHOR_NAME": "Ada Tester",
    "GIT_AUTHOR_EMAIL": "ada@example.com",
    "GIT_COMMITTER_NAME": "Ada Tester",
    "GIT_COMMITTER_EMAIL": "ada@example.com",
    "GIT_CONFIG_NOSYSTEM": "1",
}

INTRO = """# Benchmarks

Speed is measured here, not in timed tests: each benchmark runs gitrun side by side with its
baseline in one run (interleaved, after a warm-up), and reports medians and their ratio.

Rerun everything with `make bench` (or one benchmark, e.g. `.venv/bin/python bench/bench_snapshot.py`);
each benchmark rewrites only its own section below, between its `<!-- bench:NAME -->` markers.
Figures are from the development machine (2 cores shared with other work, so absolute times are
noisy; the ratios are what the targets are about).
"""


# PYTHONDONTWRITEBYTECODE (set in some sandboxes) would make every process recompile gitrun's
# sources: users' installs have bytecode, so the benchmarks run with it.
_DROPPED = ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONDONTWRITEBYTECODE", "PYTHONHOME")


def isolated_env(home: Path, extra_path: Sequence[Path] = ()) -> dict[str, str]:
    """An environment with a fresh HOME, a fixed git identity and no system git config."""
    home.mkdir(parents=True, exist_ok=True)
    (home / ".gitconfig").write_text("[init]\n\tdefaultBranch = main\n[user]\n\tname = Ada Tester\n"
                                     "\temail = ada@example.com\n")
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("GIT_", "GITRUN_")) and key not in _DROPPED}
    env.update(IDENTITY)
    env["HOME"] = str(home)
    env["XDG_CONFIG_HOME"] = str(home / ".config")
    path_parts = [str(p) for p in extra_path] + [env.get("PATH", "/usr/bin:/bin")]
    env["PATH"] = os.pathsep.join(path_parts)
    return env


def apply_env(env: Mapping[str, str]) -> None:
    """Make this process's environment the isolated one (for in-process measurements)."""
    for key in list(os.environ):
        if key not in env:
            del os.environ[key]
    os.environ.update(env)


def sh(args: Sequence[str] | str, cwd: Path, env: Mapping[str, str], check: bool = True) -> str:
    proc = subprocess.run(args, cwd=cwd, env=dict(env), capture_output=True, text=True, check=False,
                          shell=isinstance(args, str), executable="/bin/bash" if isinstance(args, str) else None)
    if check and proc.returncode != 0:
        raise RuntimeError(f"{args!r} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}")
    return proc.stdout


def small_repo(path: Path, env: Mapping[str, str]) -> Path:
    """A repository like a small ML project: a few files, one commit."""
    path.mkdir(parents=True)
    sh(["git", "init", "-q", "-b", "main"], path, env)
    (path / "train.py").write_text("print('loss: 0.5')\n")
    (path / "README.md").write_text("demo\n")
    (path / "params.yaml").write_text("lr: 0.01\n")
    sh(["git", "add", "-A"], path, env)
    sh(["git", "commit", "-q", "-m", "initial"], path, env)
    return path


def temp_dir(prefix: str) -> Path:
    return Path(tempfile.mkdtemp(prefix=f"gitrun-bench-{prefix}-"))


def remove(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


def cpu_seconds() -> float:
    """CPU time (user + system) of this process and of its children that have been waited for."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def timed(action: Callable[[], object]) -> float:
    """Wall seconds of one call."""
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def measure(action: Callable[[], object]) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one call."""
    cpu = cpu_seconds()
    start = time.perf_counter()
    action()
    return time.perf_counter() - start, cpu_seconds() - cpu


@dataclass
class Timings:
    wall: dict[str, list[float]]
    cpu: dict[str, list[float]]


def interleaved(cases: Mapping[str, Callable[[], object]], runs: int, warmup: int = 1,
                after_each: Callable[[str], None] | None = None) -> dict[str, list[float]]:
    """Wall seconds of each case, measured as ``interleaved_timings`` does."""
    return interleaved_timings(cases, runs, warmup, after_each).wall


def interleaved_timings(cases: Mapping[str, Callable[[], object]], runs: int, warmup: int = 1,
                        after_each: Callable[[str], None] | None = None) -> Timings:
    """Time every case ``runs`` times, alternating between cases, after ``warmup`` untimed rounds.

    The order rotates every round, so no case always runs right after the same other one (a big
    process evicts caches that the next one has to refill). Wall time is what the targets are
    about; CPU time is recorded too because it is far less disturbed by other load on the machine.
    """
    result = Timings({name: [] for name in cases}, {name: [] for name in cases})
    names = list(cases)
    for round_ in range(warmup + runs):
        shift = round_ % len(names)
        for name in names[shift:] + names[:shift]:
            wall, cpu = measure(cases[name])
            if after_each is not None:
                after_each(name)
            if round_ >= warmup:
                result.wall[name].append(wall)
                result.cpu[name].append(cpu)
        print(f"  round {round_ + 1}/{warmup + runs}: "
              + ", ".join(f"{name} {result.wall[name][-1] * 1000:.0f} ms" if result.wall[name] else name
                          for name in cases), file=sys.stderr, flush=True)
    return result


def median_ms(samples: Sequence[float]) -> float:
    return statistics.median(samples) * 1000


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join(" --- " for _ in headers) + "|"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def machine() -> str:
    cpus = os.cpu_count() or 0
    git_version = subprocess.run(["git", "--version"], capture_output=True, text=True).stdout.strip()
    return (f"{platform.system()} {platform.machine()}, {cpus} CPUs, Python {platform.python_version()}, "
            f"{git_version}")


def load_average() -> str:
    """The 1, 5 and 15 minute load averages (how busy the shared machine was while measuring)."""
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return " ".join(f"{value:.2f}" for value in os.getloadavg())


def write_section(key: str, body: str, doc: Path = DOC) -> None:
    """Replace (or append) the text between this benchmark's markers, keeping the rest of the file."""
    start, end = f"<!-- bench:{key} -->", f"<!-- /bench:{key} -->"
    block = f"{start}\n{body.strip()}\n{end}"
    text = doc.read_text(encoding="utf-8") if doc.exists() else INTRO
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), re.DOTALL)
    if pattern.search(text):
        text = pattern.sub(lambda _match: block, text, count=1)
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    doc.parent.mkdir(parents=True, exist_ok=True)
    doc.write_text(text, encoding="utf-8")
    print(f"wrote section '{key}' of {doc.relative_to(ROOT)}", file=sys.stderr)


def stamp() -> str:
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
