"""What a recording was asked to do: parsed options, with no heavy imports.

Kept apart from ``gitrun.commands.record`` so that the command line can build it before deciding
how to import pygit2 (``gitrun.cli.fastpath``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# The feature options of a recording and their values when not given (``RecordOptions.extra``);
# the click application declares the same options with these defaults (a test keeps them equal).
FEATURE_DEFAULTS: dict[str, Any] = {
    "params_files": (),
    "metrics_files": (),
    "outputs_paths": (),
    "no_autolog": False,
    "no_console_metrics": False,
    "sample_interval": None,
    "data_specs": (),
    "expect": None,
}


@dataclass
class RecordOptions:
    command: list[str]
    message: str = ""
    name: str | None = None
    tags: list[str] = field(default_factory=list)
    quiet: bool = False
    extra: dict[str, Any] = field(default_factory=dict)  # metadata from options of later features
