"""The footer of a run listing: which runs it covers (shared by ``store.selection`` and the click-free
fast path of ``git run list``, which must not import pygit2)."""

from __future__ import annotations


def scope_text(all_branches: bool, hidden: int) -> str:
    if all_branches:
        return "runs of all branches"
    if hidden:
        return f"runs on commits reachable from HEAD ({hidden} hidden; --all-branches shows them)"
    return "runs on commits reachable from HEAD"
