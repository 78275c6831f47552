"""What the UI shows while runs are going: new runs appear, last metrics change, without a restart;
and the actions that talk to other places (push, journal, columns) write what they say."""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Input

from gitrun.store.spool import create_spool, process_start_time
from gitrun.tui.app import GitRunApp
from gitrun.tui.prefs import Prefs, load_prefs
from gitrun.tui.source import RunSource
from tests.conftest import git
from tests.run_fixtures import set_doc, store
from tests.tui.test_app import SIZE, move_to, runs_loaded, sync, table_text, wait_for


def make_running(repo: Path, run_id: str) -> Path:
    """Turn a recorded run into one still going: status running and a live spool owned by us."""
    set_doc(repo, run_id, status="running")
    runs = store(repo)
    spool = create_spool(runs.paths, run_id)
    spool.write_live({"run_id": run_id, "pid": os.getpid(), "pid_create_time": process_start_time(os.getpid()),
                      "host": socket.gethostname()})
    return spool.file("metrics.jsonl")


def focused_id(app: GitRunApp) -> str | None:
    return app.focused.id if app.focused is not None else None


def log_point(path: Path, name: str, step: int, value: float) -> None:
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(json.dumps({"name": name, "step": step, "time": 1.0 + step, "value": value}) + "\n")


@pytest.mark.slow  # over 2 s on an idle 2-core machine: out of the fast loop, still in make check
@sync
async def test_running_runs_update_in_place_and_new_runs_appear(project: dict[str, Any]) -> None:
    repo = Path(project["repo"])
    points = make_running(repo, project["b"])
    log_point(points, "acc", 1, 0.42)
    app = GitRunApp(RunSource(repo), Prefs(extra_columns=["metrics.acc"]))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: runs_loaded(app))
        assert "0.42" in table_text(app) and "running" in table_text(app)
        move_to(app, "run-a")  # the cursor must stay where the user put it
        log_point(points, "acc", 2, 0.77)
        await wait_for(pilot, lambda: "0.77" in table_text(app))
        assert app.runs_screen.current_run().name == "run-a"  # type: ignore[union-attr]
        # a run recorded by someone else meanwhile shows up without a key press
        runs = store(repo)
        base = runs.get(project["a"])
        runs.create("01mzzzzzzzzzzzzzzzzzzzzzzz", runs.repo.get(base.snapshot_commit).tree_id,
                    runs.repo.head.target, "new one", {"id": "01mzzzzzzzzzzzzzzzzzzzzzzz", "name": "late-run-1",
                                                       "status": "running", "git": base.git})
        await wait_for(pilot, lambda: "late-run-1" in table_text(app))
        assert table_text(app).index("late-run-1") < table_text(app).index("run-c")  # newest first
        assert app.runs_screen.current_run().name == "run-a"  # type: ignore[union-attr]


@pytest.mark.slow  # over 2 s on an idle 2-core machine: out of the fast loop, still in make check
@sync
async def test_filter_on_a_field_outside_the_light_notes(project: dict[str, Any]) -> None:
    app = GitRunApp(RunSource(project["repo"]))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: runs_loaded(app))
        await pilot.press("slash", *"env.packages.numpy == 2.0.0")
        await wait_for(pilot, lambda: "run-a" not in table_text(app) and "run-b" in table_text(app))


@sync
async def test_columns_are_chosen_and_remembered(project: dict[str, Any]) -> None:
    repo = Path(project["repo"])
    app = GitRunApp(RunSource(repo))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: runs_loaded(app))
        await pilot.press("C")
        from textual.widgets import SelectionList

        from gitrun.tui.screens.dialogs import ColumnPicker

        await wait_for(pilot, lambda: isinstance(app.screen, ColumnPicker))

        picker = app.screen.query_one(SelectionList)
        names = [picker.get_option_at_index(i).value for i in range(picker.option_count)]
        assert "params.lr" in names and "metrics.acc" in names
        picker.select("params.lr")
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.screen is app.runs_screen)
        assert "0.01" in table_text(app)  # run-b's lr
    assert load_prefs(repo / ".git" / "gitrun").extra_columns == ["params.lr"]


@sync
async def test_push_selected_runs_to_a_remote(project: dict[str, Any], tmp_path: Path) -> None:
    repo = Path(project["repo"])
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(remote))
    git(repo, "remote", "add", "origin", str(remote))
    app = GitRunApp(RunSource(repo))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: runs_loaded(app))
        move_to(app, "run-a")
        await pilot.press("space")
        move_to(app, "run-b")
        await pilot.press("space", "p")
        from gitrun.tui.screens.dialogs import TextPrompt

        # Enter only once the remote prompt is up and focused: on a loaded machine it mounts late.
        await wait_for(pilot, lambda: isinstance(app.screen, TextPrompt)
                       and getattr(app.focused, "value", None) == "origin")
        await pilot.press("enter")  # remote: origin (the default)
        pushed = f"refs/experiments/{project['a']}"
        await wait_for(pilot, lambda: pushed in git(remote, "for-each-ref"), timeout=60)
        refs = git(remote, "for-each-ref")
        assert f"refs/experiments/{project['b']}" in refs and project["c"] not in refs
        assert "refs/notes/gitrun" in refs


@pytest.mark.slow  # over 2 s on an idle 2-core machine: out of the fast loop, still in make check
@sync
async def test_journal_entry_and_run_note_tab(project: dict[str, Any]) -> None:
    repo = Path(project["repo"])
    app = GitRunApp(RunSource(repo))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: runs_loaded(app))
        from gitrun.tui.screens.dialogs import NoteEditor, TextPrompt
        from gitrun.tui.screens.journal import JournalScreen
        from gitrun.tui.screens.run import RunScreen

        # Each key only once the screen it is meant for is there: on a loaded machine screens mount late.
        await pilot.press("j")
        await wait_for(pilot, lambda: isinstance(app.screen, JournalScreen))
        await pilot.press("a")
        await wait_for(pilot, lambda: isinstance(app.screen, TextPrompt) and focused_id(app) == "prompt-input")
        await pilot.press(*"tried mixup")
        await wait_for(pilot, lambda: getattr(app.focused, "value", None) == "tried mixup")
        await pilot.press("enter")
        await wait_for(pilot, lambda: "tried mixup" in git(repo, "show", "refs/gitrun/journal:journal.md",
                                                            check=False))
        await wait_for(pilot, lambda: isinstance(app.screen, JournalScreen))
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is app.runs_screen)
        move_to(app, "run-b")
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, RunScreen))
        await pilot.press("0", "e")
        # Type only once the text area has focus: on a loaded machine the editor mounts late.
        await wait_for(pilot, lambda: isinstance(app.screen, NoteEditor) and focused_id(app) == "note-text")
        from textual.widgets import TextArea

        area = app.screen.query_one(TextArea)
        for _attempt in range(3):  # a loaded machine's pilot can drop keys: type until the editor shows the text
            await pilot.press(*"# Verdict")
            try:
                await wait_for(pilot, lambda: area.text.strip() == "# Verdict", timeout=5)
                break
            except AssertionError:
                area.load_text("")
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, RunScreen))
        try:
            await wait_for(pilot, lambda: store(repo).get(project["b"]).doc.get("note") == "# Verdict\n")
        except AssertionError:  # say what was stored instead, for the next reader of a failure
            raise AssertionError(f"note stored: {store(repo).get(project['b']).doc.get('note')!r}, "
                                 f"editor text: {area.text!r}, screen: {app.screen!r}")
        await pilot.press("8")  # logs
        from gitrun.tui.widgets.log_view import LogView

        view = app.screen.query_one(LogView)
        await wait_for(pilot, lambda: "loss" in view.text)
        await pilot.press("slash")
        await wait_for(pilot, lambda: isinstance(app.focused, Input))
        await pilot.press(*"0.5")
        await wait_for(pilot, lambda: view.pattern == "0.5")


def test_once_shows_the_running_runs_last_metrics(project: dict[str, Any]) -> None:
    from gitrun.tui.plain import render_once

    repo = Path(project["repo"])
    points = make_running(repo, project["b"])
    log_point(points, "acc", 7, 0.66)
    text = render_once(RunSource(repo))
    running = text[text.index("running: run-b"):]
    assert "acc" in running and "0.66" in running and " 7 " in running


def test_a_spool_is_tailed_not_reread(tmp_path: Path) -> None:
    from gitrun.store.live_tail import SpoolTails

    path = tmp_path / "metrics.jsonl"
    tails = SpoolTails()
    assert tails.records(path) == []  # not there yet
    log_point(path, "acc", 1, 0.1)
    log_point(path, "acc", 2, 0.2)
    assert [r["value"] for r in tails.records(path)] == [0.1, 0.2]
    with open(path, "a", encoding="utf-8") as handle:
        handle.write('{"name": "acc", "step": 3, "ti')  # a writer mid-line: left for the next read
    assert [r["value"] for r in tails.records(path)] == [0.1, 0.2]
    with open(path, "a", encoding="utf-8") as handle:
        handle.write('me": 4.0, "value": 0.3}\nnot json\n')
    assert [r["value"] for r in tails.records(path)] == [0.1, 0.2, 0.3]  # a damaged line is skipped
    path.write_text(json.dumps({"name": "acc", "step": 0, "time": 1.0, "value": 9.0}) + "\n")  # replaced
    assert [r["value"] for r in tails.records(path)] == [9.0]


def test_live_values_match_a_whole_read_of_the_spool(project: dict[str, Any]) -> None:
    repo = Path(project["repo"])
    points = make_running(repo, project["b"])
    source = RunSource(repo)
    for step in range(50):
        log_point(points, "acc", step, step / 100)
        if step % 20 == 0:
            run = source.refresh(source.library.get(project["b"]))
            whole = source.results.live_series(run)
            assert whole is not None and run.section("metrics")["acc"] == whole["acc"][-1][2] == step / 100
