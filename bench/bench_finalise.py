"""Finalising long runs: series built from the spool by streaming, against the in-memory build.

A crashed run whose spool holds N metric points (10 metrics, N/10 steps each, as ``gitrun.log``
spools them) is finalised by the next gitrun command (``open_context`` recovers orphans): its wall
time and the process's peak memory (ru_maxrss, the whole interpreter included) are measured. The
baseline is the previous algorithm on the same spool file: read it whole, build every series in
memory (``model.series.build_series``), format each TSV and write its blob. Targets (issue 11):
1 million points finalised in under 2 s, peak memory under 100 MiB whatever N (10 million here).

Run: ``.venv/bin/python bench/bench_finalise.py [--points 1000000,10000000] [--rounds 3]``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common

KEY = "finalise"
PYTHON = str(common.VENV_BIN / "python")

MAKE_CRASHED = """
import subprocess
from gitrun.commands.context import open_context
from gitrun.runner.options import RecordOptions
from gitrun.runner.recorder import start_recording
ctx = open_context()
active = start_recording(ctx.store, ctx.settings, ctx.cwd, RecordOptions(command=["python", "train.py"], quiet=True))
active.stop()
gone = subprocess.Popen(["true"]); gone.wait()
active.spool.write_live({**active.spool.read_live(), "pid": gone.pid})  # its gitrun "died"
print(active.spool.path)
"""

RECOVER = """
import json, resource, time
from gitrun.commands.context import open_context
start, cpu = time.perf_counter(), time.process_time()
open_context()  # finalises the crashed run
wall, cpu = time.perf_counter() - start, time.process_time() - cpu
print(json.dumps({"wall": wall, "cpu": cpu, "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

BASELINE = """
import json, resource, sys, time
import pygit2
from gitrun.model.series import build_series, series_tsv
repo = pygit2.Repository(sys.argv[2])
start, cpu = time.perf_counter(), time.process_time()
data = open(sys.argv[1], "rb").read()
text = data[:data.rfind(b"\\n")].decode("utf-8", "replace")
points = json.loads("[" + text.replace("\\n", ",") + "]")
for name, series in build_series(points).items():
    repo.create_blob(series_tsv(series))
wall, cpu = time.perf_counter() - start, time.process_time() - cpu
print(json.dumps({"wall": wall, "cpu": cpu, "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


SYSTEM_SERIES = ("cpu_percent", "rss_bytes", "threads", "read_bytes", "write_bytes", "memory_used_bytes",
                 "memory_percent")
SAMPLE_EVERY = 500  # steps between two samples: 100 steps a second, the sampler's default 5 s


def write_points(path: Path, count: int, sampled: bool = False) -> None:
    """``count`` points of 10 metrics, as ``gitrun.log(step=..., metric_i=...)`` spools them (its encoder);
    ``sampled``: with 2 evaluation metrics logged on their own and the system sampler's lines
    (``json.dumps``, 7 series) every ``SAMPLE_EVERY`` steps."""
    from gitrun.api import _Buffer

    encoder = _Buffer.__new__(_Buffer)  # only its line encoder: no spool, no thread
    encoder._names = {}
    with open(path, "w", encoding="utf-8") as handle:
        for start in range(0, count // 10, SAMPLE_EVERY):
            handle.write(encoder._encode([(f"metric_{index}", step, 1700000000.0 + step * 0.05,
                                           1.0 / (step + index + 1))
                                          for step in range(start, min(start + SAMPLE_EVERY, count // 10))
                                          for index in range(10)]))
            if sampled:  # an evaluation logged on its own, and the sampler's lines
                last = min(start + SAMPLE_EVERY, count // 10) - 1
                handle.write(encoder._encode([(name, last, 1700000000.0 + last * 0.05 + 0.01, 0.5 + 1.0 / (last + 1))
                                              for name in ("val/loss", "val/acc")]))
                sample = start // SAMPLE_EVERY
                handle.write("".join(json.dumps({"name": f"system/{name}", "step": sample,
                                                 "time": 1700000000.0 + start * 0.05 + 0.0125,
                                                 "value": 12.5 + index * sample}) + "\n"
                                     for index, name in enumerate(SYSTEM_SERIES)))


def run_json(code: str, args: list[str], cwd: Path, env: dict[str, str]) -> dict[str, float]:
    proc = subprocess.run([PYTHON, "-c", code, *args], cwd=cwd, env=env, capture_output=True, text=True,
                          check=False)
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr)
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


def one_round(repo: Path, env: dict[str, str], count: int, baseline: bool,
              sampled: bool) -> tuple[dict[str, float], dict | None]:
    spool = Path(subprocess.run([PYTHON, "-c", MAKE_CRASHED], cwd=repo, env=env, capture_output=True, text=True,
                                check=True).stdout.strip())
    write_points(spool / "metrics.jsonl", count, sampled)
    base = None
    if baseline:
        side = repo.parent / "baseline.jsonl"
        shutil.copyfile(spool / "metrics.jsonl", side)
        base = run_json(BASELINE, [str(side), str(repo)], repo, env)
        side.unlink()
    ours = run_json(RECOVER, [], repo, env)
    return ours, base


def load_average() -> str:
    """The 1-minute load average (other work on the machine stretches wall times, not CPU times)."""
    return Path("/proc/loadavg").read_text().split()[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", default="1000000,10000000", help="comma-separated point counts")
    parser.add_argument("--rounds", type=int, default=3, help="rounds at the smallest count (1 at larger ones)")
    parser.add_argument("--baseline-max", type=int, default=1_000_000,
                        help="largest count the in-memory baseline is run at (it needs ~650 bytes a point)")
    parser.add_argument("--no-write", action="store_true", help="print the section, don't update the doc")
    args, _ = parser.parse_known_args()
    counts = [int(text) for text in args.points.split(",")]
    work = Path(tempfile.mkdtemp(prefix="gitrun-bench-finalise-"))
    rows = []
    try:
        env = common.isolated_env(work / "home")
        repo = work / "repo"
        repo.mkdir()
        common.sh(["git", "init", "-q"], repo, env)
        (repo / "train.py").write_text("print('hi')\n")
        common.sh(["git", "add", "."], repo, env)
        common.sh(["git", "commit", "-qm", "initial"], repo, env)
        cases = [(count, False) for count in counts]
        cases.insert(1, (counts[0], True))  # the smallest count again, with the sampler's lines among them
        for count, sampled in cases:
            rounds = args.rounds if count == counts[0] else 1
            label = f"{count:,}" + (f" + 2 eval metrics and the sampler ({len(SYSTEM_SERIES)} series) every "
                                    f"{SAMPLE_EVERY} steps" if sampled else "")
            ours, bases = [], []
            for _ in range(rounds):
                mine, base = one_round(repo, env, count, count <= args.baseline_max, sampled)
                ours.append(mine)
                if base is not None:
                    bases.append(base)
                print(f"  {label} points: streaming {mine['wall']:.2f} s ({mine['cpu']:.2f} s CPU), "
                      f"{mine['peak_mib']:.0f} MiB" + (f"; in-memory {base['wall']:.2f} s ({base['cpu']:.2f} s CPU), "
                                                       f"{base['peak_mib']:.0f} MiB" if base else "")
                      + f"; load {load_average()}", file=sys.stderr, flush=True)
            wall = statistics.median(item["wall"] for item in ours)
            cpu = statistics.median(item["cpu"] for item in ours)
            peak = max(item["peak_mib"] for item in ours)
            if bases:
                base_wall = statistics.median(item["wall"] for item in bases)
                base_cpu = statistics.median(item["cpu"] for item in bases)
                base_peak = max(item["peak_mib"] for item in bases)
                baseline_cells = [f"{base_wall:.2f} s", f"{base_cpu:.2f} s", f"{base_peak:.0f} MiB",
                                  f"{cpu / base_cpu:.2f}x"]
            else:
                baseline_cells = ["not run (needs ~650 bytes a point)", "", "", ""]
            rows.append([label, f"{wall:.2f} s", f"**{cpu:.2f} s**", f"**{peak:.0f} MiB**", *baseline_cells,
                         load_average()])
    finally:
        shutil.rmtree(work, ignore_errors=True)
    table = common.table(
        ["points (10 metrics)", "streaming: wall", "CPU", "peak memory", "in-memory: wall", "CPU", "peak",
         "CPU ratio", "load"],
        rows)
    load = load_average()
    body = f"""## Finalising long runs

A crashed run whose spool holds N points (10 metrics, written by `gitrun.log`'s own encoder) is
finalised by the next command (wall and CPU time of the recovery, peak RSS of that whole process,
interpreter and pygit2 included), against the in-memory build of the same spool (read whole,
`build_series`, format, write blobs; series only, so it does less than the recovery). Targets
(issue 11): 1 million points under 2 s, peak memory under 100 MiB whatever N.

{table}

Measured {common.stamp()} on {common.machine()}; load average {load} when the last round ended
(2 cores shared with other work: compare CPU times).

Series are streamed: the spool is read 2 MiB at a time. A block of `gitrun.log`'s compact lines
is taken as text (`model/point_columns.py`, `periodic_series`) in runs of lines whose names repeat
with a period (a dict of metrics logged at every step, as here; a metric logged now and then starts
a new run): the two key tokens replaced over the block, one split into lines, each metric's lines
joined and its name's prefix replaced, checked by deleting the number bytes (a translate) and
comparing what is left, then one split for the values (`float()`, for the summaries); the TSV is
that text with its separators translated. A block is first cut around the sampler's lines
(`spaced_runs`), which are taken as columns (`plain_columns`) like any other plain block the text
path declines; the rest is parsed as JSON. Text is appended to one file per series every 4 MiB,
summaries are kept as points pass, and each blob is written from its file
(`create_blob_fromiobase`, libgit2's zlib at level 1, git's own default for loose objects; libgit2
ignores `core.looseCompression`), so memory does not grow with N.
Rerun: `.venv/bin/python bench/bench_finalise.py` (`--points 1000000 --rounds 1` for a quick look).
"""
    if args.no_write:
        print(body)
    else:
        common.write_section(KEY, body)
        print(body)


if __name__ == "__main__":
    main()
