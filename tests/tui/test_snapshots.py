"""Screenshots of the main screens (pytest-textual-snapshot): 80x24 and 140x40, dark and light.

The repository is tests/tui/demo.py's (fixed ids, times, values) and the UI's clock is fixed, so a
change in what a screen shows is a change in the snapshot. Update after checking the report:
``.venv/bin/pytest tests/tui/test_snapshots.py --snapshot-update``.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import DataTable, Input

from gitrun.tui.app import GitRunApp
from gitrun.tui.prefs import Prefs
from gitrun.tui.screens.compare import CompareScreen
from gitrun.tui.screens.run import RunScreen
from gitrun.tui.source import RunSource
from gitrun.tui.widgets.chart import MetricChart
from gitrun.tui.widgets.run_table import RunTable
from tests.tui.demo import build_demo


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    with pytest.MonkeyPatch.context() as patch:
        from tests.conftest import isolate

        isolate(patch, tmp_path_factory.mktemp("home"))
        return build_demo(tmp_path_factory.mktemp("demo"))


def make_app(demo: dict[str, Any], theme: str, **prefs: Any) -> GitRunApp:
    source = RunSource(Path(demo["repo"]))
    source.clock = lambda: demo["now"]
    return GitRunApp(source, Prefs(theme=theme, **prefs))


async def settled(pilot: Pilot[None], condition: Any, timeout: float = 60.0) -> None:
    """Wait for ``condition()`` (on a loaded machine workers finish late: never a fixed sleep), then
    for the screen to be drawn with nothing left to animate."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("the UI did not get there in time")
        await pilot.pause(0.05)
    await pilot.wait_for_scheduled_animations()
    await pilot.pause()


async def loaded(pilot: Pilot[None]) -> None:
    app: GitRunApp = pilot.app  # type: ignore[assignment]
    await settled(pilot, lambda: app.runs_screen.data is not None and app.screen is app.runs_screen
                  and app.runs_screen.query_one(RunTable).row_count > 0)


def until(check: Any) -> Any:
    async def run_before(pilot: Pilot[None]) -> None:
        await loaded(pilot)
        await check(pilot)

    return run_before


@pytest.mark.parametrize("theme", ["textual-dark", "textual-light"])
@pytest.mark.parametrize("size", [(80, 24), (140, 40)])
def test_runs_screen(snap_compare: Any, demo: dict[str, Any], theme: str, size: tuple[int, int]) -> None:
    assert snap_compare(make_app(demo, theme, extra_columns=["params.lr", "metrics.acc"]), terminal_size=size,
                        run_before=loaded)


@pytest.mark.slow  # over 2 s on an idle 2-core machine: out of the fast loop, still in make check
@pytest.mark.parametrize("theme", ["textual-dark", "textual-light"])
def test_run_metrics_tab(snap_compare: Any, demo: dict[str, Any], theme: str) -> None:
    async def open_metrics(pilot: Pilot[None]) -> None:
        app = pilot.app
        await pilot.press("down", "enter")  # quiet-finch-33 (the second run)
        await settled(pilot, lambda: isinstance(app.screen, RunScreen))
        await pilot.press("3")

        def drawn() -> bool:
            charts = app.screen.query(MetricChart)
            return bool(charts) and len(charts.first().lines) == 2  # acc and loss, drawn one after the other

        await settled(pilot, drawn)

    assert snap_compare(make_app(demo, theme), terminal_size=(100, 30), run_before=until(open_metrics))


@pytest.mark.slow  # over 2 s on an idle 2-core machine: out of the fast loop, still in make check
def test_run_metrics_crosshair(snap_compare: Any, demo: dict[str, Any]) -> None:
    async def crosshair(pilot: Pilot[None]) -> None:
        app = pilot.app
        await pilot.press("down", "enter")
        await settled(pilot, lambda: isinstance(app.screen, RunScreen))
        await pilot.press("3")
        await settled(pilot, lambda: len(app.screen.query_one(MetricChart).lines) == 2)
        await pilot.press("left", *["shift+left"] * 3)  # the newest step, then thirty columns back
        await settled(pilot, lambda: app.screen.query_one(MetricChart).cross_x is not None)

    assert snap_compare(make_app(demo, "textual-dark"), terminal_size=(100, 30), run_before=until(crosshair))


def test_compare_screen(snap_compare: Any, demo: dict[str, Any]) -> None:
    async def compare(pilot: Pilot[None]) -> None:
        app = pilot.app
        await pilot.press("down", "space", "space", "c")

        def filled() -> bool:  # the whole notes read again, then the differences drawn
            screen = app.screen
            return isinstance(screen, CompareScreen) and screen.query_one("#compare-table", DataTable).row_count > 1

        await settled(pilot, filled)

    assert snap_compare(make_app(demo, "textual-dark"), terminal_size=(120, 30), run_before=until(compare))


@pytest.mark.slow  # over 2 s on an idle 2-core machine: out of the fast loop, still in make check
def test_filter_error_and_help(snap_compare: Any, demo: dict[str, Any]) -> None:
    async def bad_filter(pilot: Pilot[None]) -> None:
        app = pilot.app
        await pilot.press("slash", *"metrics.acc >> 1")
        await settled(pilot, lambda: app.screen.query_one("#filter", Input).value == "metrics.acc >> 1"
                      and app.screen.query_one("#filter-error").display)

    assert snap_compare(make_app(demo, "textual-light"), terminal_size=(80, 24), run_before=until(bad_filter))
