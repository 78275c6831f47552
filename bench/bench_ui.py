"""``git run ui`` at 10,000 realistic runs (bench/generate.py): first screen, filter, sort, first chart.

Side by side with ``git run list`` (the same runs, the same warm read index), interleaved:

* first screen: a fresh process from its start until the runs table is on the (headless) screen;
* filter and sort: one keystroke's work on the runs screen (re-filter or re-sort 10,000 runs and
  rebuild the table), in the running app;
* first chart: opening a run whose result holds 10 series of 100,000 points, until the metrics tab
  shows its first chart (cold: the series was never read).

Run: ``.venv/bin/python bench/bench_ui.py [--runs 10000] [--rounds 5]``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (
    apply_env,
    interleaved,
    isolated_env,
    machine,
    median_ms,
    remove,
    stamp,
    table,
    temp_dir,
    write_section,
)
from bench.generate import generate

FIRST_SCREEN = """
import time
start = time.perf_counter()
import asyncio, sys
from gitrun.tui.widgets.run_table import RunTable
from gitrun.tui.app import GitRunApp
from gitrun.tui.source import RunSource

async def main():
    app = GitRunApp(RunSource(sys.argv[1]))
    async with app.run_test(size=(120, 40)) as pilot:
        while app.runs_screen.data is None or not app.screen.query_one(RunTable).row_count:
            await pilot.pause(0.005)
        await pilot.pause()
        print(f"shown {time.perf_counter() - start:.4f} {time.process_time():.4f}", flush=True)

asyncio.run(main())
"""
SERIES, POINTS = 10, 100_000


def add_long_run(repo: Path) -> str:
    """Give the newest run 10 series of 100,000 points (its metrics tab is what is measured)."""
    from gitrun.model.series import series_path, series_tsv
    from gitrun.store.git import open_repository
    from gitrun.store.runs import RunStore

    repository, paths = open_repository(repo)
    store = RunStore(repository, paths)
    run = store.get(newest_run(repo))
    files: dict[str, Any] = {}
    for index in range(SERIES):
        name = f"long/m{index}"
        files[series_path(name)] = series_tsv(
            [(step, 1.76e9 + step, 1.0 / (1 + step * 0.001 * (index + 1))) for step in range(POINTS)])
    store.save_result(run, files)

    def change(doc: dict[str, Any]) -> dict[str, Any]:
        doc["result_commit"] = run.result_commit
        return doc

    store.update_doc(run, change, "bench: long series")
    return run.id


def newest_run(repo: Path) -> str:
    from gitrun.store.git import open_repository
    from gitrun.store.runs import RunStore

    return RunStore(*open_repository(repo)).run_ids()[0]


def first_screen(repo: Path, env: dict[str, str]) -> tuple[float, float]:
    proc = subprocess.Popen([sys.executable, "-c", FIRST_SCREEN, str(repo)], cwd=repo, env=env,
                            stdout=subprocess.PIPE, text=True)
    start = time.perf_counter()
    assert proc.stdout is not None
    line = proc.stdout.readline()
    elapsed = time.perf_counter() - start
    proc.wait()
    assert line.startswith("shown"), line
    return elapsed, float(line.split()[2])  # wall from the parent's view, CPU of the UI process


async def in_app(repo: Path, long_run: str, rounds: int) -> dict[str, list[float]]:
    from gitrun.tui.app import GitRunApp
    from gitrun.tui.columns import column
    from gitrun.tui.screens.run import RunScreen
    from gitrun.tui.source import RunSource
    from gitrun.tui.widgets.chart import MetricChart
    from gitrun.tui.widgets.run_table import RunTable

    out: dict[str, list[float]] = {"filter": [], "sort": [], "chart": [], "series": [], "filter cpu": [],
                                   "sort cpu": [], "chart cpu": []}
    source = RunSource(repo)
    app = GitRunApp(source)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.runs_screen
        while screen.data is None or not screen.query_one(RunTable).row_count:
            await pilot.pause(0.01)
        # the filter reads params and metrics: the first keystroke loads them once (not timed below)
        screen.query_text = "metrics.acc > 0.5 and params.lr < 0.05"
        screen.ensure_level()
        while screen.loading:
            await pilot.pause(0.01)
        screen.query_text = ""
        for round_ in range(rounds + 1):
            screen.query_text = "metrics.acc > 0.5 and params.lr < 0.05"
            start, cpu = time.perf_counter(), time.process_time()
            screen.render_table()
            filtered, filtered_cpu = time.perf_counter() - start, time.process_time() - cpu
            screen.query_text = ""
            screen.sort_column, screen.descending = column("duration"), True
            start, cpu = time.perf_counter(), time.process_time()
            screen.render_table()
            sorted_, sorted_cpu = time.perf_counter() - start, time.process_time() - cpu
            screen.sort_column = None
            screen.render_table()
            source.results._cache.clear()  # cold: the chart reads its series from git
            run = next(r for r in screen.data.runs if r.id == long_run)
            start, cpu = time.perf_counter(), time.process_time()
            app.open_run(run)
            await pilot.pause()
            await pilot.press("3")
            while True:
                charts = app.screen.query(MetricChart)
                if charts and charts.first().lines:
                    break
                await pilot.pause(0.005)
            chart, chart_cpu = time.perf_counter() - start, time.process_time() - cpu
            source.results._cache.clear()
            start = time.perf_counter()
            source.results.series(run, "long/m0", buckets=100)
            series = time.perf_counter() - start
            assert isinstance(app.screen, RunScreen)
            app.pop_screen()
            await pilot.pause()
            if round_:
                for key, value in (("filter", filtered), ("sort", sorted_), ("chart", chart), ("series", series),
                                   ("filter cpu", filtered_cpu), ("sort cpu", sorted_cpu), ("chart cpu", chart_cpu)):
                    out[key].append(value)
            print(f"  app round {round_}: filter {filtered * 1000:.0f} ms, sort {sorted_ * 1000:.0f} ms, "
                  f"chart {chart * 1000:.0f} ms", file=sys.stderr, flush=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--repo", type=Path, default=None,
                        help="reuse a repository made by an earlier run of this benchmark (its HOME beside it)")
    args = parser.parse_args()
    tmp = temp_dir("ui")
    try:
        env = isolated_env(tmp / "home")
        apply_env(env)
        started = time.perf_counter()
        if args.repo is not None:
            repo = args.repo.resolve()
            env = isolated_env(repo.parent / "home")
            apply_env(env)
            long_run = newest_run(repo)  # add_long_run gave the newest run its long series
        else:
            repo = generate(tmp / "repo", args.runs, env)
            long_run = add_long_run(repo)
        print(f"generated {args.runs} runs in {time.perf_counter() - started:.0f} s", file=sys.stderr)
        git_run = [str(Path(sys.executable).parent / "git-run"), "list"]
        subprocess.run(git_run, cwd=repo, env=env, capture_output=True, check=True)  # builds the read index
        walls = interleaved({
            "git run list": lambda: subprocess.run(git_run, cwd=repo, env=env, capture_output=True, check=True),
            "git run ui: first screen": lambda: None,
        }, args.rounds)
        measured = [first_screen(repo, env) for _ in range(args.rounds)]
        screens = [wall for wall, _ in measured]
        screen_cpu = [cpu for _, cpu in measured]
        walls["git run ui: first screen"] = screens
        load = os.getloadavg()[0]
        app = asyncio.run(in_app(repo, long_run, args.rounds))
    finally:
        remove(tmp)
    rows = [
        ["`git run list` (baseline: the same runs as text)", f"{median_ms(walls['git run list']):.0f} ms", "", ""],
        ["`git run ui`: process start to the runs table on screen", f"{median_ms(screens):.0f} ms",
         f"{median_ms(screen_cpu):.0f} ms", "< 1,000 ms"],
        [f"filter {args.runs:,} runs (`metrics.acc > 0.5 and params.lr < 0.05`) and redraw the table",
         f"{median_ms(app['filter']):.0f} ms", f"{median_ms(app['filter cpu']):.0f} ms", "< 100 ms"],
        [f"sort {args.runs:,} runs by duration and redraw the table", f"{median_ms(app['sort']):.0f} ms",
         f"{median_ms(app['sort cpu']):.0f} ms", "< 100 ms"],
        [f"open a run with {SERIES} series of {POINTS:,} points: first chart drawn (cold)",
         f"{median_ms(app['chart']):.0f} ms", f"{median_ms(app['chart cpu']):.0f} ms", "< 500 ms"],
        [f"of which: read and downsample one {POINTS:,}-point series to 100 columns",
         f"{median_ms(app['series']):.0f} ms", "", ""],
    ]
    body = "\n".join([
        f"## The terminal UI at {args.runs:,} runs (`bench/bench_ui.py`)",
        "",
        f"Realistic runs from `bench/generate.py` (20% on another branch, hidden by default), warm read "
        f"index; medians of {args.rounds} rounds, interleaved with `git run list`. {stamp()}, {machine()}; "
        f"load average {load:.1f} during the run (the machine is shared: wall times stretch with the load, "
        f"the CPU column is the UI process's own work).",
        "",
        table(["what", "median wall", "median CPU", "target"], rows),
        "",
        f"Spread of the first screen: {min(screens) * 1000:.0f}-{max(screens) * 1000:.0f} ms "
        f"(stdev {statistics.pstdev(screens) * 1000:.0f} ms). Rerun: `.venv/bin/python bench/bench_ui.py`.",
    ])
    write_section("ui", body)


if __name__ == "__main__":
    main()
