"""Sharing: ``git run push`` / ``git run pull`` of N runs against plain ``git push`` / ``git fetch`` of
the same refs (run refs and the notes ref), to a local bare repository (file remote) and to a
``git daemon`` on 127.0.0.1 (git:// remote).

Targets (issue 11): push of 1,000 runs at most 1.3x plain ``git push``, pull at most 1.5x plain
``git fetch``. The runs come from ``bench/generate.py`` (real-sized notes whose ``[git]`` table has
``deleted = []``, 3 series of 1,000 points, tags, two branches), so the tombstone test and the notes
merge take the paths a user's runs take. Also measured: the pre-push checks (``git run check``).
The baseline fetch runs with auto-gc off too, as gitrun's own fetches do. Wall and CPU time (of the
command and every process it waited for) are both reported; then one more push and pull of each kind
runs with ``GITRUN_TRACE_GIT`` set, which times every git subprocess gitrun starts: the profile
table says where gitrun's time goes (what is not git is gitrun's own Python: start-up, planning,
the notes merge, reading notes for the tombstone test; a first pull's fetch runs while gitrun
imports, so that time is partly hidden inside the fetch's row).

Run: ``.venv/bin/python bench/bench_share.py [--runs-count N] [--rounds R]``.
"""

from __future__ import annotations

import argparse
import os
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


def measured_sh(args: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, float]:
    """(wall, CPU) seconds of one command, its children included."""
    return common.measure(lambda: common.sh(args, cwd, env))


def traced_sh(args: list[str], cwd: Path, env: dict[str, str], trace: Path) -> tuple[float, list[tuple[str, float]]]:
    """Wall seconds of one gitrun command and the (step, seconds) of each git subprocess it ran."""
    trace.unlink(missing_ok=True)
    wall = common.timed(lambda: common.sh(args, cwd, {**env, "GITRUN_TRACE_GIT": str(trace)}))
    steps = []
    for line in trace.read_text(encoding="utf-8").splitlines() if trace.exists() else []:
        ms, step = line.split("\t", 1)
        steps.append((step, float(ms) / 1000))
    return wall, steps


def profile_rows(label: str, wall: float, steps: list[tuple[str, float]]) -> list[list[str]]:
    rows = [[label, step, f"{seconds * 1000:.0f} ms"] for step, seconds in steps]
    rest = wall - sum(seconds for _step, seconds in steps)
    rows.append([label, "gitrun itself, outside git (Python start-up, planning, notes merge and reads)",
                 f"{rest * 1000:.0f} ms"])
    rows.append([label, "**total**", f"**{wall * 1000:.0f} ms**"])
    return rows


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
    stop_daemon(daemon)
    raise RuntimeError("git daemon did not start")


def stop_daemon(daemon: subprocess.Popen[bytes]) -> None:
    """SIGTERM, not SIGKILL: ``git daemon`` runs ``git-daemon`` as its child and passes a SIGTERM on to
    it, while a killed ``git`` leaves that child serving the deleted folder."""
    daemon.terminate()
    try:
        daemon.wait(timeout=5)
    except subprocess.TimeoutExpired:
        daemon.kill()
        daemon.wait()


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
        kinds = ("file", "daemon")
        times: dict[str, dict[str, list[float]]] = {kind: {op: [] for op in ops} for kind in kinds}
        cpu: dict[str, dict[str, list[float]]] = {kind: {op: [] for op in ops} for kind in kinds}
        profile: list[list[str]] = []
        checks: list[float] = []
        for round_ in range(args.rounds + 1):  # the last round is the traced one (the profile)
            traced = round_ == args.rounds
            for kind in kinds:
                tag = f"{kind}{round_}"
                b1 = bare(served / f"gitrun-{tag}.git", source, env)
                b2 = bare(served / f"plain-{tag}.git", source, env)
                url1 = str(b1) if kind == "file" else f"git://127.0.0.1:{port}/{b1.name}"
                url2 = str(b2) if kind == "file" else f"git://127.0.0.1:{port}/{b2.name}"
                common.sh(["git", "remote", "add", tag, url1], source, env)
                label = "file remote" if kind == "file" else "git daemon"
                if traced:
                    profile += profile_rows(f"push ({label})", *traced_sh([git_run, "push", tag], source, env,
                                                                        work / "trace.txt"))
                else:
                    pair = [("git run push", [git_run, "push", tag]),
                            ("git push", ["git", "push", "-q", url2, "refs/experiments/*:refs/experiments/*",
                                          "refs/notes/gitrun:refs/notes/gitrun"])]
                    for op, cmd in pair if round_ % 2 == 0 else pair[::-1]:
                        wall, used = measured_sh(cmd, source, env)
                        times[kind][op].append(wall)
                        cpu[kind][op].append(used)
                c1, c2 = work / f"clone1-{tag}", work / f"clone2-{tag}"
                common.sh(["git", "clone", "-q", url1, str(c1)], work, env)
                common.sh(["git", "clone", "-q", url2, str(c2)], work, env)
                if traced:
                    profile += profile_rows(f"pull ({label})", *traced_sh([git_run, "pull"], c1, env,
                                                                        work / "trace.txt"))
                    # The next pull of that clone (nothing new) writes the per-run tracking refs once.
                    profile += profile_rows(f"next pull, nothing new ({label})",
                                            *traced_sh([git_run, "pull"], c1, env, work / "trace.txt"))
                else:
                    pair = [("git run pull", [git_run, "pull"], c1),
                            ("git fetch", ["git", *NO_GC, "fetch", "-q", "origin",
                                           "refs/experiments/*:refs/experiments/*",
                                           "refs/notes/gitrun:refs/notes/gitrun"], c2)]
                    for op, cmd, where in pair if round_ % 2 == 0 else pair[::-1]:
                        wall, used = measured_sh(cmd, where, env)
                        times[kind][op].append(wall)
                        cpu[kind][op].append(used)
                    print(f"  round {round_ + 1} {kind}: " + ", ".join(f"{k} {v[-1] * 1000:.0f} ms"
                                                                     for k, v in times[kind].items()),
                          file=sys.stderr, flush=True)
                common.remove(c1)
                common.remove(c2)
            if not traced:
                checks.append(common.timed(lambda: common.sh([git_run, "check"], source, env, check=False)))
        rows = []
        for kind, label in (("file", "file remote"), ("daemon", "git daemon")):
            for ours, theirs, what in (("git run push", "git push", f"push ({label})"),
                                       ("git run pull", "git fetch", f"pull into a fresh clone ({label})")):
                wall, plain = common.median_ms(times[kind][ours]), common.median_ms(times[kind][theirs])
                cpu_ours, cpu_plain = common.median_ms(cpu[kind][ours]), common.median_ms(cpu[kind][theirs])
                rows.append([what, f"{wall:.0f} ms", f"{plain:.0f} ms", f"**{wall / plain:.2f}x**",
                             f"{cpu_ours:.0f} ms", f"{cpu_plain:.0f} ms", f"{cpu_ours / cpu_plain:.2f}x"])
        load = " / ".join(f"{value:.1f}" for value in os.getloadavg())
        body = "\n\n".join([
            f"## Sharing {args.runs_count} runs (`bench/bench_share.py`)",
            "`git run push` (one atomic push of run refs and notes, the notes leased; a fetch and merge only "
            "when the remote moved) against `git push` of the same "
            "refs; `git run pull` (fetch, notes merge, run refs created) against `git fetch` of the same refs "
            "(auto-gc off for both); runs from `bench/generate.py` (real-sized notes); a local bare repository "
            f"and a `git daemon` on 127.0.0.1; median of {args.rounds}, the order alternating each round; CPU "
            "is the command's and its child processes'. Targets: push <= 1.3x, pull <= 1.5x (wall).",
            common.table(["operation", "gitrun wall", "plain git wall", "ratio", "gitrun CPU", "plain git CPU",
                          "CPU ratio"], rows),
            "Where gitrun's time goes (one more push and pull of each kind with `GITRUN_TRACE_GIT`, which "
            "times every git subprocess; the rest is gitrun's own Python; a first pull starts its fetch "
            "before its imports, so the fetch's row includes time gitrun spent importing meanwhile):",
            common.table(["command", "step", "wall"], profile),
            f"The pre-push checks of all {args.runs_count} runs (`git run check`): "
            f"{common.median_ms(checks):.0f} ms.",
            f"{common.machine()}; {common.stamp()}; load average at the end {load}. Rerun: "
            f"`.venv/bin/python bench/bench_share.py --runs-count {args.runs_count} --rounds {args.rounds}`.",
        ])
        print(body)
        common.write_section(KEY, body)
    finally:
        stop_daemon(daemon)
        common.remove(work)


if __name__ == "__main__":
    main()
