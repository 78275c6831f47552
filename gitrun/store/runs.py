"""Runs as refs, commits and notes: create, update, list, resolve, delete.

Layout (docs/format.md has the full contract):
- ``refs/experiments/<id>`` points at the run's *result commit*; its first parent is the
  *snapshot commit* (the code as it was on disk), whose first parent is the HEAD the run started on.
- The metadata note (TOML) is attached to the snapshot commit in ``refs/notes/gitrun``; the snapshot
  commit never changes, so the note's key is stable while the result commit is replaced as the
  run writes logs, series and outputs.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import pygit2

from gitrun.errors import AmbiguousRun, RunNotFound, StorageError
from gitrun.model.ids import is_run_id, looks_like_id_prefix
from gitrun.model.run import Run
from gitrun.model.timefmt import to_iso, utc_now
from gitrun.store import codec
from gitrun.store.git import RepoPaths, default_signature
from gitrun.store.index import FULL, RunIndex, broken_doc, decode_note, read_ref_state
from gitrun.store.notes import iter_note_entries, modify_notes, notes_tree, read_note, write_notes
from gitrun.store.refs import (
    EXPERIMENTS_PREFIX,
    ObjectId,
    compare_and_swap,
    read_ref,
    ref_names_with_prefix,
    retry_on_conflict,
    run_ref,
    to_oid,
)
from gitrun.store.trees import TreeContent, build_tree

DocModifier = Callable[[dict[str, Any]], dict[str, Any] | None]


class RunStore:
    """Reads and writes runs in one repository."""

    def __init__(self, repo: pygit2.Repository, paths: RepoPaths) -> None:
        self.repo = repo
        self.paths = paths
        self._index: RunIndex | None = None

    # --- writing -----------------------------------------------------------------------------

    def create(self, run_id: str, tree: ObjectId, base_commit: ObjectId | None, message: str,
               doc: dict[str, Any]) -> Run:
        """Write the snapshot commit, an empty result commit, the ref and the first note.

        Secrets in ``doc`` and ``message`` are redacted first (``redact_document``), in place.
        """
        from gitrun.model.redaction import redact_document  # (and the secret detector: writes only)
        from gitrun.model.secrets import redact_text

        signature = default_signature(self.repo)
        parents = [to_oid(base_commit)] if base_commit is not None else []
        redact_document(doc)
        trailer = f"\n\nGitrun-Run: {run_id}\nGitrun-Name: {doc.get('name', '')}\n"
        message = redact_text(message)[0]
        snapshot = self.repo.create_commit(None, signature, signature, message.rstrip() + trailer, to_oid(tree),
                                            parents)
        doc["snapshot_commit"] = str(snapshot)
        result = self._result_commit(run_id, snapshot, {})
        ref = run_ref(run_id)
        # The note first: a ref whose note is missing would list as a broken run.
        note = codec.encode(doc)
        write_notes(self.repo, {str(snapshot): note}, f"gitrun: start {run_id}")
        compare_and_swap(self.repo, ref, result, None, signature, f"gitrun: start {run_id}")
        return Run(run_id, ref, str(result), str(snapshot), doc, note)

    def save_result(self, run: Run, files: Mapping[str, TreeContent]) -> Run:
        """Replace the run's result tree (logs, series, outputs) by a new result commit."""
        snapshot = pygit2.Oid(hex=run.snapshot_commit)
        signature = default_signature(self.repo)
        new_result = self._result_commit(run.id, snapshot, files)

        def attempt() -> None:
            current = read_ref(self.repo, run.ref)
            if current is None:
                raise StorageError(f"run {run.id} was deleted while it was being written")
            compare_and_swap(self.repo, run.ref, new_result, current, signature, f"gitrun: result {run.id}")

        retry_on_conflict(attempt, run.ref)
        run.result_commit = str(new_result)
        return run

    def _result_commit(self, run_id: str, snapshot: pygit2.Oid, files: Mapping[str, TreeContent]) -> pygit2.Oid:
        signature = default_signature(self.repo)
        tree = build_tree(self.repo, files)
        message = f"gitrun result {run_id}\n\nGitrun-Run: {run_id}\n"
        return self.repo.create_commit(None, signature, signature, message, tree, [snapshot])

    def update_doc(self, run: Run, modifier: DocModifier, message: str) -> Run:
        """Read-modify-write the run's metadata atomically (concurrent writers are retried)."""
        from gitrun.model.redaction import redact_document  # the secret detector: writes only, not reads

        key = run.snapshot_commit

        def change(current: dict[str, bytes | None]) -> dict[str, bytes | None]:
            text = current.get(key)
            if text is not None and text == run.note_bytes and not run.problems:
                doc = copy.deepcopy(run.doc)  # unchanged since we read or wrote it: no need to parse
            elif text:
                checked = codec.decode_note(text, run.id)
                if checked.problems:
                    raise StorageError(f"run {run.id} is broken: {checked.problems[0]}",
                                       hint=f"`git run rm {run.id[:10]}` removes it")
                doc = checked.doc
            else:
                doc = copy.deepcopy(run.doc)
            new_doc = modifier(doc)
            if new_doc is None:
                return {}
            new_doc["updated"] = to_iso(utc_now())  # orders concurrent edits in the notes merge
            redact_document(new_doc)
            note = codec.encode(new_doc)
            run.doc, run.note_bytes = new_doc, note
            return {key: note}

        modify_notes(self.repo, [key], change, message)
        return run

    def delete(self, run: Run) -> None:
        signature = default_signature(self.repo)
        current = read_ref(self.repo, run.ref)
        if current is not None:
            retry_on_conflict(
                lambda: compare_and_swap(self.repo, run.ref, None, read_ref(self.repo, run.ref), signature,
                                         f"gitrun: delete {run.id}"),
                run.ref,
            )
        write_notes(self.repo, {run.snapshot_commit: None}, f"gitrun: delete {run.id}")

    # --- reading -----------------------------------------------------------------------------

    def run_ids(self) -> list[str]:
        return sorted(read_ref_state(self.repo).refs, reverse=True)

    @property
    def index(self) -> RunIndex:
        """The read index (built and kept up to date on first use)."""
        if self._index is None:
            self._index = RunIndex(self.repo, self.paths)
        return self._index

    def iter_runs(self) -> Iterator[Run]:
        """Every run with its whole note, newest first (run ids sort by start time)."""
        return self.index.iter_full()

    def list_runs(self, level: str = FULL) -> list[Run]:
        """Every run, newest first. ``level`` (``gitrun.store.index``): COLUMNS, LITE or FULL.

        Below FULL, a run's ``doc`` holds only part of its note (never write it back).
        """
        return self.index.runs(level)

    def get(self, run_id: str) -> Run:
        run = self._load(run_id, notes_tree(self.repo))
        if run is None:
            target = read_ref(self.repo, run_ref(run_id))
            if target is not None:  # the ref is there, its commit is not (git gc racing a writer)
                raise StorageError(f"run {run_id} points at missing commit {target}",
                                   hint="run `git run doctor` to repair it")
            raise RunNotFound(f"no run {run_id}", hint="see `git run list`")
        return run

    def _load(self, run_id: str, tree: pygit2.Tree | None) -> Run | None:
        ref = run_ref(run_id)
        target = read_ref(self.repo, ref)
        if target is None:
            return None
        commit = self.repo.get(target)
        if not isinstance(commit, pygit2.Commit) or not commit.parent_ids:
            return None
        snapshot = str(commit.parent_ids[0])
        text = read_note(self.repo, snapshot, tree)
        if text is None:
            doc = broken_doc(run_id, "no note found for this run")
        else:
            doc, _problem = decode_note(text, run_id)
        return Run(run_id, ref, str(target), snapshot, doc, text)

    def note_entries(self) -> Iterator[tuple[str, pygit2.Oid]]:
        return iter_note_entries(self.repo, notes_tree(self.repo))

    def name_taken(self, name: str) -> bool:
        return bool(self.index.ids_named(name))

    def resolve(self, text: str) -> Run:
        """A run by id, unique id prefix, name, or unique prefix of its snapshot or result commit.

        Ids and id prefixes win over names (a name may look like an id prefix on a pulled run): the
        full id and id prefixes resolve from the ref names, names and commit prefixes through the
        index; no note is parsed but the chosen run's.
        """
        text = text.strip()
        if not text:
            raise RunNotFound("empty run reference", hint="give a run id, a prefix of one, or a run name")
        if text.startswith(EXPERIMENTS_PREFIX):
            text = text[len(EXPERIMENTS_PREFIX):]
        lowered = text.lower()
        if is_run_id(lowered) and read_ref(self.repo, run_ref(lowered)) is not None:
            return self.get(lowered)
        finders = (self._ids_with_prefix, self.index.ids_named, self._ids_with_commit_prefix)
        for finder in finders:
            found = finder(text)
            if len(found) == 1:
                return self.get(found[0])
            if len(found) > 1:
                names = self.index.names()
                listing = ", ".join(f"{run_id} ({names.get(run_id, '')})" for run_id in found[:5])
                more = f" and {len(found) - 5} more" if len(found) > 5 else ""
                raise AmbiguousRun(f"'{text}' matches {len(found)} runs: {listing}{more}",
                                   hint="give more characters of the id")
        raise RunNotFound(f"no run matches '{text}'", hint="see `git run list` for ids and names")

    def _ids_with_prefix(self, text: str) -> list[str]:
        lowered = text.lower()
        if not looks_like_id_prefix(lowered):
            return []
        return sorted(ref_names_with_prefix(self.repo, self.paths.commondir, EXPERIMENTS_PREFIX + lowered),
                      reverse=True)

    def _ids_with_commit_prefix(self, text: str) -> list[str]:
        lowered = text.lower()
        if len(lowered) < 7 or any(char not in "0123456789abcdef" for char in lowered):
            return []
        return self.index.ids_with_commit_prefix(lowered)
