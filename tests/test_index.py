"""The read index (gitrun/store/index.py) and run resolution: a cache that is always right.

Repositories come from the benchmark generator (bench/generate.py): real-sized notes captured from
a real recording, written with git fast-import, so the index reads what a user's clone holds.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bench.generate import generate
from gitrun.cli import main
from gitrun.store.git import open_repository
from gitrun.store.index import INDEX_FILE, SCHEMA
from gitrun.store.runs import RunStore
from tests.conftest import git, gitrun


def cli(capsys: pytest.CaptureFixture[str], cwd: Path, *args: str) -> tuple[int, str, str]:
    """The real command line, in-process (read-only commands gain nothing from a subprocess)."""
    previous = os.getcwd()
    os.chdir(cwd)
    try:
        try:
            main(list(args))
            code = 0
        except SystemExit as exit_:
            code = int(exit_.code or 0)
    finally:
        os.chdir(previous)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def template_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("generated") / "repo"
    return generate(path, 40, {**os.environ, "GIT_CONFIG_NOSYSTEM": "1", "HOME": str(path.parent)}, seed=7)


@pytest.fixture
def runs_repo(template_repo: Path, tmp_path: Path) -> Path:
    """A private copy of a repository with 40 generated runs."""
    dest = tmp_path / "repo"
    subprocess.run(["cp", "-a", str(template_repo), str(dest)], check=True)
    return dest


def index_file(repo: Path) -> Path:
    return repo / ".git" / "gitrun" / INDEX_FILE


def store(repo: Path) -> RunStore:
    repository, paths = open_repository(repo)
    return RunStore(repository, paths)


def listing(capsys: pytest.CaptureFixture[str], repo: Path, *extra: str) -> list[dict[str, Any]]:
    code, out, err = cli(capsys, repo, "list", "--all-branches", "--json", *extra)
    assert code == 0, err
    return json.loads(out)


def test_list_from_index_equals_every_note_parsed(capsys: pytest.CaptureFixture[str], runs_repo: Path) -> None:
    from gitrun.model.run import run_summary_json

    repository, paths = open_repository(runs_repo)
    direct = []
    for run_id in RunStore(repository, paths).run_ids():
        direct.append(run_summary_json(RunStore(repository, paths).get(run_id)))
    assert listing(capsys, runs_repo) == json.loads(json.dumps(direct))
    assert index_file(runs_repo).exists()


@pytest.mark.parametrize("damage", ["delete", "garbage", "truncate", "other_schema"])
def test_a_damaged_index_is_rebuilt_silently(capsys: pytest.CaptureFixture[str], runs_repo: Path,
                                              damage: str) -> None:
    before = cli(capsys, runs_repo, "list", "--all-branches", "--columns", "id,name,status,metrics.acc,tag")
    path = index_file(runs_repo)
    if damage == "delete":
        path.unlink()
    elif damage == "garbage":
        for suffix in ("-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        path.write_bytes(b"not a database at all\n" * 100)
    elif damage == "truncate":
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 3])
    else:  # a future gitrun wrote it: other tables, another version
        conn = sqlite3.connect(path)
        conn.execute("DROP TABLE run_index")
        conn.execute("CREATE TABLE run_index (whatever TEXT)")
        conn.execute(f"PRAGMA user_version = {SCHEMA + 1}")
        conn.commit()
        conn.close()
    after = cli(capsys, runs_repo, "list", "--all-branches", "--columns", "id,name,status,metrics.acc,tag")
    assert after == before
    assert after[0] == 0 and after[2] == ""


def test_a_note_changed_by_plain_git_is_read_again(capsys: pytest.CaptureFixture[str], runs_repo: Path) -> None:
    first = listing(capsys, runs_repo)[3]
    text = git(runs_repo, "notes", "--ref=gitrun", "show", first["commit"])
    changed = text.replace(f'name = "{first["name"]}"', 'name = "renamed-by-hand"')
    subprocess.run(["git", "notes", "--ref=gitrun", "add", "-f", "-F", "-", first["commit"]], cwd=runs_repo,
                   input=changed, text=True, check=True, capture_output=True)
    code, out, _ = cli(capsys, runs_repo, "show", "renamed-by-hand")
    assert code == 0 and first["id"] in out
    assert [run["name"] for run in listing(capsys, runs_repo) if run["id"] == first["id"]] == ["renamed-by-hand"]


def test_tag_and_deleted_ref_show_up_in_the_next_listing(capsys: pytest.CaptureFixture[str],
                                                        runs_repo: Path) -> None:
    runs = listing(capsys, runs_repo)
    cli(capsys, runs_repo, "tag", runs[0]["id"][:12], "fresh-tag")
    git(runs_repo, "update-ref", "-d", f"refs/experiments/{runs[1]['id']}")
    again = listing(capsys, runs_repo, "--where", "tag == fresh-tag")
    assert [run["id"] for run in again] == [runs[0]["id"]]
    assert runs[1]["id"] not in {run["id"] for run in listing(capsys, runs_repo)}


def test_a_note_that_is_not_toml_is_one_broken_run(capsys: pytest.CaptureFixture[str], runs_repo: Path) -> None:
    runs = listing(capsys, runs_repo)
    subprocess.run(["git", "notes", "--ref=gitrun", "add", "-f", "-m", "name = [unclosed", runs[2]["commit"]],
                   cwd=runs_repo, check=True, capture_output=True)
    code, out, err = cli(capsys, runs_repo, "list", "--all-branches")
    assert code == 0, err
    assert out.count("\n") >= len(runs)
    code, out, _ = cli(capsys, runs_repo, "show", runs[0]["id"][:10])
    assert code == 0 and runs[0]["name"] in out


def _list_many(repo: str, rounds: int) -> int:
    failures = 0
    for _ in range(rounds):
        proc = subprocess.run([sys.executable, "-m", "gitrun", "list", "--all-branches", "--columns", "id,metrics.acc"],
                              cwd=repo, capture_output=True, text=True)
        failures += proc.returncode != 0 or proc.stderr != ""
    return failures


@pytest.mark.slow  # over 2 s on an idle 2-core machine: out of the fast loop, still in make check
def test_concurrent_processes_never_corrupt_the_index(runs_repo: Path) -> None:
    # Several processes list while others tag and the index is deleted under them.
    ids = [line.split(",")[0] for line in gitrun(runs_repo, "list", "--all-branches", "--csv",
                                                  "--columns", "id").stdout.splitlines()[1:]]
    index_file(runs_repo).unlink()
    env = {**os.environ}
    taggers = [subprocess.Popen([sys.executable, "-m", "gitrun", "tag", run_id, "concurrent"],
                                cwd=runs_repo, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
               for run_id in ids[:6]]
    with multiprocessing.get_context("spawn").Pool(4) as pool:
        failures = pool.starmap(_list_many, [(str(runs_repo), 3)] * 4)
    for proc in taggers:
        _out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    assert sum(failures) == 0
    conn = sqlite3.connect(index_file(runs_repo))
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.close()
    tagged = gitrun(runs_repo, "list", "--all-branches", "--where", "tag == concurrent", "--csv",
                    "--columns", "id").stdout.splitlines()[1:]
    assert sorted(tagged) == sorted(ids[:6])


def test_id_prefix_wins_over_a_name_that_looks_like_one(capsys: pytest.CaptureFixture[str],
                                                       runs_repo: Path) -> None:
    runs = listing(capsys, runs_repo)
    victim, impostor = runs[0], runs[1]
    prefix = victim["id"][:8]
    text = git(runs_repo, "notes", "--ref=gitrun", "show", impostor["commit"])
    forged = text.replace(f'name = "{impostor["name"]}"', f'name = "{prefix}"')
    subprocess.run(["git", "notes", "--ref=gitrun", "add", "-f", "-F", "-", impostor["commit"]], cwd=runs_repo,
                   input=forged, text=True, check=True, capture_output=True)
    code, out, _ = cli(capsys, runs_repo, "show", prefix, "--json")
    assert code == 0 and json.loads(out)["id"] == victim["id"]


def test_a_name_that_looks_like_an_id_prefix_is_refused(repo: Path) -> None:
    proc = gitrun(repo, "--name", "01m8sydr", "--", "true", check=False)
    assert proc.returncode == 2
    assert "looks like a run id prefix" in proc.stderr
    assert git(repo, "for-each-ref", "refs/experiments") == ""


def test_resolve_by_name_commit_prefix_and_ambiguity(capsys: pytest.CaptureFixture[str], runs_repo: Path) -> None:
    runs = listing(capsys, runs_repo)
    target = runs[5]
    runs_store = store(runs_repo)
    assert runs_store.resolve(target["commit"][:9]).id == target["id"]
    assert runs_store.resolve(target["result_commit"][:12]).id == target["id"]
    by_name = [run for run in runs if run["name"] == target["name"]]
    if len(by_name) == 1:
        assert runs_store.resolve(target["name"]).id == target["id"]
    code, _out, err = cli(capsys, runs_repo, "show", runs[0]["id"][:4])
    assert code == 1 and "matches" in err and "runs" in err  # 40 runs share the time prefix
    code, _out, err = cli(capsys, runs_repo, "show", "no-such-run")
    assert code == 1 and "no run matches" in err


def test_resolving_parses_one_note(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
                                   runs_repo: Path) -> None:
    runs = listing(capsys, runs_repo)
    from gitrun.store import codec

    parsed: list[int] = []
    real = codec.loads

    def counting(text: str) -> dict[str, Any]:
        parsed.append(len(text))
        return real(text)

    monkeypatch.setattr(codec, "loads", counting)  # every note parse (the index's and decode_note's)
    runs_store = store(runs_repo)
    runs_store.index.sync()
    parsed.clear()
    for reference in (runs[7]["id"][:10], runs[7]["commit"][:10], runs[7]["name"]):
        runs_store.resolve(reference)
    assert len(parsed) <= 3


def _age_refs_storage(repo: Path, seconds: float) -> None:
    """Make the refs storage look untouched for ``seconds`` (so the index trusts its stat)."""
    import time

    when = time.time() - seconds
    for path in (repo / ".git" / "refs" / "experiments", repo / ".git" / "packed-refs"):
        if path.exists():
            os.utime(path, (when, when))


def test_changes_are_seen_when_the_refs_storage_looks_unchanged(capsys: pytest.CaptureFixture[str],
                                                               runs_repo: Path) -> None:
    _age_refs_storage(runs_repo, 100)
    runs = listing(capsys, runs_repo)
    # Only the notes move (a tag): found by diffing the two notes trees, refs not re-read.
    cli(capsys, runs_repo, "tag", runs[4]["id"], "via-notes-diff")
    _age_refs_storage(runs_repo, 100)
    assert [run["id"] for run in listing(capsys, runs_repo, "--where", "tag == via-notes-diff")] == [runs[4]["id"]]
    # A ref deleted and the folder's mtime set to another old value: the stat differs, refs are re-read.
    git(runs_repo, "update-ref", "-d", f"refs/experiments/{runs[6]['id']}")
    _age_refs_storage(runs_repo, 50)
    assert runs[6]["id"] not in {run["id"] for run in listing(capsys, runs_repo)}
    # git pack-refs moves every ref into packed-refs: same runs, same answers.
    git(runs_repo, "pack-refs", "--all")
    _age_refs_storage(runs_repo, 30)
    assert len(listing(capsys, runs_repo)) == len(runs) - 1
    # Id prefixes resolve from packed ref names too; a packed ref deleted since is no candidate.
    assert store(runs_repo).resolve(runs[8]["id"][:12]).id == runs[8]["id"]
    git(runs_repo, "update-ref", "-d", f"refs/experiments/{runs[8]['id']}")
    code, _out, err = cli(capsys, runs_repo, "show", runs[8]["id"][:12])
    assert code == 1 and "no run matches" in err


def test_a_big_build_in_worker_processes_gives_the_same_index(monkeypatch: pytest.MonkeyPatch,
                                                              capsys: pytest.CaptureFixture[str],
                                                              runs_repo: Path) -> None:
    from gitrun.store import index

    serial = listing(capsys, runs_repo, "--where", "metrics.acc > 0")
    index_file(runs_repo).unlink()
    monkeypatch.setattr(index, "PARALLEL_THRESHOLD", 1)
    monkeypatch.setattr(index, "CHUNK", 7)
    monkeypatch.setattr(index.os, "cpu_count", lambda: 2)
    runs_store = store(runs_repo)
    runs_store.index.sync()
    assert [(run.id, run.doc) for run in runs_store.list_runs(index.LITE)] == [
        (run.id, index.strip_heavy(run.doc)) for run in runs_store.list_runs(index.FULL)]
    assert listing(capsys, runs_repo, "--where", "metrics.acc > 0") == serial


class _Terminal:
    """A stderr that says it is a terminal (what the progress line is drawn on), keeping what is written."""

    def __init__(self) -> None:
        self.text = ""

    def isatty(self) -> bool:
        return True

    def write(self, text: str) -> int:
        self.text += text
        return len(text)

    def flush(self) -> None:
        pass


@pytest.mark.parametrize("terminal", [True, False])
def test_a_big_build_shows_a_progress_bar_on_a_terminal_only(monkeypatch: pytest.MonkeyPatch, runs_repo: Path,
                                                             terminal: bool) -> None:
    from gitrun.store import index

    monkeypatch.setattr(index, "PROGRESS_THRESHOLD", 10)  # 40 runs to read: a "big" build
    monkeypatch.setattr(index, "CHUNK", 8)
    stderr = _Terminal()
    if not terminal:
        monkeypatch.setattr(stderr, "isatty", lambda: False)
    monkeypatch.setattr(sys, "stderr", stderr)
    runs_store = store(runs_repo)
    runs_store.index.sync()
    if not terminal:
        assert stderr.text == ""
        return
    frames = [frame for frame in stderr.text.split("\r") if frame]
    assert frames[0].startswith("gitrun: indexing runs [") and frames[0].endswith("] 8/40")
    assert frames[-2] == f"gitrun: indexing runs [{'#' * 30}] 40/40"
    assert frames[-1] == "\033[K"  # the line is cleared when the index is built
    assert [int(frame.rsplit(" ", 1)[1].split("/")[0]) for frame in frames[:-1]] == [8, 16, 24, 32, 40]
    stderr.text = ""
    runs_store.index.sync()  # up to date: nothing to read, nothing drawn
    assert stderr.text == ""


def test_a_filtered_listing_reads_the_same_rows_as_the_default_one(runs_repo: Path) -> None:
    """``list --where``/``--sort`` take the table's rows from the scan that built the runs (one read)."""
    from gitrun.store import index

    runs_index = store(runs_repo).index
    listing: dict[str, tuple[Any, ...]] = {}
    runs = runs_index.runs(index.COLUMNS + ":metrics", listing)
    assert [run.id for run in runs] == list(listing)
    assert list(listing.values()) == runs_index.listing_rows()
    assert all("metrics" in run.doc for run in runs)
