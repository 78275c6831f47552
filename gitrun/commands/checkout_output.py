"""``git run checkout-output RUN [PATH...] [--to DIR] [--force]``: restore a run's stored outputs.

Files are written at their recorded paths below the repository root (or below ``--to DIR``).
A file that exists with other content is left alone unless ``--force``; outputs recorded by hash
only (too large to store) are listed as not restorable.

The note naming the outputs may come from a teammate: every path is checked with git's checkout
rules before anything is written, and writes go through ``SafeRoot`` (never through a link out of
the folder). An output recorded outside the repository (an absolute path) is restored only below a
folder the user names with ``--to``, never at the absolute path the note gives.
"""

from __future__ import annotations

import fnmatch
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from gitrun.capture.hashing import hash_file
from gitrun.commands.context import open_context
from gitrun.errors import UsageError
from gitrun.model.terminal import printable
from gitrun.runner.outputs import stored_path
from gitrun.store.codec import file_name
from gitrun.store.commits import is_commit, read_file
from gitrun.store.safe_write import SafeRoot


def checkout_output_command(reference: str, paths: Sequence[str] = (), to: str | None = None,
                            force: bool = False) -> int:
    ctx = open_context()
    run = ctx.store.resolve(reference)
    outputs = [item for item in run.doc.get("outputs", []) or [] if isinstance(item, dict)]
    if paths:
        outputs = [item for item in outputs
                   if any(fnmatch.fnmatchcase(str(item.get("path")), p) or str(item.get("path")) == p
                          or str(item.get("path")).startswith(p.rstrip("/") + "/") for p in paths)]
    if not outputs:
        raise UsageError(f"run {run.id} has no recorded outputs" + (" matching those paths" if paths else ""),
                         hint=f"see `git run show {run.id[:10]}`")
    target = Path(to).resolve() if to else ctx.paths.workdir
    if not is_commit(ctx.repo, run.result_commit):
        raise UsageError(f"the result commit of run {run.id} is missing", hint="fetch the run again")
    root = SafeRoot(target)
    # a non-UTF-8 name is written \xNN in the note's text: restored under its original bytes
    destinations = {str(item.get("path")): _relative_destination(file_name(str(item.get("path"))), to is not None)
                    for item in outputs}
    root.preflight((relative, False) for relative in destinations.values() if relative is not None)
    written = skipped = 0
    for item in outputs:
        path = str(item["path"])
        shown = printable(path)
        if not item.get("stored"):
            print(f"not restorable (recorded by hash only): {shown} {printable(str(item.get('hash', '')))}",
                  file=sys.stderr)
            skipped += 1
            continue
        data = read_file(ctx.repo, run.result_commit, stored_path(file_name(path)))
        if data is None:
            print(f"missing from the run's result tree: {shown}", file=sys.stderr)
            skipped += 1
            continue
        relative = destinations[path]
        if relative is None:
            print(f"recorded outside the repository, not restored: {shown} (restore it below a folder "
                  "you choose with --to DIR)", file=sys.stderr)
            skipped += 1
            continue
        destination = target / relative
        if os.path.lexists(destination) and not force:
            if destination.is_file() and not destination.is_symlink() and hash_file(destination) == item.get("hash"):
                continue
            print(f"exists with other content, left alone (use --force): {printable(str(destination))}",
                  file=sys.stderr)
            skipped += 1
            continue
        root.write_file(relative, data)
        print(f"restored {printable(str(destination))}")
        written += 1
    return 0 if skipped == 0 else 1


def _relative_destination(path: str, to_given: bool) -> str | None:
    """Where below the chosen folder an output goes: its recorded path, relative to that folder.

    An absolute path (an output recorded outside the repository) goes below ``--to`` only (None
    without it); the rest of the path is checked like any other (``/a/../../x`` is refused).
    """
    if os.path.isabs(path):
        return path.lstrip("/") if to_given else None
    return path
