"""Console metric parsing: throughput of the output consumer, and what it costs a child under ``git run``.

1. In process, the consumer that sees every byte the child prints (``ConsoleMetrics``: line
   splitting, parsing, spooling points), fed 64 KiB chunks as the pipe delivers them, with its
   time budget off so the parser itself is measured; side by side with the consumer of
   ``--baseline`` (default: the commit before the rewrite, loaded from git), round by round.
   Workloads: ``yes`` (``y\\n``), short numbers (``seq``), short metric lines
   (``step 12 | loss 0.4567``), and a training log (the corpus of tests/console_corpus.py).
2. End to end: ``yes | head -c SIZE`` and a flood of metric lines, run plainly, under
   ``git run --no-console-metrics`` and under ``git run``: parsing must not slow the child (over a
   flood it skips output and says so in the run's ``[console]``).

Target (issue #9): at least 100 MB/s on short lines; ``yes | head -c 1G`` under git run in seconds,
not minutes.

    .venv/bin/python bench/bench_console.py [--rounds 3] [--size-mb 64] [--e2e-mb 1024] [--e2e-rounds 3]
                                            [--baseline REV]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import ROOT, isolated_env, machine, sh, stamp, table, write_section

sys.path.insert(0, str(ROOT))

from gitrun.capture.console_metrics import ConsoleConfig
from gitrun.runner import tracking
from gitrun.store.jsonl import append_records
from gitrun.store.spool import Spool
from tests.console_corpus import CORPUS

BASELINE = "2caae2a"  # the last commit with the line-by-line parser (about 2 MB/s)
CHUNK = 65536


def workloads(size: int) -> dict[str, bytes]:
    def fill(unit: bytes) -> bytes:
        return (unit * (size // len(unit) + 1))[:size]

    corpus = "".join(sample.text for sample in CORPUS).encode()
    return {
        "yes (y\\n)": fill(b"y\n"),
        "numbers (seq)": b"".join(b"%d\n" % i for i in range(size // 7))[:size],
        "metric lines (step N | loss X)": b"".join(b"step %d | loss 0.%04d\n" % (i, i % 9999)
                                                   for i in range(size // 22))[:size],
        "training log (corpus)": fill(corpus),
    }


def load_baseline(rev: str) -> ModuleType:
    source = subprocess.run(["git", "show", f"{rev}:gitrun/capture/console_metrics.py"], cwd=ROOT,
                            capture_output=True, text=True, check=True).stdout
    path = Path(tempfile.mkdtemp()) / "baseline_console_metrics.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("baseline_console_metrics", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def baseline_consumer(module: ModuleType, spool: Spool) -> Callable[[str, bytes], None]:
    """The consumer as it was: every line split, decoded and parsed, points spooled."""
    splitter = module.LineSplitter()
    config = module.ConsoleConfig()
    path = spool.file("metrics.jsonl")

    def consume(stream: str, data: bytes) -> None:
        now = round(time.time(), 3)
        records = [{"name": p.name, "step": p.step, "time": now, "value": p.value, "src": "console"}
                   for line in splitter.feed(stream, data) for p in module.parse_line(line, config)]
        if records:
            append_records(path, records)

    return consume


def current_consumer(spool: Spool) -> Callable[[str, bytes], None]:
    return tracking.ConsoleMetrics(spool, ConsoleConfig())


def throughput(make: Callable[[Spool], Callable[[str, bytes], None]], data: bytes, limit_s: float) -> float:
    """MB/s of one consumer over ``data`` (stops after ``limit_s`` for a slow one: the rate is what counts)."""
    with tempfile.TemporaryDirectory() as folder:
        consumer = make(Spool(Path(folder)))
        start = time.perf_counter()
        done = 0
        for offset in range(0, len(data), CHUNK):
            consumer("stdout", data[offset:offset + CHUNK])
            done += min(CHUNK, len(data) - offset)
            if time.perf_counter() - start > limit_s:
                break
        elapsed = time.perf_counter() - start
    return done / elapsed / 1e6


def _rate(value: float) -> str:
    return f"{value:.2f}" if value < 10 else f"{value:.0f}"


def in_process(rounds: int, size_mb: int, rev: str) -> list[list[str]]:
    baseline = load_baseline(rev)
    tracking.PARSE_ALLOWANCE_S = 1e9  # measure the parser itself, not its budget
    rows = []
    for name, data in workloads(size_mb * 1_000_000).items():
        old: list[float] = []
        new: list[float] = []
        for _ in range(rounds):
            old.append(throughput(lambda spool: baseline_consumer(baseline, spool), data, limit_s=5.0))
            new.append(throughput(current_consumer, data, limit_s=30.0))
        o, n = statistics.median(old), statistics.median(new)
        rows.append([name.replace("|", "\\|"), _rate(o), _rate(n), f"{n / o:.2g}x" if n < 10 * o else f"{n / o:.0f}x"])
        print(f"{name}: baseline {o:.1f} MB/s, now {n:.1f} MB/s", file=sys.stderr, flush=True)
    return rows


def end_to_end(rounds: int, size_mb: int) -> tuple[list[list[str]], dict[str, Any]]:
    gitrun = [str(ROOT / ".venv" / "bin" / "git-run")]
    flood_lines = 2_000_000
    commands = {
        f"yes | head -c {size_mb}M": f"yes | head -c {size_mb}M",
        f"{flood_lines:,} metric lines (python print)":
            f"{sys.executable} -c \"import sys; w = sys.stdout.write\n"
            f"for i in range({flood_lines}): w(f'step {{i}} | loss {{i * 1e-6:.6f}}\\\\n')\"",
    }
    rows = []
    details: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as folder:
        repo = Path(folder) / "repo"
        repo.mkdir()
        env = isolated_env(Path(folder) / "home")
        sh("git init -q && git commit -q --allow-empty -m init", repo, env)
        for label, command in commands.items():
            times: dict[str, list[float]] = {"plain": [], "no_console": [], "git_run": []}
            for _ in range(rounds):
                for key, argv in (("plain", ["sh", "-c", command]),
                                  ("no_console", [*gitrun, "-q", "--no-console-metrics", "--", "sh", "-c", command]),
                                  ("git_run", [*gitrun, "-q", "--", "sh", "-c", command])):
                    start = time.perf_counter()
                    subprocess.run(argv, cwd=repo, env=env, stdout=subprocess.DEVNULL, check=True)
                    times[key].append(time.perf_counter() - start)
                    if key == "git_run":
                        listed = json.loads(sh([*gitrun, "list", "--json", "--limit", "1"], repo, env))
                        shown = json.loads(sh([*gitrun, "show", listed[0]["id"], "--json"], repo, env))
                        details[label] = shown.get("console", {})
                sh("git for-each-ref --format='delete %(refname)' refs/experiments | git update-ref --stdin",
                   repo, env)
            med = {key: statistics.median(values) for key, values in times.items()}
            rows.append([label.replace("|", "\\|"), f"{med['plain']:.2f}", f"{med['no_console']:.2f}",
                         f"{med['git_run']:.2f}",
                         f"{med['git_run'] / med['no_console']:.2f}x",
                         str(details[label].get("skipped_lines", 0))])
            print(f"{label}: {med}", file=sys.stderr, flush=True)
    return rows, details


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--size-mb", type=int, default=64, help="in-process workload size")
    parser.add_argument("--e2e-mb", type=int, default=1024, help="size of `yes | head -c` under git run")
    parser.add_argument("--e2e-rounds", type=int, default=3)
    parser.add_argument("--baseline", default=BASELINE, help="git revision of the baseline parser")
    args = parser.parse_args()
    parse_rows = in_process(args.rounds, args.size_mb, args.baseline)
    e2e_rows, _ = end_to_end(args.e2e_rounds, args.e2e_mb)
    body = [
        "## Console metric parsing (`bench/bench_console.py`)",
        "",
        f"Consumer throughput in process, 64 KiB chunks, {args.size_mb} MB per workload, median of "
        f"{args.rounds} rounds; baseline = the parser of `{args.baseline}` (line by line):",
        "",
        table(["workload", "baseline MB/s", "now MB/s", "ratio"], parse_rows),
        "",
        "Under `git run` (output to /dev/null; seconds, median of "
        f"{args.e2e_rounds}): plain shell, `git run --no-console-metrics`, `git run`, the cost of parsing, "
        "and the lines the parser skipped (0.25 s + 5% of the wall time is its budget; skipped output "
        "is in the log and counted in the run's `[console]`):",
        "",
        table(["command", "plain", "no console metrics", "git run", "parsing cost", "skipped lines"], e2e_rows),
        "",
        f"Load average during the run: {os.getloadavg()[0]:.0f} on {os.cpu_count()} CPUs (the machine is shared); "
        "absolute rates move with it, the ratios much less.",
        "",
        f"Rerun: `.venv/bin/python bench/bench_console.py --rounds {args.rounds} --size-mb {args.size_mb} "
        f"--e2e-mb {args.e2e_mb} --e2e-rounds {args.e2e_rounds}`. {machine()}; {stamp()}.",
    ]
    write_section("console", "\n".join(body))
    return 0


if __name__ == "__main__":
    sys.exit(main())
