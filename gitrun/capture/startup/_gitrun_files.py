"""gitrun startup hook: record the files a Python run opens for reading (its data inputs).

Runs INSIDE THE USER'S INTERPRETER, loaded by gitrun's ``sitecustomize``: standard library only,
never imports gitrun, never raises into the user's program. Through ``sys.addaudithook`` it sees
every ``open`` event (``open()``, ``io.open_code``, ``os.open``, and so every library that opens files
from Python: numpy, pandas, PIL, torch, json, csv ...); files opened read-only are appended, once
each, as ``{"path": ABSOLUTE}`` lines to ``$GITRUN_SPOOL/opened.jsonl``. The first line a process
writes is ``{"interpreter": {...}}``: its prefixes and site folders, which gitrun skips.

Not seen: files opened by C code directly (h5py/HDF5, some TFRecord and Arrow readers, ffmpeg),
by other programs, and folders that are only listed. Those need ``git run --data PATH``.

Each new path is written at once with one ``write`` on an ``O_APPEND`` descriptor (one system call
next to the three or more of the open itself): nothing is lost when the program is killed or a
forked worker leaves through ``os._exit``, and no thread is started (a thread in every Python
process would make ``fork`` unsafe and warn on Python 3.12+). ``atexit`` closes the descriptor.
"""

from __future__ import annotations

import atexit
import json
import os
import sys
import threading

FILE_NAME = "opened.jsonl"
RECORDER: _Recorder | None = None  # other hook modules pause it (``busy.on``) for their own reads
_SKIP_ALWAYS = ("/proc/", "/sys/", "/dev/")


def _prefixes() -> list[str]:
    found = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix,
             os.path.dirname(os.path.abspath(__file__))}
    try:
        import site

        found.update(site.getsitepackages())
        found.add(site.getusersitepackages())
    except Exception:
        pass
    for entry in sys.path:  # zip and egg imports, the stdlib zip
        if entry.endswith((".zip", ".egg")):
            found.add(entry)
    spool = os.environ.get("GITRUN_SPOOL")
    if spool:
        found.add(spool)
    return sorted(os.path.abspath(p) + "/" for p in found if p)


class _Recorder:
    def __init__(self, spool: str) -> None:
        self.seen: set[str] = set()  # absolute paths recorded or skipped
        self.decided: set[object] = set()  # the paths as given, decided (cleared by os.chdir)
        self.busy = threading.local()
        self.skip = tuple(_prefixes()) + _SKIP_ALWAYS
        self.fd = os.open(os.path.join(spool, FILE_NAME),
                          os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o644)
        self.header()

    def header(self) -> None:
        self.write({"interpreter": {"pid": os.getpid(), "executable": sys.executable,
                                    "skip": [p for p in self.skip if p not in _SKIP_ALWAYS]}})

    def write(self, record: dict[str, object]) -> None:
        data = (json.dumps(record) + "\n").encode("utf-8", "surrogateescape")
        try:
            while data and self.fd >= 0:
                data = data[os.write(self.fd, data):]
        except OSError:
            pass

    def hook(self, event: str, args: tuple[object, ...]) -> None:
        if event != "open":
            if event == "os.chdir":
                self.decided.clear()  # relative paths now name other files
            return
        path = args[0]
        try:
            if path in self.decided:  # the fast path: a file seen before (about 0.3 us)
                return
        except TypeError:
            return
        if getattr(self.busy, "on", False):
            return
        try:
            self.busy.on = True
            mode, flags = args[1], args[2]
            if isinstance(mode, str):
                if "r" not in mode or "+" in mode or "w" in mode or "a" in mode or "x" in mode:
                    return
            elif not isinstance(flags, int) or flags & os.O_ACCMODE != os.O_RDONLY:
                return
            raw = path
            if isinstance(path, bytes):
                path = os.fsdecode(path)
            if not isinstance(path, str):
                return  # a file descriptor
            absolute = os.path.abspath(path)
            self.decided.add(raw)
            if absolute in self.seen or absolute.startswith(self.skip) or "/__pycache__/" in absolute:
                return
            self.seen.add(absolute)
            self.write({"path": absolute})
        except Exception:
            pass
        finally:
            self.busy.on = False

    def close(self) -> None:
        fd, self.fd = self.fd, -1
        if fd >= 0:
            try:
                os.close(fd)
            except OSError:
                pass


def _install() -> None:
    spool = os.environ.get("GITRUN_SPOOL")
    if not spool or not os.path.isdir(spool) or os.environ.get("GITRUN_NO_FILES"):
        return
    global RECORDER
    recorder = RECORDER = _Recorder(spool)
    sys.addaudithook(recorder.hook)
    atexit.register(recorder.close)
    if hasattr(os, "register_at_fork"):  # a forked worker says who it is
        os.register_at_fork(after_in_child=recorder.header)


try:
    _install()
except Exception:
    pass
