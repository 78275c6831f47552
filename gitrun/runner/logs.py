"""The run's console log: appended to the spool while the child runs, capped when stored.

Everything the child prints goes to ``output.log`` in the spool as it arrives (so a crash loses
nothing and ``git run show`` can follow it). When the run is stored, a log over the cap keeps its
first and last halves with a marker between them: the start says what ran, the end says how it
ended, and the cap is recorded in the metadata.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any


class LogWriter:
    """An output consumer appending every byte to a file, unbuffered enough to survive kill -9."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        self.bytes_written = 0

    def __call__(self, _stream: str, data: bytes) -> None:
        os.write(self._fd, data)
        self.bytes_written += len(data)

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


def capped_log(path: Path, cap: int) -> tuple[bytes, dict[str, Any]]:
    """The log's bytes to store (head and tail halves when over ``cap``) and its ``log`` section."""
    try:
        size = path.stat().st_size
    except OSError:
        return b"", {"bytes": 0, "stored_bytes": 0, "truncated": False, "cap_bytes": cap}
    with open(path, "rb") as handle:
        if size <= cap:
            data = handle.read()
        else:
            half = cap // 2
            head = handle.read(half)
            handle.seek(size - half)
            tail = handle.read(half)
            marker = f"\n[gitrun: {size - 2 * half} bytes of output left out here; cap {cap} bytes]\n".encode()
            data = head + marker + tail
    return data, {"bytes": size, "stored_bytes": len(data), "truncated": size > cap, "cap_bytes": cap}
