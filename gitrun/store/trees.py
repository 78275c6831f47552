"""Build nested git trees from a flat ``{path: content}`` mapping.

Paths are text; a name that is not UTF-8 (a Linux file name is bytes) arrives with each undecodable
byte as a lone surrogate (Python's ``surrogateescape``, as ``os.listdir`` gives it) and is stored
under its exact original bytes, as git itself would store it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path

import pygit2

from gitrun.errors import StorageError

_TREE = pygit2.enums.FileMode.TREE
_BLOB = pygit2.enums.FileMode.BLOB

# bytes: a new blob; Oid: an existing blob; Path: a file's content; (Oid, mode): an existing blob with
# its file mode (executable, symlink)
TreeContent = bytes | pygit2.Oid | Path | tuple[pygit2.Oid, int]


def _blob(repo: pygit2.Repository, content: TreeContent) -> pygit2.Oid:
    if isinstance(content, bytes):
        return repo.create_blob(content)
    if isinstance(content, Path):
        with open(content, "rb") as handle:  # streamed into the object database: any size, little memory
            return repo.create_blob_fromiobase(handle)
    return content[0] if isinstance(content, tuple) else content


def build_tree(repo: pygit2.Repository, files: Mapping[str, TreeContent],
               base: pygit2.Tree | None = None) -> pygit2.Oid:
    """Write a tree holding ``files`` (``a/b/c`` paths) on top of ``base``'s entries."""
    nested: dict[str, dict[str, TreeContent]] = {}
    leaves: dict[str, TreeContent] = {}
    for path, content in files.items():
        head, _, rest = path.partition("/")
        if rest:
            nested.setdefault(head, {})[rest] = content
        else:
            leaves[head] = content
    entries: dict[str, tuple[pygit2.Oid, int]] = {}
    for name, content in leaves.items():
        entries[name] = (_blob(repo, content), content[1] if isinstance(content, tuple) else _BLOB)
    for name, children in nested.items():
        sub_base = None
        if base is not None and name in base and base[name].filemode == _TREE:
            candidate = repo.get(base[name].id)
            sub_base = candidate if isinstance(candidate, pygit2.Tree) else None
        entries[name] = (build_tree(repo, children, sub_base), _TREE)
    if all(name.isascii() or _is_utf8(name) for name in entries):
        builder = repo.TreeBuilder(base) if base is not None else repo.TreeBuilder()
        for name, (oid, mode) in entries.items():
            builder.insert(name, oid, mode)
        return builder.write()
    return _write_raw_tree(repo, entries, base)


def _is_utf8(name: str) -> bool:
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _write_raw_tree(repo: pygit2.Repository, entries: Mapping[str, tuple[pygit2.Oid, int]],
                    base: pygit2.Tree | None) -> pygit2.Oid:
    """Write a tree object byte by byte: libgit2's tree builder takes only UTF-8 names."""
    raw: dict[bytes, tuple[pygit2.Oid, int]] = {}
    for entry in base or ():
        if entry.raw_name is not None:
            raw[entry.raw_name] = (entry.id, int(entry.filemode))
    for name, value in entries.items():
        raw[name.encode("utf-8", "surrogateescape")] = value
    # git's order: byte-wise, a folder's name compared as if it ended in "/"
    order = sorted(raw, key=lambda name: name + b"/" if raw[name][1] == _TREE else name)
    data = b"".join(b"%o %s\0%s" % (raw[name][1], name, raw[name][0].raw) for name in order)
    return repo.odb.write(pygit2.enums.ObjectType.TREE, data)


def walk_tree(repo: pygit2.Repository, tree: pygit2.Tree, prefix: str = "") -> Iterator[tuple[str, pygit2.Object]]:
    """Every entry below ``tree`` that is not a tree (blobs, links, submodule commits), with its path.

    A tree libgit2 cannot parse (a pulled run can hold one: an empty name, say) is a StorageError
    naming where it is, not an internal error.
    """
    try:
        entries = list(tree)
    except pygit2.GitError as err:
        raise StorageError(f"the tree at '{prefix or '/'}' is malformed: {err}",
                           hint="the run was forged or damaged; `git run rm` it")
    for entry in entries:
        path = prefix + (entry.name or "")
        if entry.filemode == _TREE:
            try:
                sub = repo.get(entry.id)
            except pygit2.GitError as err:
                raise StorageError(f"the tree at '{path}' is malformed: {err}",
                                   hint="the run was forged or damaged; `git run rm` it")
            if isinstance(sub, pygit2.Tree):
                yield from walk_tree(repo, sub, path + "/")
        else:
            yield path, entry


def read_tree_files(repo: pygit2.Repository, tree: pygit2.Tree, prefix: str = "") -> dict[str, pygit2.Oid]:
    """Every blob below ``tree`` as ``{path: blob id}``."""
    return {path: entry.id for path, entry in walk_tree(repo, tree, prefix)}


def read_blob_at(repo: pygit2.Repository, tree: pygit2.Tree, path: str) -> bytes | None:
    try:
        entry = tree[path]
    except KeyError:
        return None
    blob = repo.get(entry.id)
    return blob.data if isinstance(blob, pygit2.Blob) else None
