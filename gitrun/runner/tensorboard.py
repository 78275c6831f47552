"""TensorBoard scalars of a recording: the result contributor that turns the event files the run
wrote (``events.out.tfevents.*`` among its outputs) into gitrun metrics, with no code change.

Each scalar tag becomes the series ``tb/<tag>`` (``tb/<folder>/<tag>`` when the run wrote event
files in several folders), so ``Loss/train`` and ``Loss/test`` stay apart and a quantity that the
console parser also found keeps both names (``loss`` from the console, ``tb/Loss/train`` from
TensorBoard). The note gets them in ``[metrics]`` and ``[summary]`` like every series, and
``[tensorboard]``: the event files read, the reader used, and whether the point cap cut them.
"""

from __future__ import annotations

import os
from typing import Any

from gitrun.capture.tensorboard import is_event_file, package_available, scalar_series
from gitrun.model.series import last_values, series_path, series_tsv, summarise
from gitrun.runner.ending import Ending
from gitrun.runner.outputs import found_outputs
from gitrun.store.spool import Spool
from gitrun.store.trees import TreeContent

MAX_POINTS = 2_000_000


def tensorboard_result(spool: Spool, ending: Ending) -> tuple[dict[str, TreeContent], dict[str, Any]]:
    root, paths = found_outputs(spool)
    event_files = [path for path in paths if is_event_file(str(path))]
    if not event_files:
        return {}, {}
    choice = os.environ.get("GITRUN_TB_READER", "")  # "gitrun" or "tensorboard"; else the package if installed
    use_package = choice == "tensorboard" or (choice != "gitrun" and package_available())
    series, truncated = scalar_series(event_files, use_package=use_package, max_points=MAX_POINTS)
    shown = []
    for path in sorted(event_files):
        try:
            shown.append(path.relative_to(root).as_posix() if root is not None else str(path))
        except ValueError:
            shown.append(os.fspath(path))
    info: dict[str, Any] = {"files": shown, "reader": "tensorboard" if use_package else "gitrun",
                            "scalars": sum(len(points) for points in series.values())}
    if truncated:
        info["truncated"] = f"only the first {MAX_POINTS} scalars were read"
    updates: dict[str, Any] = {"tensorboard": info}
    if series:
        updates["metrics"] = last_values(series)
        updates["summary"] = {name: summarise(points) for name, points in series.items() if points}
    files: dict[str, TreeContent] = {series_path(name): series_tsv(points) for name, points in series.items()}
    return files, updates
