"""Which paths from a run may be written to disk: git's own checkout rules, as a pure function.

Everything in a pulled run (its snapshot tree, its result tree, its note) was written by someone
else. Git refuses to check out tree entries that could escape the working tree or reach into
``.git``; a tree built with ``git mktree`` (or pushed to a remote without ``receive.fsckObjects``)
can still hold them. Every gitrun command that writes files from a run asks ``path_problem`` first,
with the same rules git applies on checkout (``verify_path`` with ``core.protectNTFS`` and
``core.protectHFS``, both on here whatever the platform, since a run may travel to any of them):

- no absolute path, no empty component (``a//b``, a trailing ``/``), no ``.`` or ``..`` component;
- no ``.git`` component in any case, nor its NTFS aliases (``.git.``, ``.git ``, ``git~1``,
  ``.git::$INDEX_ALLOCATION``) nor its HFS+ aliases (``.g\\u200cit``: code points HFS+ ignores);
- a backslash counts as a separator for those checks (NTFS reads it as one);
- no NUL; no symbolic link named ``.gitmodules``, ``.gitattributes``, ``.gitignore`` or ``.mailmap``
  (git refuses those links since 2.32: they would redirect git's own reads).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from gitrun.errors import GitrunError
from gitrun.model.terminal import printable

# Code points HFS+ drops when it compares names (git's utf8.c next_hfs_char).
HFS_IGNORABLE = frozenset(
    [0x200C, 0x200D, 0x200E, 0x200F, 0x202A, 0x202B, 0x202C, 0x202D, 0x202E,
     0x206A, 0x206B, 0x206C, 0x206D, 0x206E, 0x206F, 0xFEFF])
_HFS_IGNORABLE_CHARS = "".join(chr(code) for code in sorted(HFS_IGNORABLE))
# git's is_ntfs_dotgit: ".git" or its 8.3 short name "git~1", then only dots and spaces up to the
# end of the component or an alternate data stream (":").
_NTFS_DOTGIT = re.compile(r"(?:\.git|git~1)[. ]*(?::.*)?", re.IGNORECASE | re.DOTALL)
_GIT_OWN_FILES = (".gitmodules", ".gitattributes", ".gitignore", ".mailmap")
# NTFS short names git also refuses as links (is_ntfs_dotgitmodules and friends: the first six
# letters, "~", a digit).
_NTFS_SHORT = re.compile(r"(?:gitmod|gitatt|gitign|mailma)~[1-4][. ]*", re.IGNORECASE)


class PathRefused(GitrunError):
    """A path from a run that must not be written (``reason`` says which rule it breaks)."""

    exit_code = 1

    def __init__(self, path: str, reason: str, hint: str | None = None) -> None:
        super().__init__(f"refused to write '{printable(path)}': {reason}",
                         hint or "the run holds a path git would refuse to check out; nothing was written")
        self.path = path
        self.reason = reason


def _hfs_fold(component: str) -> str:
    """The name as HFS+ compares it: ignorable code points dropped, ASCII letters lower-cased."""
    return component.translate({ord(char): None for char in _HFS_IGNORABLE_CHARS}).lower()


def is_dotgit(component: str) -> bool:
    """``component`` names the ``.git`` folder on some filesystem git protects (any case, NTFS, HFS+)."""
    # Both foldings at once (stricter than git, which applies each alone): no filesystem may see .git.
    return bool(_NTFS_DOTGIT.fullmatch(component)) or bool(_NTFS_DOTGIT.fullmatch(_hfs_fold(component)))


def _names_git_own_file(component: str) -> bool:
    folded = _hfs_fold(component).rstrip(". ")
    return folded in _GIT_OWN_FILES or bool(_NTFS_SHORT.fullmatch(component))


def path_problem(path: str, is_link: bool = False) -> str | None:
    """Why ``path`` (``/``-separated, relative to where it is written) must not be written, or None."""
    if not path:
        return "empty path"
    if "\0" in path:
        return "contains a NUL byte"
    if path.startswith("/") or re.match(r"[A-Za-z]:", path):
        return "absolute path"
    components = path.split("/")
    for component in components:
        if component == "":
            return "empty path component"
        if component in (".", ".."):
            return f"'{component}' component"
        parts = component.split("\\")  # NTFS reads a backslash as a separator
        for part in parts:
            if part in (".", "..") or (part == "" and len(parts) > 1):
                return f"'{part}' component (after a backslash)" if part else "empty component (around a backslash)"
            if is_dotgit(part):
                return f"names git's own folder ('{printable(part)}' is .git on some filesystem)"
    if is_link and _names_git_own_file(components[-1].split("\\")[-1]):
        return f"a symbolic link named {printable(components[-1])} (git refuses those)"
    return None


def check_path(path: str, is_link: bool = False) -> str:
    """``path`` unchanged when it may be written; else PathRefused naming it and the rule."""
    problem = path_problem(path, is_link)
    if problem is not None:
        raise PathRefused(path, problem)
    return path


def check_entries(entries: Iterable[tuple[str, bool]]) -> None:
    """Refuse a whole tree (``(path, is_link)`` pairs) when one entry breaks the rules above or
    is both a file and a folder (a crafted tree can hold both names; writing one would then write
    through the other)."""
    paths: set[str] = set()
    folders: set[str] = set()
    for path, is_link in entries:
        check_path(path, is_link)
        paths.add(path)
        parts = path.split("/")
        folders.update("/".join(parts[:depth]) for depth in range(1, len(parts)))
    for path in sorted(folders & paths):
        raise PathRefused(path, "the tree holds it both as a file and as a folder")
