"""Sharing: ``git run push`` / ``git run pull`` of N runs against plain ``git push`` / ``git fetch`` of
the same refs (run refs and the notes ref), to a local bare repository (file remote) and to a
``git daemon`` on 127.0.0.1 (git:// remote).

Targets (issue 11): push of 1,000 runs at most 1.3x plain ``git push``, pull at most 1.5x plain
``git fetch``. The runs come from ``bench/generate.py`` (real-sized notes whose ``[git]`` table has
``deleted = []``, 3 series of 1,000 points, tags, two branches), so the tombstone test and the notes
merge take the paths a user's runs take. Also measured: the pre-push checks (``git run check``).
The baseline fetch runs with auto-gc off too, as gitrun's own fetches do.

Run: ``.venv/bin/python bench/bench_share.py [--runs-count N] [--rounds R]``.
"""

from __future__ import annotations

import argparse
import socket
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common
from generate import generate

KEY = "share"
NO_GC = ["-c", "gc.auto=0", "-c", "maintenance.auto=false"]


def timed_sh(args: list[str], cwd: Path, env: dict[str, str]) -> float:
    return common.timed(lambda: common.sh(args, cwd, env))


def bare(path: Path, source: Path, env: dict[str, str]) -> Path:
    common.sh(["git", "init", "-q", "--bare", "-b", "main", str(path)], source, env)
    common.sh(["git", "push", "-q", str(path), "main"], source, env)
    return path


def start_daemon(base: Path, env: dict[str, str]) -> tuple[subprocess.Popen[bytes], int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    daemon = subprocess.Popen(["git", "daemon", "--reuseaddr", f"--base-path={base}", "--export-all",
                               "--enable=receive-pack", "--listen=127.0.0.1", f"--port={port}", str(base)],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return daemon, port
        except OSError:
            time.sleep(0.05)
    daemon.kill()
    raise RuntimeError("git daemon did not start")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs-count", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    args, _unknown = parser.parse_known_args()
    work = common.temp_dir("share")
    env = common.isolated_env(work / "home", [common.VENV_BIN])
    common.apply_env(env)
    served = work / "served"
    served.mkdir()
    daemon, port = start_daemon(served, env)
    try:
        print(f"generating {args.runs_count} runs ...", file=sys.stderr, flush=True)
        source = generate(work / "source", args.runs_count, env)
        git_run = str(common.VENV_BIN / "git-run")
        ops = ("git run push", "git push", "git run pull", "git fetch")
        times: dict[str, dict[str, list[float]]] = {kind: {op: [] for op in ops} for kind in ("file", "daemon")}
        checks: list[float] = []
        for round_ in range(args.rounds):
            for kind in ("file", "daemon"):
                tag = f"{kind}{round_}"
                b1 = bare(served / f"gitrun-{tag}.git", source, env)
                b2 = bare(served / f"plain-{tag}.git", source, env)
                url1 = str(b1) if kind == "file" else f"git://127.0.0.1:{port}/{b1.name}"
                url2 = str(b2) if kind == "file" else f"git://127.0.0.1:{port}/{b2.name}"
                common.sh(["git", "remote", "add", tag, url1], source, env)
                pair = [("git run push", [git_run, "push", tag]),
                        ("git push", ["git", "push", "-q", url2, "refs/experiments/*:refs/experiments/*",
                                      "refs/notes/gitrun:refs/notes/gitrun"])]
                for op, cmd in pair if round_ % 2 == 0 else pair[::-1]:
                    times[kind][op].append(timed_sh(cmd, source, env))
                c1, c2 = work / f"clone1-{tag}", work / f"clone2-{tag}"
                common.sh(["git", "clone", "-q", url1, str(c1)], work, env)
                common.sh(["git", "clone", "-q", url2, str(c2)], work, env)
                pair = [("git run pull", [git_run, "pull"], c1),
                        ("git fetch", ["git", *NO_GC, "fetch", "-q", "origin", "refs/experiments/*:refs/experiments/*",
                                       "refs/notes/gitrun:refs/notes/gitrun"], c2)]
                for op, cmd, where in pair if round_ % 2 == 0 else pair[::-1]:
                    times[kind][op].append(timed_sh(cmd, where, env))
                common.remove(c1)
                common.remove(c2)
                print(f"  round {round_ + 1} {kind}: " + ", ".join(f"{k} {v[-1] * 1000:.0f} ms"
                                                                 for k, v in times[kind].items()),
                      file=sys.stderr, flush=True)
            checks.append(common.timed(lambda: common.sh([git_run, "check"], source, env, check=False)))
        rows = []
        for kind, label in (("file", "file remote"), ("daemon", "git daemon")):
            push, plain_push = common.median_ms(times[kind]["git run push"]), common.median_ms(times[kind]["git push"])
            pull, fetch = common.median_ms(times[kind]["git run pull"]), common.median_ms(times[kind]["git fetch"])
            rows.append([f"push ({label})", f"{push:.0f} ms", f"{plain_push:.0f} ms", f"{push / plain_push:.2f}x"])
            rows.append([f"pull into a fresh clone ({label})", f"{pull:.0f} ms", f"{fetch:.0f} ms",
                         f"{pull / fetch:.2f}x"])
        body = "\n\n".join([
            f"## Sharing {args.runs_count} runs (`bench/bench_share.py`)",
            "`git run push` (fetch, merge, atomic push of run refs and notes) against `git push` of the same "
            "refs; `git run pull` (fetch, notes merge, run refs created) against `git fetch` of the same refs "
            "(auto-gc off for both); runs from `bench/generate.py` (real-sized notes); a local bare repository "
            f"and a `git daemon` on 127.0.0.1; median of {args.rounds}, the order alternating each round. "
            "Targets: push <= 1.3x, pull <= 1.5x.",
            common.table(["operation", "gitrun", "plain git", "ratio"], rows),
            f"The pre-push checks of all {args.runs_count} runs (`git run check`): "
            f"{common.median_ms(checks):.0f} ms.",
            f"{common.machine()}; {common.stamp()}. Rerun: `.venv/bin/python bench/bench_share.py --runs-count "
            f"{args.runs_count} --rounds {args.rounds}`.",
        ])
        print(body)
        common.write_section(KEY, body)
    finally:
        daemon.kill()
        daemon.wait()
        common.remove(work)


if __name__ == "__main__":
    main()
