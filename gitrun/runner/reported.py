"""Values the script reports about the run as a whole: the result contributor of ``reported.json``.

``gitrun.api.Run.report`` (used by the drop-in APIs: W&B's ``run.summary``, MLflow's ``set_tag``)
rewrites the spool's ``reported.json`` at every call, so a crashed run keeps what was reported.
The note gets ``[final]`` (the run's final values as the script set them; numbers are also put
in ``[metrics]``, over the last logged value of a series of the same name, as W&B's summary
is what its runs table shows) and ``[labels]`` (key-value labels: MLflow tags, W&B project/group).
"""

from __future__ import annotations

import json
import math
from typing import Any

from gitrun.runner.ending import Ending
from gitrun.store.spool import Spool
from gitrun.store.trees import TreeContent

REPORTED_FILE = "reported.json"  # {"final": {...}, "labels": {...}}, written by gitrun.api


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def reported_result(spool: Spool, ending: Ending) -> tuple[dict[str, TreeContent], dict[str, Any]]:
    try:
        reported = json.loads(spool.file(REPORTED_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}, {}
    if not isinstance(reported, dict):
        return {}, {}
    updates: dict[str, Any] = {}
    final = reported.get("final")
    if isinstance(final, dict) and final:
        updates["final"] = final
        numbers = {str(key): value for key, value in final.items() if _is_number(value)}
        if numbers:
            updates["metrics"] = numbers
    labels = reported.get("labels")
    if isinstance(labels, dict) and labels:
        updates["labels"] = {str(key): value for key, value in labels.items()}
    return {}, updates
