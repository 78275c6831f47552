"""The experiment journal: ``refs/gitrun/journal`` -> a commit whose tree holds ``journal.md``.

Every change is a new commit (parent: the previous tip) moved onto the ref by compare-and-swap, so
the journal has history, travels with push/fetch of gitrun's refs (``store/journal_share.py``), and
two writers never lose text: ``append_entry`` retries on a lost race, and ``save_journal`` raises
``RefMoved`` for the caller to merge. Texts and commit ids are plain strings.
"""

from __future__ import annotations

import pygit2

from gitrun.model.timefmt import utc_now
from gitrun.store.git import default_signature
from gitrun.store.journal_share import JOURNAL_FILE
from gitrun.store.refs import JOURNAL_REF, compare_and_swap, read_ref, retry_on_conflict, to_oid
from gitrun.store.trees import build_tree, read_blob_at

EMPTY_JOURNAL = ("# Experiment journal\n\n"
                 "Experiments in progress, planned, and decided against (with the reason).\n"
                 "Link runs as run:<id-prefix>.\n")
ENTRY_KINDS = ("planned", "in-progress", "done", "decided-against")


def read_journal(repo: pygit2.Repository) -> tuple[str, str | None]:
    """The journal's text ("" when there is none) and the commit it was read from (hex, or None)."""
    tip = read_ref(repo, JOURNAL_REF)
    if tip is None:
        return "", None
    commit = repo.get(tip)
    if not isinstance(commit, pygit2.Commit):
        return "", str(tip)
    data = read_blob_at(repo, commit.tree, JOURNAL_FILE)
    return (data or b"").decode("utf-8", "replace"), str(tip)


def save_journal(repo: pygit2.Repository, text: str, parent: str | None, message: str) -> str:
    """Store ``text`` as the journal if its tip is still ``parent`` (else ``RefMoved``); the new tip."""
    signature = default_signature(repo)
    tree = build_tree(repo, {JOURNAL_FILE: text.encode("utf-8")})
    expected = to_oid(parent) if parent else None
    commit = repo.create_commit(None, signature, signature, message, tree, [expected] if expected else [])
    compare_and_swap(repo, JOURNAL_REF, commit, expected, signature, message)
    return str(commit)


def append_entry(repo: pygit2.Repository, text: str, kind: str | None = None) -> None:
    """Add a dated section (``kind``: one of ``ENTRY_KINDS``) at the end, whoever writes meanwhile."""
    stamp = utc_now().strftime("%Y-%m-%d %H:%M UTC") + (f" · {kind}" if kind else "")

    def attempt() -> None:
        current, tip = read_journal(repo)
        body = current or EMPTY_JOURNAL
        entry = f"\n## {stamp}\n\n{text.strip()}\n"
        save_journal(repo, body.rstrip("\n") + "\n" + entry, tip, "journal: add entry")

    retry_on_conflict(attempt, JOURNAL_REF)
