"""Reading runs at 100, 1,000 and 10,000 realistic runs (``bench/generate.py``): list, filter, sort,
resolve (show/tag/metrics by id prefix and by name), the index build, ``list --json`` memory, and a
diff of two runs of 10,000 points each; side by side with ``git for-each-ref refs/experiments`` and
``git run show FULL_ID``.

Targets (issue 11), warm, 10,000 runs: list < 0.4 s and <= 3x for-each-ref; --where/--sort < 0.4 s;
show/tag/metrics by prefix or name < 0.25 s; diff < 0.4 s; list --json < 150 MiB; the first command
after 10,000 new runs builds the index in < 10 s; a warm list costs < 0.02 ms per run.

Run: ``.venv/bin/python bench/bench_read.py [--sizes 100,1000,10000] [--rounds 5] [--cache DIR]``
(``--cache`` keeps the generated repositories between runs of the benchmark).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common
from generate import generate

KEY = "read"
GIT_RUN = str(common.VENV_BIN / "git-run")
LONG_SCRIPT = """import gitrun
for step in range(10000):
    gitrun.log({"loss": 1 / (step + 1), "acc": step / 10000, "val_loss": 1.2 / (step + 1)}, step=step)
"""


def timed_child(args: Sequence[str], cwd: Path, env: dict[str, str]) -> tuple[float, float, int]:
    """(wall s, CPU s, peak RSS KiB) of one command, measured on the child alone (wait4)."""
    start = time.perf_counter()
    proc = subprocess.Popen(list(args), cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _pid, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        assert proc.stderr is not None
        raise RuntimeError(f"{' '.join(args)} exited {proc.returncode}: {proc.stderr.read().decode()}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss


def output(args: Sequence[str], cwd: Path, env: dict[str, str]) -> str:
    return common.sh(list(args), cwd, env)


def repository(size: int, work: Path, cache: Path | None, env: dict[str, str]) -> Path:
    target = (cache or work) / f"runs-{size}"
    if not (target / ".git" / "refs").exists():
        shutil.rmtree(target, ignore_errors=True)
        print(f"generating {size} runs ...", file=sys.stderr, flush=True)
        generate(target, size, env)
    return target


def measure_size(size: int, repo: Path, env: dict[str, str], rounds: int) -> dict[str, dict[str, float]]:
    """Median wall and CPU ms of each read at this size."""
    index = repo / ".git" / "gitrun" / "index.sqlite"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{index}{suffix}").unlink(missing_ok=True)
    build_wall, build_cpu, _ = timed_child([GIT_RUN, "list"], repo, env)  # the first command builds the index
    ids = output(["git", "for-each-ref", "--format=%(refname:lstrip=2)", "refs/experiments"], repo, env).split()
    target = ids[len(ids) // 2]
    name = output([GIT_RUN, "query", "--csv", "SELECT name FROM runs GROUP BY name HAVING count(*) = 1 "
                   "ORDER BY name LIMIT 1"], repo, env).splitlines()[1]
    prefix = target[:10]
    tag_round = iter(range(10_000))
    cases = {
        "git for-each-ref refs/experiments": ["git", "for-each-ref", "refs/experiments"],
        "git run list": [GIT_RUN, "list"],
        "git run list --where 'metrics.acc > 0.9'": [GIT_RUN, "list", "--where", "metrics.acc > 0.9"],
        "git run list --sort -metrics.acc": [GIT_RUN, "list", "--sort", "-metrics.acc"],
        "git run show FULL_ID": [GIT_RUN, "show", target],
        "git run show PREFIX": [GIT_RUN, "show", prefix],
        "git run show NAME": [GIT_RUN, "show", name],
        "git run tag PREFIX TAG": None,
        "git run metrics PREFIX": [GIT_RUN, "metrics", prefix],
    }
    results: dict[str, list[tuple[float, float]]] = {case: [] for case in cases}
    for round_ in range(rounds + 1):  # the first round warms the caches
        names = list(cases)
        shift = round_ % len(names)
        for case in names[shift:] + names[:shift]:
            args = cases[case] or [GIT_RUN, "tag", prefix, f"bench-{next(tag_round)}"]  # a real write each time
            wall, cpu, _ = timed_child(args, repo, env)
            if round_:
                results[case].append((wall, cpu))
        print(f"  {size} runs, round {round_}/{rounds}", file=sys.stderr, flush=True)
    json_wall, json_cpu, json_rss = timed_child([GIT_RUN, "list", "--json"], repo, env)  # fills the whole-note cache
    json_wall, json_cpu, json_rss = timed_child([GIT_RUN, "list", "--json"], repo, env)
    figures = {case: {"wall": statistics.median(w for w, _ in samples) * 1000,
                      "cpu": statistics.median(c for _, c in samples) * 1000} for case, samples in results.items()}
    figures["index build (first command after the runs arrive)"] = {"wall": build_wall * 1000, "cpu": build_cpu * 1000}
    figures["git run list --json"] = {"wall": json_wall * 1000, "cpu": json_cpu * 1000, "rss": json_rss / 1024}
    return figures


def long_diff(repo: Path, env: dict[str, str], rounds: int) -> dict[str, float]:
    """``git run diff A B`` of two runs that logged 10,000 points of 3 metrics each (recorded for real)."""
    (repo / "long.py").write_text(LONG_SCRIPT)
    ids = []
    try:
        for _ in range(2):
            err = subprocess.run([GIT_RUN, "--", sys.executable, "long.py"], cwd=repo, env=env, capture_output=True,
                                 text=True, check=True).stderr
            ids.append(err.split("run ", 1)[1].split()[0])
        timed_child([GIT_RUN, "diff", ids[0][:10], ids[1][:10]], repo, env)
        samples = [timed_child([GIT_RUN, "diff", ids[0][:10], ids[1][:10]], repo, env) for _ in range(rounds)]
    finally:  # leave the (cached) repository as it was
        for run_id in ids:
            subprocess.run(["git", "update-ref", "-d", f"refs/experiments/{run_id}"], cwd=repo, env=env, check=False)
        (repo / "long.py").unlink(missing_ok=True)
    return {"wall": statistics.median(s[0] for s in samples) * 1000,
            "cpu": statistics.median(s[1] for s in samples) * 1000}


def report(sizes: list[int], figures: dict[int, dict[str, dict[str, float]]], diff: dict[str, float] | None,
           rounds: int, load_before: str = "") -> str:
    cases = list(figures[sizes[0]])
    headers = ["operation", *[f"{size:,} runs" for size in sizes]]
    if len(sizes) > 1:
        headers.append(f"growth {sizes[-2]:,} -> {sizes[-1]:,}")
    rows = []
    for case in cases:
        cells = [f"`{case}`" if case.startswith("git") else case]
        for size in sizes:
            entry = figures[size][case]
            cell = f"{entry['wall']:.0f} ms ({entry['cpu']:.0f} ms CPU)"
            if "rss" in entry:
                cell += f", {entry['rss']:.0f} MiB"
            cells.append(cell)
        if len(sizes) > 1:
            cells.append(f"{figures[sizes[-1]][case]['cpu'] / max(figures[sizes[-2]][case]['cpu'], 1e-9):.1f}x")
        rows.append(cells)
    last, first = sizes[-1], sizes[0]
    per_run = (figures[last]["git run list"]["cpu"] - figures[first]["git run list"]["cpu"]) / (last - first)
    ratio = figures[last]["git run list"]["wall"] / figures[last]["git for-each-ref refs/experiments"]["wall"]
    ratio_cpu = figures[last]["git run list"]["cpu"] / figures[last]["git for-each-ref refs/experiments"]["cpu"]
    lines = [
        "## Reading runs (`bench/bench_read.py`)",
        "Repositories from `bench/generate.py` (real-sized notes with `[env]`, `[git]` incl. `deleted = []`, "
        "`[hardware]`; 3 series of 1,000 points; tags; 20% of runs on another branch, hidden from `list`), "
        f"refs loose as a fetch leaves them; every command a fresh process, warm index, median of {rounds} "
        "interleaved rounds; wall time, with the command's own CPU time in brackets (the machine is shared, so "
        "CPU time is the steadier figure). `tag` writes a new tag each round.",
        common.table(headers, rows),
        f"Warm `git run list` costs {per_run * 1000:.1f} us of CPU per run ((CPU at {last:,} - CPU at {first:,}) / "
        f"{last - first:,} runs); at {last:,} runs it takes {ratio:.1f}x the wall time and {ratio_cpu:.1f}x the CPU "
        "of `git for-each-ref refs/experiments`.",
    ]
    if diff is not None:
        lines.append(f"`git run diff A B` of two runs of 10,000 points each (3 metrics, recorded with `gitrun.log`) "
                     f"in the {last:,}-run repository: {diff['wall']:.0f} ms ({diff['cpu']:.0f} ms CPU).")
    lines.append(targets(figures[last], diff, per_run, last))
    sizes_arg = ",".join(str(size) for size in sizes)
    before = f"load average {load_before} at the start, " if load_before else "load average "
    lines.append(f"{common.machine()}; {common.stamp()}; {before}{common.load_average()} at the end. "
                 f"Rerun: `.venv/bin/python bench/bench_read.py --sizes {sizes_arg} --rounds {rounds}` "
                 "(`--cache DIR` keeps the generated repositories for the next run).")
    return "\n\n".join(lines)


def targets(at: dict[str, dict[str, float]], diff: dict[str, float] | None, per_run: float, size: int) -> str:
    """The issue-11 targets against this run's figures at the largest size, by wall and by CPU time."""
    def check(name: str, wall: float, cpu: float, limit: float, unit: str = "ms") -> list[str]:
        digits = 1 if unit == "s" else 0
        return [name, f"< {limit:g} {unit}", f"{wall:.{digits}f} {unit}", f"{cpu:.{digits}f} {unit}",
                "meets" if wall < limit else ("meets by CPU" if cpu < limit else "misses")]

    resolving = [case for case in at if "PREFIX" in case or "NAME" in case]
    worst = max(resolving, key=lambda case: at[case]["cpu"])
    baseline = at["git for-each-ref refs/experiments"]
    rows = [
        check("`git run list`", at["git run list"]["wall"], at["git run list"]["cpu"], 400),
        ["`list` / `for-each-ref`", "<= 3x", f"{at['git run list']['wall'] / baseline['wall']:.1f}x",
         f"{at['git run list']['cpu'] / max(baseline['cpu'], 1e-9):.1f}x",
         "meets" if at["git run list"]["wall"] <= 3 * baseline["wall"] else "misses"],
        check("`--where 'metrics.acc > 0.9'`", at["git run list --where 'metrics.acc > 0.9'"]["wall"],
              at["git run list --where 'metrics.acc > 0.9'"]["cpu"], 400),
        check("`--sort -metrics.acc`", at["git run list --sort -metrics.acc"]["wall"],
              at["git run list --sort -metrics.acc"]["cpu"], 400),
        check(f"show/tag/metrics by prefix or name (the most CPU: `{worst}`)", at[worst]["wall"], at[worst]["cpu"],
              250),
    ]
    if diff is not None:
        rows.append(check("`diff A B`, 10,000 points each", diff["wall"], diff["cpu"], 400))
    json_rss = at["git run list --json"].get("rss", 0.0)
    rows.append(["`list --json` peak memory", "< 150 MiB", f"{json_rss:.0f} MiB", "",
                 "meets" if json_rss < 150 else "misses"])
    build = at["index build (first command after the runs arrive)"]
    rows.append(check("index build", build["wall"] / 1000, build["cpu"] / 1000, 10, "s") )
    rows.append(["warm `list` per run", "< 0.02 ms", "", f"{per_run:.4f} ms",
                 "meets by CPU" if per_run < 0.02 else "misses"])
    return (f"Against the issue-11 targets at {size:,} runs (the build's CPU counts its worker processes too):\n\n"
            + common.table(["target", "limit", "wall", "CPU", "status"], rows))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="100,1000,10000")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--cache", type=Path, default=None)
    args, _unknown = parser.parse_known_args()
    sizes = [int(size) for size in args.sizes.split(",")]
    work = common.temp_dir("read")
    env = common.isolated_env(work / "home", [common.VENV_BIN])
    load_before = common.load_average()
    try:
        figures = {}
        for size in sizes:
            repo = repository(size, work, args.cache, env)
            figures[size] = measure_size(size, repo, env, args.rounds)
        diff = long_diff(repository(sizes[-1], work, args.cache, env), env, args.rounds)
        body = report(sizes, figures, diff, args.rounds, load_before)
        print(body)
        common.write_section(KEY, body)
    finally:
        common.remove(work)


if __name__ == "__main__":
    main()
