"""tag/untag, note, journal, baseline, rm, gc, apply, branch and --expect on real repositories."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from tests.conftest import git, gitrun, user_state
from tests.run_fixtures import TRAIN, record, run_in_terminal, set_doc


def show(repo: Path, run: str) -> dict[str, object]:
    return json.loads(gitrun(repo, "show", run, "--json").stdout)


def editor_script(tmp_path: Path, body: str) -> dict[str, str]:
    """An $EDITOR that runs ``body`` (a shell snippet) on the file, as a user's editor would save it."""
    script = tmp_path / "editor.sh"
    script.write_text(f"#!/bin/sh\n{body}\n")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return {"GIT_EDITOR": str(script)}


@pytest.fixture
def two_runs(repo: Path) -> dict[str, str]:
    (repo / "train.py").write_text(TRAIN)
    git(repo, "commit", "-qam", "train")
    return {"a": record(repo, "--name", "first", "--", "python", "train.py"),
            "b": record(repo, "--name", "second", "--", "python", "train.py", "0.5")}


@pytest.mark.slow  # over 2 s on an idle 2-core machine: out of the fast loop, still in make check
def test_tag_and_untag_are_shown_and_filterable(repo: Path, two_runs: dict[str, str]) -> None:
    before = user_state(repo)
    out = gitrun(repo, "tag", "first", "keep", "imagenet:v3").stdout
    assert "tags: imagenet:v3, keep" in out
    assert show(repo, "first")["tags"] == ["imagenet:v3", "keep"]
    assert "[imagenet:v3] [keep]" in gitrun(repo, "list").stdout
    listed = gitrun(repo, "list", "--where", "tag == keep").stdout
    assert "first" in listed and "second" not in listed
    assert "tags     imagenet:v3, keep" in gitrun(repo, "show", "first").stdout
    out = gitrun(repo, "untag", "first", "keep", "never-there").stdout
    assert "had no tag 'never-there'" in out
    assert show(repo, "first")["tags"] == ["imagenet:v3"]
    bad = gitrun(repo, "tag", "first", "two words", check=False)
    assert bad.returncode == 2 and "invalid tag" in bad.stderr
    assert user_state(repo) == before  # only gitrun's refs changed


@pytest.mark.slow  # over 2 s on an idle 2-core machine: out of the fast loop, still in make check
def test_note_with_message_and_editor(repo: Path, two_runs: dict[str, str], tmp_path: Path) -> None:
    gitrun(repo, "note", "first", "-m", "LR too high: **diverged** after step 3")
    assert show(repo, "first")["note"] == "LR too high: **diverged** after step 3\n"
    env = editor_script(tmp_path, 'printf "\\nsee run:%s\\n" "second" >> "$1"')
    out = gitrun(repo, "note", "first", env=env).stdout
    assert "note saved" in out
    assert gitrun(repo, "note", "first", "--show").stdout == \
        "LR too high: **diverged** after step 3\n\nsee run:second\n"
    assert "LR too high" in gitrun(repo, "show", "first").stdout
    gitrun(repo, "note", "first", "-m", "")
    assert "note" not in show(repo, "first")


def test_journal_add_show_edit_and_history(repo: Path, two_runs: dict[str, str], tmp_path: Path) -> None:
    before = user_state(repo)
    assert "the journal is empty" in gitrun(repo, "journal", "show").stdout
    gitrun(repo, "journal", "add", f"planned: try warmup, compare with run:{two_runs['a'][:8]}")
    gitrun(repo, "journal", "add", "--decided-against", "mixup: too slow on our data")
    text = gitrun(repo, "journal", "show").stdout
    assert "# Experiment journal" in text
    assert f"planned: try warmup, compare with run:{two_runs['a'][:8]}" in text
    assert text.index("planned: try warmup") < text.index("· decided-against\n\nmixup: too slow")
    assert text.count("\n## 20") == 2  # dated entries
    env = editor_script(tmp_path, 'printf "\\n## In progress\\n\\n- lr sweep\\n" >> "$1"')
    assert "journal saved" in gitrun(repo, "journal", env=env).stdout
    stored = git(repo, "show", "refs/gitrun/journal:journal.md")
    assert "- lr sweep" in stored and "mixup: too slow" in stored
    assert len(git(repo, "rev-list", "refs/gitrun/journal").split()) == 3  # a commit per change
    unchanged = editor_script(tmp_path, "true")
    assert "journal unchanged" in gitrun(repo, "journal", env=unchanged).stdout
    assert user_state(repo) == before


def test_baseline_moves_between_runs(repo: Path, two_runs: dict[str, str]) -> None:
    assert "no baselines marked" in gitrun(repo, "baseline").stdout
    gitrun(repo, "baseline", "first")
    assert show(repo, "first")["baseline_of"] == ["main"]
    out = gitrun(repo, "baseline", "second").stdout
    assert "is now the baseline of main (was" in out
    assert "baseline_of" not in show(repo, "first")
    assert show(repo, "second")["baseline_of"] == ["main"]
    assert gitrun(repo, "baseline").stdout.startswith("main: ")
    gitrun(repo, "baseline", "first", "--branch", "release")
    assert show(repo, "first")["baseline_of"] == ["release"]
    assert show(repo, "second")["baseline_of"] == ["main"]
    gitrun(repo, "baseline", "--clear")
    assert "baseline_of" not in show(repo, "second")


def test_rm_asks_and_refuses_without_a_terminal(repo: Path, two_runs: dict[str, str]) -> None:
    proc = gitrun(repo, "rm", "first", check=False)
    assert proc.returncode == 2 and "stdin is not a terminal" in proc.stderr and "--yes" in proc.stderr
    out = gitrun(repo, "rm", "first", "--dry-run").stdout
    assert "would delete 1 run" in out and "first" in out
    assert len(git(repo, "for-each-ref", "refs/experiments").splitlines()) == 2
    gitrun(repo, "rm", "first", "--yes")
    refs = git(repo, "for-each-ref", "--format=%(refname)", "refs/experiments").split()
    assert refs == [f"refs/experiments/{two_runs['b']}"]
    assert "first" not in gitrun(repo, "list").stdout
    assert gitrun(repo, "show", "first", check=False).returncode == 1


def test_rm_confirms_on_a_terminal(repo: Path, two_runs: dict[str, str]) -> None:
    code, out = run_in_terminal(repo, ["rm", "first"], answer=b"n\n")
    assert "Delete 1 run? [y/N]" in out and "nothing deleted" in out and code == 1
    assert len(git(repo, "for-each-ref", "refs/experiments").splitlines()) == 2
    code, out = run_in_terminal(repo, ["rm", "first", "second"], answer=b"y\n")
    assert code == 0 and "deleted 2 runs" in out
    assert git(repo, "for-each-ref", "refs/experiments") == ""


@pytest.mark.slow  # over 2 s on an idle 2-core machine: out of the fast loop, still in make check
def test_gc_by_rule(repo: Path) -> None:
    old_failed = record(repo, "--name", "old-failed", "--", "python", "-c", "raise SystemExit(1)", check=False)
    old_tagged = record(repo, "--name", "old-tagged", "--tag", "keep", "--", "python", "-c", "raise SystemExit(1)",
                        check=False)
    new_failed = record(repo, "--name", "new-failed", "--", "python", "-c", "raise SystemExit(1)", check=False)
    old_ok = record(repo, "--name", "old-ok", "--", "python", "-c", "pass")
    for run in (old_failed, old_tagged, old_ok):
        set_doc(repo, run, started="2026-01-01T00:00:00.000Z")
    assert gitrun(repo, "gc", check=False).returncode == 2  # a rule is required
    out = gitrun(repo, "gc", "--status", "failed", "--older-than", "30d", "--dry-run").stdout
    assert "would delete 1 run" in out and "old-failed" in out
    assert "keeping 1 matching run" in out and "--include-tagged" in out
    gitrun(repo, "gc", "--status", "failed", "--older-than", "30d", "--yes")
    remaining = gitrun(repo, "list").stdout
    assert "old-failed" not in remaining
    for name in ("old-tagged", "new-failed", "old-ok"):
        assert name in remaining
    (repo / ".gitrun.toml").write_text('[gc]\nwhere = "status == failed"\ninclude_tagged = true\n')
    assert "using the rule in [tool.gitrun.gc]: where status == failed" in gitrun(repo, "gc", "--yes").stdout
    remaining = gitrun(repo, "list").stdout
    assert "old-tagged" not in remaining and "new-failed" not in remaining and "old-ok" in remaining
    assert new_failed


def test_apply_restores_code_without_touching_head_or_index(repo: Path) -> None:
    (repo / "train.py").write_text("print('run version')\n")
    (repo / "extra.py").write_text("x = 1\n")
    (repo / "run.sh").write_text("#!/bin/sh\necho hi\n")
    (repo / "run.sh").chmod(0o755)
    run = record(repo, "--", "python", "train.py")
    git(repo, "checkout", "--", "train.py")
    for name in ("extra.py", "run.sh"):
        (repo / name).unlink()
    (repo / "later.py").write_text("later\n")
    git(repo, "add", "later.py")
    git(repo, "commit", "-qm", "later")
    head = git(repo, "rev-parse", "HEAD")
    index = (repo / ".git" / "index").read_bytes()
    out = gitrun(repo, "apply", run[:10]).stdout
    assert "HEAD, your branch and the index are unchanged" in out
    assert (repo / "train.py").read_text() == "print('run version')\n"
    assert (repo / "extra.py").read_text() == "x = 1\n"
    assert os.access(repo / "run.sh", os.X_OK)
    assert not (repo / "later.py").exists()  # tracked in HEAD, not in the run's code
    assert git(repo, "rev-parse", "HEAD") == head and (repo / ".git" / "index").read_bytes() == index
    assert "already has the code" in gitrun(repo, "apply", run[:10]).stdout


def test_apply_refuses_to_overwrite_uncommitted_work(repo: Path) -> None:
    (repo / "train.py").write_text("print('run version')\n")
    run = record(repo, "--", "python", "train.py")
    (repo / "train.py").write_text("print('my precious edit')\n")
    (repo / "notes.txt").write_text("untracked, not in the run: left alone\n")
    proc = gitrun(repo, "apply", run, check=False)
    assert proc.returncode == 1
    assert "would overwrite uncommitted changes in: train.py" in proc.stderr and "--force" in proc.stderr
    assert (repo / "train.py").read_text() == "print('my precious edit')\n"
    out = gitrun(repo, "apply", run, "--dry-run", "--force").stdout
    assert "would write   train.py" in out
    assert (repo / "train.py").read_text() == "print('my precious edit')\n"
    gitrun(repo, "apply", run, "--force")
    assert (repo / "train.py").read_text() == "print('run version')\n"
    assert (repo / "notes.txt").exists()


def test_branch_at_the_runs_snapshot(repo: Path) -> None:
    (repo / "train.py").write_text("print('experiment')\n")
    run = record(repo, "--name", "exp", "--", "python", "train.py")
    before = git(repo, "rev-parse", "HEAD")
    out = gitrun(repo, "branch", "exp", "try-exp").stdout
    assert "branch try-exp created" in out
    snapshot = show(repo, run)["commit"]
    assert git(repo, "rev-parse", "try-exp").strip() == snapshot
    assert git(repo, "show", "try-exp:train.py") == "print('experiment')\n"
    assert git(repo, "rev-parse", "HEAD") == before
    again = gitrun(repo, "branch", "exp", "try-exp", check=False)
    assert again.returncode == 2 and "already exists" in again.stderr
    bad = gitrun(repo, "branch", "exp", "bad..name", check=False)
    assert bad.returncode == 2 and "not a valid branch name" in bad.stderr


def test_expect_is_checked_when_the_run_ends(repo: Path) -> None:
    (repo / "train.py").write_text("print('acc: 0.95')\n")
    met = record(repo, "--expect", "status == succeeded and exit_code == 0", "--", "python", "train.py")
    missed = record(repo, "--expect", "exit_code == 0", "--", "python", "-c", "raise SystemExit(2)", check=False)
    doc = show(repo, met)["expect"]
    assert doc == {"expression": "status == succeeded and exit_code == 0", "met": True,
                   "detail": "status = succeeded; exit_code = 0"}
    assert show(repo, missed)["expect"] == {"expression": "exit_code == 0", "met": False, "detail": "exit_code = 2"}
    assert "(expect met)" in gitrun(repo, "list").stdout
    assert "missed" in gitrun(repo, "show", missed).stdout
    listed = json.loads(gitrun(repo, "list", "--where", "expect == false", "--json").stdout)
    assert [run["id"] for run in listed] == [show(repo, missed)["id"]]
    runs_before = gitrun(repo, "list", "--json", "--all-branches").stdout
    proc = gitrun(repo, "--expect", "metrics.acc >", "--", "python", "train.py", check=False)
    assert proc.returncode == 2  # a typo is refused before a long job starts
    assert "invalid --expect expression at column 14" in proc.stderr
    assert gitrun(repo, "list", "--json", "--all-branches").stdout == runs_before


def test_journal_edit_merges_with_a_concurrent_entry(repo: Path, tmp_path: Path) -> None:
    import sys

    # While "the editor is open", someone else adds an entry; both changes must survive.
    env = editor_script(tmp_path, f'"{sys.executable}" -m gitrun journal add "added meanwhile" >/dev/null\n'
                                  'sed -i "2i - edited at the top" "$1"')
    gitrun(repo, "journal", "add", "first entry")
    assert "journal saved" in gitrun(repo, "journal", env=env).stdout
    text = gitrun(repo, "journal", "show").stdout
    assert "- edited at the top" in text and "added meanwhile" in text and "first entry" in text
    # Both sides appending at the same place conflict: the edit is kept in a file, nothing is lost.
    env = editor_script(tmp_path, f'"{sys.executable}" -m gitrun journal add "theirs" >/dev/null\n'
                                  'printf "ours\\n" >> "$1"')
    proc = gitrun(repo, "journal", env=env, check=False)
    assert proc.returncode == 2 and "edits conflict" in proc.stderr
    saved = list((repo / ".git" / "gitrun").glob("journal-conflict-*.md"))
    assert len(saved) == 1 and saved[0].read_text().endswith("ours\n")
    assert "theirs" in gitrun(repo, "journal", "show").stdout


def test_apply_when_a_file_becomes_a_folder(repo: Path) -> None:
    (repo / "config").write_text("flat file in HEAD\n")
    git(repo, "add", "config")
    git(repo, "commit", "-qm", "config file")
    (repo / "config").unlink()
    (repo / "config").mkdir()
    (repo / "config" / "model.yaml").write_text("layers: 4\n")
    run = record(repo, "--", "python", "train.py")
    import shutil

    shutil.rmtree(repo / "config")
    git(repo, "checkout", "--", "config")
    assert (repo / "config").is_file()
    gitrun(repo, "apply", run)
    assert (repo / "config" / "model.yaml").read_text() == "layers: 4\n"
    assert git(repo, "status", "--porcelain", "-uall").split() == ["D", "config", "??", "config/model.yaml"]
