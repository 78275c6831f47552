"""What a plain ``git run list`` leaves for the warm fast path (``gitrun.cli.fastlist``).

After printing the default table, the command stores in the read index a stamp: the key of
everything the table depends on besides the index's rows and the clock
(``store/listing_stamp.py``), and the run bases reachable from HEAD. It is stored only when that
key read before the listing equals the key read after it (nothing moved meanwhile), the index is
synced to exactly the refs and notes of the key, no warning was printed (a dangling notes ref), and
output that is not a terminal would not be coloured (``gitrun.color``/``color.ui`` = always).
"""

from __future__ import annotations

import json
import os
from typing import Any

from gitrun.commands.context import Context
from gitrun.commands.paging import decide_colour
from gitrun.store.index import SCHEMA
from gitrun.store.listing_stamp import LISTING_BASE, STAMP_META, ListingKey, environment_is_plain, listing_key, locate
from gitrun.store.opening import repository_git_config
from gitrun.store.refs import dangling_ref_hint


def listing_key_now(ctx: Context) -> ListingKey | None:
    """The fast path's key for this repository, when it finds the same repository the command opened."""
    if not environment_is_plain(os.environ):
        return None
    located = locate(ctx.cwd)
    if located is None or (located.workdir, located.gitdir, located.commondir) != (
            ctx.paths.workdir, ctx.paths.gitdir, ctx.paths.commondir):
        return None
    return listing_key(located, os.environ)


def remember_listing(ctx: Context, before: ListingKey, shown: dict[str, tuple[Any, ...]]) -> None:
    """Store the stamp for the table just printed from ``shown`` (the listing rows of HEAD's runs)."""
    after = listing_key_now(ctx)
    if after is None or after.key != before.key or dangling_ref_hint(ctx.repo) is not None:
        return
    if decide_colour(None, ctx.settings, repository_git_config(ctx.repo), on_terminal=False):
        return
    reachable = sorted({row[LISTING_BASE] for row in shown.values() if row[LISTING_BASE]})
    value = json.dumps({"key": before.key, "schema": SCHEMA, "reachable": reachable})
    ctx.store.index.remember(STAMP_META, value, before.refs_stat, before.notes_commit)
