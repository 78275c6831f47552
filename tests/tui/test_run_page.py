"""A run's page: each tab is built when first shown, the first chart is drawn from the first series
before the others are read, and the key bar follows the focus (and presses a key when clicked)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from textual.widgets import Input, Static, TabbedContent

from gitrun.tui.app import GitRunApp
from gitrun.tui.source import RunSource
from gitrun.tui.widgets.chart import MetricChart
from gitrun.tui.widgets.footer import KeyFooter
from gitrun.tui.widgets.log_view import LogView
from gitrun.tui.widgets.metrics_panel import MetricsPanel
from tests.tui.test_app import SIZE, open_run_page, runs_loaded, sync, wait_for


def footer_text(app: GitRunApp) -> str:
    return app.screen.query_one(KeyFooter).render().plain


@sync
async def test_tabs_are_built_when_shown_and_the_first_chart_comes_before_the_other_reads(
        project: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    source = RunSource(project["repo"])
    events: list[tuple[str, tuple[str, ...]]] = []  # ("read", (name,)) / ("draw", names on the chart)
    read = source.results.series

    def series(run: Any, name: str, **kwargs: Any) -> Any:
        events.append(("read", (name,)))
        return read(run, name, **kwargs)

    show = MetricChart.show

    def shown(chart: MetricChart, lines: Any, title: str | None = None) -> None:
        events.append(("draw", tuple(line.label for line in lines)))
        show(chart, lines, title)

    monkeypatch.setattr(source.results, "series", series)
    monkeypatch.setattr(MetricChart, "show", shown)
    app = GitRunApp(source)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_run_page(pilot, app, "run-b")  # two series of 5,000 points: acc and loss
        await wait_for(pilot, lambda: "overview" in screen.loaded)
        assert "run-b" in str(screen.query_one("#title", Static).render())
        assert not screen.query(MetricsPanel) and not screen.query("#params-table") and not events
        await pilot.press("3")
        chart = screen.query_one("#metrics-panel", MetricsPanel).query_one(MetricChart)
        await wait_for(pilot, lambda: len(chart.lines) == 2)
        assert not screen.query("#system-panel")  # the system tab was never shown
        draws = [names for kind, names in events if kind == "draw"]
        assert draws == [("acc",), ("acc", "loss")]  # the first alone, then both in one draw
        first_draw = events.index(("draw", ("acc",)))
        assert ("read", ("loss",)) not in events[:first_draw]
        await pilot.press("2")
        assert screen.query_one(TabbedContent).active == "params"
        await wait_for(pilot, lambda: screen.query("#params-table"))


@sync
async def test_searching_the_log_builds_the_logs_tab_first(project: dict[str, Any]) -> None:
    app = GitRunApp(RunSource(project["repo"]))
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_run_page(pilot, app, "run-b")
        assert not screen.query(LogView)
        await pilot.press("slash")
        await wait_for(pilot, lambda: screen.query(LogView) and isinstance(screen.focused, Input))
        assert screen.query_one(TabbedContent).active == "logs"
        assert screen.focused is screen.query_one(LogView).query_one(Input)


@sync
async def test_the_key_bar_follows_the_focus_and_a_click_presses_a_key(project: dict[str, Any]) -> None:
    source = RunSource(project["repo"])
    now = datetime.now(UTC)
    source.clock = lambda: now  # ages stay the same between screenshots
    app = GitRunApp(source)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: runs_loaded(app))
        assert "c compare" in footer_text(app) and "^p palette" in footer_text(app)
        await pilot.pause()
        before = app.export_screenshot()
        await pilot.press("slash")  # the filter takes letters: their keys leave the bar
        await wait_for(pilot, lambda: "compare" not in footer_text(app))
        assert "/ filter" in footer_text(app)
        await pilot.pause()
        assert app.export_screenshot() != before  # the cursor row, the filter and the bar show the focus
        await pilot.press("escape")
        await wait_for(pilot, lambda: "c compare" in footer_text(app))
        # as it was: the cursor row repainted with the focus back (waited for: a loaded machine is slow)
        await wait_for(pilot, lambda: app.export_screenshot() == before)
        column = footer_text(app).index(" s sort")
        await pilot.click(KeyFooter, offset=(column + 2, 0))
        counts = app.runs_screen.query_one("#counts", Static)
        await wait_for(pilot, lambda: "sort status" in str(counts.render()))
