"""What ``git run show`` prints about a run's expectation, baseline marks and note."""

from __future__ import annotations

from gitrun.model import fields
from gitrun.model.run import Run


def organise_lines(run: Run) -> list[str]:
    lines: list[str] = []
    expect = run.doc.get("expect")
    if isinstance(expect, dict):
        state = "met" if expect.get("met") else "missed" if "met" in expect else "not checked yet"
        lines.append(f"\nexpect   {expect.get('expression', '')}: {state}")
        if expect.get("detail"):
            lines.append(f"         ({expect['detail']})")
    marks = fields.baseline_branches(run.doc)
    if marks:
        lines.append(f"\nbaseline of {', '.join(marks)}")
    note = str(run.doc.get("note", "")).strip("\n")
    if note:
        lines.append("\nnote")
        lines += [f"  {line}" for line in note.splitlines()]
    return lines
