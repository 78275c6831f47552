"""A pulled run's text reaches the terminal UI as text (issue 9): never as an escape sequence, never as
Rich/Textual markup or an action.

A teammate's run whose name, message, tags, parameters, metric names, branch, environment, outputs,
data, note, log, command, error and code file names hold terminal escapes (CSI, OSC 52 clipboard,
OSC 8 links) and markup (``[@click=app.quit]``, ``[link=file:///etc/passwd]``, ``[red]``) is shown on
every screen and tab, in dialogs and in notifications. Every line drawn is checked: no raw escape or
control character, no link or click action in any style, the markup shown literally, and the app
still running.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from rich.segment import Segment
from textual.widgets import Input, Static, TabbedContent
from textual.worker import WorkerCancelled

from gitrun.store.trees import read_tree_files
from gitrun.tui.app import GitRunApp
from gitrun.tui.prefs import Prefs
from gitrun.tui.screens.compare import CompareScreen
from gitrun.tui.screens.journal import JournalScreen
from gitrun.tui.screens.run import TABS, RunScreen
from gitrun.tui.source import RunSource
from gitrun.tui.widgets.run_table import RunTable
from tests.hostile import forged_run
from tests.run_fixtures import store
from tests.tui.test_app import runs_loaded, sync, wait_for

CSI = "\x1b[31m"
CLIPBOARD = "\x1b]52;c;cm0gLXJmIH4K\x07"
OSC8 = "\x1b]8;;https://evil.example/\x1b\\here\x1b]8;;\x1b\\"
CLICK = "[@click=app.quit]"
LINK = "[link=file:///etc/passwd]x[/link]"
RED = "[red]"
MARKUP = f"{CLICK}q{LINK}{RED}r"
EVIL = f"{MARKUP}{CSI}{CLIPBOARD}{OSC8}\u202e"
# a tree entry cannot hold "/": the metric series file and code file names use what can
EVIL_NAME = f"{CLICK}{RED}{CSI}{CLIPBOARD}"
RAW = ("\x1b", "\x07", "\u202e")
SIZE = (220, 50)


def forge_hostile_run(repo: Path) -> str:
    doc: dict[str, Any] = {
        "name": f"evil{EVIL}", "message": f"msg{EVIL}", "tags": [f"t{EVIL}"],
        "command": ["python", f"train.py{EVIL}"], "error": f"err{EVIL}", "user": f"u{EVIL}",
        "git": {"branch": f"main{EVIL}", "base_commit": "", "dirty": True, "modified": [f"f{EVIL}"]},
        "params": {f"p{EVIL}": f"v{EVIL}", "lr": 0.3},
        "params_source": {f"p{EVIL}": f"file:{EVIL}"},
        "metrics": {f"m{EVIL}": 0.5, "loss": 0.4},
        "summary": {f"m{EVIL_NAME}": {"last": 0.5, "min": 0.5, "max": 0.5, "count": 2}},
        "env": {"python": {"version": f"3.12{EVIL}", "executable": "/usr/bin/python3"},
                "packages": [{"name": f"pkg{EVIL}", "version": f"1{EVIL}", "installer": "pip"}],
                "vars": {f"V{EVIL}": f"x{EVIL}"}},
        "data": [{"name": f"d{EVIL}", "path": f"data{EVIL}", "hash": "blake3:00", "size": 1, "files": 1}],
        "outputs": [{"path": f"out{EVIL}.bin", "size": 1, "hash": "blake3:00", "stored": False,
                     "not_stored": f"why{EVIL}"}],
        "expect": {"expression": f"metrics.loss < 0.1 {EVIL}", "met": False, "detail": f"detail{EVIL}"},
        "note": f"# note {EVIL}\n\n[click me](file:///etc/passwd) {EVIL}\n",
    }
    run_id = forged_run(repo, {"train.py": f"print('{EVIL}')\n".encode(), f"f{EVIL_NAME}.py": EVIL.encode()},
                        doc=doc)
    runs = store(repo)
    run = runs.get(run_id)
    commit = runs.repo.get(run.result_commit)
    files = dict(read_tree_files(runs.repo, commit.tree))
    files["logs/output.log"] = f"epoch 1 {EVIL}\n{OSC8} done\n".encode()
    files[f"metrics/m{EVIL_NAME}.tsv"] = b"step\ttime\tvalue\n0\t1795000000\t0.9\n1\t1795000001\t0.5\n"
    runs.save_result(run, files)
    runs.update_doc(run, lambda d: {**d, "result_commit": run.result_commit}, "test: result")
    return run_id


def screen_text(app: GitRunApp) -> str:
    """What the screen shows now, line by line, after checking every drawn segment."""
    lines = []
    for strip in app.screen._compositor.render_strips():
        line = ""
        for segment in strip:
            assert_harmless(segment)
            line += segment.text
        lines.append(line.rstrip())
    text = "\n".join(lines)
    for raw in RAW:
        assert raw not in text, f"raw {raw!r} reached the screen:\n{text}"
    return text


def assert_harmless(segment: Segment) -> None:
    style = segment.style
    if style is None:
        return
    assert not style.link, f"a link reached the screen: {style.link!r} on {segment.text!r}"
    meta = style.meta or {}
    assert not any("quit" in str(value) or "passwd" in str(value) for value in meta.values()), \
        f"an action reached the screen: {meta!r} on {segment.text!r}"


async def settle(pilot: Any) -> None:
    await pilot.pause(0.1)
    try:
        await pilot.app.workers.wait_for_complete()
    except WorkerCancelled:  # an exclusive worker replaced by a newer one
        pass
    await pilot.pause(0.1)


async def showing(pilot: Any, app: GitRunApp, *parts: str, timeout: float = 30.0) -> str:
    """The screen's text once it shows every part literally (checked harmless on every look): a loaded
    machine draws late, so wait for what is expected instead of assuming a delay is enough."""
    deadline = time.monotonic() + timeout
    while True:
        text = screen_text(app)
        if all(part in text for part in parts) or time.monotonic() > deadline:
            assert_literal(text, *parts)
            return text
        await pilot.pause(0.05)


def assert_literal(text: str, *parts: str) -> None:
    for part in parts:
        assert part in text, f"{part!r} is not shown literally:\n{text}"


def assert_plain_notifications(app: GitRunApp, expected: str) -> None:
    """Notifications are plain text (never markup) with every control character escaped."""
    notes = list(app._notifications)
    assert notes and all(not note.markup for note in notes)
    assert any(expected in note.message for note in notes), [note.message for note in notes]
    assert not any(raw in note.message for note in notes for raw in RAW)


@pytest.fixture
def hostile(project: dict[str, Any]) -> dict[str, Any]:
    return {**project, "evil": forge_hostile_run(Path(project["repo"]))}


@pytest.mark.slow  # over 2 s on an idle 2-core machine: out of the fast loop, still in make check
@sync
async def test_the_runs_table_dialogs_and_notifications_show_a_hostile_run_as_text(
        hostile: dict[str, Any]) -> None:
    app = GitRunApp(RunSource(hostile["repo"]), Prefs(extra_columns=["params.*", "metrics.*"]))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: runs_loaded(app))
        await showing(pilot, app, "evil[@click=app.q")
        table = app.runs_screen.query_one(RunTable)
        row = next(i for i in range(table.row_count) if "evil" in table.row_text(i)[2])
        assert_literal(" ".join(table.row_text(row)), f"evil{MARKUP}\\x1b[31m",
                       f"main{MARKUP}\\x1b")
        await pilot.press("g", "g")  # group by tag: the group label holds the tag
        await showing(pilot, app, "── tag: t[@click=app.quit]")
        await pilot.press("g", "g", "g", "g")  # status, sweep, params.*, then no grouping again
        table.move_cursor(next(i for i in range(table.row_count) if "evil" in table.row_text(i)[2]))
        await pilot.press("d")  # the confirmation names the run
        await showing(pilot, app, "Delete 1 run: evil[@click=app.quit]q[link=file:///etc/passwd]x[/")
        await pilot.press("n")
        await wait_for(pilot, lambda: app.screen is app.runs_screen)
        await pilot.press("t")  # so does the tag prompt, and then the notification
        await showing(pilot, app, "Tags to add on evil[@click=app.quit]q[link=file:///etc/passwd]x[")
        await wait_for(pilot, lambda: isinstance(app.focused, Input) and app.focused.id == "prompt-input")
        await pilot.press(*"ok")
        await wait_for(pilot, lambda: isinstance(app.focused, Input) and app.focused.value == "ok")
        await pilot.press("enter")
        await wait_for(pilot, lambda: "ok" in store(Path(hostile["repo"])).get(hostile["evil"]).tags)
        await wait_for(pilot, lambda: bool(app._notifications))
        await settle(pilot)
        screen_text(app)
        assert_plain_notifications(app, f"tagged evil{MARKUP}\\x1b[31m")
        assert app.is_running


@pytest.mark.slow  # over 2 s on an idle 2-core machine: out of the fast loop, still in make check
@sync
async def test_every_tab_of_a_hostile_run_shows_its_text_literally(hostile: dict[str, Any]) -> None:
    app = GitRunApp(RunSource(hostile["repo"]))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: runs_loaded(app))
        run = next(r for r in app.runs_screen.data.runs if r.id == hostile["evil"])  # type: ignore[union-attr]
        app.open_run(run)
        await wait_for(pilot, lambda: isinstance(app.screen, RunScreen) and bool(app.screen.query(TabbedContent)))
        await settle(pilot)
        expected = {  # what each tab must show literally (waited for: tabs load in workers)
            "overview": (f"evil{MARKUP}\\x1b[31m", f"msg{MARKUP}", f"err{MARKUP}", f"detail{MARKUP}"),
            "params": (f"p{MARKUP}\\x1b[31m", "file:[@click=app.quit]q[link=file:///etc/passwd]x"),
            "metrics": (f"m{CLICK}{RED}\\x1b[31m",),
            "system": (),
            "data": (f"d{MARKUP}",),
            "env": (f"V{MARKUP}", f"x{MARKUP}", f"pkg{MARKUP}"),
            "code": (f"f{CLICK}{RED}\\x1b[31m",),
            "logs": (f"epoch 1 {MARKUP}", "\\x1b]8;;https://evil.example/"),
            "outputs": (f"out{MARKUP}",),
            "note": (f"note {MARKUP}",),
        }
        assert set(expected) == set(TABS)
        for name in TABS:
            app.screen.query_one(TabbedContent).active = name
            await showing(pilot, app, *expected[name])
            await settle(pilot)
            screen_text(app)
        await pilot.press("Y")  # a notification holding the command
        await wait_for(pilot, lambda: bool(app._notifications))
        await settle(pilot)
        screen_text(app)
        assert_plain_notifications(app, f"train.py{MARKUP}\\x1b[31m")
        assert app.is_running


@pytest.mark.slow  # over 2 s on an idle 2-core machine: out of the fast loop, still in make check
@sync
async def test_compare_and_journal_show_a_hostile_run_as_text(hostile: dict[str, Any]) -> None:
    repo = Path(hostile["repo"])
    app = GitRunApp(RunSource(repo))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: runs_loaded(app))
        runs = [r for r in app.runs_screen.data.runs if r.id in (hostile["evil"], hostile["a"])]  # type: ignore
        app.open_compare(runs)
        await wait_for(pilot, lambda: isinstance(app.screen, CompareScreen) and bool(app.screen.query(TabbedContent)))
        await settle(pilot)
        for name in ("differences", "charts", "code"):
            app.screen.query_one(TabbedContent).active = name
            await showing(pilot, app, *((f"p{MARKUP}",) if name == "differences" else ()))
            await settle(pilot)
            screen_text(app)
        await pilot.press("escape")
        app.source.add_journal_entry(f"entry {EVIL}")
        app.open_journal()
        await wait_for(pilot, lambda: isinstance(app.screen, JournalScreen))
        await showing(pilot, app, f"entry {CLICK}")
        assert app.is_running


@sync
async def test_a_backtracking_filter_on_a_hostile_run_shows_an_error_and_does_not_hang(
        project: dict[str, Any]) -> None:
    forged_run(Path(project["repo"]), {"train.py": b"x"}, doc={"message": "a" * 20_000 + "!"})
    app = GitRunApp(RunSource(project["repo"]))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: runs_loaded(app))
        app.runs_screen.query_one("#filter", Input).value = 'message ~ "(a+)+$"'
        error = app.runs_screen.query_one("#filter-error", Static)
        await wait_for(pilot, lambda: error.display and "took over" in str(error.render()))
        app.runs_screen.query_one("#filter", Input).value = 'message ~ "^base"'
        await wait_for(pilot, lambda: not error.display)
        await wait_for(pilot, lambda: "run-a" in screen_text(app) and "run-b" not in screen_text(app))
