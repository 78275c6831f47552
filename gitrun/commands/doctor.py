"""``git run doctor [--dry-run]``: find and repair refs at missing objects and the notes lost with them.

The repairs are ``gitrun.store.repair``'s; this prints one line per finding and exits 0 when the
repository is healthy or was repaired, 1 when something was found and left as it is (``--dry-run``).
"""

from __future__ import annotations

from gitrun.commands.context import open_context
from gitrun.commands.output import print_json
from gitrun.store.repair import repair


def doctor_command(dry_run: bool = False, fmt: str = "text") -> int:
    ctx = open_context()
    findings = repair(ctx.store, dry_run=dry_run)
    code = 1 if any(not finding.repaired for finding in findings) else 0
    if fmt == "json":
        print_json({"healthy": not findings, "findings": [{"problem": finding.text, "repaired": finding.repaired}
                                                          for finding in findings]})
    if fmt != "text":
        return code
    for finding in findings:
        print(("repaired: " if finding.repaired else "found: ") + finding.text)
    if not findings:
        print("no problems found: every run ref and the notes ref point at whole commits, every run has its note")
    return 1 if any(not finding.repaired for finding in findings) else 0
