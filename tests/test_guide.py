"""Every example of the user guide (docs/guide/*.md) runs, and prints what the page shows.

Each page runs in a fresh git repository of its own (``git init``, identity set, no commit), its
steps in page order: ``file=`` blocks write files, ``console`` blocks run their ``$`` lines with
bash, ``git run`` being this checkout's (the virtual environment's bin folder comes first on PATH).
The convention is in tests/guide_examples.py and at the top of docs/guide/README.md.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import git
from tests.guide_examples import Step, guide_pages, parse_page, unmatched_output

ROOT = Path(__file__).resolve().parent.parent
PAGES = guide_pages(ROOT)


def _cases() -> list[object]:
    cases: list[object] = []
    for page in PAGES:
        steps = parse_page(page.read_text(encoding="utf-8"))
        if any(not step.slow for step in steps):
            cases.append(pytest.param(page, False, id=page.stem))
        if any(step.slow for step in steps):
            cases.append(pytest.param(page, True, id=f"{page.stem}-slow", marks=pytest.mark.slow))
    return cases


def _environment() -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["COLUMNS"] = "160"  # tables as wide as the page shows them, whatever the terminal
    for key in ("GITRUN_SPOOL", "GITRUN_RUN_ID", "PYTHONPATH", "VIRTUAL_ENV"):
        env.pop(key, None)
    env["WANDB_MODE"] = "offline"  # pages about W&B never reach the network
    env["WANDB_SILENT"] = "true"
    return env


def run_page(page: Path, steps: list[Step], repo: Path, with_slow: bool) -> None:
    env = _environment()
    where = page.relative_to(ROOT)
    for step in steps:
        if step.slow and not with_slow:
            continue
        if step.file is not None:
            target = repo / step.file
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(step.content, encoding="utf-8")
            continue
        for command in step.commands:
            proc = subprocess.run(["bash", "-c", command.text], cwd=repo, env=env, capture_output=True,
                                  text=True, timeout=300, check=False)
            output = proc.stdout + proc.stderr
            context = f"{where}:{command.line}: $ {command.text}\n--- output ---\n{output}"
            expected_exit = command.exit_code
            assert proc.returncode == expected_exit, f"exit {proc.returncode}, expected {expected_exit}\n{context}"
            missing = unmatched_output(command.expected, output)
            assert missing is None, f"expected output line not printed: {missing!r}\n{context}"


@pytest.mark.slow  # over 2 s on an idle 2-core machine: out of the fast loop, still in make check
@pytest.mark.parametrize(("page", "with_slow"), _cases())
def test_guide_page_examples_run(page: Path, with_slow: bool, tmp_path: Path) -> None:
    repo = tmp_path / "project"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    run_page(page, parse_page(page.read_text(encoding="utf-8")), repo, with_slow)


def test_the_guide_has_an_index_linking_every_page() -> None:
    index = (ROOT / "docs" / "guide" / "README.md").read_text(encoding="utf-8")
    for page in PAGES:
        if page.name != "README.md":
            assert f"]({page.name})" in index, f"docs/guide/README.md does not link {page.name}"


# --- the harness itself: a page that is wrong must fail ------------------------------------------------

PAGE = """\
Intro text.

```python file=hello.py
print("hello 42")
```

```console
$ python hello.py
hello ...
$ python -c 'import sys; sys.exit(3)'
[exit 3]
$ echo one \\
    two
one two
```

```console slow
$ echo slow
```

```console norun
$ pip install something-heavy
```
"""


def test_parse_page_reads_files_commands_outputs_exit_codes_and_marks() -> None:
    steps = parse_page(PAGE)
    assert [(step.file, step.slow) for step in steps] == [("hello.py", False), (None, False), (None, True)]
    assert steps[0].content == 'print("hello 42")\n'
    commands = steps[1].commands
    assert [c.text for c in commands] == ["python hello.py", "python -c 'import sys; sys.exit(3)'",
                                          "echo one \\\n    two"]
    assert commands[0].expected == ["hello ..."] and commands[1].exit_code == 3
    assert commands[2].expected == ["one two"]


def test_a_page_whose_output_or_exit_code_is_wrong_fails(tmp_path: Path) -> None:
    repo = tmp_path / "project"
    repo.mkdir()
    run_page(ROOT / "docs" / "guide" / "README.md", parse_page(PAGE), repo, with_slow=True)  # as written: passes
    wrong_output = PAGE.replace("hello ...", "goodbye ...")
    with pytest.raises(AssertionError, match=re.escape("expected output line not printed: 'goodbye ...'")):
        run_page(ROOT / "docs" / "guide" / "README.md", parse_page(wrong_output), repo, with_slow=False)
    wrong_exit = PAGE.replace("[exit 3]", "")
    with pytest.raises(AssertionError, match="exit 3, expected 0"):
        run_page(ROOT / "docs" / "guide" / "README.md", parse_page(wrong_exit), repo, with_slow=False)


def test_expected_lines_must_appear_in_order() -> None:
    output = "alpha 1\nbeta 2\ngamma 3\n"
    assert unmatched_output(["alpha ...", "...", "gamma 3"], output) is None
    assert unmatched_output(["gamma 3", "alpha 1"], output) == "alpha 1"
    assert unmatched_output(["beta    2"], output) is None  # runs of spaces compare loosely (table columns)
