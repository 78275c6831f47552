"""Importing MLflow runs: ``git run import mlflow`` against the MLflow client reading the same runs.

An MLflow SQLite store (MLflow 3's default backend) holds RUNS runs, each with 10 parameters and 4
metrics of 1,000 steps (4,000 points per run), written with ``log_batch``. Timed, interleaved,
each a fresh process:

* the baseline: a Python process reading every run's parameters and every metric's full history
  through ``MlflowClient`` (what any reader of the store, the import included, must do);
* ``git run import mlflow store.db`` into a fresh repository (every run stored with every point);
* the same import again (every run already imported: nothing written).

Run: ``.venv/bin/python bench/bench_interop.py [--runs 50] [--rounds 3]`` (needs ``make install-extras``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common

KEY = "interop"
MAKE_STORE = """
import sys
from mlflow.entities import Metric, Param
from mlflow.tracking import MlflowClient
client = MlflowClient(tracking_uri="sqlite:///" + sys.argv[1])
experiment = client.create_experiment("bench")
t0 = 1793523600000
for index in range(int(sys.argv[2])):
    run = client.create_run(experiment, start_time=t0 + index * 60000, run_name=f"run-{index}")
    params = [Param(f"param_{k}", str(0.001 * (k + 1) * (index + 1))) for k in range(10)]
    client.log_batch(run.info.run_id, params=params)
    for name in ("loss", "acc", "val/loss", "lr"):
        points = [Metric(name, 1.0 / (step + index + 1), t0 + index * 60000 + step * 10, step) for step in range(1000)]
        client.log_batch(run.info.run_id, metrics=points)
    client.set_terminated(run.info.run_id, "FINISHED", end_time=t0 + index * 60000 + 50000)
"""
READ_ALL = """
import sys
from mlflow.tracking import MlflowClient
client = MlflowClient(tracking_uri="sqlite:///" + sys.argv[1])
points = 0
for run in client.search_runs([e.experiment_id for e in client.search_experiments()], max_results=1000):
    dict(run.data.params)
    for key in run.data.metrics:
        points += len(client.get_metric_history(run.info.run_id, key))
print(points)
"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3)
    args, _unknown = parser.parse_known_args()
    work = common.temp_dir("interop")
    env = common.isolated_env(work / "home", [common.VENV_BIN])
    python = str(common.VENV_BIN / "python")
    try:
        store = work / "store.db"
        print(f"writing {args.runs} MLflow runs ...", file=sys.stderr, flush=True)
        common.sh([python, "-c", MAKE_STORE, str(store), str(args.runs)], work, env)
        fresh = [common.small_repo(work / f"repo-{index}", env) for index in range(args.rounds + 1)]
        imported_once = common.small_repo(work / "again", env)
        common.sh(["git-run", "import", "mlflow", str(store)], imported_once, env)
        points = int(common.sh([python, "-c", READ_ALL, str(store)], work, env).strip())

        cases = {
            "MlflowClient: read every run and point": lambda: common.sh(
                [python, "-c", READ_ALL, str(store)], work, env),
            "git run import mlflow (new repository)": lambda: common.sh(
                ["git-run", "import", "mlflow", str(store), "-q"], fresh.pop(), env),
            "git run import mlflow (again: all imported)": lambda: common.sh(
                ["git-run", "import", "mlflow", str(store), "-q"], imported_once, env),
        }
        times = common.interleaved_timings(cases, runs=args.rounds, warmup=1)
        wall = {name: common.median_ms(values) for name, values in times.wall.items()}
        cpu = {name: common.median_ms(values) for name, values in times.cpu.items()}
        base = "MlflowClient: read every run and point"
        rows = [[f"`{name}`" if name.startswith("git") else name, f"{wall[name] / 1000:.1f} s",
                 f"{cpu[name] / 1000:.1f} s", f"{wall[name] / wall[base]:.2f}x", f"{cpu[name] / cpu[base]:.2f}x"]
                for name in cases]
        body = "\n\n".join([
            "## Importing MLflow runs (`bench/bench_interop.py`)",
            f"An MLflow SQLite store with {args.runs} runs, each 10 parameters and 4 metrics of 1,000 steps "
            f"({points} points in all). Each case is a fresh process (the import includes starting Python and "
            f"importing mlflow, as a user's command does); warm, interleaved, median of {args.rounds}. "
            "Reading the store through the mlflow client is most of an import; a second import reads no "
            "metric history of the runs it already has. CPU time is the steadier figure on a loaded machine.",
            common.table(["command", "wall", "CPU", "wall / MLflow's read", "CPU / MLflow's read"], rows),
            f"{common.machine()}; {common.stamp()}. Rerun: `.venv/bin/python bench/bench_interop.py "
            f"--runs {args.runs} --rounds {args.rounds}`.",
        ])
        print(body)
        common.write_section(KEY, body)
    finally:
        common.remove(work)


if __name__ == "__main__":
    main()
