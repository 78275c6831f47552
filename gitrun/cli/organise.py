"""Subcommands that organise runs: tag, untag, note, journal, baseline, rm, gc, apply, branch."""

from __future__ import annotations

import sys

import click

from gitrun.cli.completion_runs import complete_runs
from gitrun.cli.group import cli
from gitrun.cli.output_options import reading


@cli.command("tag")
@click.argument("run", shell_complete=complete_runs)
@click.argument("tags", nargs=-1, required=True)
def tag_cmd(run: str, tags: tuple[str, ...]) -> None:
    """Add TAGs to RUN (dataset tags as name:version, e.g. imagenet:v3)."""
    from gitrun.commands.tag import tag_command

    sys.exit(tag_command(run, list(tags)))


@cli.command("untag")
@click.argument("run", shell_complete=complete_runs)
@click.argument("tags", nargs=-1, required=True)
def untag_cmd(run: str, tags: tuple[str, ...]) -> None:
    """Remove TAGs from RUN."""
    from gitrun.commands.tag import tag_command

    sys.exit(tag_command(run, list(tags), remove=True))


@cli.command("note")
@click.argument("run", shell_complete=complete_runs)
@click.option("-m", "--message", default=None, help="The note's text (instead of opening $EDITOR).")
@click.option("--append", is_flag=True, help="With -m: add to the note instead of replacing it.")
@click.option("--show", is_flag=True, help="Print the note.")
def note_cmd(run: str, message: str | None, append: bool, show: bool) -> None:
    """Edit RUN's markdown note in $EDITOR (or set it with -m). An empty note is removed."""
    from gitrun.commands.note import note_command

    sys.exit(note_command(run, message=message, show=show, append=append))


@cli.group("journal", invoke_without_command=True)
@click.pass_context
def journal_group(ctx: click.Context) -> None:
    """The project's experiment journal (markdown in git): open it in $EDITOR.

    \b
    git run journal                 edit it
    git run journal add "TEXT"      append a dated entry (link runs as run:<id>)
    git run journal show            print it
    """
    if ctx.invoked_subcommand is None:
        from gitrun.commands.journal import journal_command

        sys.exit(journal_command())


@journal_group.command("add")
@click.argument("text", nargs=-1, required=True)
@click.option("--planned", "kind", flag_value="planned", help="An experiment planned.")
@click.option("--in-progress", "kind", flag_value="in-progress", help="An experiment under way.")
@click.option("--done", "kind", flag_value="done", help="An experiment finished.")
@click.option("--decided-against", "kind", flag_value="decided-against",
              help="An experiment not to do (give the reason in TEXT).")
def journal_add_cmd(text: tuple[str, ...], kind: str | None) -> None:
    """Append a dated entry (link runs as run:<id-prefix>)."""
    from gitrun.commands.journal import journal_command

    sys.exit(journal_command("add", " ".join(text), kind=kind))


@journal_group.command("show")
@reading()
@click.option("--json", "as_json", is_flag=True, help="Print a JSON object {text, commit}.")
def journal_show_cmd(as_json: bool) -> None:
    """Print the journal."""
    from gitrun.commands.journal import journal_command

    sys.exit(journal_command("show", as_json=as_json))


@cli.command("baseline")
@reading(pages=False)
@click.argument("run", shell_complete=complete_runs, required=False)
@click.option("--branch", default=None, help="The branch whose baseline to set (default: the current one).")
@click.option("--clear", is_flag=True, help="Unmark the branch's baseline.")
@click.option("--json", "as_json", is_flag=True, help="Without RUN: print a JSON array of {branch, id, name}.")
def baseline_cmd(run: str | None, branch: str | None, clear: bool, as_json: bool) -> None:
    """Mark RUN as the baseline others are compared against (per branch); no RUN: list baselines."""
    from gitrun.commands.baseline import baseline_command

    sys.exit(baseline_command(run, branch=branch, clear=clear, as_json=as_json))


@cli.command("rm")
@click.argument("runs", shell_complete=complete_runs, nargs=-1, required=True)
@click.option("-y", "--yes", is_flag=True, help="Do not ask for confirmation.")
@click.option("-n", "--dry-run", is_flag=True, help="Only show what would be deleted.")
@click.option("--force", is_flag=True, help="Also delete runs that are still running.")
@click.option("--remote", is_flag=True, help="Also delete them from the remote (upstream, else origin) for everyone.")
def rm_cmd(runs: tuple[str, ...], yes: bool, dry_run: bool, force: bool, remote: bool) -> None:
    """Delete RUNs (asks first; without a terminal, --yes is required)."""
    from gitrun.commands.rm import rm_command

    sys.exit(rm_command(list(runs), yes=yes, dry_run=dry_run, force=force, remote=remote))


@cli.command("gc")
@click.option("--status", "status", multiple=True, help="Runs with this status (repeatable, any of).")
@click.option("--older-than", default=None, metavar="AGE", help="Runs started more than AGE ago (30d, 12h).")
@click.option("--where", default=None, metavar="EXPR", help="Runs matching EXPR (docs/query.md).")
@click.option("--include-tagged", is_flag=True, help="Also delete tagged runs.")
@click.option("-y", "--yes", is_flag=True, help="Do not ask for confirmation.")
@click.option("-n", "--dry-run", is_flag=True, help="Only show what would be deleted.")
def gc_cmd(status: tuple[str, ...], older_than: str | None, where: str | None, include_tagged: bool, yes: bool,
           dry_run: bool) -> None:
    """Delete runs by rule, e.g. --status failed --older-than 30d (baselines and running runs are kept)."""
    from gitrun.commands.gc import gc_command

    sys.exit(gc_command(list(status), older_than=older_than, where=where, include_tagged=include_tagged,
                        yes=yes, dry_run=dry_run))


@cli.command("doctor")
@reading(pages=False)
@click.option("-n", "--dry-run", is_flag=True, help="Only show what is wrong.")
@click.option("--json", "fmt", flag_value="json", help="Print a JSON object {healthy, findings}.")
@click.option("-q", "--quiet", "fmt", flag_value="quiet", help="Print nothing: the exit code says.")
def doctor_cmd(dry_run: bool, fmt: str | None) -> None:
    """Repair refs left at missing commits (e.g. by git gc --prune=now during a run) and rebuild lost notes."""
    from gitrun.commands.doctor import doctor_command

    sys.exit(doctor_command(dry_run=dry_run, fmt=fmt or "text"))


@cli.command("apply")
@click.argument("run", shell_complete=complete_runs)
@click.option("--force", is_flag=True, help="Overwrite files with uncommitted changes.")
@click.option("-n", "--dry-run", is_flag=True, help="Only show what would change.")
def apply_cmd(run: str, force: bool, dry_run: bool) -> None:
    """Restore RUN's code into the working tree (HEAD, branch and index are left alone)."""
    from gitrun.commands.apply import apply_command

    sys.exit(apply_command(run, force=force, dry_run=dry_run))


@cli.command("branch")
@click.argument("run", shell_complete=complete_runs)
@click.argument("name")
def branch_cmd(run: str, name: str) -> None:
    """Create branch NAME at RUN's snapshot commit (the code as it ran)."""
    from gitrun.commands.branch import branch_command

    sys.exit(branch_command(run, name))
