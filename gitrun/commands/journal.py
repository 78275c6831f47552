"""``git run journal``: the project's experiment journal, a markdown document stored in git.

The journal lives at ``refs/gitrun/journal``: each commit's tree holds ``journal.md``; every change
is a new commit moved there by compare-and-swap, so it has history, is shared with push/fetch of
gitrun's refs, and concurrent writers never lose text. Runs are linked as ``run:<id-prefix>`` (or a
full run id) and reports turn those into links.
"""

from __future__ import annotations

import re
import sys

import pygit2

from gitrun.commands.context import Context, open_context
from gitrun.commands.interact import can_start_editor, edit_text
from gitrun.commands.output import print_json
from gitrun.errors import UsageError
from gitrun.model.timefmt import utc_now
from gitrun.store.git import default_signature
from gitrun.store.journal_share import JOURNAL_FILE, merge_texts
from gitrun.store.refs import JOURNAL_REF, RefMoved, compare_and_swap, read_ref, retry_on_conflict
from gitrun.store.trees import build_tree, read_blob_at

EMPTY_JOURNAL = ("# Experiment journal\n\n"
                 "Experiments in progress, planned, and decided against (with the reason).\n"
                 "Link runs as run:<id-prefix>.\n")
RUN_LINK = re.compile(r"\brun:([0-9a-hjkmnp-tv-z]{4,26})\b|\b([0-9a-hjkmnp-tv-z]{26})\b")


def read_journal(repo: pygit2.Repository) -> tuple[str, pygit2.Oid | None]:
    tip = read_ref(repo, JOURNAL_REF)
    if tip is None:
        return "", None
    commit = repo.get(tip)
    if not isinstance(commit, pygit2.Commit):
        return "", tip
    data = read_blob_at(repo, commit.tree, JOURNAL_FILE)
    return (data or b"").decode("utf-8", "replace"), tip


def _commit(repo: pygit2.Repository, text: str, parent: pygit2.Oid | None, message: str) -> pygit2.Oid:
    signature = default_signature(repo)
    tree = build_tree(repo, {JOURNAL_FILE: text.encode("utf-8")})
    commit = repo.create_commit(None, signature, signature, message, tree, [parent] if parent else [])
    compare_and_swap(repo, JOURNAL_REF, commit, parent, signature, message)
    return commit


ENTRY_KINDS = ("planned", "in-progress", "done", "decided-against")


def append_entry(repo: pygit2.Repository, text: str, kind: str | None = None) -> None:
    stamp = utc_now().strftime("%Y-%m-%d %H:%M UTC") + (f" · {kind}" if kind else "")

    def attempt() -> None:
        current, tip = read_journal(repo)
        body = current or EMPTY_JOURNAL
        entry = f"\n## {stamp}\n\n{text.strip()}\n"
        _commit(repo, body.rstrip("\n") + "\n" + entry, tip, "journal: add entry")

    retry_on_conflict(attempt, JOURNAL_REF)


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
            _commit(ctx.repo, text, parent, "journal: edit")
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
            print_json({"text": current or "", "commit": str(tip) if tip else None})
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
