"""Subcommands for sharing runs and guarding what is shared: push, pull, fetch, remote, check, hooks, hook."""

from __future__ import annotations

import sys

import click

from gitrun.cli.completion_runs import complete_runs
from gitrun.cli.group import cli
from gitrun.cli.output_options import reading


@cli.command("push")
@click.argument("remote", required=False)
@click.argument("runs", shell_complete=complete_runs, nargs=-1)
@click.option("--where", default=None, metavar="EXPR", help="Push the runs matching EXPR (as in `git run list`).")
@click.option("--no-verify", is_flag=True, help="Skip the pre-push hook (the reproducibility checks).")
def push_cmd(remote: str | None, runs: tuple[str, ...], where: str | None, no_verify: bool) -> None:
    """Send runs and their metadata to REMOTE (default: the upstream remote, else origin).

    Without RUNS or --where: every local run not yet on the remote, and changed metadata of runs
    already there. Concurrent pushes by others are merged and retried, never overwritten.
    """
    from gitrun.commands.share import push_command

    sys.exit(push_command(remote, list(runs), where=where, no_verify=no_verify))


@cli.command("pull")
@click.argument("remote", required=False)
@click.option("--no-fetch", is_flag=True, help="Merge what the last fetch brought, without contacting the remote.")
def pull_cmd(remote: str | None, no_fetch: bool) -> None:
    """Fetch everyone's runs from REMOTE and merge their metadata into yours."""
    from gitrun.commands.share import pull_command

    sys.exit(pull_command(remote, no_fetch=no_fetch))


@cli.command("fetch")
@click.argument("remote", required=False)
def fetch_cmd(remote: str | None) -> None:
    """Fetch runs and metadata from REMOTE without merging (`git run pull` merges)."""
    from gitrun.commands.share import fetch_command

    sys.exit(fetch_command(remote))


@cli.group("remote")
def remote_group() -> None:
    """Configure a git remote for runs."""


@remote_group.command("setup")
@click.argument("remote", required=False)
@click.option("--undo", is_flag=True, help="Remove the refspecs again.")
def remote_setup_cmd(remote: str | None, undo: bool) -> None:
    """Make a plain `git fetch REMOTE` bring runs and their metadata too."""
    from gitrun.commands.share import remote_setup_command

    sys.exit(remote_setup_command(remote, undo=undo))


@cli.command("check")
@reading(pages=False)
@click.argument("runs", shell_complete=complete_runs, nargs=-1)
@click.option("--where", default=None, metavar="EXPR", help="Check the runs matching EXPR (docs/query.md).")
@click.option("--accept", default=None, metavar="REASON",
              help="Let RUNS (or the --where selection) through the checks (all, or --only CHECK), "
                   "recording REASON in their metadata.")
@click.option("--only", default=None, metavar="CHECK",
              help="code, data, environment, env_vars, secrets or outcome.")
@click.option("--json", "fmt", flag_value="json", help="Print a JSON object {checked, passed, findings}.")
@click.option("-q", "--quiet", "fmt", flag_value="quiet", help="Print nothing: the exit code says (1: an error).")
def check_cmd(runs: tuple[str, ...], where: str | None, accept: str | None, only: str | None,
              fmt: str | None) -> None:
    """Check that RUNS (default: all) can be reproduced by others; exit 1 on an error.

    \b
    git run check                                   every run
    git run check --where "tag == sweep"            the runs matching EXPR
    git run check --accept "on the team share" RUN1 RUN2 --only data
    """
    from gitrun.commands.check import check_command

    sys.exit(check_command(list(runs), accept=accept, only=only, where=where, fmt=fmt or "text"))


@cli.group("hooks")
def hooks_group() -> None:
    """Install or remove gitrun's git hooks."""


@hooks_group.command("install")
def hooks_install_cmd() -> None:
    """Install the pre-push hook (keeps an existing one and runs it first; honours core.hooksPath)."""
    from gitrun.commands.hooks import install_command

    sys.exit(install_command())


@hooks_group.command("uninstall")
def hooks_uninstall_cmd() -> None:
    """Remove gitrun's pre-push hook (restores the one it replaced)."""
    from gitrun.commands.hooks import uninstall_command

    sys.exit(uninstall_command())


@cli.group("hook", hidden=True)
def hook_group() -> None:
    """Entry points called by git hooks."""


@hook_group.command("pre-push", context_settings={"ignore_unknown_options": True})
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def pre_push_cmd(args: tuple[str, ...]) -> None:
    """Check the runs a push publishes (reads git's pre-push lines on stdin)."""
    from gitrun.commands.hooks import pre_push_command

    sys.exit(pre_push_command(list(args)))
