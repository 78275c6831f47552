"""The experiment journal (``refs/gitrun/journal``) travels with the runs: fetched, merged, pushed.

* fetch: ``+refs/gitrun/journal*`` -> ``refs/gitrun/remotes/<R>/journal*`` (a glob, so a remote
  without a journal yet is no error), next to the notes and runs.
* merge (pull, and push before it pushes): like notes, nothing is lost. When one side contains the
  other, the newer wins (a fast-forward); when both clones wrote, ``git merge-file --union`` merges
  the two texts against their common ancestor, keeping both sides' entries where they touch the same
  place, and the result is a merge commit with both tips as parents.
* push: the local journal, a descendant of the remote's after the merge, is pushed (a fast-forward)
  in the same atomic push as the runs.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pygit2

from gitrun.store.git import default_signature, run_git
from gitrun.store.refnames import JOURNAL_REF, journal_fetch_refspec, tracking_journal_ref  # noqa: F401  (re-exported)
from gitrun.store.refs import compare_and_swap, read_ref, retry_on_conflict
from gitrun.store.trees import build_tree, read_blob_at

JOURNAL_FILE = "journal.md"


def journal_text(repo: pygit2.Repository, commit_id: pygit2.Oid | None) -> str:
    commit = repo.get(commit_id) if commit_id is not None else None
    if not isinstance(commit, pygit2.Commit):
        return ""
    return (read_blob_at(repo, commit.tree, JOURNAL_FILE) or b"").decode("utf-8", "replace")


def merge_texts(workdir: Path, base: str, ours: str, theirs: str, union: bool = False) -> str | None:
    """Three-way merge of journal texts with ``git merge-file``: None on a conflict, unless ``union``
    (then both sides' lines are kept where they conflict)."""
    with tempfile.TemporaryDirectory(prefix="gitrun-journal-") as folder:
        paths = []
        for name, text in (("ours", ours), ("base", base), ("theirs", theirs)):
            path = Path(folder) / name
            path.write_text(text, encoding="utf-8")
            paths.append(str(path))
        result = run_git(["merge-file", "-p", *(["--union"] if union else []), *paths], workdir, check=False)
        return result.text if union or result.returncode == 0 else None


def merge_remote_journal(repo: pygit2.Repository, workdir: Path, remote: str) -> bool:
    """Bring the fetched journal of ``remote`` into ours; True when ours changed."""
    theirs = read_ref(repo, tracking_journal_ref(remote))
    if theirs is None:
        return False

    def attempt() -> bool:
        ours = read_ref(repo, JOURNAL_REF)
        signature = default_signature(repo)
        if ours == theirs:
            return False
        if ours is None or repo.descendant_of(theirs, ours):
            compare_and_swap(repo, JOURNAL_REF, theirs, ours, signature, f"gitrun: journal from {remote}")
            return True
        if repo.descendant_of(ours, theirs):
            return False  # ours already holds theirs
        base = repo.merge_base(ours, theirs)
        text = merge_texts(workdir, journal_text(repo, base), journal_text(repo, ours), journal_text(repo, theirs),
                           union=True) or ""
        tree = build_tree(repo, {JOURNAL_FILE: text.encode("utf-8")})
        message = f"journal: merge from {remote}"
        merged = repo.create_commit(None, signature, signature, message, tree, [ours, theirs])
        compare_and_swap(repo, JOURNAL_REF, merged, ours, signature, message)
        return True

    return retry_on_conflict(attempt, JOURNAL_REF)


def journal_push_refspecs(repo: pygit2.Repository, remote: str) -> list[str]:
    """The refspec that publishes our journal, when the remote's (as last fetched) differs."""
    ours = read_ref(repo, JOURNAL_REF)
    if ours is None or ours == read_ref(repo, tracking_journal_ref(remote)):
        return []
    return [f"{JOURNAL_REF}:{JOURNAL_REF}"]
