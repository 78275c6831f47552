"""The read index: what listing, filtering, sorting and resolving need, without parsing every note.

A cache in ``<common git dir>/gitrun/index.sqlite``, never a source of truth. Each run's row is
keyed by what it was read from: the target of ``refs/experiments/<id>`` and the blob id of the
run's note. A command first *syncs* (``RunIndex.sync``): when the notes commit or the refs storage
changed since the last sync, it re-reads exactly the runs whose ref target or note blob changed
(a diff of the two notes trees finds the notes), whoever changed them (a local write, a fetch, a
plain ``git notes`` edit).

Why SQLite (standard library) in WAL mode: readers never block the writer nor each other, a
crashed writer leaves the last committed state (no half-written index), several gitrun processes
(ten runs finishing, a ``list`` during a ``pull``) serialise their updates with ``BEGIN
IMMEDIATE`` and a busy timeout, and the same file answers ad-hoc SQL (``git run query``). A file
that is not a database, is corrupt, or was written by another schema version (``PRAGMA
user_version``) is deleted and rebuilt without a word: everything in it can be derived again
from git.

Each row holds typed columns (name, status, times, branch, ...), the note as JSON without its
bulky tables (``lite``: ``env``, ``hardware``, ``snapshot`` and ``git``'s file lists left out,
parsed from the note's text by skipping those tables, about 3x cheaper than the whole TOML), and
the whole note as JSON (``full``), filled the first time a command needs whole notes (``list
--json``, a ``--where`` on ``env.*``): JSON decodes about 17x faster than TOML.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import sqlite3
import sys
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pygit2

from gitrun.model.run import Run
from gitrun.model.schema import MAX_NOTE_BYTES, check_document, keys_too_deep, read_view
from gitrun.model.timefmt import from_iso
from gitrun.store import codec
from gitrun.store.commits import blob_data
from gitrun.store.git import RepoPaths
from gitrun.store.listing_stamp import listing_select, refs_storage_stat
from gitrun.store.notes import note_blob_id, notes_tree
from gitrun.store.refs import EXPERIMENTS_PREFIX, NOTES_REF, read_ref, run_ref

SCHEMA = 5  # PRAGMA user_version of the file; another value means: rebuild (5: documents in their own table)
INDEX_FILE = "index.sqlite"

# Tables of a note left out of ``lite`` (big, and needed only by show/--json/--where env.*).
HEAVY_TABLES = ("env", "hardware", "snapshot")
# Lists in ``[git]`` left out of ``lite`` (a run with 100,000 untracked files lists them all).
GIT_LISTS = ("modified", "added", "untracked", "deleted", "submodules")
# The levels of detail a reader asks for: typed columns only, lite document, whole note; or the
# typed columns plus some of the JSON columns below, written "columns:params,metrics".
COLUMNS, LITE, FULL = "columns", "lite", "full"
SECTION_COLUMNS = ("params", "metrics", "summary", "data", "command")
# Fields answered from the typed columns alone (``expect`` only as met/missed).
COLUMN_FIELDS = frozenset({"id", "name", "status", "message", "user", "host", "cwd", "started", "ended",
                           "exit_code", "branch", "duration", "age", "commit", "base", "baseline"})
PROGRESS_THRESHOLD = 200  # notes to read before a progress line is worth showing
PARALLEL_THRESHOLD = 1500  # notes to read before starting worker processes pays off (~0.2 s to start them)
MAX_WORKERS = 8
CHUNK = 250

_HEADER = re.compile(r'\[\[?[ \t]*"?([A-Za-z0-9_-]+)"?[ \t]*[.\]"]')
_SPLIT = re.compile(r"(?m)^(?=\[)")

_CREATE = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS run_index (
    id TEXT PRIMARY KEY,
    ref_target TEXT NOT NULL,
    snapshot_commit TEXT NOT NULL,
    note_blob TEXT NOT NULL,
    name TEXT NOT NULL,
    status TEXT NOT NULL,
    exit_code INTEGER,
    signal TEXT,
    started TEXT,
    ended TEXT,
    duration_s REAL,
    branch TEXT NOT NULL,
    detached INTEGER NOT NULL,
    started_s REAL,
    message_cell TEXT NOT NULL,
    base_commit TEXT NOT NULL,
    message TEXT NOT NULL,
    command TEXT NOT NULL,
    user TEXT,
    host TEXT,
    cwd TEXT,
    tags TEXT NOT NULL,
    expect_met INTEGER,
    baseline_of TEXT NOT NULL,
    params TEXT NOT NULL,
    metrics TEXT NOT NULL,
    summary TEXT NOT NULL,
    data TEXT NOT NULL,
    problem TEXT
);
CREATE TABLE IF NOT EXISTS run_docs (
    id TEXT PRIMARY KEY,
    note_blob TEXT NOT NULL,
    lite TEXT NOT NULL,
    full TEXT
);
CREATE INDEX IF NOT EXISTS run_index_name ON run_index(name);
CREATE INDEX IF NOT EXISTS run_index_snapshot ON run_index(snapshot_commit);
CREATE INDEX IF NOT EXISTS run_index_result ON run_index(ref_target);
-- Covers listing_rows: the default ``git run list`` reads this small index in order, no table rows.
CREATE INDEX IF NOT EXISTS run_index_listing ON run_index(id, name, status, started_s, duration_s, branch, detached,
                                                          message_cell, base_commit, baseline_of);
"""

_ROW_COLUMNS = ("id", "ref_target", "snapshot_commit", "note_blob", "name", "status", "exit_code", "signal",
                "started", "ended", "duration_s", "branch", "detached", "started_s", "message_cell", "base_commit",
                "message", "command", "user", "host", "cwd", "tags", "expect_met", "baseline_of", "params", "metrics",
                "summary", "data", "problem")
_UPSERT = (f"INSERT OR REPLACE INTO run_index ({', '.join(_ROW_COLUMNS)}) "
           f"VALUES ({', '.join('?' for _ in _ROW_COLUMNS)})")
# The documents live in their own table: a listing scans run_index, whose rows stay a few hundred
# bytes; with a whole note (~10 KB of JSON) in the same row, every row fills a page of its own.
_DOC_UPSERT = "INSERT OR REPLACE INTO run_docs (id, note_blob, lite, full) VALUES (?, ?, ?, ?)"
_COLUMNS_SELECT = ("SELECT id, ref_target, snapshot_commit, name, status, exit_code, started, ended, duration_s, "
                   "branch, detached, base_commit, message, user, host, cwd, tags, expect_met, baseline_of "
                   "FROM run_index")
_COLUMNS_COUNT = _COLUMNS_SELECT.count(",") + 1  # what run_from_columns takes; the JSON sections follow


@dataclass(frozen=True)
class RefState:
    """What the index is keyed by: the notes commit and every run ref's target."""

    notes_commit: str
    refs: dict[str, str]  # run id -> result commit hex


def read_ref_state(repo: pygit2.Repository) -> RefState:
    """The run refs and the notes ref, read in one pass over the references (no per-ref lookups)."""
    refs: dict[str, str] = {}
    notes = ""
    for ref in repo.references.iterator():
        name = ref.name
        if name.startswith(EXPERIMENTS_PREFIX):
            target = ref.target
            if isinstance(target, pygit2.Oid):
                refs[name[len(EXPERIMENTS_PREFIX):]] = str(target)
        elif name == NOTES_REF and isinstance(ref.target, pygit2.Oid):
            notes = str(ref.target)
    return RefState(notes, refs)


def decode_note(text: bytes, run_id: str) -> tuple[dict[str, Any], str | None]:
    """The whole note as a document (its read view), and why it is broken (None when it is fine).

    Notes are untrusted input: ``codec.decode_note`` checks them (``gitrun.model.schema``).
    """
    checked = codec.decode_note(text, run_id)
    return read_view(checked), (checked.problems[0] if checked.problems else None)


def broken_doc(run_id: str, reason: str) -> dict[str, Any]:
    return {"id": run_id, "status": "unknown", "missing": {"metadata": reason}}


def lite_doc(text: bytes, run_id: str) -> tuple[dict[str, Any], str | None]:
    """The note without its heavy tables, parsed from the text with those tables cut out.

    gitrun writes notes with tomli-w: one ``[table]`` header per line at column 0 and no multi-line
    strings, so cutting at header lines is exact. A note that uses multi-line strings, or whose cut
    text does not parse, is parsed whole instead.
    """
    try:
        whole = text.decode("utf-8")
    except UnicodeDecodeError:
        return decode_note(text, run_id)
    doc: dict[str, Any] | None = None
    cheap = len(text) <= MAX_NOTE_BYTES and not keys_too_deep(whole)  # else decode_note says why
    if '"""' not in whole and "'''" not in whole and cheap:
        kept = [part for part in _SPLIT.split(whole) if _table_root(part) not in HEAVY_TABLES]
        try:
            doc = codec.loads("".join(kept))
        except (codec.TOMLDecodeError, RecursionError):
            doc = None
    if doc is None:
        doc, problem = decode_note(text, run_id)
        if problem:
            return doc, problem
        return strip_heavy(doc), None
    checked = check_document(doc, run_id)  # the tables cut out are checked when read whole
    return strip_heavy(read_view(checked)), (checked.problems[0] if checked.problems else None)


def strip_heavy(doc: dict[str, Any]) -> dict[str, Any]:
    lite = {key: value for key, value in doc.items() if key not in HEAVY_TABLES}
    git = lite.get("git")
    if isinstance(git, dict):
        lite["git"] = {key: value for key, value in git.items() if key not in GIT_LISTS}
    return lite


def _table_root(part: str) -> str:
    if not part.startswith("["):
        return ""
    match = _HEADER.match(part)
    return match.group(1) if match else ""


def level_for(paths: Iterable[tuple[str, ...]]) -> str:
    """The least detail that answers every field path (``("params", "lr")``, ``("env", "python")``)."""
    sections: set[str] = set()
    lite = False
    for path in paths:
        root, rest = path[0], (path[1] if len(path) > 1 else "")
        if root in HEAVY_TABLES or (root == "git" and (not rest or rest.split(".")[0] in GIT_LISTS)):
            return FULL
        if root == "message":
            sections.add("command")  # shown instead of an empty message
        if root in COLUMN_FIELDS or (root == "expect" and rest in ("", "met")):
            continue
        if root in SECTION_COLUMNS:
            sections.add(root)
        elif root in ("tag", "tags"):
            sections.add("data")  # dataset names count as tags
        else:
            lite = True
    if lite:
        return LITE
    return COLUMNS + (":" + ",".join(sorted(sections)) if sections else "")


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)


def message_cell(doc: dict[str, Any], tags: list[Any], met: Any, command: list[Any]) -> str:
    """``git run list``'s message column before truncation: tags, whether --expect was met, message."""
    text = str(doc.get("message", "")) or " ".join(str(arg) for arg in command)
    marks = "".join(f"[{tag}] " for tag in tags)
    if met is not None:
        marks += "(expect met) " if met else "(expect missed) "
    return " ".join((marks + text).split())


def _epoch(value: Any) -> float | None:
    if not isinstance(value, str):
        return None
    try:
        return from_iso(value).timestamp()
    except ValueError:
        return None


def _table(doc: dict[str, Any], key: str) -> dict[str, Any]:
    value = doc.get(key)
    return value if isinstance(value, dict) else {}


def _list(doc: dict[str, Any], key: str) -> list[Any]:
    value = doc.get(key)
    return value if isinstance(value, list) else []


def _str(value: Any) -> str | None:
    return None if value is None else str(value)


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def row_values(run_id: str, target: str, snapshot: str, blob: str, doc: dict[str, Any], problem: str | None,
               full: dict[str, Any] | None) -> tuple[Any, ...]:
    """One ``run_index`` row from a (lite) document, followed by the ``lite`` and ``full`` JSON of ``run_docs``."""
    git = _table(doc, "git")
    expect = doc.get("expect")
    met = expect.get("met") if isinstance(expect, dict) else None
    exit_code = doc.get("exit_code")
    lists = {key: _list(doc, key) for key in ("command", "tags", "baseline_of")}
    tables = {key: _table(doc, key) for key in ("params", "metrics", "summary")}
    data = _list(doc, "data")
    return (
        run_id, target, snapshot, blob, str(doc.get("name", "")), str(doc.get("status", "unknown")),
        exit_code if isinstance(exit_code, int) and not isinstance(exit_code, bool) else None,
        _str(doc.get("signal")), _str(doc.get("started")), _str(doc.get("ended")), _number(doc.get("duration_s")),
        str(git.get("branch", "") or ""), 1 if git.get("detached") else 0, _epoch(doc.get("started")),
        message_cell(doc, lists["tags"], met, lists["command"]), str(git.get("base_commit", "") or ""),
        str(doc.get("message", "")), _json([str(arg) for arg in lists["command"]]),
        _str(doc.get("user")), _str(doc.get("host")), _str(doc.get("cwd")),
        _json([str(tag) for tag in lists["tags"]]), None if met is None else (1 if met else 0),
        _json([str(item) for item in lists["baseline_of"]]),
        _json(tables["params"]), _json(tables["metrics"]), _json(tables["summary"]), _json(data),
        problem, _json(doc), None if full is None else _json(full),
    )


def run_from_columns(row: Sequence[Any]) -> Run:
    """A Run whose document holds only what the typed columns know (``COLUMN_FIELDS``; the command and the
    JSON columns are added by the caller when asked for)."""
    (run_id, target, snapshot, name, status, exit_code, started, ended, duration, branch, detached, base,
     message, user, host, cwd, tags, met, baseline_of) = row
    doc: dict[str, Any] = {"id": run_id, "name": name, "status": status, "message": message,
                           "git": {"branch": branch, "detached": bool(detached), "base_commit": base}}
    if exit_code is not None:
        doc["exit_code"] = exit_code
    if started is not None:
        doc["started"] = started
    if ended is not None:
        doc["ended"] = ended
    if duration is not None:
        doc["duration_s"] = duration
    if tags != "[]":
        doc["tags"] = json.loads(tags)
    if baseline_of != "[]":
        doc["baseline_of"] = json.loads(baseline_of)
    if met is not None:
        doc["expect"] = {"met": bool(met)}
    for key, value in (("user", user), ("host", host), ("cwd", cwd)):
        if value is not None:
            doc[key] = value
    return Run(run_id, run_ref(run_id), target, snapshot, doc)


def _cannot_write(err: sqlite3.DatabaseError) -> bool:
    """A full disk, a read-only or unwritable folder: not a corrupt file, and deleting it would not help."""
    text = str(err).lower()
    return isinstance(err, sqlite3.OperationalError) and any(
        words in text for words in ("disk is full", "readonly", "unable to open", "disk i/o"))


class RunIndex:
    """The index of one repository's runs (see the module docstring)."""

    def __init__(self, repo: pygit2.Repository, paths: RepoPaths) -> None:
        self.repo = repo
        self.path = paths.gitrun_dir / INDEX_FILE
        self._conn: sqlite3.Connection | None = None
        self.commondir = paths.commondir
        self._synced: tuple[str | None, str] | None = None
        self._in_memory = False  # the file could not be written (full disk): this command's index is in memory

    # --- the file ------------------------------------------------------------------------------

    def connection(self) -> sqlite3.Connection:
        if self._conn is None:
            try:
                self._conn = self._open()
            except sqlite3.DatabaseError:
                self._discard()
                self._conn = self._open()
        return self._conn

    def _open(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
        try:
            conn.execute("PRAGMA busy_timeout = 30000")
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")  # a cache: losing the last commit on power loss is fine
            if version != SCHEMA:
                self._reset(conn, version)
        except BaseException:
            conn.close()
            raise
        return conn

    def _reset(self, conn: sqlite3.Connection, version: int) -> None:
        """Create the tables; drop whatever another schema version left (under the write lock)."""
        conn.execute("BEGIN IMMEDIATE")
        try:
            if conn.execute("PRAGMA user_version").fetchone()[0] != SCHEMA:
                names = [row[0] for row in conn.execute(
                    "SELECT name FROM sqlite_master WHERE type IN ('table', 'view') AND name NOT LIKE 'sqlite_%'")]
                for name in names:
                    kind = conn.execute("SELECT type FROM sqlite_master WHERE name = ?", (name,)).fetchone()
                    if kind is not None:
                        conn.execute(f'DROP {kind[0].upper()} IF EXISTS "{name}"')
                create_tables(conn)
                conn.execute(f"PRAGMA user_version = {SCHEMA}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    def _discard(self) -> None:
        """Delete a corrupt file (and its WAL), under a lock so two processes do not race on it."""
        self.close()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path.with_suffix(".lock"), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if self._is_corrupt():
                for suffix in ("", "-wal", "-shm"):
                    with contextlib.suppress(FileNotFoundError):
                        os.unlink(f"{self.path}{suffix}")

    def _is_corrupt(self) -> bool:
        try:
            conn = sqlite3.connect(self.path, timeout=30)
            try:
                conn.execute("PRAGMA user_version").fetchone()
                conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
            finally:
                conn.close()
        except sqlite3.DatabaseError:
            return True
        return False

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _guarded(self, action: Any) -> Any:
        """Run ``action(conn)``; a corrupt file is deleted and the action retried once on a new one.

        When the file cannot be written at all (a full disk, a read-only ``.git``), this command
        builds its index in memory instead: reading runs must work on a full disk.
        """
        try:
            return action(self.connection())
        except sqlite3.DatabaseError as err:
            if (isinstance(err, sqlite3.OperationalError) and "locked" in str(err)) or self._in_memory:
                raise
            if not _cannot_write(err):
                self._discard()
                self._synced = None
                try:
                    return action(self.connection())
                except sqlite3.DatabaseError as again:
                    if not _cannot_write(again):
                        raise
        self._use_memory()
        return action(self.connection())

    def _use_memory(self) -> None:
        self.close()
        conn = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
        self._reset(conn, 0)
        self._conn, self._synced, self._in_memory = conn, None, True

    # --- keeping it up to date -----------------------------------------------------------------

    def sync(self) -> None:
        """Bring the index up to date with the refs and notes (re-reads only what changed).

        The run refs are read only when their storage changed: the key is the stat of
        ``packed-refs`` and of the ``refs/experiments`` folder (every ref write renames a lock file
        into it) and the notes commit. A stat younger than RACY_SECONDS is not trusted, as git's
        index does with racy timestamps (a second write within one clock tick keeps the mtime).
        """
        stat = self._refs_stat()
        notes = read_ref(self.repo, NOTES_REF)
        key = (stat, str(notes or ""))
        if stat is not None and self._synced == key:
            return
        self._guarded(lambda conn: self._sync(conn, stat, key[1]))
        self._synced = key

    def _refs_stat(self) -> str | None:
        return refs_storage_stat(self.commondir)  # shared with the fast path's key (store/listing_stamp.py)

    def _sync(self, conn: sqlite3.Connection, stat: str | None, notes: str) -> None:
        def fresh() -> bool:
            return stat is not None and self._meta(conn, "refs_stat") == stat and self._meta(
                conn, "notes_commit") == notes

        if fresh():
            return
        conn.execute("BEGIN IMMEDIATE")
        try:
            if not fresh():  # another process may have just done it
                self._update(conn, stat, notes)
                conn.execute("INSERT OR REPLACE INTO meta VALUES ('refs_stat', ?)", (stat or "",))
                conn.execute("INSERT OR REPLACE INTO meta VALUES ('notes_commit', ?)", (notes,))
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    def remember(self, key: str, value: str, refs_stat: str, notes_commit: str) -> None:
        """Store ``value`` under the meta ``key`` if the index is synced to exactly that refs stat and
        notes commit (what the value was computed from); a file that cannot be written keeps nothing."""
        def store(conn: sqlite3.Connection) -> None:
            conn.execute("BEGIN IMMEDIATE")
            try:
                if self._meta(conn, "refs_stat") == refs_stat and self._meta(conn, "notes_commit") == notes_commit:
                    conn.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise

        if not self._in_memory:
            with contextlib.suppress(sqlite3.DatabaseError):
                conn = self.connection()
                # Every listing at a terminal stamps the same state again: an unchanged value is not
                # rewritten (at 10,000 runs it is ~400 KB of WAL and a write lock per `git run list`).
                if self._meta(conn, key) != value:
                    store(conn)

    @staticmethod
    def _meta(conn: sqlite3.Connection, key: str) -> str | None:
        row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def _update(self, conn: sqlite3.Connection, stat: str | None, notes: str) -> None:
        stored = {row[0]: (row[1], row[2], row[3]) for row in conn.execute(
            "SELECT id, ref_target, snapshot_commit, note_blob FROM run_index")}
        if stat is not None and self._meta(conn, "refs_stat") == stat:
            refs = {run_id: old[0] for run_id, old in stored.items()}  # only the notes moved
        else:
            refs = read_ref_state(self.repo).refs
        gone = [run_id for run_id in stored if run_id not in refs]
        conn.executemany("DELETE FROM run_index WHERE id = ?", ((run_id,) for run_id in gone))
        conn.executemany("DELETE FROM run_docs WHERE id = ?", ((run_id,) for run_id in gone))
        tree = notes_tree(self.repo)
        changed = self._changed_notes(self._meta(conn, "notes_commit"), notes, tree)
        todo: list[tuple[str, str, str, str]] = []  # run id, ref target, snapshot, note blob
        for run_id, target in refs.items():
            old = stored.get(run_id)
            snapshot = old[1] if old is not None and old[0] == target else self._snapshot_of(target)
            if snapshot is None:
                continue  # a ref at something that is not a run's result commit: not a run
            if changed is None or old is None or old[1] != snapshot:
                blob = str(note_blob_id(self.repo, tree, snapshot) or "")
            else:
                blob = changed.get(snapshot, old[2])
            if old is None or old[0] != target or old[2] != blob:
                todo.append((run_id, target, snapshot, blob))
        self._read_notes(conn, todo)

    def _changed_notes(self, old: str | None, new: str, tree: pygit2.Tree | None) -> dict[str, str] | None:
        """Annotated commit -> new note blob ("" when removed) between two notes commits.

        None when the old commit is unknown (first build, or pruned): then every note is looked up.
        """
        if old == new:
            return {}
        if not old or tree is None:
            return None
        try:
            previous = self.repo.get(pygit2.Oid(hex=old))
        except (ValueError, pygit2.GitError):
            return None
        if not isinstance(previous, pygit2.Commit):
            return None
        changed: dict[str, str] = {}
        deltas = list(previous.tree.diff_to_tree(tree).deltas)
        for delta in deltas:  # removals first: a note moved between fanouts is removed and added
            if delta.status == pygit2.enums.DeltaStatus.DELETED:
                changed[delta.old_file.path.replace("/", "")] = ""
        for delta in deltas:
            if delta.status != pygit2.enums.DeltaStatus.DELETED:
                changed[delta.new_file.path.replace("/", "")] = str(delta.new_file.id)
        return changed

    def _snapshot_of(self, target: str) -> str | None:
        try:
            commit = self.repo.get(pygit2.Oid(hex=target))
        except (ValueError, pygit2.GitError):
            return None
        if not isinstance(commit, pygit2.Commit) or not commit.parent_ids:
            return None
        return str(commit.parent_ids[0])

    def _read_notes(self, conn: sqlite3.Connection, todo: list[tuple[str, str, str, str]]) -> None:
        progress = _Progress(len(todo)) if len(todo) >= PROGRESS_THRESHOLD else None
        done = 0
        for rows in _parsed_rows(self.repo, todo):
            store_rows(conn, rows)
            done += len(rows)
            if progress is not None:
                progress.update(done)
        if progress is not None:
            progress.done()

    def _blob(self, blob: str) -> bytes | None:
        return blob_data(self.repo, blob)

    # --- reading -------------------------------------------------------------------------------

    def runs(self, level: str = LITE, listing: dict[str, tuple[Any, ...]] | None = None) -> list[Run]:
        """Every run, newest first, with the document at ``level`` (COLUMNS, LITE or FULL).

        At a COLUMNS level, ``listing`` (when given) is filled with each run's ``listing_rows`` row
        from the same scan: a filtered or sorted default table reads the index once.
        """
        self.sync()
        if level == FULL:
            return list(self.iter_full())
        if level.startswith(COLUMNS):
            return self._guarded(lambda conn: column_runs(conn, level, listing))
        rows = self._guarded(lambda conn: conn.execute(
            "SELECT r.id, r.ref_target, r.snapshot_commit, d.lite FROM run_index r JOIN run_docs d ON d.id = r.id "
            "ORDER BY r.id DESC").fetchall())
        return [Run(run_id, run_ref(run_id), target, snapshot, json.loads(lite))
                for run_id, target, snapshot, lite in rows]

    def runs_linked(self, key: str, value: str) -> list[Run]:
        """Runs whose note has the top-level link ``key = value`` (``sweep``, ``job``, ``parent``), newest
        first, at the LITE level; SQLite finds them (a substring scan, then the JSON of the candidates only), so
        only the matching runs are decoded here."""
        self.sync()
        rows = self._guarded(lambda conn: conn.execute(
            "SELECT r.id, r.ref_target, r.snapshot_commit, d.lite FROM run_index r JOIN run_docs d ON d.id = r.id "
            "WHERE instr(d.lite, ?) > 0 AND json_extract(d.lite, ?) = ? ORDER BY r.id DESC",
            (value, f"$.{key}", value)).fetchall())
        return [Run(run_id, run_ref(run_id), target, snapshot, json.loads(lite))
                for run_id, target, snapshot, lite in rows]

    def iter_full(self, ids: Sequence[str] | None = None) -> Iterator[Run]:
        """Runs with their whole notes, newest first (or in the order of ``ids``), one at a time.

        Whole notes not cached yet are parsed from git and cached (by the note blob they came from).
        """
        self.sync()
        conn = self.connection()
        if ids is None:
            ids = [row[0] for row in conn.execute("SELECT id FROM run_index ORDER BY id DESC")]
        pending: list[tuple[str, str, str]] = []
        for start in range(0, len(ids), 500):
            chunk = list(ids[start:start + 500])
            marks = ", ".join("?" for _ in chunk)
            found = {row[0]: row for row in conn.execute(
                "SELECT r.id, r.ref_target, r.snapshot_commit, r.note_blob, d.full FROM run_index r "
                f"LEFT JOIN run_docs d ON d.id = r.id AND d.note_blob = r.note_blob WHERE r.id IN ({marks})", chunk)}
            for run_id in chunk:
                row = found.get(run_id)
                if row is None:
                    continue
                _, target, snapshot, blob, full = row
                if full is not None:
                    doc = json.loads(full)
                else:
                    text = self._blob(blob)
                    doc, _problem = decode_note(text, run_id) if text else (
                        broken_doc(run_id, "no note found for this run"), None)
                    pending.append((_json(doc), run_id, blob))
                yield Run(run_id, run_ref(run_id), target, snapshot, doc)
            self._cache_full(pending)
            pending = []

    def _cache_full(self, pending: list[tuple[str, str, str]]) -> None:
        if not pending:
            return
        with contextlib.suppress(sqlite3.Error):  # a cache: another writer busy, a read-only disk
            conn = self.connection()
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.executemany("UPDATE run_docs SET full = ? WHERE id = ? AND note_blob = ?", pending)
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise

    def ids_named(self, name: str) -> list[str]:
        self.sync()
        rows = self._guarded(lambda conn: conn.execute(
            "SELECT id FROM run_index WHERE name = ? ORDER BY id DESC", (name,)).fetchall())
        return [row[0] for row in rows]

    def ids_with_commit_prefix(self, prefix: str) -> list[str]:
        """Runs whose snapshot or result commit starts with ``prefix`` (lower-case hex)."""
        self.sync()
        upper = prefix + "g"  # every hex digit sorts before "g"
        rows = self._guarded(lambda conn: conn.execute(
            "SELECT id FROM run_index WHERE (snapshot_commit >= ? AND snapshot_commit < ?) "
            "OR (ref_target >= ? AND ref_target < ?) ORDER BY id DESC", (prefix, upper, prefix, upper)).fetchall())
        return [row[0] for row in rows]

    def listing_rows(self, extra: Sequence[str] = (), parameters: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """What the default ``git run list`` shows, newest first (``listing_rows`` below)."""
        self.sync()
        return self._guarded(lambda conn: listing_rows(conn, extra, parameters))

    def names(self) -> dict[str, str]:
        """Run id -> name, for every run."""
        self.sync()
        rows = self._guarded(lambda conn: conn.execute("SELECT id, name FROM run_index").fetchall())
        return {run_id: name for run_id, name in rows}


def column_runs(conn: sqlite3.Connection, level: str,
                listing: dict[str, tuple[Any, ...]] | None = None) -> list[Run]:
    """``RunIndex.runs`` at a COLUMNS level (``columns`` or ``columns:params,metrics``) over ``conn``."""
    sections = [name for name in level.partition(":")[2].split(",") if name in SECTION_COLUMNS]
    extra = "".join(f", {name}" for name in sections)
    if listing is not None:
        extra += ", started_s, message_cell"
    select = _COLUMNS_SELECT.replace(" FROM run_index", extra + " FROM run_index")
    rows = conn.execute(select + " ORDER BY id DESC").fetchall()
    width = _COLUMNS_COUNT
    runs = []
    for row in rows:
        run = run_from_columns(row[:width])
        for name, text in zip(sections, row[width:width + len(sections)], strict=True):
            if text not in ("{}", "[]"):
                run.doc[name] = json.loads(text)
        if listing is not None:
            run_id, _, _, name, status, _, _, _, duration, branch, detached, base = row[:12]
            listing[run_id] = (run_id, name, status, row[-2], duration, branch, detached, row[-1], base,
                               row[width - 1])
        runs.append(run)
    return runs


def listing_rows(conn: sqlite3.Connection, extra: Sequence[str] = (),
                 parameters: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
    """The default ``git run list``'s columns, newest first, straight from the typed columns:
    (id, name, status, started_s, duration_s, branch, detached, message_cell, base_commit, baseline_of),
    then the ``extra`` SQL expressions over ``run_index`` (``store.row_fields``: the fields of a
    ``--where``/``--sort``), with ``parameters`` bound to their ``?``."""
    return conn.execute(listing_select(extra), tuple(parameters)).fetchall()


def store_rows(conn: sqlite3.Connection, rows: Sequence[tuple[Any, ...]]) -> None:
    """Write ``row_values`` rows (a run's ``run_index`` row and its documents)."""
    conn.executemany(_UPSERT, [row[:-2] for row in rows])
    conn.executemany(_DOC_UPSERT, [(row[0], row[3], row[-2], row[-1]) for row in rows])


def create_tables(conn: sqlite3.Connection) -> None:
    """The index's tables in an empty database (what a rebuild starts from)."""
    for statement in _CREATE.split(";"):
        if statement.strip():
            conn.execute(statement)


def index_rows(repo: pygit2.Repository, todo: Sequence[tuple[str, str, str, str]]) -> list[tuple[Any, ...]]:
    """``run_index`` rows of (run id, ref target, snapshot commit, note blob) items."""
    rows = []
    for run_id, target, snapshot, blob in todo:
        text = blob_data(repo, blob)
        if text is None:
            doc = broken_doc(run_id, "no note found for this run")
            rows.append(row_values(run_id, target, snapshot, blob, doc, None, doc))
            continue
        doc, problem = lite_doc(text, run_id)
        rows.append(row_values(run_id, target, snapshot, blob, doc, problem, doc if problem else None))
    return rows


def _rows_in_worker(gitdir: str, todo: Sequence[tuple[str, str, str, str]]) -> list[tuple[Any, ...]]:
    return index_rows(pygit2.Repository(gitdir), todo)


def _parsed_rows(repo: pygit2.Repository, todo: list[tuple[str, str, str, str]]) -> Iterator[list[tuple[Any, ...]]]:
    """Rows in chunks; many notes (a first pull of thousands of runs) are parsed by one process per CPU."""
    chunks = [todo[start:start + CHUNK] for start in range(0, len(todo), CHUNK)]
    workers = min(os.cpu_count() or 1, MAX_WORKERS, len(chunks))
    if len(todo) < PARALLEL_THRESHOLD or workers < 2:
        for chunk in chunks:
            yield index_rows(repo, chunk)
        return
    import multiprocessing  # only a build of thousands of runs starts workers
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    try:
        context = multiprocessing.get_context("spawn")  # never fork a process holding libgit2 and SQLite state
        with ProcessPoolExecutor(workers, mp_context=context) as pool:
            yield from pool.map(_rows_in_worker, [repo.path] * len(chunks), chunks)
    except (OSError, BrokenProcessPool):  # no processes to be had (a sandbox): parse here (rows are upserts)
        for chunk in chunks:
            yield index_rows(repo, chunk)


class _Progress:
    """``gitrun: indexing runs 1234/10000`` on stderr, only when stderr is a terminal."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.enabled = sys.stderr.isatty()
        self.step = max(1, total // 100)

    def update(self, done: int) -> None:
        if self.enabled and (done % self.step == 0 or done == self.total):
            width = 30
            filled = width * done // self.total
            sys.stderr.write(f"\rgitrun: indexing runs [{'#' * filled}{'.' * (width - filled)}] "
                             f"{done}/{self.total}")
            sys.stderr.flush()

    def done(self) -> None:
        if self.enabled:
            sys.stderr.write("\r\033[K")
            sys.stderr.flush()


def index_path(paths: RepoPaths) -> Path:
    return paths.gitrun_dir / INDEX_FILE
