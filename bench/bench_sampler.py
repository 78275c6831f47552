"""CPU cost of the system sampler (``gitrun/runner/sampler.py``).

The sampler watches a process tree like a training job's (a Python parent with four worker
processes, some threads each) for a while at a given interval; its thread measures its own CPU
time (``time.thread_time``), which is the cost. Target (issue #3): under 1% of one core at the
default interval (5 s). Intervals of 1 s and 0.2 s are measured too, to show the cost per sample.

    .venv/bin/python bench/bench_sampler.py [--seconds 30]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import ROOT, machine, remove, stamp, table, write_section

from gitrun.runner.sampler import DEFAULT_INTERVAL, Sampler

TREE = """
import multiprocessing as mp, threading, time
def worker():
    for _ in range(3):
        threading.Thread(target=time.sleep, args=(600,), daemon=True).start()
    time.sleep(600)
if __name__ == "__main__":
    procs = [mp.Process(target=worker) for _ in range(4)]
    for p in procs:
        p.start()
    time.sleep(600)
"""


def measure(interval: float, seconds: float, work: Path) -> dict[str, float]:
    tree = subprocess.Popen([sys.executable, "-c", TREE], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(1.0)  # let the workers start
        path = work / f"metrics-{interval}.jsonl"
        sampler = Sampler(tree.pid, path, interval=interval)
        started = time.monotonic()
        sampler.start()
        time.sleep(seconds)
        sampler.stop()
        wall = time.monotonic() - started
        names = {json.loads(line)["name"] for line in path.read_text().splitlines()}
    finally:
        import psutil

        with contextlib.suppress(psutil.Error):
            for child in psutil.Process(tree.pid).children(recursive=True):
                child.kill()
        tree.kill()
        tree.wait()
    return {"interval": interval, "wall": wall, "cpu": sampler.cpu_seconds, "samples": sampler.step,
            "series": len(names)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0, help="time per interval measured")
    args, _ = parser.parse_known_args()  # bench/run.py passes every benchmark the same arguments
    work = Path(tempfile.mkdtemp(prefix="gitrun-bench-sampler-"))
    results = []
    try:
        for interval, seconds in ((DEFAULT_INTERVAL, args.seconds), (1.0, args.seconds / 2),
                                  (0.2, args.seconds / 3)):
            result = measure(interval, seconds, work)
            results.append(result)
            print(f"  interval {interval} s: {100 * result['cpu'] / result['wall']:.3f}% of a core, "
                  f"{result['samples']} samples", file=sys.stderr, flush=True)
    finally:
        remove(work)
    rows = [[f"{r['interval']:g} s" + (" (default)" if r["interval"] == DEFAULT_INTERVAL else ""),
             f"{r['wall']:.0f} s", f"{r['samples']:.0f}", f"{1000 * r['cpu'] / max(r['samples'], 1):.2f} ms",
             f"{100 * r['cpu'] / r['wall']:.3f}%"] for r in results]
    gpu = "no NVIDIA GPU on this machine, so no GPU series were sampled"
    if any(r["series"] > 7 for r in results):
        gpu = "GPU series sampled through pynvml"
    body = f"""## System sampler cost (`bench/bench_sampler.py`)

The sampler thread watching a training-like process tree (a parent and 4 worker processes with
3 threads each): CPU %, RSS, threads and I/O bytes of the tree, and system memory; {gpu}.
Cost = the sampler thread's own CPU time over the wall time. Target: under 1% of one core at the
default interval.

{table(["interval", "measured for", "samples", "CPU per sample", "share of one core"], rows)}

{machine()}; {stamp()}.
"""
    write_section("sampler", body)
    print(body)


if __name__ == "__main__":
    main()
    _ = ROOT
