"""How a run ended, and the shapes of the features that turn a spool into the stored result.

Kept apart from ``finalise`` so that the features (``gitrun.runner.features``) and the finaliser
both import these types without importing each other.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from gitrun.model.timefmt import utc_now
from gitrun.store.spool import Spool
from gitrun.store.trees import TreeContent

# Features (metrics, system samples, outputs, data) contribute files and metadata to the result:
# each takes the spool and returns (tree files, metadata updates). The registry is the explicit
# tuple ``gitrun.runner.features.CONTRIBUTORS``.
ResultContributor = Callable[[Spool, "Ending"], tuple[dict[str, TreeContent], dict[str, Any]]]
# Called last on the final metadata (after every contributor's update), e.g. to check --expect
# (``gitrun.runner.features.DOC_FINALISERS``).
DocFinaliser = Callable[[dict[str, Any]], None]


@dataclass
class Ending:
    status: str
    exit_code: int | None
    signal: str | None = None
    ended: datetime = field(default_factory=utc_now)
    error: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)  # metadata the caller already knows
