"""``git run journal``: the project's experiment journal, a markdown document stored in git.

The journal lives at ``refs/gitrun/journal``: each commit's tree holds ``journal.md``; every change
is a new commit moved there by compare-and-swap, so it has history, is shared with push/fetch of
gitrun's refs, and concurrent writers never lose text. Runs are linked as ``run:<id-prefix>`` (or a
full run id) and reports turn those into links.
"""

from __future__ import annotations

import re
import sys

from gitrun.commands.context import Context, open_context
from gitrun.commands.interact import can_start_editor, edit_text
from gitrun.commands.output import print_json
from gitrun.errors import UsageError
from gitrun.model.timefmt import utc_now
from gitrun.store.journal import EMPTY_JOURNAL, append_entry, read_journal, save_journal
from gitrun.store.journal_share import merge_texts
from gitrun.store.refs import RefMoved

RUN_LINK = re.compile(r"\brun:([0-9a-hjkmnp-tv-z]{4,26})\b|\b([0-9a-hjkmnp-tv-z]{26})\b")


def _merge(ctx: Context, base: str, ours: str, theirs: str) -> str | None:
    return merge_texts(ctx.paths.workdir, base, ours, theirs)


def edit_journal(ctx: Context) -> int:
    base, tip = read_journal(ctx.repo)
    edited = edit_text(base or EMPTY_JOURNAL, ctx.paths.workdir)
    if edited == (base or EMPTY_JOURNAL) and tip is not None:
        print("journal unchanged")
        return 0
    parent, text = tip, edited
    for _ in range(20):
        try:
            save_journal(ctx.repo, text, parent, "journal: edit")
            print("journal saved")
            return 0
        except RefMoved:  # someone else saved meanwhile: merge their text with ours
            pass
        theirs, parent = read_journal(ctx.repo)
        merged = _merge(ctx, base, edited, theirs)
        if merged is None:
            saved = ctx.paths.gitrun_dir / f"journal-conflict-{utc_now().strftime('%Y%m%dT%H%M%S')}.md"
            saved.parent.mkdir(parents=True, exist_ok=True)
            saved.write_text(edited, encoding="utf-8")
            raise UsageError("the journal was changed by someone else meanwhile and the edits conflict",
                             hint=f"your text is saved in {saved}; run `git run journal` again and merge it")
        text = merged
    raise UsageError("could not save the journal: it kept changing", hint="try again")


def journal_command(action: str | None = None, text: str | None = None, kind: str | None = None,
                    as_json: bool = False) -> int:
    ctx = open_context()
    if action == "add":
        if not text or not text.strip():
            raise UsageError("nothing to add", hint='usage: git run journal add "TEXT"')
        _check_links(ctx, text)
        append_entry(ctx.repo, text, kind)
        print("journal: entry added")
        return 0
    if action == "show" or not can_start_editor():  # no terminal for an editor: print it instead
        current, tip = read_journal(ctx.repo)
        if as_json:
            print_json({"text": current or "", "commit": tip})
            return 0
        print(current.rstrip("\n") if current else "the journal is empty (add to it with `git run journal add`)")
        return 0
    return edit_journal(ctx)


def _check_links(ctx: Context, text: str) -> None:
    """Warn about run links that match no run or several (the entry is added all the same)."""
    for prefix in linked_ids(text):
        found = [run_id for run_id in ctx.store.run_ids() if run_id.startswith(prefix.lower())]
        if len(found) != 1:
            what = "no run" if not found else f"{len(found)} runs"
            print(f"warning: run:{prefix} matches {what}; reports will not link it", file=sys.stderr)


def split_entries(text: str) -> list[str]:
    """The journal's sections (a heading and what follows it); the preamble is the first."""
    parts: list[str] = []
    current: list[str] = []
    for line in text.splitlines():
        if line.startswith("#") and current:
            parts.append("\n".join(current).strip("\n"))
            current = []
        current.append(line)
    if current:
        parts.append("\n".join(current).strip("\n"))
    return [part for part in parts if part.strip()]


def linked_ids(text: str) -> list[str]:
    """Run id prefixes (or full ids) the text links to."""
    return [match.group(1) or match.group(2) for match in RUN_LINK.finditer(text)]
