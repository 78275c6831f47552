"""The in-script API: gitrun.log & co. inside `git run`, and gitrun.init() without it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

from tests.conftest import git, gitrun

PY = sys.executable


def runs(repo: Path) -> list[dict[str, Any]]:
    return list(json.loads(gitrun(repo, "list", "--json").stdout))


def show(repo: Path, run_id: str) -> dict[str, Any]:
    return dict(json.loads(gitrun(repo, "show", run_id, "--json").stdout))


def script(repo: Path, name: str, text: str) -> None:
    (repo / name).write_text(textwrap.dedent(text))


def python(repo: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([PY, *args], cwd=repo, capture_output=True, text=True, timeout=60,
                          env={**os.environ, **(env or {})})


def test_import_is_cheap() -> None:
    result = subprocess.run([PY, "-c", "import sys, gitrun; print(sorted(m for m in sys.modules "
                                       "if m.startswith(('gitrun.', 'pygit2', 'click'))))"],
                            capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_api_inside_git_run(repo: Path) -> None:
    script(repo, "train.py", """\
        import gitrun
        gitrun.log_params({"optimizer": {"lr": 0.01, "betas": (0.9, 0.99)}}, seed=7)
        for step in range(100):
            gitrun.log(step=step, loss=1.0 / (step + 1), acc=step / 100)
        gitrun.log({"val/acc": 0.8})
        gitrun.log(bad="not a number")
        open("extra.txt", "w").write("artifact body")
        gitrun.log_artifact("extra.txt", name="reports/extra.txt")
        gitrun.tag("from-api", "second")
        print("done")
    """)
    result = gitrun(repo, "-q", "--tag", "cli", "--", PY, "train.py")
    assert result.stdout == "done\n"
    assert result.stderr.count("is not a number") == 1  # warned once, script unaffected
    run = show(repo, runs(repo)[0]["id"])
    assert run["params"] == {"optimizer.lr": 0.01, "optimizer.betas": [0.9, 0.99], "seed": 7}
    assert run["params_source"]["seed"] == "api"
    assert run["metrics"] == {"loss": 0.01, "acc": 0.99, "val/acc": 0.8}
    assert run["summary"]["loss"]["count"] == 100 and run["summary"]["loss"]["last_step"] == 99
    assert run["tags"] == ["cli", "from-api", "second"]
    artifact = next(item for item in run["outputs"] if item["path"] == "reports/extra.txt")
    assert artifact["stored"] is True and artifact["size"] == len("artifact body")
    assert git(repo, "show", f"refs/experiments/{run['id']}:outputs/reports/extra.txt") == "artifact body"


STANDALONE = """\
    import argparse, sys
    import gitrun
    parser = argparse.ArgumentParser()
    parser.add_argument("--lr", type=float, default=0.1)
    parser.add_argument("--fail", action="store_true")
    run = gitrun.init(message="standalone try", tags=["solo"])
    args = parser.parse_args()
    for step in range(3):
        gitrun.log(step=step, loss=1.0 / (step + 1))
    print("acc: 0.75")
    if args.fail:
        raise RuntimeError("boom")
    print("bye")
"""


def test_standalone_init_records_the_run(repo: Path) -> None:
    script(repo, "solo.py", STANDALONE)
    result = python(repo, "solo.py", "--lr", "0.2")
    assert result.returncode == 0
    assert result.stdout == "acc: 0.75\nbye\n"
    [summary] = runs(repo)
    run = show(repo, summary["id"])
    assert run["status"] == "succeeded"
    assert run["message"] == "standalone try" and run["tags"] == ["solo"]
    assert run["params"]["lr"] == 0.2 and run["params_source"]["lr"] == "argparse"
    assert run["metrics"] == {"loss": 1.0 / 3}
    assert run["console"]["facts"] == {"acc": 0.75}  # printed once: a console fact, not a series
    assert run["command"][1:] == ["solo.py", "--lr", "0.2"]
    log = gitrun(repo, "show", run["id"], "--log").stdout
    assert "bye" in log
    assert git(repo, "status", "--porcelain") == "?? solo.py\n"  # nothing of gitrun's in the tree


def test_standalone_init_marks_exceptions_failed(repo: Path) -> None:
    script(repo, "solo.py", STANDALONE)
    result = python(repo, "solo.py", "--fail")
    assert result.returncode == 1
    assert "RuntimeError: boom" in result.stderr  # the script's own traceback is untouched
    run = show(repo, runs(repo)[0]["id"])
    assert run["status"] == "failed"
    assert run["metrics"]["loss"] == 1.0 / 3


def test_standalone_init_records_the_scripts_exit_status(repo: Path) -> None:
    script(repo, "quits.py", "import sys, gitrun\ngitrun.init()\nprint('stopping')\nsys.exit(3)\n")
    result = python(repo, "quits.py")
    assert result.returncode == 3  # the script's own exit status is untouched
    run = show(repo, runs(repo)[0]["id"])
    assert run["status"] == "failed" and run["exit_code"] == 3
    script(repo, "fine.py", "import sys, gitrun\ngitrun.init()\nsys.exit(0)\n")
    assert python(repo, "fine.py").returncode == 0
    assert show(repo, runs(repo)[0]["id"])["status"] == "succeeded"


def test_standalone_init_outside_a_repository_never_breaks_the_script(tmp_path: Path) -> None:
    script(tmp_path, "solo.py", STANDALONE)
    result = python(tmp_path, "solo.py")
    assert result.returncode == 0
    assert result.stdout == "acc: 0.75\nbye\n"
    assert "gitrun.init: not recording" in result.stderr
    assert len(result.stderr.splitlines()) == 2  # one warning for init, one for the first log


def test_log_without_a_run_warns_once(tmp_path: Path) -> None:
    result = python(tmp_path, "-c", "import gitrun\nfor i in range(3): gitrun.log(loss=i)\nprint('ok')")
    assert result.stdout == "ok\n"
    assert result.stderr.count("not recording") == 1


def test_standalone_run_killed_is_recovered_as_crashed(repo: Path) -> None:
    script(repo, "solo.py", """\
        import time, gitrun
        gitrun.init()
        gitrun.log(step=1, loss=0.5)
        gitrun.flush()
        open("ready", "w").close()
        time.sleep(60)
    """)
    proc = subprocess.Popen([PY, "solo.py"], cwd=repo, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 20
        while not (repo / "ready").exists():
            assert time.monotonic() < deadline and proc.poll() is None
            time.sleep(0.1)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    run = show(repo, runs(repo)[0]["id"])
    assert run["status"] == "crashed"
    assert run["metrics"] == {"loss": 0.5}
    assert [item["path"] for item in run["outputs"]] == ["ready"]  # every feature's data, crashed or not
