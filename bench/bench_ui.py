"""``git run ui`` at 10,000 realistic runs (bench/generate.py): first screen, filter, sort, first chart.

Side by side with ``git run list`` (the same runs, the same warm read index), interleaved:

* first screen: a fresh process from its start until the runs table is on the (headless) screen;
* filter and sort: one keystroke's work on the runs screen (re-filter or re-sort 10,000 runs and
  rebuild the table), in the running app;
* first chart: opening a run whose result holds 10 series of 100,000 points, until the metrics tab
  shows its first chart (cold: the series was never read);
* live: a running run (a live spool, as ``git run`` writes it) logs a point; how long until its
  runs-table cell and its open chart show it;
* 100 running at once: 100 runs made running, their spools appended to by another process (five
  points a second each), and the time from a key press (cursor down, open the filter) to the screen
  redrawn, while the UI follows them.

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
LIVE_METRIC, RUNNING = "live/loss", 100
WRITER = """
import json, sys, time
paths = sys.argv[2:]
step = 0
while True:
    step += 1
    for path in paths:
        with open(path, "a", encoding="utf-8") as handle:
            point = {"name": "live/loss", "step": step, "time": time.time(), "value": 1.0 / step}
            handle.write(json.dumps(point) + "\\n")
    time.sleep(float(sys.argv[1]))
"""


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


def make_running(repo: Path, run_ids: list[str], points: int = 100) -> list[Path]:
    """Turn recorded runs into running ones, as a ``git run`` in progress leaves them: status
    ``running`` in the note (one notes commit) and a live spool owned by this process, holding
    ``points`` points of ``live/loss``. Returns the spools' metrics files."""
    import json
    import socket

    from gitrun.store import codec
    from gitrun.store.git import open_repository
    from gitrun.store.jsonl import METRICS_FILE
    from gitrun.store.notes import modify_notes
    from gitrun.store.runs import RunStore
    from gitrun.store.spool import create_spool, process_start_time

    repository, paths = open_repository(repo)
    store = RunStore(repository, paths)
    runs = [store.get(run_id) for run_id in run_ids]

    def change(current: dict[str, bytes | None]) -> dict[str, bytes | None]:
        out: dict[str, bytes | None] = {}
        for key, text in current.items():
            if text is not None:
                doc = codec.decode(text, key)
                doc["status"] = "running"
                for name in ("ended", "duration_s", "exit_code"):
                    doc.pop(name, None)
                out[key] = codec.encode(doc)
        return out

    modify_notes(repository, [run.snapshot_commit for run in runs], change, "bench: running")
    files = []
    for run in runs:
        spool = create_spool(paths, run.id)
        spool.write_live({"run_id": run.id, "pid": os.getpid(), "pid_create_time": process_start_time(os.getpid()),
                          "host": socket.gethostname()})
        path = spool.file(METRICS_FILE)
        with open(path, "a", encoding="utf-8") as handle:
            for step in range(points):
                handle.write(json.dumps({"name": LIVE_METRIC, "step": step, "time": time.time(),
                                         "value": 1.0 / (1 + step)}) + "\n")
        files.append(path)
    return files


def remove_spools(repo: Path, run_ids: list[str]) -> None:
    from gitrun.store.git import open_repository
    from gitrun.store.spool import find_spool

    _, paths = open_repository(repo)
    for run_id in run_ids:
        spool = find_spool(paths, run_id)
        if spool is not None:
            spool.remove()


def log_point(path: Path, step: int, value: float) -> None:
    import json

    with open(path, "a", encoding="utf-8") as handle:
        handle.write(json.dumps({"name": LIVE_METRIC, "step": step, "time": time.time(), "value": value}) + "\n")


async def live(repo: Path, rounds: int) -> dict[str, list[float]]:
    """A running run's new point: until its table cell shows it, and until its open chart draws it;
    then 100 runs running at once: key press to screen."""
    from textual.widgets import SelectionList

    from gitrun.tui.app import GitRunApp
    from gitrun.tui.prefs import Prefs
    from gitrun.tui.screens.run import RunScreen
    from gitrun.tui.source import RunSource
    from gitrun.tui.widgets.chart import MetricChart
    from gitrun.tui.widgets.run_table import RunTable

    out: dict[str, list[float]] = {"table": [], "chart": []}
    ids = RunSource(repo).library.runs("columns:command,data")
    on_main = [run.id for run in ids if run.branch == "main"]
    running = on_main[1:RUNNING + 1]  # the newest run holds the long series
    files = make_running(repo, running)
    watched, watched_file = running[0], files[0]
    app = GitRunApp(RunSource(repo), Prefs(extra_columns=[f'metrics."{LIVE_METRIC}"']))
    writer: subprocess.Popen[bytes] | None = None
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            frames = Frames(app)
            screen = app.runs_screen
            table = screen.query_one(RunTable)
            while screen.data is None or not table.row_count:
                await pilot.pause(0.01)
            row = table.index_of(watched)
            assert row is not None
            for round_ in range(rounds):  # the runs table
                value = 0.123456 + round_
                start = time.perf_counter()
                log_point(watched_file, 10_000 + round_, value)
                while f"{value:g}"[:6] not in " ".join(table.row_text(row)):
                    await pilot.pause(0.01)
                out["table"].append(time.perf_counter() - start)
            run = next(item for item in screen.data.runs if item.id == watched)
            app.open_run(run)
            while not isinstance(app.screen, RunScreen):
                await pilot.pause(0.01)
            await pilot.press("3")
            chart = app.screen.query_one("#metrics-panel").query_one(MetricChart)
            picker = app.screen.query_one("#metrics-panel").query_one(SelectionList)
            while not chart.lines:
                await pilot.pause(0.01)
            assert LIVE_METRIC in picker.selected
            for round_ in range(rounds):  # the open chart
                value = 7.25 + round_
                start = time.perf_counter()
                log_point(watched_file, 20_000 + round_, value)
                while not any(line.series.last == value for line in chart.lines):
                    await pilot.pause(0.01)
                out["chart"].append(time.perf_counter() - start)
            app.pop_screen()
            while app.screen is not screen:
                await pilot.pause(0.01)
            await keys_to_screen(pilot, frames, table, rounds, out, "quiet ")  # the same runs, nothing logging
            writer = subprocess.Popen([sys.executable, "-c", WRITER, "0.2", *map(str, files)])
            await pilot.pause(2.0)  # the UI follows 100 growing spools
            await keys_to_screen(pilot, frames, table, rounds, out, "")
    finally:
        if writer is not None:
            writer.kill()
            writer.wait()
        remove_spools(repo, running)
    return out


async def keys_to_screen(pilot: Any, frames: Frames, table: Any, rounds: int, out: dict[str, list[float]],
                         label: str) -> None:
    """Cursor down/up and open/close the filter: from the key press to the last frame it drew (and, as
    before, to the Pilot's return once the CPU is idle)."""
    for key in ("key", "key cpu", "key pilot", "filter key", "filter key cpu", "filter key pilot"):
        out[label + key] = []
    for round_ in range(rounds * 6):
        before = table.cursor
        frames.reset()
        start, cpu = time.perf_counter(), time.process_time()
        await pilot.press("down" if round_ % 12 < 6 else "up")
        await pilot.wait_for_scheduled_animations()
        out[label + "key pilot"].append(time.perf_counter() - start)
        out[label + "key cpu"].append(time.process_time() - cpu)
        out[label + "key"].append(frames.last_after(start))
        assert table.cursor != before
        await pilot.pause(0.15)
    for _ in range(rounds * 2):
        for key in ("slash", "escape"):
            frames.reset()
            start, cpu = time.perf_counter(), time.process_time()
            await pilot.press(key)
            out[label + "filter key pilot"].append(time.perf_counter() - start)
            out[label + "filter key cpu"].append(time.process_time() - cpu)
            out[label + "filter key"].append(frames.last_after(start))
            await pilot.pause(0.15)


class Frames:
    """When the (headless) screen was last drawn: every frame the compositor sends to the driver is
    timed, and whether a metric chart with data was in it. Key to screen is measured to the last
    frame the key's work drew, a chart to the first frame holding it drawn with data, not to the
    widget being mounted or handed its series (nor to the Pilot's wait for an idle CPU, which adds
    two 20 ms sleeps to every key press). The terminal write itself is not done headless."""

    def __init__(self, app: Any) -> None:
        from gitrun.tui.widgets.chart import MetricChart

        self.times: list[float] = []
        self.chart_drawn = False  # a chart with lines rendered since the last reset
        self.chart_frame: tuple[float, float] | None = None  # (wall, CPU) of the first frame showing it
        original_display, original_render = app._display, MetricChart.render

        def display(screen: Any, renderable: Any) -> None:
            original_display(screen, renderable)
            if renderable is None:
                return
            self.times.append(time.perf_counter())
            if self.chart_drawn and self.chart_frame is None:
                self.chart_frame = (time.perf_counter(), time.process_time())

        def render(chart: Any) -> Any:
            drawn = original_render(chart)
            if chart.lines:
                self.chart_drawn = True
            return drawn

        app._display = display
        MetricChart.render = render

    def reset(self) -> None:
        self.times.clear()
        self.chart_drawn = False
        self.chart_frame = None

    def last_after(self, start: float) -> float:
        """Seconds from ``start`` to the last frame drawn since."""
        drawn = [moment for moment in self.times if moment >= start]
        assert drawn, "the key changed nothing on screen"
        return drawn[-1] - start


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
        frames = Frames(app)
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
            frames.reset()
            start, cpu = time.perf_counter(), time.process_time()
            app.open_run(run)
            while not (isinstance(app.screen, RunScreen) and app.screen.is_mounted):
                await asyncio.sleep(0.002)
            await pilot.press("3")  # as soon as the run's page is there, as a user who knows the key
            while frames.chart_frame is None:
                await asyncio.sleep(0.002)
            chart, chart_cpu = frames.chart_frame[0] - start, frames.chart_frame[1] - cpu
            while not app.screen.query(MetricChart) or len(app.screen.query_one(MetricChart).lines) < 3:
                await pilot.pause(0.01)  # the other series, drawn after the first
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


def p95_ms(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))] * 1000


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
        going = asyncio.run(live(repo, args.rounds))
        load = max(load, os.getloadavg()[0])
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
        [f"open a run with {SERIES} series of {POINTS:,} points, press 3: first frame with its chart drawn (cold)",
         f"{median_ms(app['chart']):.0f} ms", f"{median_ms(app['chart cpu']):.0f} ms", "< 500 ms"],
        [f"of which: read and downsample one {POINTS:,}-point series to 100 columns",
         f"{median_ms(app['series']):.0f} ms", "", ""],
        ["a running run logs a point: shown in its runs-table cell", f"{median_ms(going['table']):.0f} ms", "",
         "< 2,000 ms"],
        ["a running run logs a point: drawn on its open chart", f"{median_ms(going['chart']):.0f} ms", "",
         "< 2,000 ms"],
        [f"{RUNNING} runs running (5 points/s each): key to screen, cursor down/up (p95 "
         f"{p95_ms(going['key']):.0f} ms; Pilot round trip {median_ms(going['key pilot']):.0f} ms)",
         f"{median_ms(going['key']):.0f} ms", f"{median_ms(going['key cpu']):.0f} ms", "< 100 ms"],
        [f"the same {RUNNING} runs not logging (baseline): cursor down/up (p95 {p95_ms(going['quiet key']):.0f} ms; "
         f"Pilot round trip {median_ms(going['quiet key pilot']):.0f} ms)",
         f"{median_ms(going['quiet key']):.0f} ms", f"{median_ms(going['quiet key cpu']):.0f} ms", ""],
        [f"{RUNNING} runs running: key to screen, open or close the filter (focus and footer keys change; p95 "
         f"{p95_ms(going['filter key']):.0f} ms; Pilot round trip {median_ms(going['filter key pilot']):.0f} ms)",
         f"{median_ms(going['filter key']):.0f} ms", f"{median_ms(going['filter key cpu']):.0f} ms", "< 100 ms"],
        [f"the same, not logging (baseline; p95 {p95_ms(going['quiet filter key']):.0f} ms; Pilot round trip "
         f"{median_ms(going['quiet filter key pilot']):.0f} ms)",
         f"{median_ms(going['quiet filter key']):.0f} ms", f"{median_ms(going['quiet filter key cpu']):.0f} ms", ""],
    ]
    body = "\n".join([
        f"## The terminal UI at {args.runs:,} runs (`bench/bench_ui.py`)",
        "",
        f"Realistic runs from `bench/generate.py` (20% on another branch, hidden by default), warm read "
        f"index; medians of {args.rounds} rounds, interleaved with `git run list`. {stamp()}, {machine()}; "
        f"load average {load:.1f} during the run (the machine is shared: wall times stretch with the load, "
        f"the CPU column is the UI process's own work). Times end at the frame the compositor sends to the "
        f"(headless) terminal: a chart's first frame holding it drawn with data; a key's last frame drawn "
        f"(the Pilot round trip, what earlier sessions reported, also waits for Textual's test harness to "
        f"see an idle CPU: two 20 ms sleeps or more).",
        "",
        table(["what", "median wall", "median CPU", "target"], rows),
        "",
        f"Spread of the first screen: {min(screens) * 1000:.0f}-{max(screens) * 1000:.0f} ms "
        f"(stdev {statistics.pstdev(screens) * 1000:.0f} ms). Rerun: `.venv/bin/python bench/bench_ui.py`.",
    ])
    write_section("ui", body)


if __name__ == "__main__":
    main()
