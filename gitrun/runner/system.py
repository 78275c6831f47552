"""System monitoring of a recording: starts the sampler with the child, stops it at the end.

The interval is ``--sample-interval`` or ``sample_interval`` in ``[tool.gitrun]`` (seconds,
default 5; ``0`` in the settings turns monitoring off). The note's ``[system]`` table says how it
was sampled: ``interval_s``, ``samples``, ``sampler_cpu_s`` (the sampler's own CPU time) and
``gpus`` (how many NVIDIA GPUs were sampled).
"""

from __future__ import annotations

import json
from typing import Any

from gitrun.runner.ending import Ending
from gitrun.runner.extensions import RecordExtension, Recording
from gitrun.runner.sampler import DEFAULT_INTERVAL, Sampler
from gitrun.store.jsonl import METRICS_FILE
from gitrun.store.spool import Spool
from gitrun.store.trees import TreeContent

SYSTEM_FILE = "system.json"


def sample_interval(rec: Recording) -> float:
    value = rec.options.get("sample_interval")
    if value is None:
        value = rec.settings.raw.get("sample_interval", DEFAULT_INTERVAL)
    try:
        return float(value)
    except (TypeError, ValueError):
        return DEFAULT_INTERVAL


class SystemExtension(RecordExtension):
    def __init__(self, rec: Recording) -> None:
        super().__init__(rec)
        self.sampler: Sampler | None = None

    def on_started(self, pid: int) -> None:
        interval = sample_interval(self.rec)
        if interval <= 0:
            return
        self.sampler = Sampler(pid, self.rec.spool.file(METRICS_FILE), interval)
        self.sampler.start()

    def stop(self) -> None:
        sampler = self.sampler
        if sampler is None:
            return
        sampler.stop()
        gpus = sampler._gpus.handles if sampler._gpus is not None else []
        info = {"interval_s": sampler.interval, "samples": sampler.step,
                "sampler_cpu_s": round(sampler.cpu_seconds, 4), "gpus": len(gpus)}
        self.rec.spool.file(SYSTEM_FILE).write_text(json.dumps(info), encoding="utf-8")


def system_result(spool: Spool, ending: Ending) -> tuple[dict[str, TreeContent], dict[str, Any]]:
    try:
        info = json.loads(spool.file(SYSTEM_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}, {}
    return {}, {"system": info} if isinstance(info, dict) else {}
