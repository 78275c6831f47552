"""Recording a run: the snapshot, the refs and notes, the child process, and the user's state."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import git, gitrun, user_state


def show_json(repo: Path, ref: str) -> dict:
    return json.loads(gitrun(repo, "show", ref, "--json").stdout)


def only_run(repo: Path) -> dict:
    runs = json.loads(gitrun(repo, "list", "--json").stdout)
    assert len(runs) == 1, runs
    return runs[0]


def git_tree_of_worktree(repo: Path, tmp_path: Path) -> str:
    """The tree git itself writes for the working tree (the issue's baseline), via a temp index."""
    index = tmp_path / "baseline-index"
    source = repo / ".git" / "index"
    if source.exists():
        shutil.copy2(source, index)
    env = {**os.environ, "GIT_INDEX_FILE": str(index)}
    subprocess.run(["git", "add", "-A"], cwd=repo, env=env, check=True)
    return subprocess.run(["git", "write-tree"], cwd=repo, env=env, check=True, capture_output=True,
                          text=True).stdout.strip()


def test_snapshot_is_the_working_tree_as_git_would_store_it(repo: Path, tmp_path: Path) -> None:
    (repo / "train.py").write_text("print('edited, unstaged')\n")
    (repo / "staged.py").write_text("x = 1\n")
    git(repo, "add", "staged.py")
    (repo / "staged.py").write_text("x = 2  # edited again after staging\n")
    (repo / "README.md").unlink()
    (repo / "untracked_dir").mkdir()
    (repo / "untracked_dir" / "notes.txt").write_text("kept\n")
    (repo / "run.sh").write_text("#!/bin/sh\necho hi\n")
    (repo / "run.sh").chmod(0o755)
    os.symlink("train.py", repo / "link.py")
    (repo / "crlf.txt").write_bytes(b"a\r\nb\r\n")
    (repo / os.fsdecode(b"caf\xe9.txt")).write_text("latin-1 name\n")
    (repo / ".gitignore").write_text("ignored/\n*.log\n")
    (repo / "ignored").mkdir()
    (repo / "ignored" / "model.bin").write_bytes(b"weights")
    (repo / "debug.log").write_text("noise\n")
    (repo / ".git" / "info" / "exclude").write_text("excluded_by_info.txt\n")
    (repo / "excluded_by_info.txt").write_text("x\n")
    global_ignore = tmp_path / "global-ignore"
    global_ignore.write_text("globally_ignored.txt\n")
    git(repo, "config", "core.excludesFile", str(global_ignore))
    (repo / "globally_ignored.txt").write_text("x\n")
    before = user_state(repo)
    expected_tree = git_tree_of_worktree(repo, tmp_path)

    gitrun(repo, "-q", "--", "true")

    assert user_state(repo) == before
    run = only_run(repo)
    snapshot_tree = git(repo, "rev-parse", f"{run['commit']}^{{tree}}").strip()
    assert snapshot_tree == expected_tree
    names = git(repo, "ls-tree", "-r", "--name-only", run["commit"])
    assert "untracked_dir/notes.txt" in names and "ignored/model.bin" not in names
    assert "debug.log" not in names and "excluded_by_info.txt" not in names
    assert "globally_ignored.txt" not in names
    modes = git(repo, "ls-tree", "-r", run["commit"])
    assert "100755 blob" in next(line for line in modes.splitlines() if line.endswith("run.sh"))
    assert "120000 blob" in next(line for line in modes.splitlines() if line.endswith("link.py"))
    assert run["git"]["dirty"] is True
    assert "train.py" in run["git"]["modified"]
    assert "untracked_dir/notes.txt" in run["git"]["untracked"]
    assert "README.md" in run["git"]["deleted"]
    assert "staged.py" in run["git"]["added"]
    head = git(repo, "rev-parse", "HEAD").strip()
    assert git(repo, "rev-parse", f"{run['commit']}^").strip() == head
    assert run["git"]["base_commit"] == head


def test_autocrlf_files_are_normalised_like_git(repo: Path, tmp_path: Path) -> None:
    (repo / ".gitattributes").write_text("*.txt text eol=lf\n")
    (repo / "windows.txt").write_bytes(b"line one\r\nline two\r\n")
    expected = git_tree_of_worktree(repo, tmp_path)
    gitrun(repo, "-q", "--", "true")
    run = only_run(repo)
    assert git(repo, "rev-parse", f"{run['commit']}^{{tree}}").strip() == expected
    assert git(repo, "cat-file", "-p", f"{run['commit']}:windows.txt") == "line one\nline two\n"


def test_clean_tree_snapshot_equals_head(repo: Path) -> None:
    gitrun(repo, "-q", "--", "true")
    run = only_run(repo)
    assert run["git"]["dirty"] is False
    assert git(repo, "rev-parse", f"{run['commit']}^{{tree}}") == git(repo, "rev-parse", "HEAD^{tree}")


def test_large_untracked_and_secret_files_are_left_out_and_named(repo: Path) -> None:
    (repo / ".gitrun.toml").write_text('max_untracked_size = "1KiB"\n')
    (repo / "big.bin").write_bytes(b"x" * 4096)
    (repo / ".env").write_text("DB_PASSWORD=hunter2\n")
    (repo / "id_rsa").write_text("not really a key\n")
    secret_content = "aws = 'AKIAIOSFODNN7EXAMPLE'\n"
    (repo / "settings.py").write_text(secret_content)
    (repo / ".gitrunignore").write_text("scratch/\n")
    (repo / "scratch").mkdir()
    (repo / "scratch" / "tmp.txt").write_text("scratch\n")
    (repo / "fine.py").write_text("ok = True\n")

    proc = gitrun(repo, "--", "true")

    for name in ("big.bin", ".env", "id_rsa", "settings.py", "scratch/tmp.txt"):
        assert name in proc.stderr, f"{name} not reported:\n{proc.stderr}"
    run = only_run(repo)
    files = git(repo, "ls-tree", "-r", "--name-only", run["commit"]).split()
    assert "fine.py" in files
    for name in ("big.bin", ".env", "id_rsa", "settings.py", "scratch/tmp.txt"):
        assert name not in files
    excluded = {item["path"]: item for item in run["snapshot"]["excluded"]}
    assert excluded["big.bin"]["size"] == 4096 and excluded["big.bin"]["hash"].startswith("blake3:")
    assert "secret" in excluded[".env"]["reason"]
    assert "aws" in excluded["settings.py"]["reason"]
    # The secret never became a git object, loose or packed.
    blob = subprocess.run(["git", "hash-object", "--stdin"], cwd=repo, input=secret_content, text=True,
                          capture_output=True, check=True).stdout.strip()
    assert subprocess.run(["git", "cat-file", "-e", blob], cwd=repo).returncode != 0


def test_vouched_secret_file_is_kept(repo: Path) -> None:
    (repo / ".gitrun.toml").write_text('include_secret_files = ["server.pem"]\n')
    (repo / "server.pem").write_text("public test fixture\n")
    gitrun(repo, "-q", "--", "true")
    run = only_run(repo)
    assert "server.pem" in git(repo, "ls-tree", "-r", "--name-only", run["commit"])


def test_run_survives_branch_deletion_reflog_expiry_and_gc(repo: Path) -> None:
    git(repo, "checkout", "-q", "-b", "experiment")
    (repo / "train.py").write_text("print('only on the branch')\n")
    git(repo, "commit", "-q", "-am", "branch work")
    (repo / "uncommitted.py").write_text("print('never committed')\n")
    gitrun(repo, "-q", "-m", "keep me", "--", "sh", "-c", "echo from-the-log")
    run = only_run(repo)
    git(repo, "checkout", "-q", "main")
    git(repo, "branch", "-D", "experiment")
    os.remove(repo / "uncommitted.py")
    git(repo, "reflog", "expire", "--expire=now", "--all")
    git(repo, "gc", "--prune=now", "--quiet")

    again = show_json(repo, run["id"])
    assert again["message"] == "keep me"
    assert git(repo, "show", f"{run['commit']}:uncommitted.py") == "print('never committed')\n"
    assert git(repo, "show", f"{run['commit']}:train.py") == "print('only on the branch')\n"
    assert "from-the-log" in gitrun(repo, "show", run["id"], "--log").stdout


def test_refs_and_notes_layout(repo: Path) -> None:
    gitrun(repo, "-q", "--", "true")
    run = only_run(repo)
    assert len(run["id"]) == 26
    assert git(repo, "for-each-ref", "--format=%(refname)", "refs/experiments/").split() == [run["ref"]]
    assert git(repo, "rev-parse", run["ref"]).strip() == run["result_commit"]
    assert git(repo, "rev-parse", f"{run['result_commit']}^").strip() == run["commit"]
    # Fanout: the note for commit abcd... lives at ab/cd...
    listing = git(repo, "ls-tree", "-r", "--name-only", "refs/notes/gitrun").split()
    assert listing == [f"{run['commit'][:2]}/{run['commit'][2:]}"]
    note = git(repo, "notes", "--ref=gitrun", "show", run["commit"])
    assert 'schema = 1' in note and f'id = "{run["id"]}"' in note
    assert "refs/notes/commits" not in git(repo, "for-each-ref")


def test_note_holds_the_metadata_the_issue_lists(repo: Path) -> None:
    git(repo, "remote", "add", "origin", "https://alice:s3cret@example.com/team/repo.git")
    env = {"MY_API_TOKEN": "plain-but-named-secret", "HARMLESS": "AKIAIOSFODNN7EXAMPLE", "LR": "0.1"}
    gitrun(repo, "-q", "-m", "why", "--name", "first-try", "--tag", "a", "--tag", "b", "--",
           sys.executable, "-c", "pass", env=env)
    run = show_json(repo, "first-try")
    assert run["name"] == "first-try" and run["message"] == "why" and run["tags"] == ["a", "b"]
    assert run["status"] == "succeeded" and run["exit_code"] == 0
    assert run["command"] == [sys.executable, "-c", "pass"]
    assert run["cwd"] == "."
    assert run["started"].endswith("Z") and run["ended"].endswith("Z") and run["duration_s"] >= 0
    assert run["user"] and run["host"]
    assert run["git"]["branch"] == "main" and run["git"]["detached"] is False
    assert run["git"]["remote_url"] == "https://example.com/team/repo.git"
    env_section = run["env"]
    assert env_section["python"]["version"].startswith(f"{sys.version_info.major}.{sys.version_info.minor}")
    assert os.path.realpath(env_section["python"]["executable"]) == os.path.realpath(sys.executable)
    names = {package["name"].lower() for package in env_section["packages"]}
    assert {"pygit2", "click"} <= names
    assert env_section["vars"]["MY_API_TOKEN"] == "<redacted>"
    assert env_section["vars"]["HARMLESS"] == "<redacted>"
    assert env_section["vars"]["LR"] == "0.1"
    assert "plain-but-named-secret" not in json.dumps(run)
    assert run["hardware"]["cpu"]["cores_logical"] >= 1
    assert run["hardware"]["memory_bytes"] > 0
    assert isinstance(run["hardware"]["gpus"], list)
    assert "hardware.gpus" not in run["missing"]


def test_cwd_is_relative_to_the_repository_root(repo: Path) -> None:
    (repo / "src").mkdir()
    gitrun(repo / "src", "-q", "--", "pwd")
    run = only_run(repo)
    assert run["cwd"] == "src"
    assert gitrun(repo, "show", run["id"], "--log").stdout.strip().endswith("/src")


def test_exit_code_and_output_are_passed_through_and_stored(repo: Path) -> None:
    proc = gitrun(repo, "-q", "--", "sh", "-c", "echo out-line; echo err-line >&2; exit 3", check=False)
    assert proc.returncode == 3
    assert proc.stdout == "out-line\n"
    assert proc.stderr == "err-line\n"
    run = only_run(repo)
    assert run["status"] == "failed" and run["exit_code"] == 3
    log = gitrun(repo, "show", run["id"], "--log").stdout
    assert "out-line" in log and "err-line" in log
    assert run["log"]["bytes"] == len("out-line\nerr-line\n")


def test_log_cap_keeps_head_and_tail(repo: Path) -> None:
    (repo / ".gitrun.toml").write_text("log_cap = 1000\n")
    gitrun(repo, "-q", "--", sys.executable, "-c",
           "print('FIRST'); [print('x' * 99) for _ in range(100)]; print('LAST')")
    run = only_run(repo)
    assert run["log"]["truncated"] is True and run["log"]["cap_bytes"] == 1000
    log = gitrun(repo, "show", run["id"], "--log").stdout
    assert log.startswith("FIRST") and log.rstrip().endswith("LAST") and "left out" in log


def test_command_not_found_is_recorded_with_127(repo: Path) -> None:
    proc = gitrun(repo, "--", "no-such-program-xyz", check=False)
    assert proc.returncode == 127
    assert "no-such-program-xyz" in proc.stderr and "not found" in proc.stderr
    run = only_run(repo)
    assert run["status"] == "failed" and run["exit_code"] == 127


def test_child_killed_by_signal_exits_128_plus_n(repo: Path) -> None:
    proc = gitrun(repo, "-q", "--", "sh", "-c", "kill -TERM $$", check=False)
    assert proc.returncode == 128 + signal.SIGTERM
    run = only_run(repo)
    assert run["status"] == "killed" and run["signal"] == "SIGTERM"


@pytest.mark.parametrize("sig, status", [(signal.SIGINT, "interrupted"), (signal.SIGTERM, "killed")])
def test_signals_to_gitrun_are_forwarded_and_recorded(repo: Path, sig: int, status: str) -> None:
    script = "import time,sys; print('ready', flush=True); time.sleep(30)"
    proc = subprocess.Popen([sys.executable, "-m", "gitrun", "-q", "--", sys.executable, "-c", script],
                            cwd=repo, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "ready"
    started = time.monotonic()
    proc.send_signal(sig)
    proc.wait(timeout=20)
    assert time.monotonic() - started < 10
    assert proc.returncode == 128 + sig
    run = only_run(repo)
    assert run["status"] == status


def test_gitrun_killed_hard_is_finalised_as_crashed_by_the_next_command(repo: Path) -> None:
    script = "import time; print('partial output', flush=True); time.sleep(60)"
    proc = subprocess.Popen([sys.executable, "-m", "gitrun", "-q", "--", sys.executable, "-c", script],
                            cwd=repo, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "partial output"
    running = only_run(repo)
    assert running["status"] == "running"
    proc.kill()
    proc.wait()
    run = only_run(repo)  # any gitrun command finalises orphans first
    assert run["status"] == "crashed"
    assert "partial output" in gitrun(repo, "show", run["id"], "--log").stdout
    assert not list((repo / ".git" / "gitrun" / "live").iterdir())


@pytest.mark.slow  # a stress test: ten recordings at once (>5 s)
def test_ten_concurrent_runs_are_all_recorded(repo: Path) -> None:
    procs = [subprocess.Popen([sys.executable, "-m", "gitrun", "-q", "--tag", f"n{i}", "--", "true"],
                              cwd=repo, stdout=subprocess.PIPE, stderr=subprocess.PIPE) for i in range(10)]
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    runs = json.loads(gitrun(repo, "list", "--json").stdout)
    assert len(runs) == 10
    assert sorted(run["tags"][0] for run in runs) == sorted(f"n{i}" for i in range(10))
    assert all(run["status"] == "succeeded" for run in runs)


def test_child_sees_a_terminal_when_gitrun_runs_in_one(repo: Path) -> None:
    """Colours and progress bars: the child writes to a pty when gitrun's stdout is a terminal."""
    import pty

    master, slave = pty.openpty()
    script = "import sys; print('tty' if sys.stdout.isatty() else 'pipe', flush=True)"
    proc = subprocess.Popen([sys.executable, "-m", "gitrun", "-q", "--", sys.executable, "-c", script],
                            cwd=repo, stdout=slave, stderr=slave, stdin=subprocess.DEVNULL)
    os.close(slave)
    output = b""
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:
            break
        if not chunk:
            break
        output += chunk
    proc.wait(timeout=60)
    os.close(master)
    assert proc.returncode == 0
    assert b"tty" in output and b"pipe" not in output
    assert b"\r\r\n" not in output  # line endings translated once, by the user's terminal only
    run = only_run(repo)
    assert gitrun(repo, "show", run["id"], "--log").stdout == "tty\n"  # the child's own bytes
