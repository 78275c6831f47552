"""The pre-push guard: each of the six checks blocks a real ``git push``; clean runs, ``--no-verify``
and ``git run check --accept`` let it through."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gitrun.commands.hooks import SHIM
from tests.conftest import git
from tests.remote_helpers import Server, User, make_user, server_fixture  # noqa: F401
from tests.run_fixtures import store

FAKE_TOKEN = "ghp_" + "a1B2c3D4e5" * 4  # the shape of a GitHub token, not a real one


@pytest.fixture
def ada(server: Server, tmp_path: Path) -> User:
    user = make_user(server, tmp_path, "Ada", seed=True)
    out = user.run("hooks", "install")
    assert "installed the pre-push hook" in out.stdout
    return user


def push_run(user: User, run_id: str, *extra: str) -> subprocess.CompletedProcess[str]:
    """A plain `git push` of the run's ref, as a user would type it."""
    ref = f"refs/experiments/{run_id}"
    return subprocess.run(["git", "push", *extra, "origin", f"{ref}:{ref}"], cwd=user.path, capture_output=True,
                          text=True, env={**os.environ, **user.env}, check=False)


def assert_blocked(result: subprocess.CompletedProcess[str], run_id: str, check: str, problem: str) -> None:
    assert result.returncode != 0, result.stderr
    assert run_id in result.stderr
    line = next((line for line in result.stderr.splitlines() if f" {check} " in line), "")
    assert problem in line, result.stderr
    assert "fix:" in result.stderr and "push blocked" in result.stderr


def on_server(server: Server, run_id: str) -> bool:
    return f"refs/experiments/{run_id}" in server.refs()


def record_with_vouched_secret(user: User) -> str:
    """A run whose snapshot holds a token because the user vouched for the file: recording keeps
    secrets out of everything else, so this is how one still reaches a run (check must catch it)."""
    (user.path / ".gitrun.toml").write_text('include_secret_files = ["settings.py"]\n')
    (user.path / "settings.py").write_text(f"TOKEN = '{FAKE_TOKEN}'\n")
    return user.record("true")


def test_clean_run_goes_through(ada: User, server: Server) -> None:
    run_id = ada.record("python3", "-c", "print('loss: 0.5')")
    result = push_run(ada, run_id)
    assert result.returncode == 0, result.stderr
    assert on_server(server, run_id)
    assert "reproducible by others" in ada.run("check", run_id).stdout


@pytest.mark.slow  # over 2 s on an idle 2-core machine: out of the fast loop, still in make check
def test_code_check_blocks_a_file_left_out_for_size(ada: User, server: Server) -> None:
    (ada.path / ".gitrun.toml").write_text("max_untracked_size = 100\n")
    (ada.path / "weights.bin").write_bytes(b"x" * 1000)
    run_id = ada.record("true")
    result = push_run(ada, run_id)
    assert_blocked(result, run_id, "code", "weights.bin was left out of the snapshot")
    assert not on_server(server, run_id)
    # Accounted for in .gitrunignore: fine.
    (ada.path / ".gitrunignore").write_text("weights.bin\n")
    run_id = ada.record("true")
    assert push_run(ada, run_id).returncode == 0


@pytest.mark.slow  # over 2 s on an idle 2-core machine: out of the fast loop, still in make check
def test_data_check_blocks_data_outside_the_repository(ada: User, server: Server, tmp_path: Path) -> None:
    data = tmp_path / "elsewhere.csv"
    data.write_text("x\n1\n")
    run_id = ada.record("true", extra=("--data", str(data)))
    result = push_run(ada, run_id)
    assert_blocked(result, run_id, "data", "is outside the repository")
    # --accept lets it through, and is recorded in the run's metadata.
    ada.run("check", "--accept", run_id, "the file is on the team share", "--only", "data")
    assert push_run(ada, run_id).returncode == 0
    accepted = json.loads(ada.run("show", run_id, "--json").stdout)["accepted"]
    assert accepted[0]["check"] == "data" and accepted[0]["reason"] == "the file is on the team share"
    assert "Ada" in accepted[0]["by"]


@pytest.mark.slow  # over 2 s on an idle 2-core machine: out of the fast loop, still in make check
def test_environment_check_blocks_an_editable_package_outside_the_repo_only_when_imported(ada: User,
                                                                                     tmp_path: Path) -> None:
    site = tmp_path / "site"
    dist = site / "mylib-0.1.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: mylib\nVersion: 0.1\n")
    (dist / "top_level.txt").write_text("mylib\n")
    (dist / "direct_url.json").write_text('{"url": "file:///home/ada/mylib", "dir_info": {"editable": true}}')
    (site / "mylib").mkdir()
    (site / "mylib" / "__init__.py").write_text("")

    def record(script: str) -> str:
        result = subprocess.run(
            [sys.executable, "-m", "gitrun", "-q", "--", "python3", "-c", script],
            cwd=ada.path, env={**os.environ, **ada.env, "PYTHONPATH": str(site)}, capture_output=True, text=True)
        assert result.returncode == 0, result.stderr
        return str(ada.runs()[0]["id"])

    # Installed but never imported: no reason to stop anyone from rerunning the run.
    unused = record("import json")
    assert push_run(ada, unused).returncode == 0
    assert json.loads(ada.run("show", unused, "--json").stdout)["env"]["imported"] == []
    used = record("import mylib")
    assert json.loads(ada.run("show", used, "--json").stdout)["env"]["imported"] == ["mylib"]
    assert "imported" in ada.run("show", used).stdout
    assert_blocked(push_run(ada, used), used, "environment",
                   "the run imported mylib, installed in editable mode (/home/ada/mylib)")


@pytest.mark.slow  # over 2 s on an idle 2-core machine: out of the fast loop, still in make check
def test_env_vars_check_lists_secrets_the_run_read(ada: User) -> None:
    env = {**os.environ, **ada.env, "MY_API_TOKEN": "s3cr3t-value"}
    script = "import os; os.environ.get('MY_API_TOKEN'); os.getenv('HOME'); 'UNSET_PLAIN' in os.environ"
    result = subprocess.run([sys.executable, "-m", "gitrun", "-q", "--", "python3", "-c", script],
                            cwd=ada.path, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    run_id = str(ada.runs()[0]["id"])
    shown = json.loads(ada.run("show", run_id, "--json").stdout)
    assert {"MY_API_TOKEN", "HOME", "UNSET_PLAIN"} <= set(shown["env"]["read"])
    assert "s3cr3t-value" not in json.dumps(shown)
    blocked = push_run(ada, run_id)
    assert_blocked(blocked, run_id, "env_vars", "the run read MY_API_TOKEN")
    assert "HOME" not in blocked.stderr.split("env_vars")[1].split("\n")[0]
    ada.run("check", "--accept", run_id, "needs MY_API_TOKEN", "--only", "env_vars")
    assert json.loads(ada.run("show", run_id, "--json").stdout)["env"]["required_secrets"] == ["MY_API_TOKEN"]
    assert push_run(ada, run_id).returncode == 0


def test_secrets_check_blocks_a_token_in_the_log(ada: User, server: Server) -> None:
    run_id = ada.record("echo", "hello")
    runs = store(ada.path)
    runs.save_result(runs.get(run_id), {"logs/output.log": f"using {FAKE_TOKEN}\n".encode()})  # an older gitrun's log
    result = push_run(ada, run_id)
    assert_blocked(result, run_id, "secrets", "logs/output.log line 1 holds what looks like a github-token")
    assert FAKE_TOKEN not in result.stderr  # the report names the place, never the secret
    assert push_run(ada, run_id, "--no-verify").returncode == 0  # the user's explicit override
    assert on_server(server, run_id)


def test_secrets_check_blocks_a_token_in_vouched_code(ada: User) -> None:
    (ada.path / ".gitrun.toml").write_text('include_secret_files = ["settings.py"]\n')
    (ada.path / "settings.py").write_text(f"import os\nTOKEN = '{FAKE_TOKEN}'\n")
    run_id = ada.record("true")
    assert_blocked(push_run(ada, run_id), run_id, "secrets", "settings.py line 2 holds what looks like a github-token")


def test_outcome_check_blocks_a_crashed_run(ada: User) -> None:
    proc = subprocess.Popen([sys.executable, "-m", "gitrun", "-q", "--", "sleep", "30"],
                            cwd=ada.path, env={**os.environ, **ada.env}, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 20
    live = ada.path / ".git" / "gitrun" / "live"
    while not list(live.glob("*/output.log")) and time.monotonic() < deadline:  # the run and its log exist
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    run_id = str(ada.runs()[0]["id"])  # this command finds the orphan and finalises it as crashed
    result = push_run(ada, run_id)
    assert_blocked(result, run_id, "outcome", "status crashed")


@pytest.mark.slow  # over 2 s on an idle 2-core machine: out of the fast loop, still in make check
def test_git_run_push_is_guarded_too_and_config_can_make_a_check_a_warning(ada: User, server: Server) -> None:
    run_id = record_with_vouched_secret(ada)
    result = ada.run("push", check=False)
    assert result.returncode == 1
    assert "secrets" in result.stderr and run_id in result.stderr
    assert not on_server(server, run_id)
    (ada.path / ".gitrun.toml").write_text('[check]\nsecrets = "warn"\n')
    result = ada.run("push")
    assert on_server(server, run_id)
    assert "warn" in result.stderr


def test_pushing_a_branch_that_contains_a_run_snapshot_checks_that_run(ada: User) -> None:
    (ada.path / "train.py").write_text("print('loss: 0.4')\n")
    run_id = record_with_vouched_secret(ada)
    snapshot = json.loads(ada.run("show", run_id, "--json").stdout)["commit"]
    git(ada.path, "branch", "from-run", snapshot)
    result = subprocess.run(["git", "push", "origin", "from-run"], cwd=ada.path, capture_output=True, text=True,
                            check=False)
    assert_blocked(result, run_id, "secrets", "github-token")
    # A branch push that publishes no run's snapshot is not held up by runs.
    git(ada.path, "commit", "-q", "-am", "other")
    assert subprocess.run(["git", "push", "-q", "origin", "main"], cwd=ada.path, check=False).returncode == 0


@pytest.mark.slow  # over 2 s on an idle 2-core machine: out of the fast loop, still in make check
def test_hooks_install_keeps_an_existing_hook_and_honours_core_hooks_path(server: Server, tmp_path: Path) -> None:
    user = make_user(server, tmp_path, "Bob", seed=True)
    hooks = user.path / "my-hooks"
    hooks.mkdir()
    git(user.path, "config", "core.hooksPath", "my-hooks")
    marker = tmp_path / "old-hook-ran"
    (hooks / "pre-push").write_text(f"#!/bin/sh\ncat > /dev/null\ntouch {marker}\n")
    (hooks / "pre-push").chmod(0o755)
    out = user.run("hooks", "install").stdout
    assert "pre-push.gitrun-chained" in out
    assert (hooks / "pre-push.gitrun-chained").exists()
    run_id = record_with_vouched_secret(user)
    assert push_run(user, run_id).returncode != 0
    assert marker.exists()
    user.run("hooks", "uninstall")
    assert "touch" in (hooks / "pre-push").read_text()
    assert push_run(user, run_id).returncode == 0  # the guard is gone


def test_pre_commit_framework_variables(ada: User) -> None:
    run_id = record_with_vouched_secret(ada)
    snapshot = json.loads(ada.run("show", run_id, "--json").stdout)["commit"]
    env = {"PRE_COMMIT_TO_REF": snapshot, "PRE_COMMIT_FROM_REF": "", "PRE_COMMIT_REMOTE_NAME": "origin",
           "PRE_COMMIT_REMOTE_BRANCH": "refs/heads/main", "PRE_COMMIT_LOCAL_BRANCH": "refs/heads/main"}
    result = subprocess.run([sys.executable, "-m", "gitrun", "hook", "pre-push"],
                       cwd=ada.path, env={**os.environ, **env}, capture_output=True, text=True,
                       stdin=subprocess.DEVNULL)
    assert result.returncode == 1 and "secrets" in result.stderr


def test_repository_hook_file_is_the_installed_shim() -> None:
    root = Path(__file__).resolve().parents[1]
    assert (root / "hooks" / "pre-push").read_text() == SHIM
    assert "stages: [pre-push]" in (root / ".pre-commit-hooks.yaml").read_text()


def test_recording_env_reads_does_not_change_what_the_program_sees(ada: User) -> None:
    script = ("import os\n"
              "print(os.environ.get('NOPE_X', 'dflt'), 'HOME' in os.environ, os.getenv('NOPE_Y'))\n"
              "try:\n    os.environ['NOPE_Z']\nexcept KeyError as e:\n    print('keyerror', e)\n"
              "os.environ['SET_HERE'] = '1'; print(os.environ['SET_HERE'], len(dict(os.environ)) > 0)\n")
    (ada.path / "envtest.py").write_text(script)
    plain = subprocess.run([sys.executable, "envtest.py"], cwd=ada.path, capture_output=True, text=True)
    run_id = ada.record("python3", "envtest.py")
    assert ada.run("show", run_id, "--log").stdout == plain.stdout
    shown = json.loads(ada.run("show", run_id, "--json").stdout)
    assert {"NOPE_X", "NOPE_Y", "NOPE_Z", "HOME", "SET_HERE"} <= set(shown["env"]["read"])
    assert {"NOPE_X", "NOPE_Y", "NOPE_Z"} <= set(shown["env"]["read_unset"])


def test_check_rules_on_metadata() -> None:
    from gitrun.model import checks as C

    doc = {
        "status": "succeeded",
        "snapshot": {"excluded": [{"path": "big.bin", "reason": "untracked file larger than 10 bytes"},
                                  {"path": "tmp/x", "reason": "excluded by .gitrunignore"}]},
        "git": {"submodules": [{"path": "vendor/lib", "dirty": True}]},
        "data": [{"path": "data/train.csv", "location": "snapshot"}, {"path": "/mnt/x", "location": "outside"},
                 {"path": "/mnt/y", "location": "outside", "marked": True}, {"path": "big", "location": "lfs"}],
        "env": {"packages": [{"name": "a", "version": "1", "installer": "editable", "location": "/repo/pkg"},
                             {"name": "b", "version": "", "installer": "pip"},
                             {"name": "c", "version": "2", "installer": "local", "location": "/elsewhere/c"}],
                "read": ["HOME", "WANDB_API_KEY", "OPTIONAL_FLAG", "HF_TOKEN"], "vars": {"HOME": "/h"},
                "redacted": ["WANDB_API_KEY"]},
    }
    code = [p for p, _ in C.check_code("r", doc)]
    assert len(code) == 2 and "big.bin" in code[0] and "vendor/lib" in code[1]
    data = [p for p, _ in C.check_data("r", doc)]
    assert data == ["data input /mnt/x is outside the repository: others cannot get it"]
    env = [p for p, _ in C.check_environment("r", doc, "/repo")]
    assert len(env) == 2 and "package b has no version" in env and "package c" in env[1]
    # HF_TOKEN: read while set but neither recorded nor redacted, so the script set it itself.
    assert C.required_env_vars(doc) == ["WANDB_API_KEY"]
    doc["env"]["read_unset"] = ["WANDB_API_KEY"]  # probed by a library, found unset: no requirement
    assert C.required_env_vars(doc) == []
    assert C.check_outcome("r", {"status": "crashed"}) and not C.check_outcome("r", {"status": "failed"})
    assert C.accepted_checks({"accepted": [{"check": "all"}]}) == set(C.CHECKS)
    assert C.severity_for({"data": "warn", "code": "bogus"}, "data") == "warn"
    assert C.severity_for({"code": "bogus"}, "code") == "error"
