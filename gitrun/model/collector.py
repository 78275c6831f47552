"""Pausing the garbage collector around bulk work that builds many objects and no reference cycles.

Such work is the UI's load of 10,000 runs and the layout of their rows, and the parse of a large YAML
parameter file: hundreds of thousands of objects. The collector, run every 700 allocations,
rescans the growing heap again and again (at 10,000 runs: a third to two thirds of a keystroke's
CPU; a 1 MiB YAML file parsed 4x slower). It is paused around that work, and what a UI load leaves
behind (the run list, alive until the next load) is frozen out of later scans. Objects freed by
reference count are freed as before.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def collector_paused() -> Iterator[None]:
    """No collection inside the block (garbage without cycles is still freed at once)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def keep_out_of_collections() -> None:
    """Everything alive now lives long (the run list just shown): later collections skip it."""
    gc.freeze()
