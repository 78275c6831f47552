"""The crosshair reads every line's value at one step, on every chart at once; pinned runs stay on
top of the table and on the charts, across restarts (the pin is a per-repository UI setting)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from textual.widgets import Static

from gitrun.model.downsample import Series
from gitrun.tui import crosshair
from gitrun.tui.app import GitRunApp
from gitrun.tui.prefs import load_prefs
from gitrun.tui.screens.compare import CompareScreen
from gitrun.tui.screens.run import RunScreen
from gitrun.tui.source import RunSource
from gitrun.tui.widgets.chart import MetricChart
from gitrun.tui.widgets.run_table import RunTable
from tests.tui.test_app import SIZE, move_to, runs_loaded, sync, table_text, wait_for


def readout_of(screen: Any) -> str:
    return str(screen.query_one("#metrics-panel").query_one(".readout", Static).render())


def values(text: str) -> dict[str, str]:
    """``step 4999 │ ■ acc 0.9998 ■ loss 0.01961`` -> {"step": "4999", "acc": "0.9998", ...}."""
    head, _, rest = text.partition("│")
    out = {"step": head.split()[1]}
    for part in rest.split("■")[1:]:
        label, value = part.strip().split("  ·  ")[0].rsplit(" ", 1)
        out[label] = value
    return out


async def open_metrics(app: GitRunApp, pilot: Any, name: str) -> RunScreen:
    await wait_for(pilot, lambda: runs_loaded(app))
    move_to(app, name)
    await pilot.press("enter")
    await wait_for(pilot, lambda: isinstance(app.screen, RunScreen))
    await pilot.press("3")
    screen = app.screen
    assert isinstance(screen, RunScreen)
    chart = screen.query_one("#metrics-panel").query_one(MetricChart)
    await wait_for(pilot, lambda: {line.label for line in chart.lines} >= {"acc", "loss"})
    return screen


@sync
async def test_crosshair_keys_read_each_metric_at_one_step(project: dict[str, Any]) -> None:
    app = GitRunApp(RunSource(project["repo"]))
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_metrics(app, pilot, "run-b")
        assert "│" not in readout_of(screen)  # hidden until asked for
        await pilot.press("left")  # appears at the newest step
        shown = values(readout_of(screen))
        assert shown == {"step": "4999", "acc": "0.9998", "loss": "0.01961"}, readout_of(screen)
        chart = screen.query_one("#metrics-panel").query_one(MetricChart)
        assert chart.cross_x == 4999.0  # the vertical line is drawn there
        await pilot.press("left", "left")
        moved = values(readout_of(screen))
        step = int(moved["step"])
        assert step < 4999
        assert float(moved["acc"]) == round(step / 5000, 4)  # acc = step / 5000 in the fixture
        await pilot.press("shift+left")
        assert int(values(readout_of(screen))["step"]) < step - 100  # ten columns at once
        for _ in range(30):
            await pilot.press("shift+left")
        assert values(readout_of(screen)) == {"step": "0", "acc": "0", "loss": "1"}  # stops at the first step
        await pilot.press("right")
        assert 0 < int(values(readout_of(screen))["step"]) < 200


@sync
async def test_crosshair_follows_the_mouse(project: dict[str, Any]) -> None:
    app = GitRunApp(RunSource(project["repo"]))
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_metrics(app, pilot, "run-b")
        chart = screen.query_one("#metrics-panel").query_one(MetricChart)
        await wait_for(pilot, lambda: chart._canvas is not None)
        first, last = chart._canvas  # type: ignore[misc]
        await pilot.click(chart, offset=(first + (last - first) // 4, 3))
        quarter = int(values(readout_of(screen))["step"])
        await pilot.hover(chart, offset=(last, 3))
        assert values(readout_of(screen))["step"] == "4999"
        assert 900 < quarter < 1600, quarter


@sync
async def test_compare_crosshair_marks_every_chart_and_reads_each_run(project: dict[str, Any]) -> None:
    app = GitRunApp(RunSource(project["repo"]))
    async with app.run_test(size=(140, 50)) as pilot:
        await wait_for(pilot, lambda: runs_loaded(app))
        move_to(app, "run-b")
        await pilot.press("space")
        move_to(app, "run-a")
        await pilot.press("space", "c")
        await wait_for(pilot, lambda: isinstance(app.screen, CompareScreen))
        screen = app.screen
        await pilot.press("2")
        assert isinstance(screen, CompareScreen)
        await wait_for(pilot, lambda: len(screen.cards) >= 1 and all(chart.lines for chart in screen.charts()))
        charts = screen.charts()
        await pilot.press("left")
        await wait_for(pilot, lambda: all(chart.cross_x == 4999.0 for chart in charts))
        loss_readout = next(label for chart, label in screen.cards if chart.title == "loss")
        text = str(loss_readout.render())
        # run-b logged 5,000 steps, run-a 3,000: at step 4999 run-a has no value
        assert values(text) == {"step": "4999", "run-b": "0.01961", "run-a": "-"}, text
        for _ in range(12):
            await pilot.press("shift+left")
        text = str(loss_readout.render())
        step = int(values(text)["step"])
        assert step < 2999 and values(text)["run-a"] == f"{0.9 - step * 0.0001:.4g}", text
        assert {chart.cross_x for chart in charts} == {float(step)}  # the same step on every chart


def pinned_on_top(app: GitRunApp) -> list[str]:
    table = app.runs_screen.query_one(RunTable)
    return [table.row_text(index)[0] + table.row_text(index)[2] for index in range(table.row_count)]


@sync
async def test_pinned_run_stays_on_top_across_restarts_and_overlays_charts(project: dict[str, Any]) -> None:
    repo = Path(project["repo"])
    app = GitRunApp(RunSource(repo))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: runs_loaded(app))
        move_to(app, "run-a")  # the oldest: last in the table
        await pilot.press("P")
        rows = pinned_on_top(app)
        assert rows[0].startswith("◆") and "run-a" in rows[0], rows
        assert "1 pinned" in str(app.runs_screen.query_one("#counts", Static).render())
        await pilot.press("s", "s")  # sorted by name: the pinned run still first
        assert "run-a" in pinned_on_top(app)[0]
    assert load_prefs(repo / ".git" / "gitrun").pinned == [project["a"]]

    app = GitRunApp(RunSource(repo))  # a new session remembers the pin
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: runs_loaded(app) and app.runs_screen.query_one(RunTable).row_count > 0)
        assert "run-a" in pinned_on_top(app)[0]
        assert "run-c" in table_text(app).splitlines()[1]  # then newest first
        screen = await open_metrics(app, pilot, "run-b")
        chart = screen.query_one("#metrics-panel").query_one(MetricChart)
        await wait_for(pilot, lambda: any("run-a" in line.label for line in chart.lines))
        assert chart.lines[-1].label == "loss · run-a ◆"  # drawn last: on top of run-b's own lines
        await pilot.press("left")
        assert values(readout_of(screen))["loss · run-a ◆"] == "-"  # run-a stopped at step 2999
        await pilot.press("P")  # pin run-b too, from its own screen
        assert app.prefs.pinned == [project["a"], project["b"]]
        await pilot.press("P")  # and unpin it
    assert load_prefs(repo / ".git" / "gitrun").pinned == [project["a"]]


def test_moving_snaps_to_recorded_steps_a_column_apart() -> None:
    series = [Series("a", xs=[0, 1, 2, 3, 10, 100], ys=[5, 4, 3, 2, 1, 0], count=6)]
    steps = crosshair.steps_of(series)
    assert crosshair.move(steps, None, -1, 10) == 100  # first press: the newest step
    assert crosshair.move(steps, None, 1, 10) == 0
    assert crosshair.move(steps, 100, -1, 10) == 10  # one column = 10 steps: 3..10 are skipped to 10
    assert crosshair.move(steps, 10, -1, 10) == 0
    assert crosshair.move(steps, 0, -1, 10) == 0  # stays at the first step
    assert crosshair.move(steps, 0, 1, 100) == 1
    assert crosshair.at_fraction(steps, 0.09) == 10
    reading = crosshair.readings([("a", series[0], 0)], 10, 10)
    assert reading == [crosshair.Reading("a", "1", 0)]
    assert crosshair.readings([("a", series[0], 0)], 50, 10)[0].value == "-"  # no point within half a column
    sampled = Series("b", xs=[0, 40], ys=[1.5, 2.5], count=1000)
    assert crosshair.value_at(sampled, 41, 5) == "~2.5"  # a downsampled line's nearest point, marked
    assert re.fullmatch(r"2\.5", crosshair.value_at(sampled, 40, 5))
