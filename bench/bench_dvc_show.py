"""Listing experiments: ``git run list`` against ``dvc exp show`` on the same 300 experiments.

Target (issue 11): ``git run list`` at least 20x faster. Both repositories run the same training
script (it reads ``params.yaml``/``--lr`` and writes three metrics) 300 times with different
learning rates: the gitrun ones recorded with ``git run -- python train.py --lr X``, the DVC ones made
with ``dvc exp run -S lr=X`` (one at a time, in the workspace). Then, interleaved, warm:
``git run list`` (and ``list --columns id,params.lr,metrics.acc`` for the table ``dvc exp show``
prints) against ``dvc exp show --no-pager``.

Run: ``.venv/bin/python bench/bench_dvc_show.py [--experiments 300] [--rounds 5] [--cache DIR]``; where 300
DVC experiments take too long, ``--experiments 30,90`` measures at both counts and states the growth
(dvc is installed into ``bench/.venv`` on first use). Making the experiments is most of the time: with
``--cache DIR`` the two repositories are kept (an interrupted creation resumes), ``--create-only`` makes
them (e.g. in the background under ``nice -n 19``) and ``--measure-only`` measures what DIR holds.
"""

from __future__ import annotations

import argparse
import sys
import time
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


def record_up_to(count: int, done: int, ours: Path, theirs: Path, dvc: Path, python: str,
                 env: dict[str, str], progress: Path | None = None) -> int:
    """Experiments ``done`` .. ``count`` with each tool (the same learning rates); returns ``count``.

    One experiment at a time with each tool (``git run -- ...``, then ``dvc exp run -S lr=X`` in the
    workspace), and ``progress`` (when given) holds how many both have made, so that an interrupted
    creation resumes where it stopped.
    """
    print(f"recording experiments {done + 1}..{count} with each tool ...", file=sys.stderr, flush=True)
    for number, lr in enumerate(rates(count)[done:], start=done + 1):
        common.sh(["git-run", "-q", "--", python, "train.py", "--lr", str(lr)], ours, env)
        common.sh([str(dvc), "exp", "run", "-q", "-S", f"lr={lr}"], theirs, env)
        if progress is not None:
            progress.write_text(f"{number}\n")
        if number % 10 == 0:
            print(f"  {number} experiments, {time.strftime('%H:%M:%S')}", file=sys.stderr, flush=True)
    return count


def prepare_repos(work: Path, dvc: Path, python: str, env: dict[str, str]) -> tuple[Path, Path]:
    """The two repositories with the training script committed (no experiment yet)."""
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
    return ours, theirs


def measure(ours: Path, theirs: Path, dvc: Path, env: dict[str, str], rounds: int) -> dict[str, dict[str, float]]:
    """Median wall and CPU ms of each listing, warm, interleaved."""
    def run(cmd: list[str], cwd: Path) -> None:
        common.sh(cmd, cwd, env)

    cases = {
        "git run list": lambda: run(["git", "run", "list"], ours),
        "git run list --columns id,params.lr,metrics.acc,metrics.loss": lambda: run(
            ["git", "run", "list", "--columns", "id,params.lr,metrics.acc,metrics.loss"], ours),
        "dvc exp show": lambda: run([str(dvc), "exp", "show", "--no-pager"], theirs),
    }
    times = common.interleaved_timings(cases, runs=rounds, warmup=1)
    return {name: {"wall": common.median_ms(times.wall[name]), "cpu": common.median_ms(times.cpu[name])}
            for name in cases}


def report(sizes: list[int], figures: dict[int, dict[str, dict[str, float]]], counts: dict[int, tuple[int, int]],
           version: str, rounds: int, target: int, cache: Path | None = None) -> str:
    rows = []
    for size in sizes:
        dvc_show = figures[size]["dvc exp show"]
        for name, entry in figures[size].items():
            cell = "1x" if name == "dvc exp show" else (
                f"**{dvc_show['wall'] / entry['wall']:.1f}x** ({dvc_show['cpu'] / entry['cpu']:.1f}x by CPU)")
            rows.append([f"{size}", f"`{name}`", f"{entry['wall']:.0f} ms", f"{entry['cpu']:.0f} ms", cell])
    last = sizes[-1]
    ratio = figures[last]["dvc exp show"]["wall"] / figures[last]["git run list"]["wall"]
    lines = [
        "## Listing experiments: `git run list` vs `dvc exp show` (`bench/bench_dvc_show.py`)",
        f"Target (issue 11): at least 20x faster at {target} experiments. Result at {last}: **{ratio:.1f}x** "
        f"({'meets' if ratio >= 20 else 'below'} 20x). The same training script run with different learning "
        "rates in two repositories: `git run -- python train.py --lr X` and `dvc exp run -S lr=X` (one at "
        f"a time, in the workspace), {version}; warm, interleaved, median of {rounds}; wall time and the command's own "
        "CPU time (the machine is shared: CPU is the steadier figure).",
        common.table(["experiments", "command", "wall", "CPU", "dvc exp show / this"], rows),
        "Rows listed: " + ", ".join(f"{size} experiments: {ours} runs in `git run list`, {theirs} rows in "
                                    f"`dvc exp show --csv`" for size, (ours, theirs) in counts.items()) + ".",
    ]
    if len(sizes) > 1 and last < target:
        first = sizes[0]
        grow = {key: (figures[last][key]["cpu"] - figures[first][key]["cpu"]) / (last - first)
                for key in ("git run list", "dvc exp show")}
        at_target = {key: figures[last][key]["cpu"] + grow[key] * (target - last) for key in grow}
        lines.append(
            f"Growth from {first} to {last} experiments, CPU per experiment: `dvc exp show` "
            f"{grow['dvc exp show']:.1f} ms, `git run list` {grow['git run list']:.2f} ms. Extrapolated linearly "
            f"to {target} experiments: `dvc exp show` ~{at_target['dvc exp show'] / 1000:.1f} s CPU, `git run list` "
            f"~{at_target['git run list']:.0f} ms: **~{at_target['dvc exp show'] / at_target['git run list']:.0f}x** "
            f"by CPU (an extrapolation: {target} DVC experiments did not fit in the session on this machine).")
    sizes_arg = ",".join(str(size) for size in sizes)
    cached = f" --cache {cache}" if cache is not None else ""
    lines.append(f"{common.machine()}; {common.stamp()}; load average {common.load_average()}. Rerun: "
                 f"`.venv/bin/python bench/bench_dvc_show.py --experiments {sizes_arg} --rounds {rounds}{cached}` "
                 "(with `--cache DIR` the repositories are kept: a later run with the same sizes measures "
                 "without recreating them; `--create-only` makes them, `--measure-only` measures what "
                 "the cache holds).")
    return "\n\n".join(lines)


def counts_listed(ours: Path, theirs: Path, dvc: Path, env: dict[str, str]) -> tuple[int, int]:
    """Rows each tool lists: runs in ``git run list``, experiments (and baseline rows) in ``dvc exp show``."""
    shown = common.sh([str(dvc), "exp", "show", "--no-pager", "--csv"], theirs, env)
    listed = common.sh(["git-run", "list", "--csv", "--columns", "id"], ours, env)
    return len(listed.splitlines()) - 1, len(shown.strip().splitlines()) - 1


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--experiments", default="300",
                        help="experiments to measure at, cumulative: 300, or 30,90 to measure the growth")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--cache", type=Path, default=None,
                        help="keep the two repositories in this folder and reuse them: a creation that was "
                             "interrupted resumes, and a size already made is measured without recreating it")
    parser.add_argument("--create-only", action="store_true",
                        help="make the experiments (into --cache) and measure nothing")
    parser.add_argument("--measure-only", action="store_true",
                        help="measure the experiments --cache holds now, however many, and create none")
    args, _unknown = parser.parse_known_args()
    sizes = sorted(int(size) for size in args.experiments.split(","))
    if (args.create_only or args.measure_only) and args.cache is None:
        parser.error("--create-only and --measure-only need --cache DIR")
    dvc = ensure_dvc()
    work = args.cache.resolve() if args.cache is not None else common.temp_dir("dvc-show")
    work.mkdir(parents=True, exist_ok=True)
    progress = work / "experiments-made"
    env = common.isolated_env(work / "home", [common.VENV_BIN, dvc.parent])
    env.update(DVC_NO_ANALYTICS="1", DVC_UPDATER="0", DVC_NO_UPDATER="1")
    python = str(dvc.parent / "python")  # has yaml (a dvc dependency); gitrun records it like any python
    try:
        if (work / "gitrun-repo").exists() and progress.exists():
            ours, theirs = work / "gitrun-repo", work / "dvc-repo"
            done = int(progress.read_text())
        else:
            common.remove(work / "gitrun-repo")
            common.remove(work / "dvc-repo")
            ours, theirs = prepare_repos(work, dvc, python, env)
            done = 0
            progress.write_text("0\n")
        if args.measure_only:
            sizes = [done]
        figures: dict[int, dict[str, dict[str, float]]] = {}
        counts: dict[int, tuple[int, int]] = {}
        measured = []
        for size in sizes:
            if size < done:
                print(f"skipping {size}: the cache already holds {done} experiments", file=sys.stderr)
                continue
            if size > done:
                done = record_up_to(size, done, ours, theirs, dvc, python, env, progress)
            if args.create_only:
                continue
            counts[size] = counts_listed(ours, theirs, dvc, env)
            figures[size] = measure(ours, theirs, dvc, env, args.rounds)
            measured.append(size)
        if not measured:
            return
        body = report(measured, figures, counts, dvc_version(dvc, env), args.rounds, target=300,
                      cache=args.cache)
        print(body)
        common.write_section(KEY, body)
    finally:
        if args.cache is None:
            common.remove(work)


if __name__ == "__main__":
    main()
