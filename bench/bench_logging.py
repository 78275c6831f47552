"""Metric logging throughput: ``gitrun.log`` against MLflow's ``log_metric`` to a local file store.

Both run side by side in one invocation, interleaved round by round, each in its own fresh
process: gitrun from the project's venv (logging into a spool, as inside ``git run``; the time
includes writing every point to the spool file), MLflow from ``bench/.venv`` (created here with
``mlflow-skinny`` when missing), ``mlflow.log_metric`` to a ``file:`` tracking URI. Also measured:
storing a million spooled points as the run's series (the result contributor).

Targets (issue #3): at least 500,000 scalar points per second, and 100x MLflow's ``log_metric``.

    .venv/bin/python bench/bench_logging.py [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import BENCH_VENV, ROOT, machine, remove, stamp, table, write_section

GITRUN_POINTS = 1_000_000
MLFLOW_POINTS = 1_500

GITRUN_CODE = """
import json, os, sys, time
import gitrun
per_call = int(sys.argv[1]); calls = int(sys.argv[2])
names = ["loss", "acc", "lr", "grad_norm"][:per_call]
values = dict.fromkeys(names, 0.25)
log = gitrun.log
gitrun.log(step=0, warmup=1.0)
gitrun.flush()
wall = time.perf_counter(); cpu = time.process_time()
if per_call == 1:
    for i in range(calls):
        log(step=i, loss=0.25)
else:
    for i in range(calls):
        log(step=i, **values)
gitrun.flush()
print(json.dumps({"wall": time.perf_counter() - wall, "cpu": time.process_time() - cpu,
                  "points": calls * per_call}))
"""

MLFLOW_CODE = """
import json, sys, time, warnings
warnings.filterwarnings("ignore")
import mlflow
mlflow.set_tracking_uri(sys.argv[1])
points = int(sys.argv[2])
with mlflow.start_run():
    mlflow.log_metric("warmup", 1.0, step=0)
    wall = time.perf_counter(); cpu = time.process_time()
    for i in range(points):
        mlflow.log_metric("loss", 0.25, step=i)
    elapsed = time.perf_counter() - wall; used = time.process_time() - cpu
print(json.dumps({"wall": elapsed, "cpu": used, "points": points}))
"""

STORE_CODE = """
import json, sys, time
from pathlib import Path
from gitrun.runner.finalise import Ending
from gitrun.runner.tracking import tracking_result
from gitrun.store.spool import Spool
start = time.perf_counter()
files, updates = tracking_result(Spool(Path(sys.argv[1])), Ending(status="succeeded", exit_code=0))
print(json.dumps({"wall": time.perf_counter() - start, "series": len(files)}))
"""


def ensure_mlflow() -> Path:
    python = BENCH_VENV / "bin" / "python"
    check = subprocess.run([str(python), "-c", "import mlflow"], capture_output=True) if python.exists() else None
    if check is None or check.returncode != 0:
        print("installing mlflow-skinny into bench/.venv ...", file=sys.stderr, flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(BENCH_VENV)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", "mlflow-skinny"], check=True)
    return python


def run_json(argv: list[str], env: dict[str, str] | None = None) -> dict[str, float]:
    proc = subprocess.run(argv, capture_output=True, text=True, env=env, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"{argv[:3]} failed:\n{proc.stderr}")
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


def gitrun_round(per_call: int, spool: Path) -> dict[str, float]:
    remove(spool)
    spool.mkdir(parents=True)
    env = {**os.environ, "GITRUN_SPOOL": str(spool), "GITRUN_RUN_ID": "bench"}
    env.pop("PYTHONPATH", None)
    return run_json([sys.executable, "-c", GITRUN_CODE, str(per_call), str(GITRUN_POINTS // per_call)], env)


def mlflow_round(python: Path, store: Path) -> dict[str, float]:
    remove(store)
    env = {**os.environ, "MLFLOW_ALLOW_FILE_STORE": "true"}
    return run_json([str(python), "-c", MLFLOW_CODE, f"file://{store}", str(MLFLOW_POINTS)], env)


def rate(result: dict[str, float], key: str = "wall") -> float:
    return result["points"] / result[key]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args, _ = parser.parse_known_args()  # bench/run.py passes every benchmark the same arguments
    python = ensure_mlflow()
    mlflow_version = subprocess.run([str(python), "-c", "import mlflow; print(mlflow.__version__)"],
                                    capture_output=True, text=True).stdout.strip()
    work = Path(tempfile.mkdtemp(prefix="gitrun-bench-logging-"))
    results: dict[str, list[dict[str, float]]] = {"gitrun1": [], "gitrun4": [], "mlflow": []}
    try:
        for round_ in range(args.rounds):
            results["gitrun1"].append(gitrun_round(1, work / "spool1"))
            results["mlflow"].append(mlflow_round(python, work / "mlruns"))
            results["gitrun4"].append(gitrun_round(4, work / "spool4"))
            print(f"  round {round_ + 1}/{args.rounds}: "
                  + ", ".join(f"{key} {rate(items[-1]):,.0f} points/s" for key, items in results.items()),
                  file=sys.stderr, flush=True)
        stored = run_json([sys.executable, "-c", STORE_CODE, str(work / "spool4")])
    finally:
        remove(work)

    def median(key: str, what: str = "wall") -> float:
        return statistics.median(rate(item, what) for item in results[key])

    ml = median("mlflow")
    rows = [
        ["`gitrun.log(step=i, loss=x)` (1 value per call)", f"{median('gitrun1'):,.0f}",
         f"{median('gitrun1', 'cpu'):,.0f}", f"{median('gitrun1') / ml:,.0f}x"],
        ["`gitrun.log(step=i, **4 values)`", f"{median('gitrun4'):,.0f}", f"{median('gitrun4', 'cpu'):,.0f}",
         f"{median('gitrun4') / ml:,.0f}x"],
        [f"MLflow {mlflow_version} `log_metric` (file store)", f"{ml:,.0f}", f"{median('mlflow', 'cpu'):,.0f}",
         "1x"],
    ]
    body = f"""## Metric logging (`bench/bench_logging.py`)

{GITRUN_POINTS:,} scalar points through `gitrun.log` (buffered, appended to the run's spool; the time
includes writing them all) against {MLFLOW_POINTS:,} through MLflow's `log_metric` to a local `file:`
store, each in a fresh process, interleaved, median of {args.rounds} rounds. Targets: 500,000 points/s
and 100x MLflow.

{table(["logger", "points/s (wall)", "points/s (CPU time)", "vs MLflow"], rows)}

Storing the {GITRUN_POINTS:,} spooled points of the 4-value run as the run's series (TSV per
metric, summaries; what happens when the run ends): {stored['wall']:.2f} s.

{machine()}; {stamp()}.
"""
    write_section("logging", body)
    print(body)


if __name__ == "__main__":
    os.chdir(ROOT)
    main()
