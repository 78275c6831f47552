"""``git run check``'s secrets scan covers everything a push publishes, whole and streamed.

Recording keeps secrets out (tests/test_secrets_recorded.py); these runs hold one anyway, the way
runs recorded by an older gitrun, pulled from a teammate or vouched for by the user do: in the
note, in an output, late in a large change.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from gitrun.commands.check import check_secrets
from gitrun.store import codec
from gitrun.store.notes import write_notes
from tests.conftest import git, gitrun
from tests.remote_helpers import Server, User, make_user, server_fixture  # noqa: F401
from tests.run_fixtures import record, store
from tests.secret_corpus import Fakes

FAKE = Fakes(seed=77)
GITHUB = FAKE.github()
SLACK = FAKE.slack_bot()


def problems_of(repo: Path, run_id: str) -> list[str]:
    runs = store(repo)
    run = runs.get(run_id)
    return [problem for problem, _ in check_secrets(runs.repo, run, run_id[:10])]


def test_a_secret_in_a_stored_output_is_reported(repo: Path) -> None:
    run_id = record(repo, "--", "true")
    runs = store(repo)
    runs.save_result(runs.get(run_id), {"outputs/config.json": f'{{"token": "{GITHUB}"}}'.encode(),
                                        "logs/output.log": b"fine\n"})
    assert problems_of(repo, run_id) == [
        "the stored file outputs/config.json line 1 holds what looks like a github-token"]


def test_a_secret_in_the_note_is_reported(repo: Path) -> None:
    run_id = record(repo, "--", "true")
    runs = store(repo)
    run = runs.get(run_id)
    forged = {**run.doc, "message": f"pulled from a teammate: {SLACK}"}
    write_notes(runs.repo, {run.snapshot_commit: codec.encode(forged)}, "a note written by an older gitrun")
    found = problems_of(repo, run_id)
    assert len(found) == 1 and "the run's metadata (note) line" in found[0] and "slack-token" in found[0]
    assert SLACK not in found[0]


def test_a_secret_late_in_a_large_change_is_reported(repo: Path) -> None:
    """A change of many hunks, over 8 MiB of added lines before the token (the old scan stopped there)."""
    rows = 200_000
    (repo / "table.csv").write_text("".join(f"r{i:07d}\n" for i in range(rows)))
    git(repo, "add", "table.csv")
    git(repo, "commit", "-q", "-m", "table")
    wide = ",".join(["0.125"] * 66)  # a 395-byte row
    changed = [wide if i % 8 == 0 else f"r{i:07d}" for i in range(rows)]
    changed[rows - 8] = f"{wide},{GITHUB}"
    (repo / ".gitrun.toml").write_text('include_secret_files = ["table.csv"]\n')  # vouched: kept in the snapshot
    (repo / "table.csv").write_text("\n".join(changed) + "\n")
    run_id = record(repo, "--", "true")
    assert problems_of(repo, run_id) == [
        f"table.csv line {rows - 7} holds what looks like a github-token (in the run's code changes)"]


def test_a_secret_the_base_commit_already_held_is_not_the_runs(repo: Path) -> None:
    (repo / "old.py").write_text(f"TOKEN = '{GITHUB}'\n")
    git(repo, "add", "old.py")
    git(repo, "commit", "-q", "-m", "an old mistake")
    (repo / ".gitrun.toml").write_text('include_secret_files = ["old.py"]\n')
    (repo / "old.py").write_text(f"TOKEN = '{GITHUB}'\nEPOCHS = 3\n")
    run_id = record(repo, "--", "true")
    assert problems_of(repo, run_id) == []


def _pre_commit_push(user: User, *refspecs: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", "push", "origin", *refspecs], cwd=user.path, capture_output=True, text=True,
                          env={**os.environ, **user.env, "PRE_COMMIT_HOME": str(user.path.parent / "pc-home")},
                          check=False)


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("pre-commit") is None and not (Path(sys.executable).parent / "pre-commit").exists(),
                    reason="pre-commit is not installed (it is in the dev extra)")
def test_under_pre_commit_the_guard_checks_every_ref_of_the_push(server: Server, tmp_path: Path) -> None:
    """pre-commit hands the hook only the first ref (main); the run behind the glob is checked too."""
    ada = make_user(server, tmp_path, "Ada", seed=True)
    (ada.path / ".pre-commit-config.yaml").write_text(
        "repos:\n- repo: local\n  hooks:\n  - id: gitrun-check\n    name: gitrun check\n"
        f"    entry: {sys.executable} -m gitrun hook pre-push\n    language: system\n"
        "    stages: [pre-push]\n    pass_filenames: false\n    always_run: true\n")
    pre_commit = shutil.which("pre-commit") or str(Path(sys.executable).parent / "pre-commit")
    subprocess.run([pre_commit, "install", "--hook-type", "pre-push"], cwd=ada.path, check=True,
                   capture_output=True, env={**os.environ, "PRE_COMMIT_HOME": str(tmp_path / "pc-home")})
    (ada.path / ".gitrun.toml").write_text('include_secret_files = ["settings.py"]\n')
    (ada.path / "settings.py").write_text(f"TOKEN = '{GITHUB}'\n")
    bad = ada.record("true")
    (ada.path / "settings.py").unlink()
    good = ada.record("true")
    git(ada.path, "commit", "-q", "--allow-empty", "-m", "new work on main")

    result = _pre_commit_push(ada, "main", "refs/experiments/*:refs/experiments/*")
    assert result.returncode != 0, result.stdout + result.stderr
    output = result.stdout + result.stderr
    assert bad in output and "github-token" in output and GITHUB not in output
    assert not server.refs()  # atomic refusal: nothing of the push was published
    # Pushing main alone publishes no run: not held up by the bad run.
    assert _pre_commit_push(ada, "main").returncode == 0
    ada.run("rm", "--yes", bad)
    assert _pre_commit_push(ada, "main", "refs/experiments/*:refs/experiments/*").returncode == 0
    assert f"refs/experiments/{good}" in server.refs()


@pytest.mark.slow  # over 2 s on an idle 2-core machine: out of the fast loop, still in make check
def test_a_redacted_argument_is_a_required_secret_until_declared(repo: Path) -> None:
    run_id = record(repo, "--", "python3", "-c", "pass", "--api-key", FAKE.openai(), "--lr", "0.1")
    listed = gitrun(repo, "check", run_id, "--only", "env_vars", check=False)
    assert listed.returncode == 1
    assert "held secrets, stored redacted: --api-key" in listed.stdout
    gitrun(repo, "check", "--accept", run_id, "needs an OpenAI key", "--only", "env_vars")
    assert store(repo).get(run_id).doc["env"]["required_secrets"] == ["--api-key"]
    assert gitrun(repo, "check", run_id, "--only", "env_vars").returncode == 0
    assert "needs secrets" in gitrun(repo, "show", run_id).stdout


def test_pushing_the_notes_ref_alone_checks_the_runs_whose_notes_it_publishes(server: Server, tmp_path: Path) -> None:
    ada = make_user(server, tmp_path, "Ada", seed=True)
    ada.run("hooks", "install")
    run_id = ada.record("true")
    runs = store(ada.path)
    run = runs.get(run_id)
    write_notes(runs.repo, {run.snapshot_commit: codec.encode({**run.doc, "message": f"see {SLACK}"})}, "forged")
    result = subprocess.run(["git", "push", "origin", "refs/notes/gitrun:refs/notes/gitrun"], cwd=ada.path,
                            capture_output=True, text=True, env={**os.environ, **ada.env}, check=False)
    assert result.returncode != 0 and run_id in result.stderr and "slack-token" in result.stderr
    assert not server.refs("refs/notes/")
