"""Screenshots of the main screens (pytest-textual-snapshot): 80x24 and 140x40, dark and light.

The repository is tests/tui/demo.py's (fixed ids, times, values) and the UI's clock is fixed, so a
change in what a screen shows is a change in the snapshot. Update after checking the report:
``.venv/bin/pytest tests/tui/test_snapshots.py --snapshot-update``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from gitrun.tui.app import GitRunApp
from gitrun.tui.prefs import Prefs
from gitrun.tui.source import RunSource
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


async def loaded(pilot: Pilot[None]) -> None:
    app: GitRunApp = pilot.app  # type: ignore[assignment]
    for _ in range(200):
        if app.runs_screen.data is not None and app.screen is app.runs_screen:
            break
        await pilot.pause(0.05)
    await pilot.pause()


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
        await pilot.press("down", "enter")  # quiet-finch-33 (the second run)
        await pilot.pause(0.3)
        await pilot.press("3")
        from gitrun.tui.widgets.chart import MetricChart

        for _ in range(200):
            charts = pilot.app.screen.query(MetricChart)
            if charts and len(charts.first().lines) == 2:  # acc and loss, drawn one after the other
                break
            await pilot.pause(0.05)
        await pilot.pause()

    assert snap_compare(make_app(demo, theme), terminal_size=(100, 30), run_before=until(open_metrics))


def test_compare_screen(snap_compare: Any, demo: dict[str, Any]) -> None:
    async def compare(pilot: Pilot[None]) -> None:
        await pilot.press("down", "space", "space", "c")
        await pilot.pause(0.3)

    assert snap_compare(make_app(demo, "textual-dark"), terminal_size=(120, 30), run_before=until(compare))


@pytest.mark.slow  # over 2 s on an idle 2-core machine: out of the fast loop, still in make check
def test_filter_error_and_help(snap_compare: Any, demo: dict[str, Any]) -> None:
    async def bad_filter(pilot: Pilot[None]) -> None:
        await pilot.press("slash", *"metrics.acc >> 1")
        await pilot.pause()

    assert snap_compare(make_app(demo, "textual-light"), terminal_size=(80, 24), run_before=until(bad_filter))
