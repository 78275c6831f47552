"""Faults gitrun must survive without losing the run or breaking later commands (docs/reliability.md).

Each test names the fault it injects: a file name that is not UTF-8, a result contributor that fails,
and (below) a full disk, a garbage-collected notes ref, a snapshot killed half-way, a sparse checkout.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import git, gitrun

PY = sys.executable
ODD_NAME = b"out\xff\xfe.txt"  # not UTF-8: Linux file names are bytes


def runs(repo: Path) -> list[dict[str, Any]]:
    return list(json.loads(gitrun(repo, "list", "--json").stdout))


def show(repo: Path, run_id: str) -> dict[str, Any]:
    return dict(json.loads(gitrun(repo, "show", run_id, "--json").stdout))


def spools(repo: Path) -> list[str]:
    live = repo / ".git" / "gitrun" / "live"
    return sorted(p.name for p in live.iterdir()) if live.is_dir() else []


WRITE_ODD_OUTPUT = f"open({ODD_NAME!r}, 'wb').write(b'odd bytes'); open('plain.txt', 'w').write('plain')"


def test_output_with_a_non_utf8_name_is_stored_under_its_exact_bytes(repo: Path, tmp_path: Path) -> None:
    proc = gitrun(repo, "-q", "--", PY, "-c", WRITE_ODD_OUTPUT, check=False)
    assert proc.returncode == 0, proc.stderr  # the child's exit code, not gitrun's internal error (70)
    assert "internal error" not in proc.stderr
    live = repo / ".git" / "gitrun" / "live"
    assert spools(repo) == [], (proc.stderr, [sorted(p.name for p in d.iterdir()) for d in live.iterdir()])
    [run] = runs(repo)
    assert run["status"] == "succeeded"
    listing = subprocess.run(["git", "ls-tree", "-r", "-z", "--name-only", f"refs/experiments/{run['id']}"],
                             cwd=repo, capture_output=True, check=True).stdout.split(b"\0")
    assert b"outputs/" + ODD_NAME in listing and b"outputs/plain.txt" in listing
    entries = subprocess.run(["git", "ls-tree", "-r", "-z", f"refs/experiments/{run['id']}", "outputs/"],
                             cwd=repo, capture_output=True, check=True).stdout.split(b"\0")
    odd_blob = next(e.split(b" ")[2].split(b"\t")[0] for e in entries if e.endswith(b"/" + ODD_NAME))
    assert git(repo, "cat-file", "blob", odd_blob.decode()) == "odd bytes"
    git(repo, "fsck", "--strict", "--no-dangling")  # the tree is well-formed (names sorted as git sorts)
    outputs = {item["path"]: item for item in show(repo, run["id"])["outputs"]}
    assert outputs["out\\xff\\xfe.txt"]["stored"] is True  # the note's text is UTF-8 (docs/format.md)
    target = tmp_path / "restored"
    restore = subprocess.run([PY, "-m", "gitrun", "checkout-output", run["id"], "--to", str(target)], cwd=repo,
                             capture_output=True, check=False)
    assert restore.returncode == 0, restore.stderr
    assert (target / os.fsdecode(ODD_NAME)).read_bytes() == b"odd bytes"  # the exact bytes of the name


def test_crashed_run_with_a_non_utf8_output_is_recovered_and_commands_keep_working(repo: Path) -> None:
    script = WRITE_ODD_OUTPUT + "; print('ready', flush=True); import time; time.sleep(60)"
    proc = subprocess.Popen([PY, "-m", "gitrun", "-q", "--", PY, "-c", script], cwd=repo,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == b"ready"
    proc.kill()  # gitrun dies; the child goes with it (PDEATHSIG)
    proc.wait()
    deadline = time.monotonic() + 10
    while True:
        listed = gitrun(repo, "list", "--json", check=False)
        assert listed.returncode == 0, listed.stderr
        [run] = json.loads(listed.stdout)
        if run["status"] != "running" or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert run["status"] == "crashed"
    assert spools(repo) == []
    assert "out\\xff\\xfe.txt" in {item["path"] for item in show(repo, run["id"])["outputs"]}
    assert gitrun(repo, "-q", "--", "true").returncode == 0


def test_a_contributor_whose_result_cannot_be_stored_does_not_lose_the_run(
        repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from gitrun.commands.record import record
    from gitrun.runner import features
    from gitrun.runner.options import RecordOptions

    def broken(spool: object, ending: object) -> tuple[dict[str, Any], dict[str, Any]]:
        return {"broken/file": "text where bytes belong"}, {"broken": {"ok": True}}  # unstorable

    monkeypatch.setattr(features, "CONTRIBUTORS", (*features.CONTRIBUTORS, broken))
    monkeypatch.chdir(repo)
    code = record(RecordOptions(command=["sh", "-c", "echo kept; exit 3"], quiet=True))
    assert code == 3  # the child's code
    [run] = runs(repo)
    assert run["status"] == "failed"
    assert spools(repo) == []
    assert "kept" in gitrun(repo, "show", run["id"], "--log").stdout
    assert any("broken/file" in key for key in show(repo, run["id"])["missing"])  # says what was left out


def test_trees_keep_non_utf8_names_in_gits_order(repo: Path) -> None:
    from gitrun.store.git import open_repository
    from gitrun.store.trees import build_tree, read_tree_files

    repository, _ = open_repository(repo)
    files: dict[str, Any] = {"d\udcff/x": b"1", "d\udcff.b": b"2", "d\udcff-": b"3", "plain/y": b"4", "z": b"5"}
    base = repository.get(build_tree(repository, {"kept\udcfe": b"6", "plain/old": b"7"}))
    tree = repository.get(build_tree(repository, files, base))
    found = {path: repository.get(oid).data for path, oid in read_tree_files(repository, tree).items()}
    assert found == {"d\udcff/x": b"1", "d\udcff.b": b"2", "d\udcff-": b"3", "plain/y": b"4", "z": b"5",
                     "kept\udcfe": b"6", "plain/old": b"7"}
    git(repo, "update-ref", "refs/test/tree", str(repository.create_commit(
        None, repository.default_signature, repository.default_signature, "t", tree.id, [])))
    git(repo, "fsck", "--strict", "--no-dangling")


def _dead_pid() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def test_temporary_index_left_by_a_killed_snapshot_is_removed_by_the_next_command(repo: Path) -> None:
    from gitrun.store.tmpfiles import _host_tag

    tmp = repo / ".git" / "gitrun" / "tmp"
    tmp.mkdir(parents=True)
    host = _host_tag()
    dead = tmp / f"index-{host}-{_dead_pid()}-0123456789abcdef"  # what kill -9 during a snapshot leaves
    dead_old_style = tmp / f"index-{_dead_pid()}-fedcba9876543210"
    live = tmp / f"index-{host}-{os.getpid()}-00112233"  # a snapshot in progress in this process
    elsewhere = tmp / f"index-otherhost-{_dead_pid()}-44556677"  # another machine sharing the folder
    for path in (dead, dead_old_style, live, elsewhere):
        path.write_bytes((repo / ".git" / "index").read_bytes())
    gitrun(repo, "list")
    assert sorted(p.name for p in tmp.iterdir()) == sorted([live.name, elsewhere.name])


def test_a_snapshot_leaves_no_temporary_index(repo: Path) -> None:
    gitrun(repo, "-q", "--", "true")
    assert list((repo / ".git" / "gitrun" / "tmp").iterdir()) == []


def _gc_before_ref_update(monkeypatch: pytest.MonkeyPatch, module: str, message_start: str) -> list[str]:
    """Run a real `git gc --prune=now` in the window between writing a commit and moving the ref to it.

    That is the race git documents as unsafe: gc prunes the new, still unreferenced commit, and the
    ref then points at nothing.
    """
    import importlib

    from gitrun.store import refs

    target = importlib.import_module(module)
    original = refs.compare_and_swap
    fired: list[str] = []

    def racing(repo: Any, name: str, new: Any, expected: Any, signature: Any, message: str) -> None:
        if message.startswith(message_start) and not fired:
            subprocess.run(["git", "gc", "-q", "--prune=now"], cwd=repo.workdir, check=True)
            fired.append(name)
        original(repo, name, new, expected, signature, message)

    monkeypatch.setattr(target, "compare_and_swap", racing)
    return fired


def _record_in_process(repo: Path, monkeypatch: pytest.MonkeyPatch, *command: str) -> int:
    from gitrun.commands.record import record
    from gitrun.runner.options import RecordOptions

    monkeypatch.chdir(repo)
    return record(RecordOptions(command=list(command), quiet=True))


def test_gc_pruning_the_notes_commit_breaks_nothing_and_doctor_repairs_it(
        repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    gitrun(repo, "-q", "--tag", "first", "--", "true")
    fired = _gc_before_ref_update(monkeypatch, "gitrun.store.notes", "gitrun: succeeded")
    assert _record_in_process(repo, monkeypatch, "sh", "-c", "echo second") == 0
    assert fired == ["refs/notes/gitrun"]
    assert subprocess.run(["git", "cat-file", "-e", "refs/notes/gitrun"], cwd=repo).returncode != 0  # dangling
    listed = gitrun(repo, "list", "--json")
    assert "git run doctor" in listed.stderr  # a one-line hint, and the command works
    by_tag = {tuple(run["tags"]): run for run in json.loads(listed.stdout)}
    assert by_tag[("first",)]["status"] == "succeeded"  # not "unknown": read from the reflog
    assert by_tag[()]["status"] == "running"  # its final note was the pruned commit
    assert gitrun(repo, "-q", "--tag", "third", "--", "true").returncode == 0  # new runs still work
    assert {tuple(r["tags"]): r["status"] for r in runs(repo)}[("third",)] == "succeeded"

    doctor = gitrun(repo, "doctor")
    assert "repaired:" in doctor.stdout and "running" in doctor.stdout
    after = {tuple(run["tags"]): run for run in runs(repo)}
    assert after[()]["status"] == "unknown" and after[()]["ended"]  # no longer running forever
    assert after[("first",)]["status"] == after[("third",)]["status"] == "succeeded"
    assert "status" in show(repo, after[()]["id"])["missing"]
    assert "second" in gitrun(repo, "show", after[()]["id"], "--log").stdout  # its result commit survived
    again = gitrun(repo, "doctor")
    assert "no problems found" in again.stdout and "doctor" not in again.stderr


def test_gc_pruning_a_run_ref_commit_is_repaired_by_doctor(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fired = _gc_before_ref_update(monkeypatch, "gitrun.store.runs", "gitrun: result")
    assert _record_in_process(repo, monkeypatch, "sh", "-c", "echo lost") == 0
    assert fired
    gitrun(repo, "-q", "--", "true")  # other runs are unaffected
    shown = gitrun(repo, "show", fired[0].rsplit("/", 1)[1], check=False)
    assert shown.returncode == 1 and "git run doctor" in shown.stderr and "Traceback" not in shown.stderr
    doctor = gitrun(repo, "doctor")
    assert "repaired:" in doctor.stdout
    statuses = sorted(run["status"] for run in runs(repo))
    assert statuses == ["succeeded", "succeeded"]  # both listed again; the first lost only its log
    lost = show(repo, fired[0].rsplit("/", 1)[1])
    assert "result" in lost["missing"]
    assert "no problems found" in gitrun(repo, "doctor").stdout


def test_doctor_rebuilds_a_lost_note_from_the_runs_commits(repo: Path) -> None:
    gitrun(repo, "-q", "-m", "why this run", "--name", "keep-me", "--", "true")
    [run] = runs(repo)
    git(repo, "update-ref", "-d", "refs/notes/gitrun")  # every note gone, no reflog left to use
    assert runs(repo)[0]["status"] == "unknown"
    assert "rebuilt" in gitrun(repo, "doctor").stdout
    [rebuilt] = runs(repo)
    assert (rebuilt["id"], rebuilt["name"], rebuilt["message"]) == (run["id"], "keep-me", "why this run")
    assert rebuilt["status"] == "unknown" and "metadata" in show(repo, run["id"])["missing"]


FILL_THE_DISK = """\
import sys
for i in range(20000):
    print(f"step {i} loss: {1 / (i + 1):.5f} " + "x" * 40)
try:
    open("big.bin", "wb").write(b"0" * 50_000_000)
except OSError as err:
    print("child handled:", err.strerror, file=sys.stderr)
print("child done")
"""


@pytest.fixture
def small_disk(tmp_path: Path) -> Any:
    """A 4 MiB filesystem (tmpfs; needs root), unmounted afterwards."""
    mount_point = tmp_path / "small"
    mount_point.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mount_point)],
                      capture_output=True).returncode != 0:
        pytest.skip("cannot mount a small tmpfs here (needs root)")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


@pytest.mark.slow  # a real full filesystem and 20,000 lines of output: about 5 s, 20 s on a loaded machine
def test_a_full_disk_never_kills_the_users_job_and_the_run_is_stored_when_space_returns(small_disk: Path) -> None:
    repo = small_disk / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    (repo / "train.py").write_text(FILL_THE_DISK)
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "initial")
    gitrun(repo, "-q", "--", "true")  # caches written while there is space
    free = os.statvfs(small_disk).f_bavail * os.statvfs(small_disk).f_frsize
    filler = small_disk / "filler"
    filler.write_bytes(b"\0" * (free - 300 * 1024))  # 300 KiB left: enough to start, not to finish

    proc = gitrun(repo, "--", PY, "train.py", check=False)
    assert proc.returncode == 0, proc.stderr  # the child's code: it handled its own ENOSPC
    assert proc.stdout.count("loss:") == 20000 and proc.stdout.endswith("child done\n")  # all passed through
    assert proc.stderr.count("capturing the run's output stopped (No space left on device)") == 1
    assert "internal error" not in proc.stderr and "Traceback" not in proc.stderr
    listed = gitrun(repo, "list", "--json", check=False)
    assert listed.returncode == 0, listed.stderr  # list works on the full disk

    rest = small_disk / "rest"
    with contextlib.suppress(OSError):
        rest.write_bytes(b"\0" * (os.statvfs(small_disk).f_bavail * os.statvfs(small_disk).f_frsize))
    refused = gitrun(repo, "-q", "--", "true", check=False)  # no room even for the snapshot
    assert refused.returncode == 1 and "No space left on device" in refused.stderr
    assert "internal error" not in refused.stderr
    rest.unlink()

    filler.unlink()  # space returns
    latest = runs(repo)[0]
    assert latest["status"] == "succeeded"  # its real ending, saved in the spool, not "crashed"
    assert show(repo, latest["id"])["exit_code"] == 0
    assert spools(repo) == []
    assert "step 0 loss" in gitrun(repo, "show", latest["id"], "--log").stdout  # what was captured is kept


def test_files_outside_a_sparse_checkout_are_recorded_unchanged(repo: Path, tmp_path: Path) -> None:
    (repo / "data").mkdir()
    (repo / "data" / "big.csv").write_text("1,2\n")
    (repo / "src").mkdir()
    (repo / "src" / "model.py").write_text("x = 1\n")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "two folders")
    head_tree = git(repo, "rev-parse", "HEAD^{tree}").strip()
    git(repo, "sparse-checkout", "set", "src")  # data/ is outside the cone: not on disk
    assert not (repo / "data").exists()
    gitrun(repo, "-q", "--", "true")
    [run] = runs(repo)
    assert git(repo, "rev-parse", f"{run['commit']}^{{tree}}").strip() == head_tree
    assert show(repo, run["id"])["git"]["deleted"] == []

    clone = tmp_path / "full"
    git(tmp_path, "clone", "-q", str(repo), str(clone))
    git(clone, "fetch", "-q", "origin", "refs/experiments/*:refs/experiments/*", "refs/notes/*:refs/notes/*")
    gitrun(clone, "apply", run["id"])
    assert (clone / "data" / "big.csv").read_text() == "1,2\n"  # apply in a full clone deletes nothing


def test_a_skip_worktree_file_keeps_its_index_version_as_git_does(repo: Path) -> None:
    git(repo, "update-index", "--skip-worktree", "README.md")
    (repo / "README.md").write_text("local edit git does not see\n")
    assert git(repo, "status", "--porcelain") == ""
    gitrun(repo, "-q", "--", "true")
    [run] = runs(repo)
    assert git(repo, "show", f"{run['commit']}:README.md") == "demo\n"
