"""The notebook of an in-process run: spooled by ``gitrun.init()`` in a Jupyter kernel, stored
with the run by the result contributor.

``spool_notebook`` (at the start and again just before the run ends) writes the spool's
``notebook.json`` (where the notebook is saved and how it was found), ``notebook/cells.py`` (the
source of every cell the kernel executed so far, ``# In[n]`` before each) and a copy of the saved
``.ipynb`` as it is on disk then. The contributor puts those files at ``notebook/`` in the result
tree and writes the note's ``[notebook]`` table.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from gitrun.capture.notebook import executed_cells, kernel_shell, notebook_path
from gitrun.runner.ending import Ending
from gitrun.store.spool import Spool
from gitrun.store.trees import TreeContent

NOTEBOOK_FILE = "notebook.json"
NOTEBOOK_DIR = "notebook"
CELLS_FILE = "cells.py"
MAX_NOTEBOOK_BYTES = 32 * 1024 * 1024  # a notebook full of images: its hash is kept, not its bytes


def spool_notebook(spool: Spool, workdir: Path) -> bool:
    """Write what the kernel knows of its notebook into the spool; False when not in a notebook."""
    shell = kernel_shell()
    if shell is None:
        return False
    folder = spool.file(NOTEBOOK_DIR)
    folder.mkdir(exist_ok=True)
    cells = executed_cells(shell)
    text = "".join(f"# In[{number}]\n{source.rstrip()}\n\n" for number, source in enumerate(cells, start=1))
    _write(folder / CELLS_FILE, text.encode("utf-8"))
    path, found_by = notebook_path(shell)
    info: dict[str, Any] = {"cells": len(cells), "saved": path is not None, "found_by": found_by}
    if path is not None:
        info["path"] = _shown(path, workdir)
        for old in folder.glob("*.ipynb"):
            old.unlink()
        size = path.stat().st_size
        if size <= MAX_NOTEBOOK_BYTES:
            _write(folder / path.name, path.read_bytes())
            info["copy"] = path.name
        else:
            from gitrun.capture.hashing import hash_file

            info.update(size=size, hash=hash_file(path), not_stored=f"larger than {MAX_NOTEBOOK_BYTES} bytes")
    _write(spool.file(NOTEBOOK_FILE), json.dumps(info).encode("utf-8"))
    return True


def _shown(path: Path, workdir: Path) -> str:
    try:
        return path.resolve().relative_to(workdir.resolve()).as_posix()
    except ValueError:
        return str(path)


def _write(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def notebook_result(spool: Spool, ending: Ending) -> tuple[dict[str, TreeContent], dict[str, Any]]:
    try:
        info = json.loads(spool.file(NOTEBOOK_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}, {}
    if not isinstance(info, dict):
        return {}, {}
    files: dict[str, TreeContent] = {}
    folder = spool.file(NOTEBOOK_DIR)
    stored = []
    for name in (CELLS_FILE, info.get("copy")):
        if not isinstance(name, str) or "/" in name or name.startswith("."):
            continue
        try:
            files[f"{NOTEBOOK_DIR}/{name}"] = (folder / name).read_bytes()
        except OSError:
            continue
        stored.append(f"{NOTEBOOK_DIR}/{name}")
    table: dict[str, Any] = {key: info[key] for key in ("path", "saved", "found_by", "cells", "size", "hash",
                                                         "not_stored") if key in info}
    table["files"] = stored
    return files, {"notebook": table}
