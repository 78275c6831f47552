"""The man page ``git-run(1)``, generated from the click application's own help.

``git run --help`` is turned by git into ``git help run``, which runs ``man git-run``: without a
page, users get "No manual entry for git-run". The page is committed as ``man/git-run.1`` and
installed by ``pip install`` as ``share/man/man1/git-run.1`` under the environment's prefix, where
``man`` finds it for a ``bin/`` on PATH. tests/test_manpage.py checks the committed page is what
this module generates; regenerate it with ``make man`` (``git run manpage > man/git-run.1``).
"""

from __future__ import annotations

import inspect

import click

from gitrun import __version__
from gitrun.cli.group import cli as group


def _roff(text: str) -> str:
    """Text safe inside a roff paragraph: backslashes and hyphens escaped, no line starting with . or '."""
    text = text.replace("\\", "\\e").replace("-", "\\-")
    lines = []
    for line in text.splitlines():
        line = line.rstrip()
        lines.append("\\&" + line if line.startswith((".", "'")) else line)
    return "\n".join(lines)


def _paragraphs(help_text: str) -> list[str]:
    """click's help text as roff: paragraphs, with ``\\b`` blocks kept verbatim (examples)."""
    out: list[str] = []
    for block in inspect.cleandoc(help_text or "").split("\n\n"):
        if not block.strip():
            continue
        if block.lstrip().startswith("\b"):
            body = block.lstrip()[1:].strip("\n")
            out.append(".PP\n.nf\n" + _roff(inspect.cleandoc(body)) + "\n.fi")
        else:
            out.append(".PP\n" + _roff(" ".join(block.split())))
    return out


def _options(command: click.Command, ctx: click.Context) -> list[str]:
    out: list[str] = []
    for param in command.get_params(ctx):
        record = param.get_help_record(ctx)
        if record is None:
            continue
        names, help_text = record
        out.append(f".TP\n\\fB{_roff(names)}\\fR\n{_roff(' '.join(help_text.split()))}")
    return out


def _commands(group: click.Group, ctx: click.Context, prefix: str) -> list[str]:
    out: list[str] = []
    for name in sorted(group.list_commands(ctx)):
        command = group.get_command(ctx, name)
        if command is None or command.hidden:
            continue
        sub = click.Context(command, info_name=name, parent=ctx)
        usage = " ".join(command.collect_usage_pieces(sub))
        out.append(f".SS {_roff(f'{prefix} {name} {usage}'.strip())}")
        out += _paragraphs(command.help or "")
        out += _options(command, sub)
        if isinstance(command, click.Group):
            out += _commands(command, sub, f"{prefix} {name}")
    return out


def render(cli: click.Group) -> str:
    """The page of the assembled application ``cli`` (deterministic: no dates, so the committed
    copy can be compared)."""
    ctx = click.Context(cli, info_name="git run", **cli.context_settings)
    summary = (cli.help or "").strip().splitlines()[0]
    parts = [
        f'.TH GIT\\-RUN 1 "" "gitrun {__version__}" "Git Manual"',
        ".SH NAME",
        f"git\\-run \\- {_roff(summary.rstrip('.'))}",
        ".SH SYNOPSIS",
        ".nf",
        "\\fBgit run\\fR [\\fIOPTIONS\\fR] \\-\\- \\fICOMMAND\\fR...",
        "\\fBgit run\\fR \\fISUBCOMMAND\\fR [\\fIARGS\\fR]...",
        ".fi",
        ".SH DESCRIPTION",
        *_paragraphs(cli.help or ""),
        ".PP",
        "Every subcommand also takes \\fB\\-h\\fR for its own help, e.g. \\fBgit run list \\-h\\fR.",
        ".SH OPTIONS",
        *_options(cli, ctx),
        ".SH COMMANDS",
        *_commands(cli, ctx, "git run"),
        ".SH SEE ALSO",
        "README.md, docs/format.md and docs/query.md in gitrun's source.",
    ]
    return "\n".join(parts) + "\n"


@group.command("manpage", hidden=True)
@click.pass_context
def manpage_cmd(ctx: click.Context) -> None:
    """Print the man page git-run(1) (roff), generated from this help."""
    root = ctx.find_root().command
    assert isinstance(root, click.Group)
    click.echo(render(root), nl=False)
