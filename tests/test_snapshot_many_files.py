"""Snapshots with many new files: stored from the bytes the policy read, the policy still decides first.

From ``GIT_BATCH_FROM`` untracked files on, the small files the policy let in are stored from the
bytes it read and scanned (ids computed in-process, missing blobs written in one ``git
fast-import``, the files merged into the tree); where git would convert line endings or run a
filter, git hashes them in one batch instead (``git update-index --add --stdin``). Issue 9: 100,000
untracked files took 16-22 s; bench/bench_snapshot.py measures it against `git add -A`.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from gitrun.store.snapshot import GIT_BATCH_FROM
from tests.conftest import git, gitrun, user_state

MANY = GIT_BATCH_FROM + 100
SECRET = b"GITHUB_TOKEN=ghp_A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8\n"


def make_many(repo: Path) -> None:
    for number in range(MANY):
        folder = repo / "data" / f"d{number % 7}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"f{number:04d}.txt").write_text(f"row {number}\n")
    os.chmod(repo / "data" / "d0" / "f0000.txt", 0o755)  # git records the executable bit
    (repo / "data" / "d1" / ".env").write_bytes(SECRET)  # a secret by name
    (repo / "data" / "d2" / "notes.txt").write_bytes(SECRET)  # a secret by content
    (repo / "data" / "ignored-by-gitrun.txt").write_text("not for runs\n")
    (repo / ".gitrunignore").write_text("data/ignored-by-gitrun.txt\n")


def git_tree_without(repo: Path, tmp_path: Path, left_out: list[str]) -> str:
    index = tmp_path / "plain-index"
    env = {**os.environ, "GIT_INDEX_FILE": str(index)}
    subprocess.run(["cp", str(repo / ".git" / "index"), str(index)], check=True)
    subprocess.run(["git", "add", "-A"], cwd=repo, env=env, check=True)
    subprocess.run(["git", "rm", "-q", "--cached", *left_out], cwd=repo, env=env, check=True)
    return subprocess.run(["git", "write-tree"], cwd=repo, env=env, capture_output=True, text=True,
                          check=True).stdout.strip()


def test_many_new_files_give_gits_tree_and_secrets_never_reach_the_object_store(repo: Path, tmp_path: Path) -> None:
    make_many(repo)
    before = (repo / ".git" / "index").read_bytes()
    proc = gitrun(repo, "--", "true")
    assert ".env" in proc.stderr and "notes.txt" in proc.stderr  # named as left out
    run = json.loads(gitrun(repo, "list", "--json").stdout)[0]
    # Never hashed: the secret content is not an object (loose or packed) in the repository.
    secret_blob = subprocess.run(["git", "hash-object", "--stdin"], input=SECRET, capture_output=True,
                                 check=True).stdout.decode().strip()
    assert subprocess.run(["git", "cat-file", "-e", secret_blob], cwd=repo).returncode != 0
    assert (repo / ".git" / "index").read_bytes() == before  # the user's index is untouched
    left_out = ["data/d1/.env", "data/d2/notes.txt", "data/ignored-by-gitrun.txt"]
    snapshot_tree = git(repo, "rev-parse", f"{run['commit']}^{{tree}}").strip()
    assert snapshot_tree == git_tree_without(repo, tmp_path, left_out)
    assert "100755" in git(repo, "ls-tree", f"{run['commit']}", "data/d0/f0000.txt")


def test_a_file_git_refuses_in_the_batch_falls_back_to_one_by_one(repo: Path) -> None:
    make_many(repo)
    os.mkfifo(repo / "data" / "pipe")  # git update-index refuses a FIFO: the whole batch is redone in-process
    gitrun(repo, "-q", "--", "true", timeout=120)
    run = json.loads(gitrun(repo, "list", "--json").stdout)[0]
    assert run["status"] == "succeeded"
    names = git(repo, "ls-tree", "-r", "--name-only", run["commit"]).split()
    assert f"data/d{(MANY - 1) % 7}/f{MANY - 1:04d}.txt" in names and "data/pipe" not in names


def test_the_batched_clue_search_flags_every_file_a_scan_would_flag() -> None:
    """Small untracked files are scanned only where the joined bytes hold a clue of a secret: every
    text of the secret corpus is flagged, wherever it stands among ordinary files."""
    from gitrun.model.secrets import SEGMENT_SEPARATOR, scan, segments_to_scan
    from tests.secret_corpus import clean_samples, secret_samples

    clean = [text.encode() for _, text in clean_samples()]
    texts = [text.encode() for _, _, text in secret_samples()]
    for position, secret in enumerate(texts):
        joined = [clean[position % len(clean)], secret, b"\xff\xfe not utf-8 \xc3", clean[(position + 1) % len(clean)]]
        starts, offset = [], 0
        for text in joined:
            starts.append(offset)
            offset += len(text) + len(SEGMENT_SEPARATOR)
        flagged = segments_to_scan(SEGMENT_SEPARATOR.join(joined), starts)
        assert 1 in flagged, secret[:80]
        needed = {index for index, text in enumerate(joined) if scan(text.decode("utf-8", "replace"))}
        assert needed <= flagged
    assert segments_to_scan(b"row 1\n\0row 2\n\0", [0, 7]) == set()  # ordinary rows: no scan at all


def test_every_secret_among_many_small_untracked_files_stays_out(repo: Path) -> None:
    from tests.secret_corpus import secret_samples

    make_many(repo)
    secrets = []
    for number, (_kind, secret, text) in enumerate(list(secret_samples(rounds=1))):
        (repo / "data" / f"d{number % 7}" / f"conf{number:03d}.txt").write_text(text)
        secrets.append((f"data/d{number % 7}/conf{number:03d}.txt", secret))
    gitrun(repo, "-q", "--", "true", timeout=120)
    run = json.loads(gitrun(repo, "show", "--json", json.loads(gitrun(repo, "list", "--json").stdout)[0]["id"]).stdout)
    excluded = {item["path"] for item in run["snapshot"]["excluded"]}
    assert {path for path, _ in secrets} <= excluded
    everything = subprocess.run(["git", "cat-file", "--batch-all-objects", "--batch"], cwd=repo,
                                capture_output=True, check=True).stdout
    for path, secret in secrets:
        assert secret.encode() not in everything, path
    names = git(repo, "ls-tree", "-r", "--name-only", run["commit"]).split()
    assert f"data/d{(MANY - 1) % 7}/f{MANY - 1:04d}.txt" in names


def test_many_new_files_with_odd_names_modes_links_and_ignores_give_gits_tree(repo: Path, tmp_path: Path) -> None:
    """The in-process path stores what `git add -A` on a temporary index stores, byte for byte."""
    make_many(repo)
    (repo / "src").mkdir()
    (repo / "src" / "kept.py").write_text("tracked\n")
    git(repo, "add", "src/kept.py")
    git(repo, "commit", "-q", "-m", "a folder HEAD has")
    odd = ["tab\tname.txt", "new\nline.txt", " lead space.txt", "-dash.txt", "ünï cødé.txt", "quote\"d.txt",
           os.fsdecode(b"caf\xe9.txt"), "src/added next to tracked.py", "deep/a/b/c/d/e.txt", "empty.txt"]
    for name in odd:
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_bytes(b"" if name == "empty.txt" else f"content of {name!r}\n".encode())
    (repo / "train.py").write_text("print('edited')\n")  # tracked changes go through the index as before
    (repo / "README.md").unlink()
    os.symlink("train.py", repo / "data" / "link.py")
    os.symlink("../nowhere", repo / "data" / "dangling")
    os.chmod(repo / "data" / "d3" / "f0003.txt", 0o755)
    (repo / "crlf.txt").write_bytes(b"a\r\nb\r\n")  # no conversion configured: stored as it is
    (repo / ".gitignore").write_text("*.log\nignored/\n")
    (repo / "data" / "d4" / "noise.log").write_text("ignored\n")
    (repo / "ignored").mkdir()
    (repo / "ignored" / "weights.bin").write_bytes(b"\0" * 100)
    (repo / ".git" / "info" / "exclude").write_text("data/d5/f0005.txt\n")
    global_ignore = tmp_path / "global-ignore"
    global_ignore.write_text("data/d6/f0006.txt\n")
    git(repo, "config", "core.excludesFile", str(global_ignore))
    (repo / "data" / "d0" / "keep.me").write_text("negated\n")
    (repo / "data" / "d0" / ".gitignore").write_text("*.me\n!keep.me\nskip*\n")
    (repo / "data" / "d0" / "skip.txt").write_text("ignored by a nested .gitignore\n")
    git(repo, "rm", "-q", "--cached", "src/kept.py")  # staged for deletion, still on disk: untracked
    before = user_state(repo)
    gitrun(repo, "-q", "--", "true", timeout=120)
    assert user_state(repo) == before
    run = json.loads(gitrun(repo, "list", "--json").stdout)[0]
    snapshot_tree = git(repo, "rev-parse", f"{run['commit']}^{{tree}}").strip()
    left_out = ["data/d1/.env", "data/d2/notes.txt", "data/ignored-by-gitrun.txt"]
    assert snapshot_tree == git_tree_without(repo, tmp_path, left_out)
    listing = subprocess.run(["git", "ls-tree", "-r", "-z", run["commit"]], cwd=repo, capture_output=True,
                             check=True).stdout.split(b"\0")
    modes = {line.split(b"\t", 1)[1]: line.split(b" ", 1)[0] for line in listing if line}
    assert modes[b"data/link.py"] == b"120000" and modes[b"data/dangling"] == b"120000"
    assert modes[b"data/d3/f0003.txt"] == b"100755" and modes[b"data/d4/f0004.txt"] == b"100644"
    assert b"caf\xe9.txt" in modes and b"tab\tname.txt" in modes and b"data/d5/f0005.txt" not in modes


def test_many_new_files_where_git_converts_line_endings_give_gits_tree(repo: Path, tmp_path: Path) -> None:
    """autocrlf or a text/eol/filter attribute: git's conversion applies, so git hashes the files."""
    make_many(repo)
    for number in range(20):
        (repo / "data" / f"crlf{number}.txt").write_bytes(b"one\r\ntwo\r\n")
    git(repo, "config", "core.autocrlf", "input")
    gitrun(repo, "-q", "--", "true", timeout=120)
    first = json.loads(gitrun(repo, "list", "--json").stdout)[0]
    left_out = ["data/d1/.env", "data/d2/notes.txt", "data/ignored-by-gitrun.txt"]
    assert git(repo, "rev-parse", f"{first['commit']}^{{tree}}").strip() == git_tree_without(repo, tmp_path, left_out)
    assert git(repo, "show", f"{first['commit']}:data/crlf0.txt") == "one\ntwo\n"
    git(repo, "config", "--unset", "core.autocrlf")
    (repo / "data" / ".gitattributes").write_text("crlf*.txt text eol=lf\n")  # an untracked attributes file
    gitrun(repo, "-q", "--", "true", timeout=120)
    second = json.loads(gitrun(repo, "list", "--json").stdout)[0]
    assert second["id"] != first["id"]
    assert git(repo, "rev-parse", f"{second['commit']}^{{tree}}").strip() == git_tree_without(repo, tmp_path,
                                                                                                left_out)
    assert git(repo, "show", f"{second['commit']}:data/crlf0.txt") == "one\ntwo\n"


def test_blobs_written_for_many_new_files_survive_gc_and_a_second_snapshot_reuses_them(repo: Path) -> None:
    make_many(repo)
    gitrun(repo, "-q", "--", "true", timeout=120)
    gitrun(repo, "-q", "--", "true", timeout=120)  # the objects exist now: only looked up, none written
    runs = json.loads(gitrun(repo, "list", "--json").stdout)
    trees = {git(repo, "rev-parse", f"{run['commit']}^{{tree}}").strip() for run in runs}
    assert len(runs) == 2 and len(trees) == 1
    git(repo, "gc", "-q", "--prune=now")
    assert subprocess.run(["git", "fsck", "--connectivity-only", "--no-dangling"], cwd=repo,
                          capture_output=True).returncode == 0
    assert git(repo, "show", f"{runs[0]['commit']}:data/d3/f0010.txt") == "row 10\n"


def test_a_nested_repository_among_many_new_files_is_named_not_captured(repo: Path) -> None:
    make_many(repo)
    nested = repo / "data" / "vendor" / "lib"
    nested.mkdir(parents=True)
    git(nested, "init", "-q")
    (nested / "inner.py").write_text("x = 1\n")
    proc = gitrun(repo, "--", "true", timeout=120)
    assert "data/vendor/lib/ is a nested git repository" in proc.stderr
    run = json.loads(gitrun(repo, "list", "--json").stdout)[0]
    names = git(repo, "ls-tree", "-r", "--name-only", run["commit"]).split()
    assert not any(name.startswith("data/vendor") for name in names) and "data/d3/f0003.txt" in names


def test_untracked_folders_are_listed_the_same_whether_git_walks_them_or_the_whole_tree(
        repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Up to PATHSPEC_FOLDERS untracked folders git lists only their files, beyond it the whole tree:
    the same snapshot either way, and the tree `git add -A` writes."""
    from gitrun.capture.code import snapshot_code
    from gitrun.store import snapshot
    from gitrun.store.config import load_settings
    from gitrun.store.git import open_repository

    make_many(repo)
    for number in range(5):
        (repo / f"top{number}").mkdir()
        (repo / f"top{number}" / "x.txt").write_text(f"top {number}\n")
    (repo / "loose.txt").write_text("an untracked file outside any untracked folder\n")
    (repo / ".gitignore").write_text("top3/\n")
    git(repo, "rm", "-q", "--cached", "README.md")  # staged for deletion, still on disk
    _, paths = open_repository(repo)
    settings = load_settings(paths.workdir)
    walked = snapshot_code(paths, settings)
    monkeypatch.setattr(snapshot, "PATHSPEC_FOLDERS", 0)
    whole = snapshot_code(paths, settings)
    assert walked.tree == whole.tree and walked.untracked == whole.untracked
    assert "README.md" in walked.untracked and "loose.txt" in walked.untracked
    assert "top3/x.txt" not in walked.untracked and "top4/x.txt" in walked.untracked
    left_out = ["data/d1/.env", "data/d2/notes.txt", "data/ignored-by-gitrun.txt"]
    assert str(walked.tree) == git_tree_without(repo, tmp_path, left_out)
