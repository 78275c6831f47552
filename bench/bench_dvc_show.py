"""Listing experiments: ``git run list`` against ``dvc exp show`` on the same 300 experiments.

Target (issue 11): ``git run list`` at least 20x faster. Both repositories run the same training
script (it reads ``params.yaml``/``--lr`` and writes three metrics) 300 times with different
learning rates: the gitrun ones recorded with ``git run -- python train.py --lr X``, the DVC ones made
with ``dvc exp run -S lr=X`` (queued, then ``dvc exp run --run-all``). Then, interleaved, warm:
``git run list`` (and ``list --columns id,params.lr,metrics.acc`` for the table ``dvc exp show``
prints) against ``dvc exp show --no-pager``.

Run: ``.venv/bin/python bench/bench_dvc_show.py [--experiments 300] [--rounds 5]``
(dvc is installed into ``bench/.venv`` on first use).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common
from bench_record import dvc_version, ensure_dvc

KEY = "dvc-show"
TRAIN = """import json
import sys

import yaml

params = yaml.safe_load(open("params.yaml"))
lr = float(sys.argv[sys.argv.index("--lr") + 1]) if "--lr" in sys.argv else float(params["lr"])
loss = 1.0
for step in range(100):
    loss *= 1 - lr
json.dump({"loss": loss, "acc": 1 - loss, "val_loss": loss * 1.1}, open("metrics.json", "w"))
print(f"loss: {loss:.4f}")
"""
DVC_YAML = """stages:
  train:
    cmd: python train.py
    deps: [train.py]
    params: [lr]
    metrics: [{metrics.json: {cache: false}}]
"""


def rates(count: int) -> list[float]:
    return [round(0.0001 + index * 0.00003, 6) for index in range(count)]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--experiments", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=5)
    args, _unknown = parser.parse_known_args()
    dvc = ensure_dvc()
    work = common.temp_dir("dvc-show")
    env = common.isolated_env(work / "home", [common.VENV_BIN, dvc.parent])
    env.update(DVC_NO_ANALYTICS="1", DVC_UPDATER="0", DVC_NO_UPDATER="1")
    python = str(dvc.parent / "python")  # has yaml (a dvc dependency); gitrun records it like any python
    try:
        ours = common.small_repo(work / "gitrun-repo", env)
        theirs = common.small_repo(work / "dvc-repo", env)
        for repo in (ours, theirs):
            (repo / "train.py").write_text(TRAIN)
            (repo / "params.yaml").write_text("lr: 0.001\n")
            (repo / ".gitignore").write_text("metrics.json\n")
        common.sh([str(dvc), "init", "-q"], theirs, env)
        common.sh([str(dvc), "config", "core.analytics", "false"], theirs, env)
        (theirs / "dvc.yaml").write_text(DVC_YAML.replace("python", python))
        (theirs / ".gitignore").write_text("")
        for repo in (ours, theirs):
            common.sh(["git", "add", "-A"], repo, env)
            common.sh(["git", "commit", "-q", "-m", "training script"], repo, env)
        print(f"recording {args.experiments} experiments with each tool ...", file=sys.stderr, flush=True)
        for lr in rates(args.experiments):
            common.sh(["git-run", "-q", "--", python, "train.py", "--lr", str(lr)], ours, env)
            common.sh([str(dvc), "exp", "run", "--queue", "-S", f"lr={lr}"], theirs, env)
        common.sh([str(dvc), "exp", "run", "--run-all"], theirs, env)
        shown = common.sh([str(dvc), "exp", "show", "--no-pager", "--csv"], theirs, env)
        dvc_count = len(shown.strip().splitlines()) - 2  # header and the workspace row ... plus the baseline row
        gitrun_count = len(common.sh(["git-run", "list", "--csv", "--columns", "id"], ours, env).splitlines()) - 1

        def run(cmd: list[str], cwd: Path) -> None:
            common.sh(cmd, cwd, env)

        cases = {
            "git run list": lambda: run(["git", "run", "list"], ours),
            "git run list --columns id,params.lr,metrics.acc,metrics.loss": lambda: run(
                ["git", "run", "list", "--columns", "id,params.lr,metrics.acc,metrics.loss"], ours),
            "dvc exp show": lambda: run([str(dvc), "exp", "show", "--no-pager"], theirs),
        }
        times = common.interleaved_timings(cases, runs=args.rounds, warmup=1)
        wall = {name: common.median_ms(values) for name, values in times.wall.items()}
        cpu = {name: common.median_ms(values) for name, values in times.cpu.items()}
        rows = [[f"`{name}`", f"{wall[name]:.0f} ms", f"{cpu[name]:.0f} ms",
                 f"**{wall['dvc exp show'] / wall[name]:.1f}x**" if name != "dvc exp show" else "1x"]
                for name in cases]
        ratio = wall["dvc exp show"] / wall["git run list"]
        body = "\n\n".join([
            "## Listing experiments: `git run list` vs `dvc exp show` (`bench/bench_dvc_show.py`)",
            f"Target (issue 11): at least 20x faster. Result: **{ratio:.1f}x** "
            f"({'meets' if ratio >= 20 else 'MISSES'} the target). The same training script run "
            f"{args.experiments} times with different learning rates in two repositories: "
            f"`git run -- python train.py --lr X` ({gitrun_count} runs listed) and `dvc exp run -S lr=X` "
            f"(queued, then `--run-all`; {dvc_count} rows in `dvc exp show --csv`), {dvc_version(dvc, env)}; "
            f"warm, interleaved, median of {args.rounds}.",
            common.table(["command", "wall", "CPU", "dvc exp show / this"], rows),
            f"{common.machine()}; {common.stamp()}. Rerun: `.venv/bin/python bench/bench_dvc_show.py "
            f"--experiments {args.experiments} --rounds {args.rounds}`.",
        ])
        print(body)
        common.write_section(KEY, body)
    finally:
        common.remove(work)


if __name__ == "__main__":
    main()
