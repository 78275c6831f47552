"""A reusable generator of realistic gitrun repositories (100, 1,000, 10,000 runs ...).

Every benchmark that reads or shares runs starts from one of these, so that it takes the slow
paths a user's repository takes. Each run is shaped like a real recording:

* its note is ``bench/data/realistic_note.toml`` (captured from a real ``git run -- python train.py``
  that logged three metrics, then made neutral: about 7 KB, with ``[env]`` (60 packages, 45
  variables), ``[git]`` including ``deleted = []``, ``[hardware]``, ``[system]``, ``[params]``,
  ``[metrics]`` and nine ``[summary.*]`` tables), with the run's own id, name, times, status, message,
  parameters, last metric values and summaries, base commit and branch filled in;
* a snapshot commit (the base commit's tree with the run's own ``params.yaml``) on a base commit of
  ``main`` (80%) or of the branch ``feature`` (20%, hidden from ``git run list`` on ``main``);
* a result commit with ``logs/output.log`` and three metric series of 1,000 points
  (``metrics/loss.tsv``, ``metrics/acc.tsv``, ``metrics/val_loss.tsv``), distinct for every run up to
  1,000 runs and drawn from 1,000 distinct sets beyond that (the read benchmarks never open them);
* tags on about 15% of runs, a dataset (``[[data]]``) on half of them, 5% failed, 2% killed.

Everything is written with two ``git fast-import`` streams (commits and refs, then the notes
commit in git's fanout layout), so 10,000 runs take well under a minute.

Run: ``.venv/bin/python bench/generate.py DEST --runs 1000 [--seed 0]``.
"""

from __future__ import annotations

import argparse
import math
import os
import random
import subprocess
import sys
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from gitrun.model import ids  # noqa: E402
from gitrun.store import codec  # noqa: E402

TEMPLATE = Path(__file__).resolve().parent / "data" / "realistic_note.toml"
POINTS = 1000
METRICS = ("loss", "acc", "val_loss")
DISTINCT_SERIES = 1000
MAIN_COMMITS, FEATURE_COMMITS = 40, 10
TAGS = ("baseline", "sweep-lr", "imagenet:v3", "ablation", "best")
START_MS = 1_760_000_000_000  # 2025-10-09: runs are spread over the following days
COMMITTER = "Ada Tester <ada@example.com>"


def _crockford(value: int, length: int) -> str:
    alphabet = "0123456789abcdefghjkmnpqrstvwxyz"
    out = []
    for _ in range(length):
        out.append(alphabet[value & 31])
        value >>= 5
    return "".join(reversed(out))


def _run_id(rng: random.Random, millis: int) -> str:
    return _crockford(millis, 10) + _crockford(rng.getrandbits(80), 16)


def _iso(millis: int) -> str:
    import datetime

    moment = datetime.datetime.fromtimestamp(millis / 1000, datetime.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{millis % 1000:03d}Z"


def _series(rng: random.Random, metric: str, start_s: float) -> tuple[bytes, dict[str, float]]:
    """A metric series of POINTS points (``step\\ttime\\tvalue``) and its summary."""
    lines = ["step\ttime\tvalue"]
    values = []
    scale = rng.uniform(0.5, 2.0)
    for step in range(POINTS):
        progress = (step + 1) / POINTS
        noise = rng.gauss(0, 0.01)
        if metric == "acc":
            value = min(1.0, max(0.0, 1 - math.exp(-4 * progress * scale) + noise))
        else:
            value = max(0.0, scale * math.exp(-3 * progress) + noise + (0.05 if metric == "val_loss" else 0))
        value = round(value, 6)
        values.append(value)
        lines.append(f"{step}\t{start_s + step * 0.25:.3f}\t{value!r}")
    summary = {"last": values[-1], "count": POINTS, "last_step": POINTS - 1, "min": min(values), "max": max(values)}
    return ("\n".join(lines) + "\n").encode(), summary


class _Stream:
    """Writes a ``git fast-import`` stream."""

    def __init__(self, proc: subprocess.Popen[bytes]) -> None:
        assert proc.stdin is not None
        self.out = proc.stdin
        self.mark = 0

    def next_mark(self) -> int:
        self.mark += 1
        return self.mark

    def write(self, text: str) -> None:
        self.out.write(text.encode())

    def data(self, payload: bytes) -> None:
        self.out.write(b"data %d\n" % len(payload) + payload + b"\n")

    def blob(self, payload: bytes) -> int:
        mark = self.next_mark()
        self.write(f"blob\nmark :{mark}\n")
        self.data(payload)
        return mark

    def commit(self, ref: str, when_s: int, message: str, parent: int | None, files: Mapping[str, int],
               delete_all: bool = False) -> int:
        mark = self.next_mark()
        self.write(f"commit {ref}\nmark :{mark}\ncommitter {COMMITTER} {when_s} +0000\n")
        self.data(message.encode())
        if parent is not None:
            self.write(f"from :{parent}\n")
        if delete_all:
            self.write("deleteall\n")
        for path, blob in files.items():
            self.write(f"M 100644 :{blob} {path}\n")
        return mark


def _fast_import(repo: Path, env: Mapping[str, str], marks: Path, import_marks: bool) -> subprocess.Popen[bytes]:
    args = ["git", "fast-import", "--quiet", f"--export-marks={marks}"]
    if import_marks:
        args.append(f"--import-marks={marks}")
    return subprocess.Popen(args, cwd=repo, env=dict(env), stdin=subprocess.PIPE)


def _finish(proc: subprocess.Popen[bytes]) -> None:
    assert proc.stdin is not None
    proc.stdin.close()
    if proc.wait() != 0:
        raise RuntimeError("git fast-import failed")


def _read_marks(path: Path) -> dict[int, str]:
    marks = {}
    for line in path.read_text().splitlines():
        mark, sha = line.split()
        marks[int(mark[1:])] = sha
    return marks


def generate(repo: Path, runs: int, env: Mapping[str, str], seed: int = 0) -> Path:
    """Create ``repo`` (a new repository on ``main``) holding ``runs`` realistic runs."""
    rng = random.Random(seed)
    template = tomllib.loads(TEMPLATE.read_text(encoding="utf-8"))
    repo.mkdir(parents=True)
    subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True, env=dict(env))
    marks_file = repo / ".git" / "gitrun-generate.marks"
    proc = _fast_import(repo, env, marks_file, False)
    stream = _Stream(proc)
    base_s = START_MS // 1000 - 86400
    files = {name: stream.blob(body) for name, body in (
        ("README.md", b"# demo project\n"), ("train.py", (ROOT / "bench" / "data" / "train_example.py").read_bytes()),
        ("params.yaml", b"lr: 0.01\nbatch: 64\noptimizer: adam\n"))}
    main_commits: list[int] = []
    parent = None
    for number in range(MAIN_COMMITS):
        files[f"src/module_{number % 7}.py"] = stream.blob(f"VERSION = {number}\n".encode())
        parent = stream.commit("refs/heads/main", base_s + number * 60, f"change {number}\n", parent, files)
        main_commits.append(parent)
    feature_commits: list[int] = []
    parent = main_commits[-10]
    for number in range(FEATURE_COMMITS):
        files[f"src/feature_{number % 3}.py"] = stream.blob(f"FEATURE = {number}\n".encode())
        parent = stream.commit("refs/heads/feature", base_s + 3000 + number * 60, f"feature {number}\n", parent, files)
        feature_commits.append(parent)
    series_pool: list[tuple[dict[str, int], dict[str, dict[str, float]]]] = []
    plans = []
    for index in range(runs):
        millis = START_MS + index * 61_000 + rng.randrange(1000)
        run_id = _run_id(rng, millis)
        on_feature = rng.random() < 0.2
        base = rng.choice(feature_commits if on_feature else main_commits)
        lr = rng.choice((0.1, 0.03, 0.01, 0.003, 0.001, 0.0003))
        batch = rng.choice((32, 64, 128, 256))
        params_blob = stream.blob(f"lr: {lr}\nbatch: {batch}\noptimizer: adam\nseed: {index}\n".encode())
        snapshot = stream.commit("refs/gitrun-generate/tmp", millis // 1000, f"run {index}\n\nGitrun-Run: {run_id}\n",
                                 base, {"params.yaml": params_blob})
        if index < DISTINCT_SERIES:
            series_files, summaries = {}, {}
            for metric in METRICS:
                body, summary = _series(rng, metric, millis / 1000)
                series_files[f"metrics/{metric}.tsv"] = stream.blob(body)
                summaries[metric] = summary
            series_pool.append((series_files, summaries))
        else:
            series_files, summaries = series_pool[rng.randrange(len(series_pool))]
        log = stream.blob("".join(f"epoch {e}: loss {summaries['loss']['last'] + (9 - e) * 0.01:.4f}\n"
                                  for e in range(10)).encode())
        result = stream.commit("refs/gitrun-generate/tmp", millis // 1000 + 300, f"gitrun result {run_id}\n", snapshot,
                               {"logs/output.log": log, **series_files}, delete_all=True)
        plans.append((run_id, millis, on_feature, base, snapshot, result, lr, batch, summaries))
    _finish(proc)
    marks = _read_marks(marks_file)

    proc = _fast_import(repo, env, marks_file, True)
    stream = _Stream(proc)
    stream.mark = max(marks)
    for plan in plans:
        stream.write(f"reset refs/experiments/{plan[0]}\nfrom :{plan[5]}\n\n")
    note_mark = stream.next_mark()
    stream.write(f"commit refs/notes/gitrun\nmark :{note_mark}\ncommitter {COMMITTER} {base_s} +0000\n")
    stream.data(b"gitrun: generated runs\n")
    for plan in plans:
        note = _note(template, rng, plan, marks)
        stream.write(f"N inline :{plan[4]}\n")
        stream.data(note)
    _finish(proc)
    subprocess.run(["git", "update-ref", "-d", "refs/gitrun-generate/tmp"], cwd=repo, env=dict(env), check=False)
    marks_file.unlink()
    subprocess.run(["git", "reset", "-q", "--hard", "main"], cwd=repo, env=dict(env), check=True)
    return repo


def _note(template: dict[str, Any], rng: random.Random, plan: tuple[Any, ...], marks: Mapping[int, str]) -> bytes:
    run_id, millis, on_feature, base, snapshot, result, lr, batch, summaries = plan
    doc = {key: (dict(value) if isinstance(value, dict) else value) for key, value in template.items()}
    duration = round(rng.uniform(30, 3600), 3)
    roll = rng.random()
    status, exit_code = ("failed", 1) if roll < 0.05 else ("killed", 137) if roll < 0.07 else ("succeeded", 0)
    tags = sorted({rng.choice(TAGS) for _ in range(rng.randint(1, 2))}) if rng.random() < 0.15 else []
    doc.update(
        id=run_id, name=new_run_name_from(rng), message=rng.choice(("try a smaller lr", "bigger batch", "baseline",
                                                                     "warmup 500 steps", "fix data loader", "")),
        tags=tags, status=status, exit_code=exit_code, command=["python", "train.py", "--lr", str(lr)],
        started=_iso(millis), ended=_iso(millis + int(duration * 1000)), duration_s=duration,
        snapshot_commit=marks[snapshot], result_commit=marks[result], updated=_iso(millis + int(duration * 1000) + 5),
        params={"lr": lr, "batch": batch, "optimizer": "adam", "seed": int(millis % 1000)},
        params_source={"lr": "argv", "batch": "api", "optimizer": "api", "seed": "api"},
        metrics={metric: summaries[metric]["last"] for metric in METRICS},
    )
    doc["git"] = {**template["git"], "base_commit": marks[base], "branch": "feature" if on_feature else "main",
                  "dirty": True, "modified": ["params.yaml"]}
    summary = {key: value for key, value in template["summary"].items() if key.startswith("system/")}
    summary.update(summaries)
    doc["summary"] = summary
    if rng.random() < 0.5:
        doc["data"] = [{"path": "data/imagenet-mini", "name": "imagenet-mini", "version": rng.choice(("v2", "v3")),
                        "hash": "blake3:" + format(rng.getrandbits(256), "064x"), "size": 1073741824, "files": 10000,
                        "location": "ignored", "declared": True, "list": "data/0.tsv"}]
    return codec.encode(doc)


def new_run_name_from(rng: random.Random) -> str:
    """A generated-style name (``adjective-noun-NN``), reproducible from the seed."""
    return f"{rng.choice(ids._ADJECTIVES)}-{rng.choice(ids._NOUNS)}-{rng.randrange(100)}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dest", type=Path)
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    generate(args.dest, args.runs, os.environ, args.seed)
    print(f"{args.runs} runs in {args.dest}")


if __name__ == "__main__":
    main()
