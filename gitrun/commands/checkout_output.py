"""``git run checkout-output RUN [PATH...] [--to DIR] [--force]``: restore a run's stored outputs.

Files are written at their recorded paths below the repository root (or below ``--to DIR``).
A file that exists with other content is left alone unless ``--force``; outputs recorded by hash
only (too large to store) are listed as not restorable.
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
from gitrun.runner.outputs import stored_path
from gitrun.store.trees import read_blob_at


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
    commit = ctx.repo.get(run.result_commit)
    if commit is None:
        raise UsageError(f"the result commit of run {run.id} is missing", hint="fetch the run again")
    tree = commit.tree
    written = skipped = 0
    for item in outputs:
        path = str(item["path"])
        if not item.get("stored"):
            print(f"not restorable (recorded by hash only): {path} {item.get('hash', '')}", file=sys.stderr)
            skipped += 1
            continue
        data = read_blob_at(ctx.repo, tree, stored_path(path))
        if data is None:
            print(f"missing from the run's result tree: {path}", file=sys.stderr)
            skipped += 1
            continue
        destination = (target / path.lstrip("/")) if (to or not os.path.isabs(path)) else Path(path)
        if destination.exists() and not force:
            if destination.is_file() and hash_file(destination) == item.get("hash"):
                continue
            print(f"exists with other content, left alone (use --force): {destination}", file=sys.stderr)
            skipped += 1
            continue
        destination.parent.mkdir(parents=True, exist_ok=True)
        destination.write_bytes(data)
        print(f"restored {destination}")
        written += 1
    return 0 if skipped == 0 else 1
