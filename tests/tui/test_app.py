"""The terminal UI driven by key presses (Textual's Pilot): what it shows and what it writes to git."""

from __future__ import annotations

import asyncio
import functools
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import DataTable, Input, Static, TabbedContent

from gitrun.tui.app import GitRunApp
from gitrun.tui.prefs import load_prefs
from gitrun.tui.screens.compare import CompareScreen
from gitrun.tui.screens.run import RunScreen
from gitrun.tui.source import RunSource
from gitrun.tui.widgets.run_table import RunTable
from tests.run_fixtures import store

SIZE = (120, 36)


def sync(test: Any) -> Any:
    """Run an async Pilot test with asyncio.run (no pytest async plugin needed)."""

    @functools.wraps(test)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return asyncio.run(test(*args, **kwargs))

    return wrapper


async def wait_for(pilot: Any, condition: Any, timeout: float = 30.0) -> None:
    """Let workers run until ``condition()`` holds (no fixed sleeps)."""
    import time

    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("the UI did not get there in time")
        await pilot.pause(0.05)


def table_text(app: GitRunApp) -> str:
    screen = app.screen
    if isinstance(screen, CompareScreen):
        table = screen.query_one(DataTable)
        return "\n".join(" ".join(str(cell) for cell in table.get_row_at(i)) for i in range(table.row_count))
    runs = screen.query_one(RunTable)
    return "\n".join(" ".join(runs.row_text(index)) for index in range(runs.row_count))


def runs_loaded(app: GitRunApp) -> bool:
    return app.runs_screen.data is not None and app.screen is app.runs_screen


def move_to(app: GitRunApp, name: str) -> None:
    table = app.runs_screen.query_one(RunTable)
    for index in range(table.row_count):
        if name in table.row_text(index)[2]:
            table.move_cursor(index)
            return
    raise AssertionError(f"{name} is not in the table")


async def open_run_page(pilot: Any, app: GitRunApp, name: str) -> RunScreen:
    """Enter on the run called ``name`` in the runs table; its page, once mounted."""
    await wait_for(pilot, lambda: runs_loaded(app))
    move_to(app, name)
    await pilot.press("enter")
    await wait_for(pilot, lambda: isinstance(app.screen, RunScreen) and app.screen.is_mounted)
    assert isinstance(app.screen, RunScreen)
    return app.screen


@sync
async def test_runs_newest_first_with_counts(project: dict[str, Any]) -> None:
    app = GitRunApp(RunSource(project["repo"]))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: runs_loaded(app))
        text = table_text(app)
        # run-d is on another branch: hidden until the all-branches toggle
        assert text.index("run-c") < text.index("run-b") < text.index("run-a")
        assert "run-d" not in text
        counts = str(app.runs_screen.query_one("#counts", Static).render())
        assert "3 of 4 runs" in counts and "1 hidden" in counts
        await pilot.press("a")
        assert "run-d" in table_text(app)
        assert load_prefs(Path(project["repo"]) / ".git" / "gitrun").all_branches  # persisted


@pytest.mark.slow  # over 2 s on an idle 2-core machine: out of the fast loop, still in make check
@sync
async def test_filter_shows_errors_inline_and_filters(project: dict[str, Any]) -> None:
    app = GitRunApp(RunSource(project["repo"]))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: runs_loaded(app))
        await pilot.press("slash")
        assert isinstance(app.focused, Input)
        for char in "metrics.acc >":
            await pilot.press(char if char != " " else "space")
        error = app.runs_screen.query_one("#filter-error", Static)
        assert error.display and "column" in str(error.render())
        assert "run-a" in table_text(app)  # an invalid expression keeps the last good table
        for char in " 0.85":
            await pilot.press(char if char != " " else "space")
        assert not error.display
        text = table_text(app)
        assert "run-b" in text and "run-a" not in text and "run-c" not in text


@sync
async def test_sort_by_column_and_group(project: dict[str, Any]) -> None:
    app = GitRunApp(RunSource(project["repo"]))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: runs_loaded(app))
        screen = app.runs_screen
        await pilot.press("s", "s")  # status, then name
        assert screen.sort_column is not None and screen.sort_column.key == "name"
        text = table_text(app)
        assert text.index("run-a") < text.index("run-b") < text.index("run-c")
        await pilot.press("S")
        text = table_text(app)
        assert text.index("run-c") < text.index("run-b") < text.index("run-a")
        await pilot.press("g")  # group by branch
        assert "branch: main (3)" in table_text(app)


@pytest.mark.slow  # over 2 s on an idle 2-core machine: out of the fast loop, still in make check
@sync
async def test_tag_note_baseline_delete_write_to_the_repository(project: dict[str, Any]) -> None:
    app = GitRunApp(RunSource(project["repo"]))
    repo = Path(project["repo"])
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: runs_loaded(app))
        move_to(app, "run-a")
        await pilot.press("t")
        for char in "keeper":
            await pilot.press(char)
        await pilot.press("enter")
        await wait_for(pilot, lambda: "keeper" in store(repo).get(project["a"]).tags)
        await wait_for(pilot, lambda: "keeper" in table_text(app))

        move_to(app, "run-a")
        await pilot.press("n")
        await pilot.press(*"too high lr")
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: store(repo).get(project["a"]).doc.get("note") == "too high lr\n")

        move_to(app, "run-a")
        await pilot.press("b")
        await wait_for(pilot, lambda: store(repo).get(project["a"]).doc.get("baseline_of") == ["main"])
        await wait_for(pilot, lambda: "run-a" in table_text(app) and "★" in table_text(app))

        move_to(app, "run-c")
        await pilot.press("d")
        await pilot.press("n")  # no: nothing deleted
        assert project["c"] in store(repo).run_ids()
        await pilot.press("d", "y")
        await wait_for(pilot, lambda: project["c"] not in store(repo).run_ids())
        await wait_for(pilot, lambda: "run-c" not in table_text(app))


@pytest.mark.slow  # over 2 s on an idle 2-core machine: out of the fast loop, still in make check
@sync
async def test_run_screen_tabs(project: dict[str, Any]) -> None:
    app = GitRunApp(RunSource(project["repo"]))
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_run_page(pilot, app, "run-b")
        assert "run-b" in str(screen.query_one("#title", Static).render())
        await pilot.press("2")
        assert screen.query_one(TabbedContent).active == "params"
        params = screen.query_one("#params-table", DataTable)
        assert any("lr" in str(params.get_row_at(i)[0]) for i in range(params.row_count))
        await pilot.press("3")
        from gitrun.tui.widgets.chart import MetricChart

        chart = screen.query_one("#metrics-panel").query_one(MetricChart)
        await wait_for(pilot, lambda: bool(chart.lines))
        loss = next(line for line in chart.lines if line.label == "loss")
        assert loss.series.count == 5000 and len(loss.series.xs) < 1000  # downsampled
        assert max(loss.series.ys) == 50.0  # the spike survives
        await pilot.press("7")
        await wait_for(pilot, lambda: screen.code_diff is not None)
        assert {path for _, path, _, _ in screen.code_diff.files} == {"train.py", "model.py"}
        assert "+" in screen.code_diff.patch
        await pilot.press("escape")
        assert app.screen is app.runs_screen


@sync
async def test_compare_shows_only_differences_and_best(project: dict[str, Any]) -> None:
    app = GitRunApp(RunSource(project["repo"]))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: runs_loaded(app))
        move_to(app, "run-b")
        await pilot.press("space")
        move_to(app, "run-a")
        await pilot.press("space", "c")
        await wait_for(pilot, lambda: isinstance(app.screen, CompareScreen))
        text = table_text(app)
        assert "lr" in text and "batch" not in text  # batch is the same in both
        assert "0.9 ★" in text  # acc: higher is better, run-b has 0.9
        await pilot.press("a")
        assert "batch" in table_text(app)


@sync
async def test_a_sweep_is_one_group_that_names_its_best_run(project: dict[str, Any]) -> None:
    import pygit2

    from gitrun.model.ids import new_run_id
    from gitrun.store.sweeps import SWEEP_FORMAT, save_sweep
    from tests.run_fixtures import set_doc

    repo = Path(project["repo"])
    sweep_id = new_run_id()
    set_doc(repo, project["a"], sweep=sweep_id, metrics={"acc": 0.7})
    set_doc(repo, project["b"], sweep=sweep_id, metrics={"acc": 0.9})
    git = pygit2.Repository(str(repo))
    spec = {"method": "grid", "seed": 0, "command": ["python", "train.py"], "template": False,
            "parameters": [{"name": "lr", "distribution": "categorical", "values": [0.1, 0.01]}],
            "metric": {"name": "acc", "goal": "maximize"}}
    save_sweep(git, {"format": SWEEP_FORMAT, "id": sweep_id, "jobs": [], "spec": spec}, git.head.target)
    app = GitRunApp(RunSource(repo))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: runs_loaded(app))
        await pilot.press("g", "g", "g", "g")  # branch, tag, status, sweep
        await wait_for(pilot, lambda: f"sweep: {sweep_id}" in table_text(app))
        text = table_text(app)
        assert f"sweep: {sweep_id} (2) · best ★ run-b: acc = 0.9" in text
        assert "sweep: (no sweep) (1)" in text  # run-c, in no sweep, is in a group of its own
