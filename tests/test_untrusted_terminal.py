"""A pulled run's text never reaches the terminal raw (issue 9).

Escape sequences (OSC title, clear screen, OSC 8 links, OSC 52 clipboard, CSI), other control
characters and direction overrides in names, tags, messages, branches, commands, parameters and file
names are shown escaped by every command; a file name with a newline cannot forge a line of ``show``
or ``diff``; the markdown report shows HTML as text.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from gitrun.model.terminal import printable, printable_log
from tests.conftest import gitrun
from tests.hostile import forged_run

TITLE = "\x1b]0;pwned\x07"
CLEAR = "\x1b[2J\x1b[H"
LINK = "\x1b]8;;https://evil.example/\x1b\\click me\x1b]8;;\x1b\\"
CLIPBOARD = "\x1b]52;c;cm0gLXJmIH4K\x07"
RTL = "\u202e"
FORGED_LINE = "evil.py\nstatus   succeeded"
RAW = ("\x1b", "\x07", "\x9b", RTL)


def _hostile_run(repo: Path) -> str:
    doc = {
        "name": f"n{TITLE}", "message": f"m{CLEAR}{LINK}", "tags": [f"t{CLIPBOARD}", f"x{RTL}txt.exe"],
        "command": ["python", f"train.py{TITLE}", "--lr\x9b2J"],
        "git": {"branch": f"main{TITLE}", "base_commit": "", "dirty": True, "modified": [FORGED_LINE]},
        "params": {f"lr{CLEAR}": f"0.1{CLIPBOARD}", "layers": [f"a{TITLE}"]},
        "metrics": {f"loss{TITLE}": 0.5},
        "snapshot": {"excluded": [{"path": f".env{TITLE}\nforged: yes", "reason": f"secret{CLEAR}"}]},
        "outputs": [{"path": f"out{TITLE}.bin", "size": 1, "hash": "blake3:00", "stored": False}],
        "note": f"<script>alert(1)</script> {TITLE}",
    }
    return forged_run(repo, {"train.py": b"x", FORGED_LINE: b"y", f"f{TITLE}.py": b"z"}, doc=doc)


def _assert_clean(text: str) -> None:
    for raw in RAW:
        assert raw not in text, f"raw {raw!r} reached the terminal:\n{text!r}"


@pytest.mark.parametrize("args", [
    ["list", "--all-branches"],
    ["list", "--all-branches", "--columns", "id,name,tags,params.*,metrics.*,command,branch"],
    ["list", "--all-branches", "--csv", "--columns", "name,message,params.*"],
    ["show", "RUN"],
    ["show", "RUN", "--json"],
    ["diff", "RUN", "HEAD", "--all"],
    ["check", "RUN"],
    ["tag", "RUN", "new"],
    ["show", f"no-such{TITLE}{CLEAR}"],
])
def test_no_command_prints_a_pulled_run_raw(repo: Path, args: list[str]) -> None:
    run = _hostile_run(repo)
    proc = gitrun(repo, *[run if arg == "RUN" else arg for arg in args], check=False)
    assert proc.returncode in (0, 1), proc.stderr
    _assert_clean(proc.stdout + proc.stderr)
    assert "internal error" not in proc.stderr
    if args[0] == "show" and "--json" not in args and proc.returncode == 0:
        assert "\\x1b]0;pwned\\x07" in proc.stdout  # shown, escaped: the user sees what is there
        statuses = [line for line in proc.stdout.splitlines() if line.startswith("status")]
        assert len(statuses) == 1, proc.stdout  # a file name cannot forge a line
        assert not any(line.startswith("forged: yes") for line in proc.stdout.splitlines())


def test_diff_shows_a_file_name_with_a_newline_on_one_line(repo: Path) -> None:
    run = _hostile_run(repo)
    out = gitrun(repo, "diff", run, "HEAD").stdout
    assert "evil.py\\nstatus   succeeded" in out
    assert not any(line.startswith("status") for line in out.splitlines())
    _assert_clean(out)


def test_the_markdown_report_shows_html_as_text(repo: Path) -> None:
    run = _hostile_run(repo)
    other = forged_run(repo, {"train.py": b"x"}, doc={"name": "<img src=x onerror=alert(1)>",
                                                      "tags": ["[a](javascript:x)"], "message": "| broken | table |"})
    target = repo.parent / "report.md"
    gitrun(repo, "report", run, other, "-o", str(target))
    text = target.read_text()
    assert "<script>" not in text and "&lt;script&gt;" in text
    assert "<img" not in text and "&lt;img" in text
    assert "\\[a\\](javascript:x)" in text and "\\| broken \\| table \\|" in text
    _assert_clean(text)


def test_printable_escapes_controls_and_keeps_ordinary_text() -> None:
    assert printable("ünïcode 🎉 日本 tab\there") == "ünïcode 🎉 日本 tab\\there"
    assert printable(f"a{TITLE}b") == "a\\x1b]0;pwned\\x07b"
    assert printable("a\nb") == "a\\nb" and printable("a\nb\tc", keep_newlines=True) == "a\nb\tc"
    assert printable("\x9b31m\u202e\ufeff\u2028") == "\\u009b31m\\u202e\\ufeff\\u2028"
    assert printable("caf\udce9") == "caf\\xe9"


def test_a_log_keeps_colours_and_progress_bars_but_no_other_escape() -> None:
    log = b"\x1b[1;31mred\x1b[0m 10%\r20%\n" + TITLE.encode() + CLIPBOARD.encode() + b"C:\\run\n\xff"
    shown = printable_log(log)
    assert shown.startswith(b"\x1b[1;31mred\x1b[0m 10%\r20%\n")
    assert b"\x07" not in shown and b"\x1b]" not in shown
    assert b"C:\\run" in shown and shown.endswith(b"\\xff")
