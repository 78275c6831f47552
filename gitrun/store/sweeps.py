"""Sweeps as refs: ``refs/gitrun/sweeps/<sweep-id>`` -> a commit whose tree holds ``sweep.toml``.

The commit's parent is the sweep's snapshot commit, so the code every trial runs travels with the
sweep and survives ``git gc``. A sweep is written once; its runs point back at it through the
``sweep`` link in their notes. Format: docs/format.md, "Sweeps".
"""

from __future__ import annotations

from typing import Any

import pygit2

from gitrun.errors import StorageError, UsageError
from gitrun.store import codec
from gitrun.store.git import default_signature
from gitrun.store.refnames import SWEEPS_PREFIX, tracking_sweeps_prefix  # noqa: F401  (re-exported)
from gitrun.store.refs import ObjectId, RefMoved, compare_and_swap, read_ref, to_oid
from gitrun.store.trees import build_tree, read_blob_at

SWEEP_FILE = "sweep.toml"
SWEEP_FORMAT = 1


def sweep_ref(sweep_id: str) -> str:
    return SWEEPS_PREFIX + sweep_id


def _find_ref(repo: pygit2.Repository, sweep_id: str) -> str | None:
    """The sweep's own ref, else one fetched from a remote."""
    if sweep_ref(sweep_id) in repo.references:
        return sweep_ref(sweep_id)
    for name in repo.references:
        if name.startswith("refs/gitrun/remotes/") and name.endswith(f"/sweeps/{sweep_id}"):
            return str(name)
    return None


def save_sweep(repo: pygit2.Repository, doc: dict[str, Any], snapshot: ObjectId) -> str:
    """Write the sweep and create its ref (which must not exist yet); the sweep commit (hex)."""
    tree = build_tree(repo, {SWEEP_FILE: codec.encode(doc)})
    signature = default_signature(repo)
    commit = repo.create_commit(None, signature, signature, f"gitrun: sweep {doc['id']}", tree, [to_oid(snapshot)])
    try:
        compare_and_swap(repo, sweep_ref(str(doc["id"])), commit, None, signature, "gitrun: sweep")
    except RefMoved:
        raise StorageError(f"sweep {doc['id']} exists already")
    return str(commit)


def read_sweep(repo: pygit2.Repository, sweep_id: str) -> dict[str, Any]:
    ref = _find_ref(repo, sweep_id)
    target = read_ref(repo, ref) if ref is not None else None
    commit = repo.get(target) if target is not None else None
    if not isinstance(commit, pygit2.Commit):
        raise UsageError(f"no sweep {sweep_id}", hint="list them with `git run sweep ls`")
    data = read_blob_at(repo, commit.tree, SWEEP_FILE)
    if data is None or len(data) > 4 * 1024 * 1024:
        raise StorageError(f"sweep {sweep_id}: no readable {SWEEP_FILE}")
    doc = codec.decode(data, f"sweep {sweep_id}")
    if not isinstance(doc.get("format"), int) or doc["format"] > SWEEP_FORMAT or doc.get("id") != sweep_id:
        raise StorageError(f"sweep {sweep_id}: format {doc.get('format')!r} is not supported here",
                           hint="upgrade gitrun")
    return doc


def sweep_ids(repo: pygit2.Repository) -> list[str]:
    """Every sweep id: this repository's, and those fetched from remotes."""
    found = set()
    for name in repo.references:
        if name.startswith(SWEEPS_PREFIX):
            found.add(name[len(SWEEPS_PREFIX):])
        elif name.startswith("refs/gitrun/remotes/") and "/sweeps/" in name:
            found.add(name.rsplit("/", 1)[1])
    return sorted(found)


def list_sweeps(repo: pygit2.Repository) -> tuple[list[dict[str, Any]], list[str]]:
    """Every readable sweep, newest first, and one line per sweep that is not."""
    found: list[dict[str, Any]] = []
    problems: list[str] = []
    for sweep_id in reversed(sweep_ids(repo)):
        try:
            found.append(read_sweep(repo, sweep_id))
        except (StorageError, UsageError) as err:
            problems.append(str(err))
    return found, problems


def resolve_sweep(repo: pygit2.Repository, text: str) -> dict[str, Any]:
    """A sweep by id, unique id prefix or name."""
    ids = sweep_ids(repo)
    lowered = text.lower()
    if lowered in ids:
        return read_sweep(repo, lowered)
    matches = [sweep_id for sweep_id in ids if sweep_id.startswith(lowered)] if len(text) >= 4 else []
    if not matches:
        named = [doc for doc in list_sweeps(repo)[0] if doc.get("name") == text]
        if len(named) == 1:
            return named[0]
        matches = [str(doc["id"]) for doc in named]
    if len(matches) == 1:
        return read_sweep(repo, matches[0])
    if not matches:
        raise UsageError(f"no sweep matches '{text}'", hint="list them with `git run sweep ls`")
    raise UsageError(f"'{text}' matches {len(matches)} sweeps", hint="give more of the id")
