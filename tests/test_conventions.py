"""Command-line conventions (issue 14): configuration and where it came from, colour, the pager, completion."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import git, gitrun
from tests.run_fixtures import run_in_terminal

GREEN = "\x1b[32m"


def settings(repo: Path) -> dict[str, dict[str, object]]:
    return {entry["key"]: entry for entry in json.loads(gitrun(repo, "config", "--json").stdout)}


def test_settings_come_from_each_source_in_the_documented_order(repo: Path) -> None:
    git(repo, "config", "--global", "gitrun.maxUntrackedSize", "1MiB")
    git(repo, "config", "--global", "gitrun.logCap", "2MiB")
    git(repo, "config", "--global", "gitrun.sample-interval", "9")
    (repo / "pyproject.toml").write_text('[project]\nname = "x"\n\n[tool.gitrun]\nmax_untracked_size = "3MiB"\n'
                                         'log_cap = "4MiB"\n\n[tool.gitrun.check]\nrequire = ["code"]\n')
    (repo / ".gitrun.toml").write_text('# team settings\nlog_cap = "5MiB"\n')
    git(repo, "config", "--local", "gitrun.maxUntrackedSize", "6MiB")
    shown = settings(repo)
    assert shown["max_untracked_size"]["value"] == "6MiB"  # this clone wins over the project
    assert shown["max_untracked_size"]["origin"] == "git config --local gitrun.maxuntrackedsize"
    assert (shown["log_cap"]["value"], shown["log_cap"]["origin"]) == ("5MiB", ".gitrun.toml:2")
    assert (shown["sample_interval"]["value"], shown["sample_interval"]["origin"]) == \
        ("9", "git config --global gitrun.sample-interval")  # the user's default where the project says nothing
    assert shown["check.require"]["origin"] == "pyproject.toml:9"
    assert (shown["color"]["value"], shown["color"]["origin"]) == ("auto", "default")
    assert gitrun(repo, "config", "max-untracked-size").stdout == "6MiB\n"
    table = gitrun(repo, "config").stdout
    assert ".gitrun.toml:2" in table and "default" in table


def test_the_merged_settings_are_the_ones_a_run_uses(repo: Path) -> None:
    (repo / "pyproject.toml").write_text('[tool.gitrun]\nmax_untracked_size = "1MiB"\n')
    git(repo, "config", "gitrun.max-untracked-size", "10")  # bytes: this clone only
    (repo / "big.bin").write_bytes(b"x" * 100)
    gitrun(repo, "-q", "--", "true")
    shown = json.loads(gitrun(repo, "show", "--json").stdout)
    assert "big.bin" in json.dumps(shown.get("snapshot", {}).get("excluded", []))


@pytest.mark.parametrize("where, text, message", [
    ("pyproject.toml", '[tool.gitrun]\nlog_cap = "lots"\n', "pyproject.toml:2: log_cap: 'lots' is not a size"),
    (".gitrun.toml", 'color = "purple"\n', ".gitrun.toml:1: color: 'purple' is not one of auto, always, never"),
    (".gitrun.toml", "color = [\n", ".gitrun.toml: cannot be read as TOML"),
    ("git", "gitrun.sampleInterval=soon", "git config --local gitrun.sampleinterval: sample_interval: 'soon'"),
])
def test_bad_configuration_is_one_line_naming_the_file_and_key(repo: Path, where: str, text: str,
                                                               message: str) -> None:
    if where == "git":
        key, value = text.split("=")
        git(repo, "config", key, value)
    else:
        (repo / where).write_text(text)
    for args in (["list"], ["config"], ["-q", "--", "true"]):
        proc = gitrun(repo, *args, check=False)
        assert proc.returncode == 2, proc.stderr
        assert proc.stderr.startswith(f"git-run: error: {message}"), proc.stderr
        assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr


def test_colour_follows_the_option_no_color_and_config(repo: Path) -> None:
    gitrun(repo, "-q", "--", "true")
    assert GREEN not in gitrun(repo, "list").stdout  # piped: auto means none
    assert GREEN + "succeeded" in gitrun(repo, "list", "--color", "always").stdout
    assert GREEN + "succeeded" in gitrun(repo, "--color=always", "show").stdout
    assert GREEN not in gitrun(repo, "list", "--color", "never").stdout
    git(repo, "config", "gitrun.color", "always")
    assert GREEN in gitrun(repo, "list").stdout
    assert GREEN not in gitrun(repo, "list", env={"NO_COLOR": "1"}).stdout  # NO_COLOR beats config
    assert GREEN in gitrun(repo, "list", "--color", "always", env={"NO_COLOR": "1"}).stdout  # the option beats it
    git(repo, "config", "--unset", "gitrun.color")
    git(repo, "config", "color.ui", "always")  # git's own setting
    assert GREEN in gitrun(repo, "list").stdout
    listing = gitrun(repo, "list", "--json", "--color", "always").stdout
    assert "\x1b" not in listing and json.loads(listing)[0]["status"] == "succeeded"


@pytest.mark.parametrize("command", [["list"], ["show"], ["--no-pager", "show"]])
def test_a_reading_command_opens_the_repository_and_reads_settings_once(
        repo: Path, command: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    import pygit2

    from tests.conftest import gitrun_in_process

    gitrun(repo, "-q", "--", "true")
    git(repo, "config", "gitrun.color", "always")  # the one reading decides the colour of the output
    opened: list[Path] = []
    real_discover = pygit2.discover_repository  # once per opening (gitrun.store.git.open_repository)
    monkeypatch.setattr(pygit2, "discover_repository", lambda start: opened.append(start) or real_discover(start))
    result = gitrun_in_process(repo, *command)
    assert result.returncode == 0, result.stderr
    assert len(opened) == 1, opened  # paging's colour and pager, and the command, share one opening
    assert GREEN + "succeeded" in result.stdout


def test_a_pulled_run_cannot_colour_the_output(repo: Path) -> None:
    from tests.hostile import forged_run

    forged_run(repo, {"train.py": b"x"}, doc={"name": "n\x1b[8mhidden", "message": "m\x1b[31mred"})
    out = gitrun(repo, "list", "--color", "always").stdout
    assert "\\x1b[8m" in out and "\x1b[8m" not in out and "\x1b[31mred" not in out


@pytest.mark.slow  # over 2 s on an idle 2-core machine: out of the fast loop, still in make check
def test_long_output_goes_through_the_pager_on_a_terminal_only(repo: Path) -> None:
    gitrun(repo, "-q", "--", sys.executable, "train.py")
    pager = {"GIT_PAGER": "sed 's/^/PAGED:/'", "NO_COLOR": "1"}
    code, screen = run_in_terminal(repo, ["list"], env=pager)
    assert code == 0 and "PAGED:id" in screen, screen
    code, screen = run_in_terminal(repo, ["show", "--log"], env=pager)
    assert code == 0 and "PAGED:loss: 0.5" in screen, screen
    code, screen = run_in_terminal(repo, ["--no-pager", "list"], env=pager)
    assert code == 0 and "PAGED:" not in screen and "succeeded" in screen
    code, screen = run_in_terminal(repo, ["list", "--no-pager"], env=pager)
    assert "PAGED:" not in screen
    code, screen = run_in_terminal(repo, ["list"], env={"GIT_PAGER": "cat", "PAGER": "sed 's/^/P2:/'"})
    assert "P2:" not in screen and "PAGED:" not in screen
    git(repo, "config", "core.pager", "sed 's/^/CORE:/'")
    code, screen = run_in_terminal(repo, ["list"], env={"NO_COLOR": "1"})
    assert "CORE:id" in screen, screen
    assert "PAGED:" not in gitrun(repo, "list", env=pager).stdout  # piped: never paged


@pytest.mark.slow  # over 2 s on an idle 2-core machine: out of the fast loop, still in make check
def test_completion_scripts_and_run_ids_from_the_index(repo: Path) -> None:
    gitrun(repo, "-q", "--name", "baseline-lr", "--", "true")
    run_id = json.loads(gitrun(repo, "list", "--json").stdout)[0]["id"]
    for shell, marker in (("bash", "_git_run()"), ("zsh", "_git-run()"), ("fish", "__fish_seen_subcommand_from run")):
        script = gitrun(repo, "completion", shell).stdout
        assert "_GIT_RUN_COMPLETE" in script and marker in script
    env = {**os.environ, "_GIT_RUN_COMPLETE": "bash_complete", "COMP_WORDS": "git-run show base", "COMP_CWORD": "2"}
    proc = subprocess.run([sys.executable, "-m", "gitrun"], cwd=repo, env=env, capture_output=True, text=True,
                          check=False)
    assert "plain,baseline-lr" in proc.stdout.splitlines(), proc.stdout + proc.stderr
    env["COMP_WORDS"] = f"git-run show {run_id[:4]}"
    proc = subprocess.run([sys.executable, "-m", "gitrun"], cwd=repo, env=env, capture_output=True, text=True,
                          check=False)
    assert f"plain,{run_id[:10]}" in proc.stdout.splitlines(), proc.stdout


def test_bash_completes_git_run_through_gits_completion_hook(repo: Path, tmp_path: Path) -> None:
    """What git-completion.bash does for `git run show b<TAB>`: it calls _git_run with git's words."""
    gitrun(repo, "-q", "--name", "baseline-lr", "--", "true")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "git-run").write_text(f"#!/bin/sh\nexec {sys.executable} -m gitrun \"$@\"\n")
    (bin_dir / "git-run").chmod(0o755)
    script = gitrun(repo, "completion", "bash").stdout
    (tmp_path / "complete.bash").write_text(script)
    probe = ('source "$1"; COMP_WORDS=(git run show b); COMP_CWORD=3; _git_run; '
             'printf "%s\\n" "${COMPREPLY[@]}"')
    proc = subprocess.run(["bash", "-c", probe, "bash", str(tmp_path / "complete.bash")], cwd=repo,
                          env={**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}"}, capture_output=True,
                          text=True, check=False, timeout=60)
    assert "baseline-lr" in proc.stdout.split(), proc.stdout + proc.stderr


@pytest.mark.slow  # over 2 s on an idle 2-core machine: out of the fast loop, still in make check
def test_reading_commands_speak_json_and_keep_quiet(repo: Path) -> None:
    gitrun(repo, "-q", "--", "true")
    gitrun(repo, "-q", "--", "true")
    ids = [run["id"] for run in json.loads(gitrun(repo, "list", "--json").stdout)]
    assert gitrun(repo, "list", "-q").stdout.split() == ids
    checked = json.loads(gitrun(repo, "check", "--json", check=False).stdout)
    assert set(checked) == {"checked", "passed", "findings"} and sorted(checked["checked"]) == sorted(ids)
    assert all(set(f) == {"run", "check", "severity", "problem", "fix"} for f in checked["findings"])
    quiet = gitrun(repo, "check", "-q", check=False)
    assert quiet.stdout == "" and quiet.returncode == (0 if checked["passed"] else 1)
    assert json.loads(gitrun(repo, "doctor", "--json").stdout) == {"healthy": True, "findings": []}
    assert gitrun(repo, "doctor", "-q").stdout == ""
    config = json.loads(gitrun(repo, "config", "--json").stdout)
    assert all(set(entry) == {"key", "value", "origin", "default", "about"} for entry in config)


def test_baselines_and_the_journal_in_json(repo: Path) -> None:
    gitrun(repo, "-q", "--name", "base", "--", "true")
    gitrun(repo, "baseline", "base")
    run_id = json.loads(gitrun(repo, "list", "--json").stdout)[0]["id"]
    assert json.loads(gitrun(repo, "baseline", "--json").stdout) == [{"branch": "main", "id": run_id, "name": "base"}]
    assert json.loads(gitrun(repo, "journal", "show", "--json").stdout) == {"text": "", "commit": None}
    gitrun(repo, "journal", "add", "tried a smaller lr")
    shown = json.loads(gitrun(repo, "journal", "show", "--json").stdout)
    assert "tried a smaller lr" in shown["text"] and len(shown["commit"]) == 40


def test_watch_clears_the_terminal_instead_of_printing_the_escape(repo: Path) -> None:
    gitrun(repo, "-q", "--", "true")
    code, screen = run_in_terminal(repo, ["watch", "--count", "1"])
    assert code == 0 and "\\x1b[H" not in screen and "\x1b[H\x1b[2J" in screen, screen
