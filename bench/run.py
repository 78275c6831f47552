"""Run every benchmark in this folder (``bench_*.py``), each writing its section of docs/benchmarks.md.

``make bench`` runs this. Each benchmark is its own process, so one that fails (say, a baseline
tool that cannot be installed) is reported and the others still run. Extra arguments are passed
to every benchmark; ``--only NAME`` (repeatable) runs just ``bench_NAME.py``.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", action="append", default=[], metavar="NAME",
                        help="run only bench_NAME.py (repeatable)")
    args, passthrough = parser.parse_known_args(argv)
    scripts = sorted(HERE.glob("bench_*.py"))
    if args.only:
        scripts = [s for s in scripts if s.stem.removeprefix("bench_") in args.only]
    if not scripts:
        print("no benchmark to run", file=sys.stderr)
        return 2
    results: list[tuple[str, int, float]] = []
    for script in scripts:
        print(f"== {script.name}", file=sys.stderr, flush=True)
        start = time.monotonic()
        code = subprocess.run([sys.executable, str(script), *passthrough], cwd=HERE.parent, check=False).returncode
        results.append((script.name, code, time.monotonic() - start))
    print("\nbenchmark          exit  seconds", file=sys.stderr)
    for name, code, seconds in results:
        print(f"{name:<18} {code:>4}  {seconds:7.1f}", file=sys.stderr)
    return 0 if all(code == 0 for _, code, _ in results) else 1


if __name__ == "__main__":
    sys.exit(main())
