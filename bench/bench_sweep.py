"""Sweeps among 10,000 realistic runs (``bench/generate.py``): ``git run list --sweep S`` (the
sweep's runs found by SQLite in the read index, the best marked) side by side with the default
``git run list`` of the same repository, and the cost of a job: ``git run worker`` running a
sweep's jobs against ``git run -- CMD`` recording the same command directly.

Run: ``.venv/bin/python bench/bench_sweep.py [--runs 10000] [--rounds 5] [--jobs 6]``
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common
from generate import generate

KEY = "sweep"
SCRIPT = "import sys\nprint(f'loss: {float(sys.argv[2]) * 2}')\n"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--jobs", type=int, default=6)
    args = parser.parse_args()
    work = common.temp_dir("sweep")
    env = common.isolated_env(work / "home", [common.VENV_BIN])
    try:
        repo = work / "repo"
        generate(repo, args.runs, env)
        (repo / "train.py").write_text(SCRIPT)
        common.sh(["git", "add", "train.py"], repo, env)
        common.sh(["git", "commit", "-q", "-m", "train"], repo, env)
        values = ",".join(str(index / 10) for index in range(1, args.jobs + 1))
        common.sh(["git", "run", "sweep", "--name", "bench", "--grid", f"lr={values}", "--metric", "loss",
                   "--", "python", "train.py", "--lr", "0"], repo, env)
        start = time.monotonic()
        common.sh(["git", "run", "worker", "--once", "-q"], repo, env)
        worker_s = (time.monotonic() - start) / args.jobs
        start = time.monotonic()
        for index in range(args.jobs):
            common.sh(["git", "run", "-q", "--", "python", "train.py", "--lr", str(index)], repo, env)
        record_s = (time.monotonic() - start) / args.jobs
        listed = json.loads(common.sh(["git", "run", "list", "--sweep", "bench", "--json"], repo, env))
        assert len(listed["runs"]) == args.jobs and listed["best"], listed
        timings = common.interleaved_timings({
            "git run list --sweep S": lambda: common.sh(["git", "run", "list", "--sweep", "bench"], repo, env),
            "git run list": lambda: common.sh(["git", "run", "list"], repo, env),
        }, args.rounds)
    finally:
        common.remove(work)
    rows = [[name, f"{common.median_ms(timings.wall[name]):.0f} ms ({common.median_ms(timings.cpu[name]):.0f} ms CPU)"]
            for name in timings.wall]
    ratio = common.median_ms(timings.wall["git run list --sweep S"]) / common.median_ms(timings.wall["git run list"])
    body = "\n\n".join([
        "## Sweeps (`bench/bench_sweep.py`)",
        f"A repository of {args.runs:,} runs from `bench/generate.py` plus a sweep of {args.jobs} jobs; every "
        f"command a fresh process, warm index, median of {args.rounds} interleaved rounds.",
        common.table(["command", "time"], rows),
        f"`list --sweep` takes {ratio:.2f}x the time of the default `list` of the same repository. A job run by "
        f"`git run worker` (claim, a worktree at the snapshot, the recording, done) took {worker_s:.2f} s, "
        f"against {record_s:.2f} s for `git run -- CMD` of the same script ({worker_s / record_s:.1f}x).",
        f"{common.machine()}; {common.stamp()}. Rerun: `.venv/bin/python bench/bench_sweep.py --runs {args.runs} "
        f"--rounds {args.rounds} --jobs {args.jobs}`.",
    ])
    common.write_section(KEY, body)


if __name__ == "__main__":
    main()
