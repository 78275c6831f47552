"""The UI's settings for one repository (chosen columns, theme, grouping, pinned runs), kept in
``.git/gitrun/ui.json``.

Like every file under ``.git/gitrun`` it is a local cache of preferences: deleting it restores the
defaults; a damaged file is ignored rather than fatal.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

FILE_NAME = "ui.json"
MAX_PINNED = 10  # one palette's worth of colours


@dataclass
class Prefs:
    extra_columns: list[str] = field(default_factory=list)  # parameter and metric columns
    theme: str = "textual-dark"
    grouping: str = "none"
    all_branches: bool = False
    pinned: list[str] = field(default_factory=list)  # run ids: on top of the table, overlaid on every chart

    def toggle_pins(self, run_ids: list[str]) -> bool:
        """Pin these runs, or unpin them when all are pinned already; True when they are now pinned."""
        if run_ids and all(run_id in self.pinned for run_id in run_ids):
            self.pinned = [run_id for run_id in self.pinned if run_id not in run_ids]
            return False
        self.pinned += [run_id for run_id in run_ids if run_id not in self.pinned]
        del self.pinned[:-MAX_PINNED]  # the oldest pins go first
        return True


def load_prefs(state_dir: Path) -> Prefs:
    try:
        raw = json.loads((state_dir / FILE_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return Prefs()
    if not isinstance(raw, dict):
        return Prefs()
    prefs = Prefs()
    columns = raw.get("extra_columns")
    if isinstance(columns, list):
        prefs.extra_columns = [str(item) for item in columns if isinstance(item, str)][:50]
    for name in ("theme", "grouping"):
        if isinstance(raw.get(name), str):
            setattr(prefs, name, raw[name])
    prefs.all_branches = raw.get("all_branches") is True
    pinned = raw.get("pinned")
    if isinstance(pinned, list):
        prefs.pinned = [item for item in pinned if isinstance(item, str) and item.isalnum()][-MAX_PINNED:]
    return prefs


def save_prefs(state_dir: Path, prefs: Prefs) -> None:
    """Written atomically (temporary file and rename): two UIs saving at once never leave half a file."""
    state_dir.mkdir(parents=True, exist_ok=True)
    tmp = state_dir / f"{FILE_NAME}.{os.getpid()}.tmp"
    tmp.write_text(json.dumps(asdict(prefs), indent=1), encoding="utf-8")
    os.replace(tmp, state_dir / FILE_NAME)
