"""One bad note breaks nothing but its own run (issue 9).

A note pulled from a remote may be anything: not TOML, nested 10,000 deep, fields of the wrong type,
a newer schema. Every command keeps working on the other runs, the bad run shows as ``broken`` with
the reason, and ``git run rm`` removes it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gitrun.model.schema import check_document
from tests.hostile import forged_run
from tests.run_fixtures import record

BAD_NOTES = {
    "not TOML": b"status = \"succeeded\nname = [",
    "not UTF-8": b"name = \"caf\xe9\"\n",
    "nested 10,000 deep": b"x = " + b"[" * 10_000 + b"]" * 10_000 + b"\n",
    "dotted keys 10,000 deep": b"a" + b".a" * 10_000 + b" = 1\n",
    "wrong types": (b'schema = 1\nname = ["list"]\ntags = "a string"\ncommand = "rm -rf /"\n'
                    b'started = 5\nparams = [1, 2]\nmetrics = "x"\noutputs = ["x"]\ngit = 3\n'
                    b'env = { packages = "numpy" }\nexit_code = "0"\nduration_s = "long"\n'),
    "another run's id": b'id = "01aaaaaaaaaaaaaaaaaaaaaaaa"\nname = "imposter"\n',
}


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, str]:
    """A repository with two real runs (recorded by the CLI), and one bad note per kind above."""
    from tests.conftest import git

    monkey = pytest.MonkeyPatch()
    home = tmp_path_factory.mktemp("home")
    from tests.conftest import isolate

    isolate(monkey, home)
    repo = tmp_path_factory.mktemp("notes") / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    (repo / "train.py").write_text("print('loss: 0.5')\n")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "initial")
    good = record(repo, "--name", "good-one", "-m", "fine", "--", "python", "train.py")
    other = record(repo, "--name", "good-two", "--", "python", "train.py")
    yield repo, good, other
    monkey.undo()


def _bad(repo: Path, kind: str) -> str:
    return forged_run(repo, {"train.py": b"x"}, note=BAD_NOTES[kind])


def _cli(repo: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
         *args: str) -> tuple[int, str, str]:
    """The real command line, in this process: exit code, stdout, stderr."""
    from gitrun.cli import main

    monkeypatch.chdir(repo)
    try:
        main(list(args))
        code = 0
    except SystemExit as exit_:
        code = int(exit_.code or 0)
    out, err = capsys.readouterr()
    assert "internal error" not in err and "Traceback" not in err, err
    return code, out, err


@pytest.mark.parametrize("kind", sorted(BAD_NOTES))
def test_one_bad_note_breaks_only_its_own_run(project: tuple[Path, str, str], kind: str,
                                              monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    repo, good, other = project
    bad = _bad(repo, kind)

    code, out, _ = _cli(repo, monkeypatch, capsys, "list", "--json")
    assert code == 0
    listed = {item["id"]: item for item in json.loads(out)}
    assert listed[good]["name"] == "good-one" and listed[good]["status"] == "succeeded"
    assert listed[bad]["status"] == "broken" and listed[bad]["problems"]

    code, out, _ = _cli(repo, monkeypatch, capsys, "list", "--all-branches")
    assert code == 0 and "good-one" in out and "broken" in out

    code, out, _ = _cli(repo, monkeypatch, capsys, "show", good)
    assert code == 0 and "good-one" in out
    code, out, _ = _cli(repo, monkeypatch, capsys, "show", bad)
    assert code == 0 and "broken" in out and "git run rm" in out

    assert _cli(repo, monkeypatch, capsys, "tag", good, "kept")[0] == 0
    code, _, err = _cli(repo, monkeypatch, capsys, "tag", bad, "x")
    assert code == 1 and f"run {bad} is broken" in err and len(err.strip().splitlines()) == 1

    assert _cli(repo, monkeypatch, capsys, "diff", good, other)[0] == 0
    code, _, _ = _cli(repo, monkeypatch, capsys, "diff", good, bad)
    assert code in (0, 1)
    code, out, _ = _cli(repo, monkeypatch, capsys, "report", "-o", str(repo.parent / "r.md"))
    assert code == 0
    code, _, _ = _cli(repo, monkeypatch, capsys, "check", good)
    assert code in (0, 1)
    code, _, err = _cli(repo, monkeypatch, capsys, "check", bad)
    assert code == 1
    assert _cli(repo, monkeypatch, capsys, "list", "--where", "status == 'broken'")[0] == 0

    code, out, _ = _cli(repo, monkeypatch, capsys, "rm", bad, "--yes")
    assert code == 0 and "deleted 1 run" in out
    code, out, _ = _cli(repo, monkeypatch, capsys, "list", "--json")
    assert bad not in {item["id"] for item in json.loads(out)}
    assert {good, other} <= {item["id"] for item in json.loads(out)}


def test_a_newer_schema_is_read_as_far_as_understood_with_a_notice(
        project: tuple[Path, str, str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    repo, _, _ = project
    run = forged_run(repo, {"train.py": b"x"},
                     note=b'schema = 99\nname = "from-the-future"\nstatus = "succeeded"\nhologram = { x = 1 }\n')
    code, out, _ = _cli(repo, monkeypatch, capsys, "show", run)
    assert code == 0
    assert "from-the-future" in out and "succeeded" in out
    assert "newer gitrun (note schema 99" in out
    assert _cli(repo, monkeypatch, capsys, "tag", run, "t")[0] == 0  # still writable: unknown keys kept
    code, out, _ = _cli(repo, monkeypatch, capsys, "show", run, "--json")
    shown = json.loads(out)
    assert shown["schema"] == 99 and shown["tags"] == ["t"] and shown["notices"]


def test_wrong_types_are_dropped_and_named() -> None:
    checked = check_document({"schema": 1, "id": "x", "tags": "a", "git": {"modified": "f", "branch": "m"},
                              "name": "ok", "outputs": [{"path": 3}]}, "x")
    assert checked.doc == {"schema": 1, "id": "x", "name": "ok", "git": {"branch": "m"}}
    assert "tags should be a list of text, not text" in checked.problems
    assert "git.modified should be a list of text, not text" in checked.problems
    assert any(problem.startswith("outputs should be") for problem in checked.problems)
