"""Find and repair refs that point at missing objects, and notes lost with them (``git run doctor``).

``git gc --prune=now`` running while a run records (git documents it as unsafe with concurrent
writers) can remove a commit gitrun has just written but not yet pointed a ref at; the ref then
points at nothing. gitrun's readers and writers survive that on their own (the notes are read
from the newest whole commit of the reflog, and the next note write moves the ref back there);
this module does the rest:

- ``refs/notes/gitrun`` at a missing commit: moved back to the newest whole commit of its reflog;
  a fetched copy (``refs/gitrun/remotes/<remote>/notes``) at a missing commit is removed (the next
  fetch brings it back).
- a run ref at a missing commit: pointed at the result commit its note names, or a new empty
  result commit on its snapshot commit; when the snapshot commit is gone too, nothing of the run
  is left here and the ref is removed (``git run fetch`` brings back a run that was pushed).
- a note lost with a removed notes commit: rebuilt from the run's own commits (the snapshot
  commit's message and trailers, the commit times), marked as rebuilt under ``missing``; a run
  of this host whose note still says ``running`` although its spool is gone lost its final note:
  it is marked ``unknown`` with the time its last result was stored.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pygit2

from gitrun.errors import StorageError
from gitrun.model.run import SCHEMA_VERSION
from gitrun.model.timefmt import from_iso, to_iso
from gitrun.store import codec
from gitrun.store.git import default_signature
from gitrun.store.notes import heal_notes_ref, iter_note_entries, modify_notes, notes_tree, read_note
from gitrun.store.refs import (
    EXPERIMENTS_PREFIX,
    NOTES_REF,
    REMOTE_NOTES_PREFIX,
    RefMoved,
    compare_and_swap,
    read_ref,
    retry_on_conflict,
    usable_commit,
)
from gitrun.store.runs import RunStore
from gitrun.store.spool import find_spool

EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"
LOST_NOTE = ("the run's note was lost (its notes commit was removed, e.g. by `git gc --prune=now` while a "
             "run was recording); rebuilt by `git run doctor` from the run's commits")
LOST_FINAL_NOTE = ("the run's final metadata was lost (its notes commit was removed, e.g. by `git gc "
                   "--prune=now` while it was recording); its log and results are in its result commit")
LOST_RESULT = ("the run's result commit was removed (e.g. by `git gc --prune=now` while it was recording): "
               "its logs, metrics and outputs are gone")


@dataclass
class Finding:
    """One problem found, and what was done about it (``repaired`` False: found only)."""

    text: str
    repaired: bool


def repair(store: RunStore, dry_run: bool = False) -> list[Finding]:
    """Every repair this module knows, in order; with ``dry_run`` only what would be done."""
    findings = list(_repair_notes_refs(store.repo, dry_run))
    findings += list(_repair_run_refs(store, dry_run))
    findings += _rebuild_lost_notes(store, dry_run)
    return findings


def _repair_notes_refs(repo: pygit2.Repository, dry_run: bool) -> Iterator[Finding]:
    target = read_ref(repo, NOTES_REF)
    if target is not None and not usable_commit(repo, target):
        if dry_run:
            yield Finding(f"{NOTES_REF} points at missing commit {target}", False)
        else:
            healed = retry_on_conflict(lambda: heal_notes_ref(repo), NOTES_REF)
            if healed is not None:
                lost, restored = healed
                yield Finding(f"{NOTES_REF} pointed at missing commit {lost}: " + (
                    f"moved back to {restored} (its reflog)" if restored else
                    "no whole commit left in its reflog; removed (notes are rebuilt below)"), True)
    for name in repo.listall_references():
        if not (name.startswith(REMOTE_NOTES_PREFIX) and name.endswith("/notes")):
            continue
        fetched = read_ref(repo, name)
        if fetched is None or usable_commit(repo, fetched):
            continue
        if not dry_run:
            _remove_ref(repo, name, fetched)
        yield Finding(f"{name} (fetched notes) pointed at missing commit {fetched}: "
                      f"{'would be ' if dry_run else ''}removed; the next `git run fetch` brings it back",
                      not dry_run)


def _remove_ref(repo: pygit2.Repository, name: str, expected: pygit2.Oid) -> None:
    try:
        compare_and_swap(repo, name, None, expected, default_signature(repo), "gitrun doctor: dangling ref")
    except RefMoved:
        pass  # moved meanwhile: someone else repaired it


def _notes_by_run_id(repo: pygit2.Repository) -> dict[str, tuple[str, dict[str, Any]]]:
    """Run id -> (annotated commit, document), for every note that parses."""
    found: dict[str, tuple[str, dict[str, Any]]] = {}
    for commit_hex, blob_id in iter_note_entries(repo, notes_tree(repo)):
        blob = repo.get(blob_id)
        if not isinstance(blob, pygit2.Blob):
            continue
        try:
            doc = codec.decode(blob.data, "a note")
        except StorageError:
            continue
        if isinstance(doc.get("id"), str):
            found[doc["id"]] = (commit_hex, doc)
    return found


def _repair_run_refs(store: RunStore, dry_run: bool) -> Iterator[Finding]:
    repo = store.repo
    dangling = [(run_id, target) for run_id in store.run_ids()
                if (target := read_ref(repo, EXPERIMENTS_PREFIX + run_id)) is not None
                and not usable_commit(repo, target)]
    if not dangling:
        return
    notes = _notes_by_run_id(repo)
    for run_id, target in dangling:
        ref = EXPERIMENTS_PREFIX + run_id
        snapshot_hex, doc = notes.get(run_id, ("", {}))
        snapshot = pygit2.Oid(hex=snapshot_hex) if snapshot_hex else None
        if snapshot is None or not usable_commit(repo, snapshot):
            if not dry_run:
                _remove_ref(repo, ref, target)
            yield Finding(f"{ref} pointed at missing commit {target} and the run's code snapshot is gone too: "
                          f"{'would be ' if dry_run else ''}removed (`git run fetch` restores it if it was pushed)",
                          not dry_run)
            continue
        named = str(doc.get("result_commit", ""))
        result = pygit2.Oid(hex=named) if len(named) == 40 else None
        kept = result is not None and usable_commit(repo, result)
        if dry_run:
            yield Finding(f"{ref} points at missing commit {target}", False)
            continue
        if result is None or not kept:
            signature = default_signature(repo)
            result = repo.create_commit(None, signature, signature, f"gitrun result {run_id}\n\nGitrun-Run: {run_id}\n",
                                        repo.TreeBuilder().write(), [snapshot])
        try:
            compare_and_swap(repo, ref, result, target, default_signature(repo), "gitrun doctor: dangling run ref")
        except RefMoved:
            continue
        if not kept:
            _mark_missing(store, snapshot_hex, {"result": LOST_RESULT})
        yield Finding(f"{ref} pointed at missing commit {target}: now at " + (
            f"the result commit its note names ({result})" if kept else
            f"a new empty result commit {result} on its snapshot (its results are lost)"), True)


def _mark_missing(store: RunStore, key: str, missing: dict[str, str]) -> None:
    def change(current: dict[str, bytes | None]) -> dict[str, bytes | None]:
        text = current.get(key)
        if text is None:
            return {}
        doc = codec.decode(text, "a note")
        doc.setdefault("missing", {}).update(missing)
        return {key: codec.encode(doc)}

    modify_notes(store.repo, [key], change, "gitrun doctor: result commit lost")


def _rebuild_lost_notes(store: RunStore, dry_run: bool) -> list[Finding]:
    """Notes gone with a removed notes commit, rebuilt from the runs' commits."""
    repo = store.repo
    tree = notes_tree(repo)
    rebuilt: dict[str, bytes | None] = {}
    findings: list[Finding] = []
    for run_id in store.run_ids():
        target = read_ref(repo, EXPERIMENTS_PREFIX + run_id)
        result = repo.get(target) if target is not None else None
        if not isinstance(result, pygit2.Commit) or not result.parent_ids:
            continue
        snapshot = repo.get(result.parent_ids[0])
        if not isinstance(snapshot, pygit2.Commit):
            continue
        key = str(snapshot.id)
        text = read_note(repo, key, tree)
        doc = _parsed(text)
        if text is None:
            new_doc = _doc_from_commits(run_id, snapshot, result)
            findings.append(Finding(f"run {run_id}: note lost; {'would be ' if dry_run else ''}rebuilt from "
                                    "its commits (status unknown)", not dry_run))
        elif doc is not None and _lost_final_note(store, run_id, doc):
            new_doc = dict(doc)
            new_doc["status"] = "unknown"
            new_doc.pop("pid", None)
            new_doc.setdefault("missing", {})["status"] = LOST_FINAL_NOTE
            if str(result.tree_id) != EMPTY_TREE:
                _set_end(new_doc, result)
                new_doc["result_commit"] = str(result.id)
            findings.append(Finding(f"run {run_id}: still `running` though its recorder is gone (final note "
                                    f"lost); {'would be ' if dry_run else ''}marked unknown", not dry_run))
        else:
            continue
        rebuilt[key] = codec.encode(new_doc)
    if rebuilt and not dry_run:
        def change(current: dict[str, bytes | None]) -> dict[str, bytes | None]:
            # only what nobody rewrote meanwhile (a recorder finishing writes its whole note itself)
            return {key: text for key, text in rebuilt.items()
                    if current.get(key) is None or _still_running_here(current[key])}

        modify_notes(repo, list(rebuilt), change, "gitrun doctor: notes rebuilt from the runs' commits")
    return findings


def _parsed(text: bytes | None) -> dict[str, Any] | None:
    if text is None:
        return None
    try:
        return codec.decode(text, "a note")
    except StorageError:
        return None  # a note that does not parse is shown as broken, not rebuilt over


def _still_running_here(text: bytes | None) -> bool:
    doc = _parsed(text)
    return doc is not None and doc.get("status") == "running" and doc.get("host") == socket.gethostname()


def _lost_final_note(store: RunStore, run_id: str, doc: dict[str, Any]) -> bool:
    return (doc.get("status") == "running" and doc.get("host") == socket.gethostname()
            and find_spool(store.paths, run_id) is None and not _claimed_spool(store, run_id))


def _claimed_spool(store: RunStore, run_id: str) -> bool:
    live = store.paths.gitrun_dir / "live"
    return live.is_dir() and any(path.name.startswith(run_id + ".") for path in live.iterdir())


def _commit_time(commit: pygit2.Commit) -> str:
    return to_iso(datetime.fromtimestamp(commit.commit_time, UTC))


def _doc_from_commits(run_id: str, snapshot: pygit2.Commit, result: pygit2.Commit) -> dict[str, Any]:
    message, trailers = _split_trailers(snapshot.message)
    doc: dict[str, Any] = {
        "schema": SCHEMA_VERSION, "id": run_id, "name": trailers.get("Gitrun-Name", ""),
        "message": "" if message.startswith("gitrun: ") else message,
        "status": "unknown", "started": _commit_time(snapshot), "snapshot_commit": str(snapshot.id),
        "result_commit": str(result.id),
        "git": {"base_commit": str(snapshot.parent_ids[0]) if snapshot.parent_ids else ""},
        "missing": {"metadata": LOST_NOTE},
    }
    if str(result.tree_id) != EMPTY_TREE:
        _set_end(doc, result)
    return doc


def _set_end(doc: dict[str, Any], result: pygit2.Commit) -> None:
    """The run ended no earlier than its last stored result."""
    doc["ended"] = _commit_time(result)
    started = doc.get("started")
    if isinstance(started, str):
        doc["duration_s"] = round((from_iso(doc["ended"]) - from_iso(started)).total_seconds(), 3)


def _split_trailers(message: str) -> tuple[str, dict[str, str]]:
    body, _, tail = message.rstrip().rpartition("\n\n")
    trailers = dict(line.split(": ", 1) for line in tail.splitlines() if line.startswith("Gitrun-") and ": " in line)
    return (body.strip() if trailers else message.strip()), trailers
