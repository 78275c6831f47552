"""The Python startup hook: ``gitrun/capture/startup`` prepended to the child's PYTHONPATH.

Every Python interpreter the command starts (directly, through a shell script, or as a worker)
then loads gitrun's ``sitecustomize``, which chains to any existing one and loads the
``_gitrun_*.py`` modules beside it. ``--no-autolog`` leaves PYTHONPATH alone.
"""

from __future__ import annotations

import os
from pathlib import Path

import gitrun.capture

STARTUP_DIR = Path(gitrun.capture.__file__).resolve().parent / "startup"


def add_startup_hook(env: dict[str, str]) -> None:
    """Prepend the hook's folder to ``env["PYTHONPATH"]`` (once)."""
    current = env.get("PYTHONPATH", "")
    parts = [part for part in current.split(os.pathsep) if part]
    if str(STARTUP_DIR) in parts:
        return
    env["PYTHONPATH"] = os.pathsep.join([str(STARTUP_DIR), *parts])
