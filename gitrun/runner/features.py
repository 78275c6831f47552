"""Importing this module registers every feature's record extension and result contributor."""

from __future__ import annotations

from gitrun.runner import (  # noqa: F401
    data,
    env_reads,
    expect,
    outputs,
    system,
    tracking,
)
