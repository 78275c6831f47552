"""Merging metadata notes: a TOML-aware three-way merge of documents, and of whole notes trees.

git's notes merge strategies are wrong for TOML (``union`` writes invalid TOML, ``cat_sort_uniq``
moves keys into the wrong table, ``ours``/``theirs`` drop edits) and libgit2 has none, so gitrun
merges notes itself:

* per note: base = the note in the merge base of the two notes commits, then per key:
  unchanged on one side -> the other side's value; tables -> recursively; ``tags`` -> three-way
  set merge (a union of what both added, minus what either removed); ``note`` (markdown) ->
  both texts, the other's appended after a separator line; lists of tables (``accepted``,
  ``conflicts``) -> union, order kept; other scalars and lists -> the value of the newer document
  (``updated``, else ``ended``, else ``started``), the other value recorded under ``conflicts``.
* a note present on one side only is kept (absence is never a deletion: a run deleted locally only
  must not disappear from the remote); deletion everywhere is a *tombstone*, a note with
  ``deleted = true``, which wins over any edit.
* the merged notes commit has the two notes commits as parents, so the next merge finds the right base.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pygit2

from gitrun.store import codec
from gitrun.store.git import default_signature
from gitrun.store.notes import _apply_changes, _lookup_entry, _walk, iter_note_entries
from gitrun.store.refs import NOTES_REF, compare_and_swap, read_ref, retry_on_conflict

NOTE_SEPARATOR = "\n\n---\n\n"
SET_KEYS = frozenset({"tags"})
TEXT_KEYS = frozenset({"note"})
_ABSENT = object()


def doc_time(doc: dict[str, Any]) -> str:
    """When a document was last written, as a sortable ISO string ("" when unknown)."""
    for key in ("updated", "ended", "started"):
        value = doc.get(key)
        if isinstance(value, str) and value:
            return value
    return ""


def is_tombstone(doc: dict[str, Any]) -> bool:
    return doc.get("deleted") is True


def merge_docs(base: dict[str, Any] | None, ours: dict[str, Any], theirs: dict[str, Any]) -> dict[str, Any]:
    """Three-way merge of two metadata documents; ``base`` None means "no common ancestor"."""
    if ours == theirs:
        return ours
    if is_tombstone(ours) or is_tombstone(theirs):
        return ours if is_tombstone(ours) and (not is_tombstone(theirs) or doc_time(ours) >= doc_time(theirs)) \
            else theirs
    ours_newer = doc_time(ours) >= doc_time(theirs)
    conflicts: list[dict[str, Any]] = []
    merged = _merge_table(base or {}, ours, theirs, ours_newer, "", conflicts)
    if conflicts:
        existing = merged.get("conflicts")
        merged["conflicts"] = _union_list(existing if isinstance(existing, list) else [], conflicts)
    times = [t for t in (ours.get("updated"), theirs.get("updated")) if isinstance(t, str)]
    if times:
        merged["updated"] = max(times)
    return merged


def _merge_table(base: dict[str, Any], ours: dict[str, Any], theirs: dict[str, Any], ours_newer: bool,
                 prefix: str, conflicts: list[dict[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    keys = list(ours) + [key for key in theirs if key not in ours]
    for key in keys:
        value = _merge_value(key, base.get(key, _ABSENT), ours.get(key, _ABSENT), theirs.get(key, _ABSENT),
                             ours_newer, prefix + key, conflicts)
        if value is not _ABSENT:
            result[key] = value
    return result


def _merge_value(key: str, base: Any, ours: Any, theirs: Any, ours_newer: bool, dotted: str,
                 conflicts: list[dict[str, Any]]) -> Any:
    if ours == theirs:
        return ours
    if ours == base:
        return theirs
    if theirs == base:
        return ours
    if dotted == "updated" and isinstance(ours, str) and isinstance(theirs, str):
        return max(ours, theirs)
    # Both sides changed the key, differently.
    if isinstance(ours, dict) and isinstance(theirs, dict):
        return _merge_table(base if isinstance(base, dict) else {}, ours, theirs, ours_newer, dotted + ".",
                            conflicts)
    if key in SET_KEYS and _is_list(ours, theirs):
        return _merge_set(base if isinstance(base, list) else [], _as_list(ours), _as_list(theirs))
    if key in TEXT_KEYS and _is_text(ours, theirs):
        return _merge_text(base if isinstance(base, str) else "", _as_text(ours), _as_text(theirs))
    if _is_list(ours, theirs) and _tables_only(ours) and _tables_only(theirs):
        return _union_list(_as_list(ours), _as_list(theirs))
    kept, other = (ours, theirs) if ours_newer else (theirs, ours)
    record: dict[str, Any] = {"key": dotted}
    if other is not _ABSENT:
        record["other"] = other
    else:
        record["other_absent"] = True
    conflicts.append(record)
    return kept


def _is_list(*values: Any) -> bool:
    return all(isinstance(value, list) or value is _ABSENT for value in values)


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _is_text(*values: Any) -> bool:
    return all(isinstance(value, str) or value is _ABSENT for value in values)


def _as_text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _tables_only(value: Any) -> bool:
    return value is _ABSENT or (isinstance(value, list) and all(isinstance(item, dict) for item in value))


def _merge_set(base: list[Any], ours: list[Any], theirs: list[Any]) -> list[Any]:
    removed = {_key(item) for item in base} - ({_key(item) for item in ours} & {_key(item) for item in theirs})
    result: list[Any] = []
    seen: set[str] = set()
    for item in ours + theirs:
        key = _key(item)
        if key in seen or key in removed:
            continue
        seen.add(key)
        result.append(item)
    return sorted(result, key=_key) if all(isinstance(item, str) for item in result) else result


def _merge_text(base: str, ours: str, theirs: str) -> str:
    if not ours:
        return theirs
    if not theirs:
        return ours
    if base and ours.startswith(base) and theirs.startswith(base):
        added = theirs[len(base):]
        return ours + (NOTE_SEPARATOR + added.lstrip("\n") if added.strip() else "")
    return ours + NOTE_SEPARATOR + theirs


def _union_list(ours: list[Any], theirs: list[Any]) -> list[Any]:
    result = list(ours)
    seen = {_key(item) for item in ours}
    for item in theirs:
        key = _key(item)
        if key not in seen:
            seen.add(key)
            result.append(item)
    return result


def _key(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


# --- notes trees ---------------------------------------------------------------------------------

def merge_note_texts(base: bytes | None, ours: bytes | None, theirs: bytes | None) -> bytes | None:
    """The merged text of one note (None: no note). Unreadable notes: the newer side wins as is."""
    if ours == theirs:
        return ours
    if ours is None or ours == base:
        return theirs
    if theirs is None or theirs == base:
        return ours
    try:
        base_doc = codec.decode(base) if base else None
        ours_doc, theirs_doc = codec.decode(ours), codec.decode(theirs)
    except Exception:
        return ours
    merged = merge_docs(base_doc, ours_doc, theirs_doc)
    if merged == ours_doc:
        return ours
    if merged == theirs_doc:
        return theirs
    return codec.encode(merged)


def _entries(repo: pygit2.Repository, tree: pygit2.Tree | None) -> dict[str, pygit2.Oid]:
    return dict(iter_note_entries(repo, tree))


def _differing(repo: pygit2.Repository, ours: pygit2.Tree | None, theirs: pygit2.Tree | None) -> Iterator[str]:
    """Commit keys whose note differs between two notes trees, skipping equal subtrees."""
    if ours is not None and theirs is not None and ours.id == theirs.id:
        return
    ours_entries = _top_entries(ours)
    theirs_entries = _top_entries(theirs)
    for name in set(ours_entries) | set(theirs_entries):
        a, b = ours_entries.get(name), theirs_entries.get(name)
        if a is not None and b is not None and a[0] == b[0]:
            continue
        if (a is None or a[1]) and (b is None or b[1]) and len(name) == 2:
            sub_a = repo.get(a[0]) if a is not None else None
            sub_b = repo.get(b[0]) if b is not None else None
            left = dict(_walk(repo, sub_a, name)) if isinstance(sub_a, pygit2.Tree) else {}
            right = dict(_walk(repo, sub_b, name)) if isinstance(sub_b, pygit2.Tree) else {}
            for key in set(left) | set(right):
                if left.get(key) != right.get(key):
                    yield key
        else:  # flat notes or odd layouts: compare fully
            yield from _full_diff(repo, ours, theirs)
            return


def _top_entries(tree: pygit2.Tree | None) -> dict[str, tuple[pygit2.Oid, bool]]:
    if tree is None:
        return {}
    return {entry.name or "": (entry.id, entry.filemode == pygit2.enums.FileMode.TREE) for entry in tree}


def _full_diff(repo: pygit2.Repository, ours: pygit2.Tree | None, theirs: pygit2.Tree | None) -> Iterator[str]:
    left, right = _entries(repo, ours), _entries(repo, theirs)
    for key in set(left) | set(right):
        if left.get(key) != right.get(key):
            yield key


def _blob(repo: pygit2.Repository, oid: pygit2.Oid | None) -> bytes | None:
    if oid is None:
        return None
    blob = repo.get(oid)
    return blob.data if isinstance(blob, pygit2.Blob) else None


def _commit_tree(repo: pygit2.Repository, oid: pygit2.Oid | None) -> pygit2.Tree | None:
    if oid is None:
        return None
    commit = repo.get(oid)
    return commit.tree if isinstance(commit, pygit2.Commit) else None


def merge_notes_commits(repo: pygit2.Repository, ours: pygit2.Oid | None, theirs: pygit2.Oid | None,
                        message: str) -> tuple[pygit2.Oid | None, int]:
    """The notes commit that merges ``theirs`` into ``ours``, and how many notes it took from theirs.

    Fast-forwards when one side contains the other; otherwise writes a two-parent merge commit.
    """
    if theirs is None or ours == theirs:
        return ours, 0
    if ours is None:
        return theirs, len(_entries(repo, _commit_tree(repo, theirs)))
    if repo.descendant_of(ours, theirs):
        return ours, 0
    base = repo.merge_base(ours, theirs)
    ours_tree, theirs_tree = _commit_tree(repo, ours), _commit_tree(repo, theirs)
    base_tree = _commit_tree(repo, base)
    changed = list(_differing(repo, ours_tree, theirs_tree))
    changes: dict[str, bytes | None] = {}
    for key in changed:
        ours_text = _blob(repo, _lookup_entry(repo, ours_tree, key))
        theirs_text = _blob(repo, _lookup_entry(repo, theirs_tree, key))
        base_text = _blob(repo, _lookup_entry(repo, base_tree, key))
        merged = merge_note_texts(base_text, ours_text, theirs_text)
        if merged != ours_text:
            changes[key] = merged
    if base == ours:  # ours is an ancestor of theirs: fast-forward
        return theirs, len(changes)
    new_tree = _apply_changes(repo, ours_tree, changes) if changes else (ours_tree.id if ours_tree else None)
    if new_tree is None:
        new_tree = repo.TreeBuilder().write()
    signature = default_signature(repo)
    commit = repo.create_commit(None, signature, signature, message, new_tree, [ours, theirs])
    return commit, len(changes)


def merge_into_local(repo: pygit2.Repository, theirs: pygit2.Oid | None, message: str,
                     ref: str = NOTES_REF) -> int:
    """Merge the notes commit ``theirs`` into the local notes ref (compare-and-swap, retried)."""
    taken = 0

    def attempt() -> None:
        nonlocal taken
        ours = read_ref(repo, ref)
        merged, taken = merge_notes_commits(repo, ours, theirs, message)
        if merged is not None and merged != ours:
            compare_and_swap(repo, ref, merged, ours, default_signature(repo), message)

    retry_on_conflict(attempt, ref)
    return taken


def apply_note_blobs(repo: pygit2.Repository, tree: pygit2.Tree | None,
                     blobs: dict[str, pygit2.Oid]) -> pygit2.Oid:
    """``tree`` with the notes of ``blobs`` (commit hex -> existing note blob) set, in fanout layout.

    Like ``gitrun.store.notes`` writes, but with blobs that already exist (copying notes from one
    notes tree to another needs no new objects but the trees)."""
    top = repo.TreeBuilder(tree) if tree is not None else repo.TreeBuilder()
    by_dir: dict[str, dict[str, pygit2.Oid]] = {}
    for commit_hex, blob_id in blobs.items():
        if tree is not None and commit_hex in tree:
            top.remove(commit_hex)  # a flat note: move it into the fanout
        by_dir.setdefault(commit_hex[:2], {})[commit_hex[2:]] = blob_id
    for dirname, entries in by_dir.items():
        old = tree[dirname] if tree is not None and dirname in tree else None
        old_sub = repo.get(old.id) if old is not None and old.filemode == pygit2.enums.FileMode.TREE else None
        sub = repo.TreeBuilder(old_sub) if isinstance(old_sub, pygit2.Tree) else repo.TreeBuilder()
        for name, blob_id in entries.items():
            sub.insert(name, blob_id, pygit2.enums.FileMode.BLOB)
        top.insert(dirname, sub.write(), pygit2.enums.FileMode.TREE)
    return top.write()
