"""``--color``, ``--no-pager`` and ``-p``/``--paginate``: git's output options for the reading commands.

``git run --no-pager list``, ``git run -p show RUN`` and ``git run --color=never list`` (before the
subcommand, as with git) or ``git run list --color never --no-pager`` (after it). ``reading`` wraps a
subcommand so that it runs inside ``gitrun.commands.paging.output_session``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import click

COLOR_KEY = "gitrun_color"
PAGER_KEY = "gitrun_pager"
COLOR = click.Choice(["auto", "always", "never"])


def _remember(key: str) -> Callable[[click.Context, click.Parameter, Any], None]:
    def callback(ctx: click.Context, _param: click.Parameter, value: Any) -> None:
        if value is not None:
            ctx.find_root().meta[key] = value
    return callback


def root_options(function: Any) -> Any:
    """The group's ``--color``, ``--no-pager`` and ``-p``/``--paginate`` (before the subcommand)."""
    function = click.option("-p", "--paginate", "paginate", flag_value=True, default=None, expose_value=False,
                            callback=_remember(PAGER_KEY),
                            help="Page the output of the command that follows, as git -p.")(function)
    function = click.option("--no-pager", "paginate", flag_value=False, default=None, expose_value=False,
                            callback=_remember(PAGER_KEY),
                            help="Do not page the output (also GIT_PAGER=cat).")(function)
    return click.option("--color", "--colour", type=COLOR, default=None, expose_value=False, is_eager=True,
                        callback=_remember(COLOR_KEY),
                        help="Colour output: auto (a terminal, unless NO_COLOR), always, never.")(function)


def reading(pages: bool = True) -> Callable[[Any], Any]:
    """Give a reading command ``--color`` and ``--no-pager`` and run it with colour and pager decided."""
    def decorate(function: Any) -> Any:
        @functools.wraps(function)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            from gitrun.commands.paging import output_session

            meta = click.get_current_context().find_root().meta
            paginate = meta.get(PAGER_KEY) if pages else False
            with output_session(meta.get(COLOR_KEY), paginate):
                return function(*args, **kwargs)

        wrapper = click.option("--color", "--colour", type=COLOR, default=None, expose_value=False,
                               callback=_remember(COLOR_KEY), help="Colour output: auto, always, never.")(wrapper)
        if pages:
            wrapper = click.option("--no-pager", "paginate", flag_value=False, default=None, expose_value=False,
                                   callback=_remember(PAGER_KEY), help="Do not page the output.")(wrapper)
        return wrapper
    return decorate
