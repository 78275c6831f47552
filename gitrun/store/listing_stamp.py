"""What a plain ``git run list`` depends on, read from files alone (no pygit2): the warm fast path's key.

``gitrun.cli.fastlist`` answers ``git run list`` (no options) without importing click or pygit2 when
the read index says it is up to date and nothing else the table depends on changed since a normal
``git run list`` last printed it. That normal run stores a *stamp* in the index's ``meta`` table
(``commands/list_memo.py``): the key below and the run bases reachable from HEAD (the one thing the
table needs that is not in the index: it takes a walk of git's history). The key holds:

- the index's own freshness key: the stat of ``packed-refs`` and ``refs/experiments`` (as
  ``RunIndex.sync`` computes it; None, i.e. no fast path, when it is younger than the racy window)
  and the notes commit;
- the repository's folders, HEAD as written and the commit it resolves to (reachability and the
  baseline marks depend on them);
- the stat of every file whose settings could change the output or make the command fail: the
  project's ``pyproject.toml`` and ``.gitrun.toml``, the git config files libgit2 reads (system,
  XDG, global, the repository's, the worktree's), and ``HOME``/``XDG_CONFIG_HOME``.

Anything this reader is not sure to read the way git and libgit2 do returns None (the caller falls
back to the normal path): a ``GIT_*`` variable that changes discovery or config, a folder that looks
like a bare git dir, a repository owned by someone else, reftable, shallow or grafted history, an
``include``/``extensions`` in a config file, a symbolic ref it cannot follow, a racy stat.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from gitrun.store.refnames import NOTES_REF

NO_FAST_LIST = "GITRUN_NO_FAST_LIST"  # set (to anything): `git run list` never takes the fast path
STAMP_META = "listing_stamp"  # the index's meta key holding the stamp (JSON)
RACY_SECONDS = 2.0  # as store/index.py: a stat younger than this may hide a second write in the same tick
EXPERIMENTS_DIR = ("refs", "experiments")
# GIT_* variables that change neither which repository is found nor what is read from it.
HARMLESS_GIT_ENV = frozenset({"GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL", "GIT_AUTHOR_DATE", "GIT_COMMITTER_NAME",
                              "GIT_COMMITTER_EMAIL", "GIT_COMMITTER_DATE", "GIT_CONFIG_NOSYSTEM", "GIT_EXEC_PATH",
                              "GIT_EDITOR", "GIT_SEQUENCE_EDITOR", "GIT_ASKPASS", "GIT_SSH", "GIT_SSH_COMMAND",
                              "GIT_TERMINAL_PROMPT", "GIT_PAGER", "GIT_MERGE_AUTOEDIT", "GIT_SSL_CAINFO",
                              "GIT_SSL_CAPATH", "GIT_PREFIX"})
_HEX = re.compile(r"[0-9a-f]{40}")
_UNSURE_CONFIG = re.compile(rb"include|extensions|worktree", re.IGNORECASE)


class Located:  # plain classes: dataclasses (and inspect, which it imports) cost ~13 ms of start-up
    """A repository found the way git finds one in the simple case (a ``.git`` folder or file)."""

    def __init__(self, workdir: Path, gitdir: Path, commondir: Path) -> None:
        self.workdir, self.gitdir, self.commondir = workdir, gitdir, commondir


class ListingKey:
    def __init__(self, located: Located, key: str, refs_stat: str, notes_commit: str, branch: str) -> None:
        self.located = located
        self.key = key  # JSON of every part the table depends on (module docstring)
        self.refs_stat = refs_stat
        self.notes_commit = notes_commit
        self.branch = branch  # HEAD's branch, "" when detached (store.selection.current_branch)


def environment_is_plain(environ: os._Environ[str] | dict[str, str]) -> bool:
    """No variable that changes how the repository is found or read (GIT_DIR, GIT_CONFIG_*, ...)."""
    for name in environ:
        if name.startswith("GIT_") and name not in HARMLESS_GIT_ENV:
            return False
        if name.startswith("GITRUN_") and name not in ("GITRUN_DEBUG", NO_FAST_LIST):
            return False
    return True


def locate(start: Path) -> Located | None:
    """The repository holding ``start``: walk up to the first ``.git`` folder or ``gitdir:`` file."""
    folder = start
    try:
        device = os.stat(start).st_dev
    except OSError:
        return None
    while True:
        try:
            if os.stat(folder).st_dev != device:
                return None  # git and libgit2 stop at a file system boundary
        except OSError:
            return None
        if (folder / "HEAD").is_file() and (folder / "objects").is_dir():
            return None  # inside a git dir (bare or .git itself): left to libgit2
        dotgit = folder / ".git"
        if dotgit.is_dir():
            gitdir = dotgit.resolve()
            break
        if dotgit.is_file():
            try:
                text = dotgit.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError):
                return None
            if not text.startswith("gitdir: ") or text.count("\n") > 1:
                return None
            gitdir = (folder / text[len("gitdir: "):].strip()).resolve()
            break
        if dotgit.exists() or folder.parent == folder:
            return None  # not a repository here (or something odd named .git)
        folder = folder.parent
    commondir = gitdir
    common_file = gitdir / "commondir"
    if common_file.exists():
        try:
            commondir = (gitdir / common_file.read_text(encoding="utf-8").strip()).resolve()
        except (OSError, UnicodeDecodeError):
            return None
    try:
        uid = os.geteuid()
        if any(os.stat(path).st_uid != uid for path in (folder, gitdir, commondir)):
            return None  # safe.directory's ownership check would apply
    except OSError:
        return None
    return Located(folder, gitdir, commondir)


def listing_key(located: Located, environ: os._Environ[str] | dict[str, str]) -> ListingKey | None:
    """The key of what a plain listing depends on, or None when it cannot be read with certainty."""
    common, gitdir = located.commondir, located.gitdir
    unsupported = (common / "reftable", common / "shallow", common / "info" / "grafts", gitdir / "config.worktree")
    for path in unsupported:
        if path.exists():
            return None
    refs_stat = refs_storage_stat(common)
    if refs_stat is None:
        return None
    packed = _packed_refs(common)
    if packed is None:
        return None
    notes = _resolve(common, NOTES_REF, packed)
    try:
        head_text = (gitdir / "HEAD").read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        return None
    if head_text.startswith("ref: "):
        head_ref = head_text[len("ref: "):]
        if not head_ref.startswith("refs/heads/"):
            return None
        head = _resolve(common, head_ref, packed)
        branch = head_ref.removeprefix("refs/heads/")
    elif _HEX.fullmatch(head_text):
        head, branch = head_text, ""
    else:
        return None
    if head is None or notes is None:
        return None
    files = _settings_files(located, environ)
    if files is None:
        return None
    stats = [_stat(path) for path in files]
    if any(stat is None for stat in stats):
        return None
    key = json.dumps([str(located.workdir), str(gitdir), str(common), refs_stat, notes, head_text, head,
                      [str(path) for path in files], stats, environ.get("HOME", ""),
                      environ.get("XDG_CONFIG_HOME", "")])
    return ListingKey(located, key, refs_stat, notes, branch)


def refs_storage_stat(commondir: Path) -> str | None:
    """The stat of ``packed-refs`` and ``refs/experiments`` (every ref write renames a lock file into
    one of them), or None when the refs are in reftable or a stat is too young to trust."""
    if (commondir / "reftable").exists():
        return None
    parts = []
    for path in (commondir / "packed-refs", commondir.joinpath(*EXPERIMENTS_DIR)):
        try:
            part = _trusted_stat(os.stat(path))
        except FileNotFoundError:
            part = "-"
        if part is None:
            return None
        parts.append(part)
    return " ".join(parts)


def _packed_refs(commondir: Path) -> dict[str, str] | None:
    try:
        text = (commondir / "packed-refs").read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError):
        return None
    refs: dict[str, str] = {}
    for line in text.splitlines():
        if not line or line.startswith(("#", "^")):
            continue
        oid, _, name = line.partition(" ")
        if not _HEX.fullmatch(oid) or not name:
            return None
        refs[name] = oid
    return refs


def _resolve(commondir: Path, name: str, packed: dict[str, str]) -> str | None:
    """A ref's commit: the loose file wins over packed-refs; "" when there is none; None when unsure."""
    try:
        text = (commondir / name).read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return packed.get(name, "")
    except (OSError, UnicodeDecodeError):
        return None
    return text if _HEX.fullmatch(text) else None  # a symbolic or odd ref: left to libgit2


def _settings_files(located: Located, environ: os._Environ[str] | dict[str, str]) -> list[Path] | None:
    home = Path(environ.get("HOME") or "/nonexistent-home")
    xdg = Path(environ["XDG_CONFIG_HOME"]) if environ.get("XDG_CONFIG_HOME") else home / ".config"
    configs = [Path("/etc/gitconfig"), xdg / "git" / "config", home / ".gitconfig", located.commondir / "config"]
    for path in configs:
        try:
            text = path.read_bytes()
        except FileNotFoundError:
            continue
        except OSError:
            return None
        if _UNSURE_CONFIG.search(text):
            return None  # another file read, or a repository format this reader does not know
    return [*configs, located.workdir / "pyproject.toml", located.workdir / ".gitrun.toml"]


def _stat(path: Path) -> str | None:
    try:
        return _trusted_stat(os.stat(path))
    except FileNotFoundError:
        return "-"
    except OSError:
        return None


def _trusted_stat(info: os.stat_result) -> str | None:
    """A file's identity for a key (inode, size, mtime), or None when it is too young to trust: a
    second write within the same clock tick would leave the same stat."""
    if time.time() - info.st_mtime < RACY_SECONDS:
        return None
    return f"{info.st_ino}:{info.st_size}:{info.st_mtime_ns}"


def any_spool(commondir: Path) -> bool:
    """A run's spool under ``gitrun/live`` (running, or orphaned: the normal path would finalise it)."""
    try:
        with os.scandir(commondir / "gitrun" / "live") as entries:
            return any(True for _ in entries)
    except FileNotFoundError:
        return False
    except OSError:
        return True


# The default listing's row (``index.listing_rows``), in order: the table, ``--where``/``--sort`` over
# rows (``row_fields``) and this fast path all read rows of this shape.
LISTING_COLUMNS = ("id", "name", "status", "started_s", "duration_s", "branch", "detached", "message_cell",
                   "base_commit", "baseline_of")
LISTING_BASE = LISTING_COLUMNS.index("base_commit")


def listing_select(extra: Sequence[str] = ()) -> str:
    """The default listing's SQL over ``run_index`` (``index.listing_rows``), newest first."""
    return ("SELECT " + ", ".join((*LISTING_COLUMNS, *extra)) + " FROM run_index ORDER BY id DESC")


def rows_on_history(rows: Sequence[tuple[Any, ...]], reachable: set[str]) -> list[tuple[Any, ...]]:
    """The listing rows of runs on HEAD's history: no base commit, or one of the ``reachable`` bases."""
    return [row for row in rows if not row[LISTING_BASE] or row[LISTING_BASE] in reachable]


def stamped_rows(key: ListingKey) -> tuple[list[tuple[Any, ...]], set[str]] | None:
    """The index's listing rows and the stamped reachable bases, when the index's stamp is ``key``'s.

    Read in one read transaction, without writing (a missing file is not created); None on any
    doubt: no stamp, another key, a schema or sync state that differs, a file that is not a database.
    """
    path = key.located.commondir / "gitrun" / "index.sqlite"
    if not path.is_file():
        return None
    import sqlite3

    try:
        conn = sqlite3.connect(f"{path.as_uri()}?mode=rw", uri=True, timeout=30, isolation_level=None)
    except sqlite3.Error:
        return None
    try:
        conn.execute("BEGIN")
        meta = dict(conn.execute("SELECT key, value FROM meta WHERE key IN ('refs_stat', 'notes_commit', ?)",
                                 (STAMP_META,)).fetchall())
        stamp = json.loads(meta.get(STAMP_META) or "{}")
        if (not isinstance(stamp, dict) or stamp.get("key") != key.key or meta.get("refs_stat") != key.refs_stat
                or meta.get("notes_commit") != key.notes_commit
                or conn.execute("PRAGMA user_version").fetchone()[0] != stamp.get("schema")):
            return None
        rows = conn.execute(listing_select()).fetchall()
        conn.execute("COMMIT")
    except (sqlite3.Error, ValueError, TypeError):
        return None
    finally:
        conn.close()
    reachable = stamp.get("reachable")
    if not isinstance(reachable, list):
        return None
    return rows, set(reachable)
