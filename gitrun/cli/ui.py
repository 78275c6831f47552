"""``git run ui`` (the terminal UI) and ``git run watch`` (its plain-text snapshot, repeated)."""

from __future__ import annotations

import shutil
import sys
import time

import click

from gitrun.cli.group import cli


@cli.command("ui")
@click.option("--once", is_flag=True, help="Print the runs table and the running run's last metrics, then exit.")
@click.option("--where", default=None, metavar="EXPR", help="With --once: only runs matching EXPR.")
@click.option("--all-branches", is_flag=True, default=None, help="Runs of every branch, not only HEAD's.")
def ui_cmd(once: bool, where: str | None, all_branches: bool | None) -> None:
    """Browse, watch, compare and act on runs in the terminal (press ? inside for the keys)."""
    from gitrun.tui.source import RunSource

    source = RunSource()
    if once or not sys.stdout.isatty() or not sys.stdin.isatty():
        from gitrun.tui.plain import render_once

        print(render_once(source, where=where, all_branches=all_branches))
        return
    from gitrun.tui.app import run_app

    run_app(source, all_branches=all_branches)


@cli.command("watch")
@click.option("--interval", type=click.FloatRange(min=0.2), default=2.0, show_default=True, metavar="SECONDS")
@click.option("--count", type=click.IntRange(min=1), default=None, help="Stop after COUNT refreshes.")
@click.option("--where", default=None, metavar="EXPR", help="Only runs matching EXPR.")
def watch_cmd(interval: float, count: int | None, where: str | None) -> None:
    """Print the runs table and the running run's last metrics every few seconds (Ctrl-C stops)."""
    from gitrun.tui.plain import render_once
    from gitrun.tui.source import RunSource

    source = RunSource()
    shown = 0
    while True:
        text = render_once(source, where=where, width=shutil.get_terminal_size().columns)
        if sys.stdout.isatty():
            from gitrun.commands.output import write_control

            write_control("\x1b[H\x1b[2J")  # home and clear: gitrun's own, so past the sanitiser
        print(text, flush=True)
        shown += 1
        if count is not None and shown >= count:
            return
        time.sleep(interval)
        source = RunSource()  # a fresh read: runs started or ended meanwhile
