"""Hostile runs, as a teammate (or anyone who can push to the shared remote) could forge them.

Trees are written as raw objects, so they hold what ``git mktree`` or a hex editor can produce and a
remote without ``receive.fsckObjects`` accepts: ``..``, ``.git`` and its aliases, empty names, names
with slashes. Notes are written as raw bytes, so they can be anything at all.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pygit2

from gitrun.model.ids import new_run_id
from gitrun.store.git import open_repository
from gitrun.store.notes import write_notes
from gitrun.store.refs import compare_and_swap, run_ref
from gitrun.store.runs import RunStore

BLOB = 0o100644
EXEC = 0o100755
LINK = 0o120000
TREE = 0o40000

# {name: bytes (a blob) | (mode, bytes) | nested dict (a tree)}
RawTree = dict[str, Any]


def raw_tree(repo: pygit2.Repository, entries: RawTree) -> pygit2.Oid:
    """Write a tree object byte by byte: no name is checked (git's fsck would refuse some)."""
    body = b""
    # git's order (a folder sorts as if its name ended in "/"): lookups by name bisect the entries
    for name, content in sorted(entries.items(), key=lambda item: item[0] + ("/" if isinstance(item[1], dict)
                                                                                 else "")):
        if isinstance(content, dict):
            mode, oid = TREE, raw_tree(repo, content)
        else:
            mode, data = content if isinstance(content, tuple) else (BLOB, content)
            oid = repo.create_blob(data)
        body += f"{mode:o} ".encode() + name.encode("utf-8", "surrogateescape") + b"\0" + oid.raw
    return repo.odb.write(pygit2.enums.ObjectType.TREE, body)


def forged_run(repo_path: Path, code: RawTree, *, doc: dict[str, Any] | None = None,
               result: RawTree | None = None, note: bytes | None = None) -> str:
    """A run whose snapshot tree is ``code``, result tree ``result`` and note ``doc`` (or raw ``note``)."""
    repo, paths = open_repository(repo_path)
    store = RunStore(repo, paths)
    run_id = new_run_id()
    base = None if repo.head_is_unborn else repo.head.target
    document = {"schema": 1, "id": run_id, "name": f"forged-{run_id[-6:]}", "status": "succeeded",
                "command": ["python", "train.py"], "started": "2026-01-01T00:00:00Z"}
    document.update(doc or {})
    run = store.create(run_id, raw_tree(repo, code), base, "forged", document)
    if result is not None:
        signature = pygit2.Signature("Mallory", "mallory@example.com")
        commit = repo.create_commit(None, signature, signature, "result", raw_tree(repo, result),
                                    [pygit2.Oid(hex=run.snapshot_commit)])
        compare_and_swap(repo, run_ref(run_id), commit, pygit2.Oid(hex=run.result_commit), signature, "forge")
    if note is not None:
        write_notes(repo, {run.snapshot_commit: note}, "forge")
    return run_id
