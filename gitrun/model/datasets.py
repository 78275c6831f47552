"""Datasets of a run, as pure data: ``--data`` specs, folder hashes, per-file lists, diffs, grouping.

No I/O here: hashing files, the stat cache and where data lives are in ``gitrun.capture.datasets``.

Folder hash (docs/format.md, "Data inputs"): ``blake3:<hex>`` of the UTF-8 bytes of the lines
``<relpath>\\0<filehash>\\n`` for every file below the folder, sorted by the bytes of ``relpath``,
where ``relpath`` is ``/``-separated and relative to the folder, and ``filehash`` is the file's own
``blake3:<hex>`` string. An empty folder hashes the empty string.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

HASH_PREFIX = "blake3:"

LOCATIONS = ("snapshot", "ignored", "outside", "shared", "lfs", "dvc")

# NAME in ``NAME[:VERSION]=PATH``: a word that cannot be mistaken for the start of a path.
_SPEC_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_SPEC_VERSION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,63}$")


@dataclass(frozen=True)
class DataSpec:
    """One ``--data`` value: ``[NAME[:VERSION]=]PATH``."""

    path: str
    name: str = ""
    version: str = ""


def parse_data_spec(text: str) -> DataSpec:
    """Split ``imagenet-mini:v3=data/imagenet-mini``; a value whose part before ``=`` is not a valid
    ``NAME[:VERSION]`` (``a/b=c``, ``=x``, ``x y=z``) is a plain path that happens to contain ``=``."""
    head, sep, rest = text.partition("=")
    if sep and rest:
        name, colon, version = head.partition(":")
        if _SPEC_NAME.match(name) and (not colon or _SPEC_VERSION.match(version)):
            return DataSpec(path=rest, name=name, version=version)
    return DataSpec(path=text)


def _path_bytes(relpath: str) -> bytes:
    return relpath.encode("utf-8", "surrogateescape")


def folder_hash(entries: Iterable[tuple[str, str]]) -> str:
    """The hash of a folder from its ``(relpath, file hash)`` pairs (any order)."""
    keyed = sorted((_path_bytes(relpath), file_hash) for relpath, file_hash in entries)
    data = b"".join([path + b"\0" + file_hash.encode("ascii") + b"\n" for path, file_hash in keyed])
    return _blake3(data)


def _blake3(data: bytes) -> str:
    import blake3  # a native module: hashing pays for it, ``git run show`` does not

    return HASH_PREFIX + blake3.blake3(data).hexdigest()


class FileEntry(NamedTuple):
    relpath: str  # "/"-separated, relative to the dataset's folder
    size: int
    hash: str  # blake3:<hex>


@dataclass
class DatasetHash:
    """A hashed file or folder."""

    hash: str
    size: int
    files: int
    is_dir: bool
    entries: list[FileEntry] = field(default_factory=list)  # sorted by relpath bytes; folders only
    listing: bytes | None = None  # the encoded per-file list, when it came from a cache (entries empty)

    def file_list(self) -> bytes:
        """The per-file list (``data/<n>.tsv``) of a folder."""
        return self.listing if self.listing is not None else encode_file_list(self.entries)

    def relpaths(self) -> Iterator[str]:
        """The folder's file paths, in order (lazily: a caller may stop at the first that matters)."""
        if self.listing is not None and not self.entries:
            for line in self.listing.decode("utf-8", "surrogateescape").splitlines():
                yield _unescape(line.split("\t", 1)[0])
        else:
            for entry in self.entries:
                yield entry.relpath


def sorted_entries(entries: Iterable[FileEntry]) -> list[FileEntry]:
    return [entry for _, entry in sorted(((_path_bytes(e.relpath), e) for e in entries), key=lambda p: p[0])]


def dataset_from_entries(entries: Iterable[FileEntry]) -> DatasetHash:
    keyed = sorted(((_path_bytes(e.relpath), e) for e in entries), key=lambda pair: pair[0])
    data = b"".join([path + b"\0" + e.hash.encode("ascii") + b"\n" for path, e in keyed])
    return DatasetHash(
        hash=_blake3(data),
        size=sum(e.size for _, e in keyed),
        files=len(keyed),
        is_dir=True,
        entries=[e for _, e in keyed],
    )


# --- per-file lists (``data/<n>.tsv`` in the result tree) ----------------------------------------

def _escape(relpath: str) -> str:
    return relpath.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")


def _unescape(text: str) -> str:
    out: list[str] = []
    chars = iter(text)
    for char in chars:
        if char == "\\":
            following = next(chars, "")
            out.append({"t": "\t", "n": "\n", "\\": "\\"}.get(following, "\\" + following))
        else:
            out.append(char)
    return "".join(out)


def encode_file_list(entries: Sequence[FileEntry]) -> bytes:
    """``relpath\\tsize\\thash`` lines, sorted; tabs, newlines and backslashes in names escaped."""
    lines = [f"{_escape(entry.relpath)}\t{entry.size}\t{entry.hash}\n" for entry in sorted_entries(entries)]
    return "".join(lines).encode("utf-8", "surrogateescape")


def decode_file_list(data: bytes) -> list[FileEntry]:
    entries: list[FileEntry] = []
    for line in data.decode("utf-8", "surrogateescape").splitlines():
        parts = line.split("\t")
        if len(parts) != 3:
            continue
        try:
            entries.append(FileEntry(_unescape(parts[0]), int(parts[1]), parts[2]))
        except ValueError:
            continue
    return entries


# --- comparing two runs ----------------------------------------------------------------------------

@dataclass
class FileListDiff:
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    unchanged: int = 0

    @property
    def identical(self) -> bool:
        return not (self.added or self.removed or self.changed)


def diff_file_lists(old: Iterable[FileEntry], new: Iterable[FileEntry]) -> FileListDiff:
    before = {entry.relpath: entry.hash for entry in old}
    after = {entry.relpath: entry.hash for entry in new}
    result = FileListDiff()
    for path in sorted(set(before) | set(after), key=_path_bytes):
        if path not in before:
            result.added.append(path)
        elif path not in after:
            result.removed.append(path)
        elif before[path] != after[path]:
            result.changed.append(path)
        else:
            result.unchanged += 1
    return result


# --- grouping detected files ------------------------------------------------------------------------

def group_by_folder(paths: Iterable[str], threshold: int, stops: Iterable[str] = ()) -> dict[str, list[str]]:
    """Group absolute file paths: a folder holding more than ``threshold`` of them becomes one group
    (key: the folder), other files stay alone (key: the file). Sibling groups then merge into their
    common parent (``train/cat``, ``train/dog`` -> ``train``) up to, never into, a ``stops`` folder
    (the repository root, the home folder) or ``/``."""
    stop_set = {os.path.normpath(stop) for stop in stops} | {"/"}
    by_parent: dict[str, list[str]] = {}
    for path in paths:
        by_parent.setdefault(os.path.dirname(path), []).append(path)
    groups: dict[str, list[str]] = {}
    singles: dict[str, list[str]] = {}
    for parent, members in by_parent.items():
        if len(members) > threshold:
            groups[parent] = sorted(members)
        else:
            for member in members:
                singles[member] = [member]
    changed = True
    while changed:
        changed = False
        by_grandparent: dict[str, list[str]] = {}
        for folder in groups:
            by_grandparent.setdefault(os.path.dirname(folder), []).append(folder)
        for grandparent, folders in by_grandparent.items():
            if len(folders) < 2 or grandparent in stop_set:
                continue
            merged: list[str] = []
            for folder in folders:
                merged.extend(groups.pop(folder))
            # loose files directly in that folder, or below it, join the group too
            for single in [s for s in singles if s.startswith(grandparent + "/")]:
                merged.append(singles.pop(single)[0])
            groups[grandparent] = sorted(set(merged) | set(groups.get(grandparent, [])))
            changed = True
    # a group swallows groups nested below it
    for folder in sorted(groups, key=len):
        if folder not in groups:
            continue
        for other in [g for g in groups if g != folder and g.startswith(folder + "/")]:
            groups[folder] = sorted(set(groups[folder]) | set(groups.pop(other)))
    return {**groups, **singles}


def format_size(size: int) -> str:
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"


# --- which opened files are data ----------------------------------------------------------------------

# System folders whose files are never a run's data.
SYSTEM_DIRS = ("/proc", "/sys", "/dev", "/etc", "/usr/lib", "/usr/lib64", "/usr/share", "/usr/include",
               "/usr/local/lib", "/usr/local/share", "/lib", "/lib64", "/run", "/var/lib", "/var/cache",
               "/nix/store", "/System", "/Library")
# Code, not data: imported modules and their caches, native extensions.
CODE_SUFFIXES = (".py", ".pyc", ".pyo", ".pyi", ".pth", ".so", ".pyd")


def _below(path: str, folder: str) -> bool:
    folder = folder.rstrip("/")
    return not folder or path == folder or path.startswith(folder + "/")


def skip_reason(path: str, prefixes: Iterable[str]) -> str | None:
    """Why an opened file is not a data input (``None``: it is one). ``prefixes``: the interpreter's
    own folders, the virtual environment, caches, the repository's ``.git``, ..."""
    for folder in SYSTEM_DIRS:
        if _below(path, folder):
            return f"system folder {folder}"
    if "/__pycache__/" in path or "/.git/" in path:
        return "cache or git folder"
    if path.endswith(CODE_SUFFIXES):
        return "Python code"
    for folder in prefixes:
        if folder and _below(path, folder):
            return f"below {folder.rstrip('/')}"
    return None
