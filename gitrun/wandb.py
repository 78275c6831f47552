"""``import gitrun.wandb as wandb``: the common W&B calls, recording gitrun runs.

The implementation is ``gitrun.integrations.wandb`` (see its docstring and docs/integrations.md);
this module forwards every name to it, so ``wandb.run``, ``wandb.config`` and ``wandb.summary``
follow the active run as in W&B.
"""

from __future__ import annotations

from typing import Any

from gitrun.integrations import wandb as _implementation
from gitrun.integrations.wandb import (
    Artifact,
    Config,
    Run,
    Settings,
    Summary,
    alert,
    define_metric,
    finish,
    init,
    log,
    log_artifact,
    login,
    save,
    unwatch,
    use_artifact,
    watch,
)

__all__ = ["Artifact", "Config", "Run", "Settings", "Summary", "alert", "define_metric", "finish", "init", "log",
           "log_artifact", "login", "save", "unwatch", "use_artifact", "watch"]


def __getattr__(name: str) -> Any:
    """``run``, ``config``, ``summary`` (they change at ``init``/``finish``), media classes, ``plot``."""
    return getattr(_implementation, name)
