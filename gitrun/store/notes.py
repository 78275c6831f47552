"""Metadata notes under ``refs/notes/gitrun``, kept in git's fanout layout.

libgit2 writes notes trees flat (one tree of every note), which made each write rewrite a
10,000-entry tree. gitrun builds the trees itself as ``ab/cdef...`` (256 subtrees), the layout
git uses for large notes trees, so a write rewrites one small subtree and the top tree, and
``git notes --ref=gitrun show`` still reads every note. Readers accept flat and deeper fanouts too,
since git itself may write them.

Every write is a read-modify-write inside a compare-and-swap on the notes ref, so concurrent
writers (ten local runs, a tag while a run ends) never lose each other's changes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping

import pygit2

from gitrun.store.git import default_signature
from gitrun.store.refs import (
    NOTES_REF,
    RefMoved,
    compare_and_swap,
    last_usable_from_reflog,
    read_ref,
    retry_on_conflict,
    usable_commit,
)

NoteChanges = dict[str, bytes | None]  # annotated commit hex -> new note text (None: remove)
Modifier = Callable[[dict[str, bytes | None]], NoteChanges]

_TREE = pygit2.enums.FileMode.TREE
_BLOB = pygit2.enums.FileMode.BLOB
_BLOB_TYPE = pygit2.enums.ObjectType.BLOB


def notes_tree(repo: pygit2.Repository, ref: str = NOTES_REF) -> pygit2.Tree | None:
    """The notes tree; when the ref's commit is gone (gc racing a writer), the newest whole one in the reflog."""
    target = read_ref(repo, ref)
    if target is None:
        return None
    if not usable_commit(repo, target):
        target = last_usable_from_reflog(repo, ref)  # read-only: `git run doctor` or the next write repairs
        if target is None:
            return None
    commit = repo.get(target)
    return commit.tree if isinstance(commit, pygit2.Commit) else None


def heal_notes_ref(repo: pygit2.Repository, ref: str = NOTES_REF) -> tuple[pygit2.Oid, pygit2.Oid | None] | None:
    """Move a notes ref whose commit is gone back to the newest whole commit of its reflog.

    Returns (lost commit, restored commit or None when nothing is left: the ref is removed, so
    that writing starts again); None when the ref is fine. Raises RefMoved if it moved meanwhile.
    """
    target = read_ref(repo, ref)
    if target is None or usable_commit(repo, target):
        return None
    restored = last_usable_from_reflog(repo, ref)
    compare_and_swap(repo, ref, restored, target, default_signature(repo),
                     f"gitrun: {ref} pointed at missing commit {target}; restored from the reflog")
    return target, restored


def note_blobs_at(repo: pygit2.Repository, commit_hex: str) -> dict[str, str]:
    """Annotated commit -> note blob (hex) of the notes commit ``commit_hex``; {} when it is not here."""
    try:
        commit = repo.get(commit_hex)
    except (ValueError, pygit2.GitError):
        return {}
    if not isinstance(commit, pygit2.Commit):
        return {}
    return {key: str(blob) for key, blob in iter_note_entries(repo, commit.tree)}


def iter_note_entries(repo: pygit2.Repository, tree: pygit2.Tree | None) -> Iterator[tuple[str, pygit2.Oid]]:
    """Yield (annotated commit hex, note blob id) for every note, whatever the fanout."""
    if tree is None:
        return
    yield from _walk(repo, tree, "")


def _walk(repo: pygit2.Repository, tree: pygit2.Tree, prefix: str) -> Iterator[tuple[str, pygit2.Oid]]:
    for entry in tree:
        name = prefix + (entry.name or "")
        if entry.filemode == _TREE:
            sub = repo.get(entry.id)
            if isinstance(sub, pygit2.Tree) and len(name) < 40:
                yield from _walk(repo, sub, name)
        elif len(name) == 40:
            yield name, entry.id


def _lookup_entry(repo: pygit2.Repository, tree: pygit2.Tree | None, commit_hex: str) -> pygit2.Oid | None:
    """Find the note blob for a commit in fanout (``ab/cd...``), flat, or deeper layouts."""
    node: pygit2.Tree | None = tree
    rest = commit_hex
    while node is not None and rest:
        if rest in node:
            entry = node[rest]
            return entry.id if entry.filemode != _TREE else None
        head, rest = rest[:2], rest[2:]
        if head not in node:
            return None
        child = repo.get(node[head].id)
        node = child if isinstance(child, pygit2.Tree) else None
    return None


def note_blob_id(repo: pygit2.Repository, tree: pygit2.Tree | None, commit_hex: str) -> pygit2.Oid | None:
    """The id of the note blob of ``commit_hex`` in a notes tree (any fanout), without reading it."""
    return _lookup_entry(repo, tree, commit_hex)


def read_note(repo: pygit2.Repository, commit_hex: str, tree: pygit2.Tree | None = None,
              ref: str = NOTES_REF) -> bytes | None:
    tree = tree if tree is not None else notes_tree(repo, ref)
    blob_id = _lookup_entry(repo, tree, commit_hex)
    if blob_id is None:
        return None
    try:  # straight from the object database: half the cost of a Blob object's .data
        kind, data = repo.odb.read(blob_id)
    except (KeyError, ValueError, pygit2.GitError):
        return None
    return data if kind == _BLOB_TYPE else None


def modify_notes(repo: pygit2.Repository, keys: list[str], modifier: Modifier, message: str,
                 ref: str = NOTES_REF) -> None:
    """Atomically replace the notes of ``keys``: ``modifier`` gets their current text, returns new text.

    ``modifier`` may run several times (once per lost race), always on fresh data.
    """
    signature = default_signature(repo)

    def attempt() -> None:
        if heal_notes_ref(repo, ref) is not None:
            raise RefMoved(ref)  # repaired (the lost commit's notes are rebuilt by `git run doctor`): read again
        parent = read_ref(repo, ref)
        tree = notes_tree(repo, ref)
        current = {key: read_note(repo, key, tree) for key in keys}
        changes = modifier(current)
        if not changes:
            return
        new_tree = _apply_changes(repo, tree, changes)
        parents = [parent] if parent is not None else []
        commit = repo.create_commit(None, signature, signature, message, new_tree, parents)
        compare_and_swap(repo, ref, commit, parent, signature, message)

    retry_on_conflict(attempt, ref)


def write_notes(repo: pygit2.Repository, notes: Mapping[str, bytes | None], message: str,
                ref: str = NOTES_REF) -> None:
    """Set (or remove, for None) notes unconditionally, still without losing concurrent writes."""
    modify_notes(repo, list(notes), lambda _current: dict(notes), message, ref)


def _apply_changes(repo: pygit2.Repository, tree: pygit2.Tree | None, changes: NoteChanges) -> pygit2.Oid:
    top = repo.TreeBuilder(tree) if tree is not None else repo.TreeBuilder()
    by_dir: dict[str, NoteChanges] = {}
    for commit_hex, text in changes.items():
        if tree is not None and commit_hex in tree:
            top.remove(commit_hex)  # a flat note written by another tool: move it into the fanout
        by_dir.setdefault(commit_hex[:2], {})[commit_hex[2:]] = text
    for dirname, entries in by_dir.items():
        old_sub = _subtree(repo, tree, dirname)
        sub = repo.TreeBuilder(old_sub) if old_sub is not None else repo.TreeBuilder()
        for name, text in entries.items():
            if text is None:
                if sub.get(name) is not None:
                    sub.remove(name)
            else:
                sub.insert(name, repo.create_blob(text), _BLOB)
        if len(sub) == 0:
            if old_sub is not None:
                top.remove(dirname)
        else:
            top.insert(dirname, sub.write(), _TREE)
    return top.write()


def _subtree(repo: pygit2.Repository, tree: pygit2.Tree | None, name: str) -> pygit2.Tree | None:
    if tree is None or name not in tree:
        return None
    entry = tree[name]
    if entry.filemode != _TREE:
        return None
    sub = repo.get(entry.id)
    return sub if isinstance(sub, pygit2.Tree) else None
