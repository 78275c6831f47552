"""Sharing: ``git run push`` / ``git run pull`` of N runs against plain ``git push`` / ``git fetch`` of
the same refs (run refs and the notes ref), to local bare repositories.

Target (roadmap): push and pull of 1,000 runs within 1.5x of plain git. Also measured: the pre-push
hook's checks on those runs (``git run check`` of all of them).

The runs are made in-process with gitrun's own store (a snapshot with one changed file, a result
commit with a log, a finalised note), so that making 1,000 of them takes seconds, not minutes.

Run: ``.venv/bin/python bench/bench_share.py [--runs-count N] [--rounds R]``.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common

KEY = "share"


def make_runs(repo: Path, count: int) -> None:
    import pygit2

    from gitrun.model.ids import new_run_id, new_run_name
    from gitrun.model.timefmt import to_iso, utc_now
    from gitrun.store.git import open_repository
    from gitrun.store.runs import RunStore
    from gitrun.store.trees import build_tree

    pyrepo, paths = open_repository(repo)
    store = RunStore(pyrepo, paths)
    head = pyrepo.head.peel(pygit2.Commit)
    files: dict[str, bytes | pygit2.Oid] = {}
    for entry in head.tree:
        if entry.type_str == "blob" and entry.name:
            files[entry.name] = entry.id
    for index in range(count):
        run_id = new_run_id()
        files["params.yaml"] = f"lr: {0.001 * (index + 1)}\n".encode()
        tree = build_tree(pyrepo, files)
        now = to_iso(utc_now())
        doc: dict[str, Any] = {
            "schema": 1, "id": run_id, "name": new_run_name(), "status": "running", "command": ["true"],
            "started": now, "user": "ada", "host": "bench", "tags": [],
            "env": {"vars": {"PATH": "/usr/bin"}, "redacted": []}}
        run = store.create(run_id, tree, head.id, f"run {index}", doc)
        store.save_result(run, {"logs/output.log": f"loss: {1.0 / (index + 1)}\n".encode()})

        def finish(d: dict[str, Any], now: str = now) -> dict[str, Any]:
            d.update(status="succeeded", exit_code=0, ended=now, duration_s=0.1)
            return d

        store.update_doc(run, finish, "finalise")


def timed_sh(args: list[str], cwd: Path, env: dict[str, str]) -> float:
    return common.timed(lambda: common.sh(args, cwd, env))


def bare(path: Path, source: Path, env: dict[str, str]) -> Path:
    common.sh(["git", "init", "-q", "--bare", "-b", "main", str(path)], source, env)
    common.sh(["git", "push", "-q", str(path), "main"], source, env)
    return path


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs-count", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    work = common.temp_dir("share")
    env = common.isolated_env(work / "home", [common.VENV_BIN])
    common.apply_env(env)
    try:
        source = common.small_repo(work / "source", env)
        print(f"making {args.runs_count} runs ...", file=sys.stderr, flush=True)
        os.chdir(source)
        make_runs(source, args.runs_count)
        git_run = str(common.VENV_BIN / "git-run")
        times: dict[str, list[float]] = {"git run push": [], "git push": [], "git run pull": [], "git fetch": [],
                                         "git run check (all runs)": []}
        for round_ in range(args.rounds):
            tag = f"r{round_}"
            b1 = bare(work / f"gitrun-{tag}.git", source, env)
            b2 = bare(work / f"plain-{tag}.git", source, env)
            common.sh(["git", "remote", "add", tag, str(b1)], source, env)
            times["git run push"].append(timed_sh([git_run, "push", tag], source, env))
            times["git push"].append(timed_sh(["git", "push", "-q", str(b2), "refs/experiments/*:refs/experiments/*",
                                               "refs/notes/gitrun:refs/notes/gitrun"], source, env))
            c1, c2 = work / f"clone1-{tag}", work / f"clone2-{tag}"
            common.sh(["git", "clone", "-q", str(b1), str(c1)], work, env)
            common.sh(["git", "clone", "-q", str(b2), str(c2)], work, env)
            times["git run pull"].append(timed_sh([git_run, "pull"], c1, env))
            times["git fetch"].append(timed_sh(["git", "fetch", "-q", "origin", "refs/experiments/*:refs/experiments/*",
                                                "refs/notes/gitrun:refs/notes/gitrun"], c2, env))
            times["git run check (all runs)"].append(common.timed(
                lambda: common.sh([git_run, "check"], source, env, check=False)))
            print(f"  round {round_ + 1}: " + ", ".join(f"{k} {v[-1] * 1000:.0f} ms" for k, v in times.items()),
                  file=sys.stderr, flush=True)
        push, plain_push = common.median_ms(times["git run push"]), common.median_ms(times["git push"])
        pull, plain_fetch = common.median_ms(times["git run pull"]), common.median_ms(times["git fetch"])
        check = common.median_ms(times["git run check (all runs)"])
        rows = [
            ["push", f"{push:.0f} ms", f"{plain_push:.0f} ms", f"{push / plain_push:.2f}x"],
            ["pull into a fresh clone", f"{pull:.0f} ms", f"{plain_fetch:.0f} ms", f"{pull / plain_fetch:.2f}x"],
        ]
        body = "\n\n".join([
            f"## Sharing {args.runs_count} runs (`bench/bench_share.py`)",
            "`git run push` (fetch, merge, atomic push of run refs and notes) against `git push` of the same "
            "refs; `git run pull` (fetch, notes merge, run refs created) against `git fetch` of the same refs; "
            f"local bare repositories, median of {args.rounds}. Target: within 1.5x of plain git.",
            common.table(["operation", "gitrun", "plain git", "ratio"], rows),
            f"The pre-push checks of all {args.runs_count} runs (`git run check`): {check:.0f} ms.",
            f"{common.machine()}; {common.stamp()}.",
        ])
        print(body)
        common.write_section(KEY, body)
    finally:
        common.remove(work)


if __name__ == "__main__":
    main()
