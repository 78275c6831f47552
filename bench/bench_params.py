"""Parsing a 1 MiB YAML parameter file (plain, not a bomb): gitrun's bounded loader against PyYAML's.

gitrun reads parameter and config files through ``capture.params.parse_param_text``: LibYAML's
composer, the garbage collector paused during the parse (it rescanned the growing node graph again
and again: quadratic), scalar tags cached, a 5 s limit, alias bombs and deep nesting refused.
The baselines are ``yaml.load(..., CSafeLoader)`` (what gitrun did before) and ``yaml.safe_load``
(pure Python). CPU time of the parsing process, medians of interleaved rounds.

Run: ``.venv/bin/python bench/bench_params.py [--rounds 5]``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common

sys.path.insert(0, str(common.ROOT))
from gitrun.capture.params import parse_param_text
from tests.test_bounded_input import plain_yaml

KEY = "params"


def cpu(action: Callable[[], object]) -> float:
    started = time.process_time()
    action()
    return time.process_time() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--no-write", action="store_true", help="print the section, don't update the doc")
    args, _ = parser.parse_known_args()
    text = plain_yaml(1 << 20)
    cases: dict[str, Callable[[], object]] = {
        "gitrun `parse_param_text`": lambda: parse_param_text(text, ".yaml"),
        "`yaml.load(Loader=CSafeLoader)` (gitrun before)": lambda: yaml.load(text, Loader=yaml.CSafeLoader),
        "`yaml.safe_load` (pure Python)": lambda: yaml.safe_load(text),
    }
    samples: dict[str, list[float]] = {name: [] for name in cases}
    load = Path("/proc/loadavg").read_text().split()[0]
    for _ in range(args.rounds):
        for name, action in cases.items():
            samples[name].append(cpu(action))
    ours = statistics.median(samples["gitrun `parse_param_text`"])
    rows = [[name, f"{statistics.median(values):.2f} s", f"{statistics.median(values) / ours:.1f}x"]
            for name, values in samples.items()]
    body = f"""## Parsing a 1 MiB YAML parameter file (`bench/bench_params.py`)

Issue 9: every file gitrun parses is bounded by size (1 MiB), depth (64), expanded size (no alias
bomb) and time (5 s, checked in LibYAML's composer and in the constructor). A plain 1 MiB YAML file
({len(text):,} bytes of flow mappings) is parsed with the garbage collector paused, which rescanned
the growing node graph again and again (quadratic). CPU time, medians of {args.rounds} interleaved
rounds; load average {load} at the start on 2 cores.

{common.table(["parser", "median CPU", "ratio to gitrun"], rows)}

Measured {common.stamp()} on {common.machine()}.
Rerun: `.venv/bin/python bench/bench_params.py`.
"""
    if not args.no_write:
        common.write_section(KEY, body)
    print(body)


if __name__ == "__main__":
    main()
