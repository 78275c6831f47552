"""Snapshot the working tree as it is on disk into a git tree, leaving the user's state untouched.

How: copy ``.git/index`` (keeping its mtime, so git's racy-file check stays valid) to a temporary
index, open a fresh Repository bound to it, ask libgit2 for the status against that copy (its stat
cache means only changed files are read), then add, update or remove exactly the changed paths in
the copy and write its tree. The user's index, HEAD, branches, stash and files are never written.

What goes in is decided by a policy callback from the capture layer (secrets, size limits,
``.gitrunignore``) *before* a file is hashed, so an excluded file never becomes a loose blob.
With many new files, the policy's ``prepare`` reads them once and hands over the bytes it checked;
those bytes become the blobs (``_NewBlobs``), so what is stored is exactly what was scanned.
"""

from __future__ import annotations

import functools
import os
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pygit2
from pygit2.enums import FileStatus

from gitrun.store.git import RepoPaths, run_git
from gitrun.store.tmpfiles import temp_index_path
from gitrun.store.trees import TreeContent, build_tree

# Plain ints: status flags are tested for every changed path, and Flag-enum arithmetic is slow.
_WT_NEW = int(FileStatus.WT_NEW)
_WT_CHANGED = int(FileStatus.WT_MODIFIED | FileStatus.WT_TYPECHANGE | FileStatus.WT_RENAMED)
_WT_DELETED = int(FileStatus.WT_DELETED)
_INDEX_CHANGED = int(FileStatus.INDEX_NEW | FileStatus.INDEX_MODIFIED | FileStatus.INDEX_TYPECHANGE |
                     FileStatus.INDEX_RENAMED)
_INDEX_DELETED = int(FileStatus.INDEX_DELETED)
_CONFLICTED = int(FileStatus.CONFLICTED)

LFS_POINTER_PREFIX = b"version https://git-lfs.github.com/spec/"


@dataclass
class Candidate:
    """A path whose snapshot content differs from HEAD, offered to the policy before hashing."""

    path: str  # repo-relative, "/"-separated (non-UTF-8 bytes kept as surrogate escapes)
    root: Path  # the working tree
    untracked: bool  # not in the user's index at all
    staged_only: bool  # differs from HEAD only through what the user staged

    @functools.cached_property
    def absolute(self) -> Path:
        return self.root / self.path  # made when asked: a Path per file costs seconds at 100,000 files


@dataclass
class Exclusion:
    path: str
    reason: str
    size: int | None = None
    hash: str | None = None


Policy = Callable[[Candidate], Exclusion | None]
# A policy's ``prepare`` hands over the untracked files it let in: paths, the bytes it read and
# checked, and their stat modes. The snapshot stores exactly those bytes (``_NewBlobs``).
AcceptFiles = Callable[[list[str], list[bytes], list[int]], None]


@dataclass
class SnapshotResult:
    tree: pygit2.Oid
    base_commit: pygit2.Oid | None
    modified: list[str] = field(default_factory=list)  # tracked, changed (staged or not)
    untracked: list[str] = field(default_factory=list)
    added: list[str] = field(default_factory=list)  # staged by the user, new since HEAD
    deleted: list[str] = field(default_factory=list)
    excluded: list[Exclusion] = field(default_factory=list)
    submodules: list[dict[str, object]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def dirty(self) -> bool:
        return bool(self.modified or self.untracked or self.added or self.deleted)


@contextmanager
def _temporary_index_repository(paths: RepoPaths) -> Iterator[tuple[pygit2.Repository, Path]]:
    temp_index = temp_index_path(paths)  # a kill -9 leaves it: the next command sweeps it (store.tmpfiles)
    real_index = paths.gitdir / "index"
    if real_index.exists():
        shutil.copy2(real_index, temp_index)
    saved = {key: os.environ.get(key) for key in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE")}
    os.environ.update(GIT_DIR=str(paths.gitdir), GIT_WORK_TREE=str(paths.workdir),
                      GIT_INDEX_FILE=str(temp_index))
    try:
        repo = pygit2.Repository(str(paths.gitdir), flags=pygit2.enums.RepositoryOpenFlag.FROM_ENV)
        repo.index  # noqa: B018 - load the index while GIT_INDEX_FILE points at the copy
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    try:
        yield repo, temp_index
    finally:
        repo.free()
        temp_index.unlink(missing_ok=True)


PATHSPEC_FOLDERS = 64  # up to this many untracked folders, git lists only their files


def _status(repo: pygit2.Repository, paths: RepoPaths, index_file: Path) -> dict[str, int]:
    """Every changed path with its libgit2 status flags; untracked files as git itself lists them.

    libgit2 reports an untracked folder as one ``folder/`` entry (``untracked_files="normal"``:
    milliseconds); only then git lists every untracked file (``git ls-files --others
    --exclude-standard``: git's own ignore rules, and 4x faster than libgit2 listing them one by one
    with 100,000 files). A nested repository stays one ``folder/`` entry either way.
    """
    flags = {path: int(value) for path, value in repo.status(untracked_files="normal", ignored=False).items()}
    folders = [path for path, value in flags.items() if path.endswith("/") and value & _WT_NEW]
    if not folders:
        return flags
    # A few folders: git walks only those (a big checkout with one untracked `outputs/` costs
    # milliseconds); many: git walks the whole tree once, and its list replaces libgit2's.
    only_folders = len(folders) <= PATHSPEC_FOLDERS
    listed = run_git(["--literal-pathspecs", "ls-files", "--others", "--exclude-standard", "-z", "--",
                      *(folders if only_folders else [])], paths.workdir,
                     env={"GIT_DIR": str(paths.gitdir), "GIT_WORK_TREE": str(paths.workdir),
                          "GIT_INDEX_FILE": str(index_file)})
    for path in folders if only_folders else list(flags):
        value = flags[path]
        if value & _WT_NEW:
            if value == _WT_NEW:
                del flags[path]
            else:
                flags[path] = value & ~_WT_NEW  # also staged for deletion (``git rm --cached``)
    for path in os.fsdecode(listed.stdout).split("\0"):  # one decode, not one per file
        if path:
            flags[path] = flags.get(path, 0) | _WT_NEW
    return flags


def _skip_worktree_paths(paths: RepoPaths) -> frozenset[str]:
    """Index entries flagged skip-worktree (sparse checkout, ``git update-index --skip-worktree``).

    libgit2 ignores the flag and reports such files as deleted (or modified); git treats them as
    unchanged, and so does the snapshot. The flag needs index version 3 or 4, so a version 2 index
    (the default) costs one 8-byte read; otherwise git lists them (pygit2 does not expose flags).
    """
    try:
        with open(paths.gitdir / "index", "rb") as handle:
            header = handle.read(8)
    except OSError:
        return frozenset()
    if len(header) < 8 or header[:4] != b"DIRC" or int.from_bytes(header[4:8], "big") < 3:
        return frozenset()
    listed = run_git(["ls-files", "-t", "-z"], paths.workdir, check=False,
                     env={"GIT_DIR": str(paths.gitdir), "GIT_WORK_TREE": str(paths.workdir)})
    if listed.returncode != 0:
        return frozenset()
    return frozenset(os.fsdecode(item[2:]) for item in listed.stdout.split(b"\0") if item.startswith(b"S "))


def _head_commit(repo: pygit2.Repository) -> pygit2.Commit | None:
    if repo.head_is_unborn:
        return None
    commit = repo.head.peel(pygit2.Commit)
    return commit


def take_snapshot(paths: RepoPaths, policy: Policy) -> SnapshotResult:
    """Write the tree of the working tree as it is on disk; return it with what changed and why."""
    with _temporary_index_repository(paths) as (repo, temp_index):
        head = _head_commit(repo)
        head_tree = head.tree if head is not None else None
        index = repo.index
        status = _status(repo, paths, temp_index)
        submodule_paths = set(_submodule_paths(repo))
        skipped = _skip_worktree_paths(paths)
        result = SnapshotResult(tree=pygit2.Oid(hex="0" * 40), base_commit=head.id if head else None)
        new_files: list[str] = []  # untracked files the policy let in, hashed together below
        changed = sorted(status)
        untracked = [path for path in changed if status[path] & _WT_NEW]
        blobs = _NewBlobs(repo, paths) if len(untracked) >= GIT_BATCH_FROM and _raw_bytes_are_blobs(
            repo, paths, untracked) else None
        prepare = getattr(policy, "prepare", None)
        if prepare is not None:  # the policy may look at all untracked files at once (faster)
            if blobs is not None:
                prepare(paths.workdir, untracked, blobs.add)
            else:
                prepare(paths.workdir, untracked)
        accepted = blobs.entries if blobs is not None else {}
        for path in changed:
            if path in accepted:
                result.untracked.append(path)  # let in and stored by the policy's prepare
                continue
            flags = status[path]
            if path.endswith("/"):
                result.warnings.append(f"{path} is a nested git repository that is not a submodule: not captured")
                continue
            if path in submodule_paths:
                continue  # recorded below, with the commit its HEAD is at
            if path in skipped:
                continue  # outside a sparse checkout's cone (or marked by the user): unchanged, as git sees it
            _apply_path(repo, index, head_tree, paths, path, flags, policy, result, new_files)
        _add_new_files(repo, index, temp_index, paths, new_files, result)
        for sub in _submodules(repo, paths, submodule_paths):
            result.submodules.append(sub)
            if sub.get("commit"):
                _set_gitlink(index, str(sub["path"]), str(sub["commit"]))
                if sub["commit"] != _tree_entry_hex(head_tree, str(sub["path"])):
                    result.modified.append(str(sub["path"]))
        result.tree = index.write_tree()
        if blobs is not None and blobs.entries:
            result.tree = blobs.finish(result.tree)
        return result


def _apply_path(repo: pygit2.Repository, index: pygit2.Index, head_tree: pygit2.Tree | None,
                paths: RepoPaths, path: str, flags: int, policy: Policy, result: SnapshotResult,
                new_files: list[str]) -> None:
    if flags & (_WT_DELETED | _INDEX_DELETED) and not os.path.lexists(paths.workdir / path):
        _remove(index, path)
        result.deleted.append(path)
        return
    untracked = bool(flags & _WT_NEW)
    candidate = Candidate(path, paths.workdir, untracked=untracked,
                          staged_only=not (flags & (_WT_NEW | _WT_CHANGED | _CONFLICTED)))
    exclusion = policy(candidate)
    if exclusion is not None:
        result.excluded.append(exclusion)
        if not untracked:
            _restore_from_head(index, head_tree, path)
        return
    if not (flags & (_WT_NEW | _WT_CHANGED | _CONFLICTED | _INDEX_CHANGED)):
        return
    if untracked:
        new_files.append(path)
    elif flags & (_WT_CHANGED | _CONFLICTED):
        _add_from_disk(repo, index, paths, path, result)
    if untracked:
        result.untracked.append(path)
    elif head_tree is not None and _tree_entry_hex(head_tree, path) is not None:
        result.modified.append(path)
    else:
        result.added.append(path)


# From this many new files on, git hashes them (`git update-index --add --stdin`): libgit2 takes
# about 6x git's time per file, which a checkout with 100,000 untracked files turns into seconds.
# Below it, a git process costs more than it saves.
GIT_BATCH_FROM = 500


def _add_new_files(repo: pygit2.Repository, index: pygit2.Index, index_file: Path | None, paths: RepoPaths,
                   new_files: list[str], result: SnapshotResult) -> None:
    """Hash the untracked files the policy let in (they were decided on before any was hashed)."""
    one_by_one = new_files
    if len(new_files) >= GIT_BATCH_FROM and index_file is not None:
        lfs = {path for path in new_files if _is_lfs_path(repo, path)} \
            if _lfs_attributes_possible(paths, new_files) else set()
        if _git_update_index(index, index_file, paths, [path for path in new_files if path not in lfs]):
            one_by_one = sorted(lfs)  # LFS files keep their own handling (pointer, or left out)
        # else git refused one of them (a FIFO, a vanished file): one by one, each one reported
    for path in one_by_one:
        _add_from_disk(repo, index, paths, path, result)


class _NewBlobs:
    """Blobs made from the bytes the policy read and checked (``AcceptFiles``): each file is read
    once, and what is stored is exactly what was scanned (a file changed since is not read again).

    Ids are computed in-process; only contents the object store lacks are written, many at a time
    through one ``git fast-import`` (one pack; libgit2 writes loose objects about 10x slower).
    The files then go straight into the tree (``finish``, ``trees.build_tree``), not through the index.
    """

    FLUSH_BYTES = 64 * 1024 * 1024  # contents waiting to be written, at most
    PACK_FROM = 100  # fewer missing objects are written by libgit2, without a git process

    def __init__(self, repo: pygit2.Repository, paths: RepoPaths) -> None:
        self.repo = repo
        self.paths = paths
        self.entries: dict[str, TreeContent] = {}
        self._missing: dict[pygit2.Oid, bytes] = {}
        self._missing_bytes = 0
        self._trust_mode = _config_bool(repo, "core.fileMode", True)

    def add(self, names: list[str], contents: list[bytes], modes: list[int]) -> None:
        odb, entries, missing = self.repo.odb, self.entries, self._missing
        executable, regular = int(pygit2.enums.FileMode.BLOB_EXECUTABLE), int(pygit2.enums.FileMode.BLOB)
        for name, content, mode in zip(names, contents, modes, strict=True):
            oid = pygit2.hash(content)
            if oid not in missing and oid not in odb:
                missing[oid] = content
                self._missing_bytes += len(content)
            entries[name] = (oid, executable if self._trust_mode and mode & 0o100 else regular)
        if self._missing_bytes >= self.FLUSH_BYTES:
            self._write_missing()

    def _write_missing(self) -> None:
        missing, self._missing, self._missing_bytes = self._missing, {}, 0
        if len(missing) < self.PACK_FROM:
            for content in missing.values():
                self.repo.create_blob(content)
            return
        stream = b"".join(b"blob\ndata %d\n%s\n" % (len(content), content) for content in missing.values())
        written = run_git(["fast-import", "--quiet"], self.paths.workdir, input_bytes=stream, check=False,
                          env={"GIT_DIR": str(self.paths.gitdir)})
        if written.returncode != 0:  # git refused (an old git, a lock): libgit2 writes them, slower
            for content in missing.values():
                self.repo.create_blob(content)

    def finish(self, tree: pygit2.Oid) -> pygit2.Oid:
        """Write what is still missing; return ``tree`` with every accepted file added."""
        self._write_missing()
        with _strict_object_creation(False):  # every blob was checked or written just above
            return build_tree(self.repo, self.entries, self.repo[tree].peel(pygit2.Tree))


def _config_bool(repo: pygit2.Repository, key: str, default: bool) -> bool:
    try:
        return repo.config.get_bool(key)
    except (KeyError, pygit2.GitError, ValueError):
        return default


@contextmanager
def _strict_object_creation(enabled: bool) -> Iterator[None]:
    """libgit2 checks that every tree entry's object exists (a lookup per entry: 0.8 s for 100,000
    files); off only while inserting blobs this snapshot has just checked or written."""
    pygit2.settings.enable_strict_object_creation(enabled)
    try:
        yield
    finally:
        pygit2.settings.enable_strict_object_creation(True)


# Attributes that make git store something other than a file's bytes (line endings, filters,
# encodings); where any may apply, the policy's bytes are not used and git or libgit2 hash the file.
_CONVERTING_ATTRIBUTES = (b"text", b"eol", b"crlf", b"filter", b"ident", b"encoding")


def _raw_bytes_are_blobs(repo: pygit2.Repository, paths: RepoPaths, new_files: list[str]) -> bool:
    """Would git store every new file's bytes unchanged (no line-ending conversion, no filter)?"""
    config = repo.config
    autocrlf = config["core.autocrlf"] if "core.autocrlf" in config else "false"  # noqa: SIM401 - no .get
    if str(autocrlf).lower() not in ("false", "no", "off", "0", ""):
        return False
    attributes = _attributes_text(paths, new_files).lower()
    return not any(word in attributes for word in _CONVERTING_ATTRIBUTES)


def _git_update_index(index: pygit2.Index, index_file: Path, paths: RepoPaths, files: list[str]) -> bool:
    """Add ``files`` to the temporary index with git itself; False (index unchanged) if git refused."""
    if not files:
        return True
    index.write()  # git works on the file: first what was decided in memory
    before = index_file.read_bytes()
    listing = b"\0".join(os.fsencode(path) for path in files) + b"\0"
    added = run_git(["update-index", "--add", "-z", "--stdin"], paths.workdir, input_bytes=listing, check=False,
                    env={"GIT_DIR": str(paths.gitdir), "GIT_WORK_TREE": str(paths.workdir),
                         "GIT_INDEX_FILE": str(index_file)})
    if added.returncode != 0:
        index_file.write_bytes(before)
        index.read(force=True)
        return False
    index.read(force=True)
    return True


def _lfs_attributes_possible(paths: RepoPaths, new_files: list[str]) -> bool:
    """Could any attributes file route a file through Git LFS? (Checked once, not once per file.)"""
    return b"lfs" in _attributes_text(paths, new_files)


def _attributes_text(paths: RepoPaths, new_files: list[str]) -> bytes:
    """Every attributes file that could apply to ``new_files``, joined (comments and all)."""
    candidates = [paths.workdir / path for path in new_files
                  if path.endswith("/.gitattributes") or path == ".gitattributes"]
    tracked = run_git(["ls-files", "-z", "--", ":(glob)**/.gitattributes"], paths.workdir, check=False,
                      env={"GIT_DIR": str(paths.gitdir), "GIT_WORK_TREE": str(paths.workdir)})
    candidates += [paths.workdir / os.fsdecode(name) for name in tracked.stdout.split(b"\0") if name]
    candidates.append(paths.commondir / "info" / "attributes")
    configured = run_git(["config", "--path", "core.attributesFile"], paths.workdir, check=False)
    xdg = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    candidates.append(Path(configured.stdout.decode().strip()) if configured.returncode == 0 else
                      xdg / "git" / "attributes")
    candidates.append(Path("/etc/gitattributes"))  # git's system-wide file
    texts = []
    for candidate in candidates:
        try:
            texts.append(candidate.read_bytes())
        except OSError:
            continue
    return b"\n".join(texts)


def _add_from_disk(repo: pygit2.Repository, index: pygit2.Index, paths: RepoPaths, path: str,
                   result: SnapshotResult) -> None:
    if _is_lfs_path(repo, path):
        _add_lfs(repo, index, paths, path, result)
        return
    try:
        index.add(path)
    except (OSError, pygit2.GitError) as err:
        # An unreadable file: keep what the index had, and say so, rather than abort the run.
        result.warnings.append(f"{path}: could not be read ({err}); its last staged version was kept")
        result.excluded.append(Exclusion(path, f"unreadable: {err}"))


def _is_lfs_path(repo: pygit2.Repository, path: str) -> bool:
    try:
        return repo.get_attr(path, "filter") == "lfs"
    except (pygit2.GitError, ValueError):
        return False


def _add_lfs(repo: pygit2.Repository, index: pygit2.Index, paths: RepoPaths, path: str,
             result: SnapshotResult) -> None:
    """Store an LFS-tracked file as git would: its pointer (libgit2 runs no external filters)."""
    absolute = paths.workdir / path
    with open(absolute, "rb") as handle:
        head = handle.read(len(LFS_POINTER_PREFIX))
    if head == LFS_POINTER_PREFIX:
        blob = repo.create_blob_fromworkdir(path)
    else:
        # git-lfs's own clean filter (as `git add` runs it): the content goes to .git/lfs/objects and
        # only the pointer becomes a blob. Without git-lfs the file stays out rather than entering
        # the object store whole.
        cleaned = run_git(["lfs", "clean", "--", path], paths.workdir, stdin_path=absolute, check=False,
                          env={"GIT_DIR": str(paths.gitdir), "GIT_WORK_TREE": str(paths.workdir)})
        if cleaned.returncode != 0 or not cleaned.stdout.startswith(LFS_POINTER_PREFIX):
            result.excluded.append(Exclusion(path, "Git LFS file but git-lfs is not installed",
                                             size=absolute.stat().st_size))
            return
        blob = repo.create_blob(cleaned.stdout)
    mode = pygit2.enums.FileMode.BLOB_EXECUTABLE if os.access(absolute, os.X_OK) else pygit2.enums.FileMode.BLOB
    index.add(pygit2.IndexEntry(path, blob, mode))


def _remove(index: pygit2.Index, path: str) -> None:
    try:
        index.remove(path)
    except (OSError, pygit2.GitError):
        pass


def _restore_from_head(index: pygit2.Index, head_tree: pygit2.Tree | None, path: str) -> None:
    """Put HEAD's version of an excluded tracked file back (or drop a staged-only new one)."""
    if head_tree is not None:
        try:
            entry = head_tree[path]
        except KeyError:
            _remove(index, path)
            return
        index.add(pygit2.IndexEntry(path, entry.id, entry.filemode))
    else:
        _remove(index, path)


def _tree_entry_hex(tree: pygit2.Tree | None, path: str) -> str | None:
    if tree is None:
        return None
    try:
        return str(tree[path].id)
    except KeyError:
        return None


def _submodule_paths(repo: pygit2.Repository) -> list[str]:
    try:
        return list(repo.listall_submodules())
    except pygit2.GitError:
        return []


def _submodules(repo: pygit2.Repository, paths: RepoPaths, sub_paths: set[str]) -> Iterator[dict[str, object]]:
    for path in sorted(sub_paths):
        info: dict[str, object] = {"path": path}
        try:
            sub_repo = pygit2.Repository(str(paths.workdir / path))
            if not sub_repo.head_is_unborn:
                info["commit"] = str(sub_repo.head.target)
            info["dirty"] = bool(sub_repo.status(untracked_files="no"))
            remote = sub_repo.remotes["origin"] if "origin" in [r.name for r in sub_repo.remotes] else None
            if remote is not None and remote.url:
                info["url"] = remote.url
        except (pygit2.GitError, KeyError, OSError):
            info["checked_out"] = False
            entry = _index_entry(repo.index, path)
            if entry is not None:
                info["commit"] = entry
        yield info


def _index_entry(index: pygit2.Index, path: str) -> str | None:
    try:
        return str(index[path].id)
    except (KeyError, ValueError):
        return None


def _set_gitlink(index: pygit2.Index, path: str, commit_hex: str) -> None:
    index.add(pygit2.IndexEntry(path, pygit2.Oid(hex=commit_hex), pygit2.enums.FileMode.COMMIT))
