"""Run the user's command as a child process.

- stdout/stderr pass through live. When gitrun's own stream is a terminal the child writes to a
  pseudo-terminal instead of a pipe, so it keeps colours and progress bars; the bytes are copied to
  the real terminal and to the run's log.
- The child gets its own session, so a Ctrl-C at the terminal reaches gitrun alone, which forwards
  it exactly once to the child's process group (no double SIGINT). SIGTERM, SIGHUP, SIGQUIT and
  SIGUSR1/2 are forwarded the same way; the window size follows the terminal's.
- On Linux the child is asked to receive SIGTERM if gitrun dies (``PR_SET_PDEATHSIG``), so a
  ``kill -9`` of gitrun does not leave an orphan training job behind.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import fcntl
import os
import selectors
import shutil
import signal
import subprocess
import sys
import termios
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from gitrun.model.timefmt import utc_now

FORWARDED_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1,
                     signal.SIGUSR2)
OutputConsumer = Callable[[str, bytes], None]  # (stream name "stdout"/"stderr", bytes)


@dataclass
class ChildOutcome:
    exit_code: int  # what `git run` exits with: the child's code, 128+signal, or 127/126
    returncode: int | None = None  # the child's own exit status, None when signalled or not started
    signal: int | None = None
    interrupted: bool = False  # the user asked to stop (SIGINT forwarded)
    forwarded: list[int] = field(default_factory=list)
    error: str | None = None  # why the child could not start
    pid: int | None = None
    started: datetime = field(default_factory=utc_now)
    ended: datetime = field(default_factory=utc_now)


def resolve_executable(argv0: str, env: Mapping[str, str], cwd: Path) -> str | None:
    if os.sep in argv0:
        candidate = (cwd / argv0) if not os.path.isabs(argv0) else Path(argv0)
        return str(candidate) if candidate.exists() else None
    return shutil.which(argv0, path=env.get("PATH", os.defpath))


def _set_parent_death_signal() -> None:
    """In the child, before exec: get SIGTERM when the parent (gitrun) dies."""
    with contextlib.suppress(Exception):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _copy_window_size(source_fd: int, target_fd: int) -> None:
    with contextlib.suppress(OSError):
        size = fcntl.ioctl(source_fd, termios.TIOCGWINSZ, b"\0" * 8)
        fcntl.ioctl(target_fd, termios.TIOCSWINSZ, size)


def _no_output_translation(fd: int) -> None:
    """Pass the child's bytes through unchanged: the user's terminal turns "\n" into "\r\n" once,
    and the stored log keeps the child's own line endings."""
    with contextlib.suppress(termios.error):
        attrs = termios.tcgetattr(fd)
        attrs[1] &= ~termios.OPOST
        termios.tcsetattr(fd, termios.TCSANOW, attrs)


class _Streams:
    """The child's stdout/stderr ends and the fds gitrun reads them from."""

    def __init__(self) -> None:
        self.child_out: int | None = None
        self.child_err: int | None = None
        self.readers: dict[int, tuple[str, int]] = {}  # read fd -> (stream name, real fd to copy to)
        self.to_close_after_spawn: list[int] = []
        self.pty_master: int | None = None

    @classmethod
    def open(cls) -> _Streams:
        streams = cls()
        out_tty = _isatty(1)
        err_tty = _isatty(2)
        if out_tty or err_tty:
            master, slave = os.openpty()
            _copy_window_size(1 if out_tty else 2, slave)
            _no_output_translation(slave)
            streams.pty_master = master
            streams.to_close_after_spawn.append(slave)
            streams.readers[master] = ("stdout" if out_tty else "stderr", 1 if out_tty else 2)
            if out_tty:
                streams.child_out = slave
            if err_tty:
                streams.child_err = slave
        for fd, name in ((1, "stdout"), (2, "stderr")):
            if (name == "stdout" and streams.child_out is None) or (name == "stderr" and streams.child_err is None):
                read_end, write_end = os.pipe()
                streams.readers[read_end] = (name, fd)
                streams.to_close_after_spawn.append(write_end)
                if name == "stdout":
                    streams.child_out = write_end
                else:
                    streams.child_err = write_end
        return streams


def _isatty(fd: int) -> bool:
    try:
        return os.isatty(fd)
    except OSError:
        return False


class _Forwarder:
    """Signal handlers that forward to the child's process group while it runs."""

    def __init__(self, pty_master: int | None) -> None:
        self.pid: int | None = None
        self.interrupted = False
        self.forwarded: list[int] = []
        self.pty_master = pty_master
        self._previous: dict[int, object] = {}

    def install(self) -> None:
        for sig in (*FORWARDED_SIGNALS, signal.SIGWINCH):
            self._previous[sig] = signal.signal(sig, self._handle)

    def restore(self) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)  # type: ignore[arg-type]

    def _handle(self, signum: int, _frame: object) -> None:
        if signum == signal.SIGWINCH:
            if self.pty_master is not None:
                _copy_window_size(1, self.pty_master)
            return
        if signum == signal.SIGINT:
            self.interrupted = True
        self.forwarded.append(signum)
        if self.pid is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.pid, signum)


def run_child(argv: Sequence[str], cwd: Path, env: Mapping[str, str], consumers: Sequence[OutputConsumer],
              on_started: Callable[[int], object] | None = None,
              on_tick: Callable[[], object] | None = None, tick_seconds: float = 1.0) -> ChildOutcome:
    """Run ``argv``; copy its output to the terminal and ``consumers``; return how it ended."""
    executable = resolve_executable(argv[0], env, cwd)
    if executable is None:
        message = f"gitrun: {argv[0]}: command not found\n".encode()
        _emit(consumers, "stderr", message)
        _write_all(2, message)
        return ChildOutcome(exit_code=127, error=f"command not found: {argv[0]}")
    consumers = _CaptureGuard().wrap_all(consumers)  # gitrun's own failure never stops the child
    streams = _Streams.open()
    forwarder = _Forwarder(streams.pty_master)
    forwarder.install()
    started = utc_now()
    try:
        try:
            proc = subprocess.Popen(
                list(argv), executable=executable, cwd=str(cwd), env=dict(env),
                stdout=streams.child_out, stderr=streams.child_err,
                start_new_session=True, preexec_fn=_set_parent_death_signal, close_fds=True,
            )
        except OSError as err:
            for fd in [*streams.to_close_after_spawn, *streams.readers]:
                os.close(fd)
            code = 126 if err.errno in (errno.EACCES, errno.ENOEXEC, errno.EISDIR) else 127
            message = f"gitrun: {argv[0]}: {err.strerror}\n".encode()
            _emit(consumers, "stderr", message)
            _write_all(2, message)
            return ChildOutcome(exit_code=code, error=f"{argv[0]}: {err.strerror}", started=started)
        forwarder.pid = proc.pid
        for fd in streams.to_close_after_spawn:
            os.close(fd)
        if on_started is not None:
            on_started(proc.pid)
        _pump(proc, streams, consumers, on_tick, tick_seconds)
        returncode = proc.wait()
    finally:
        forwarder.restore()
    outcome = ChildOutcome(exit_code=0, interrupted=forwarder.interrupted, forwarded=forwarder.forwarded,
                           pid=proc.pid, started=started, ended=utc_now())
    if returncode < 0:
        outcome.signal = -returncode
        outcome.exit_code = 128 - returncode
    else:
        outcome.returncode = returncode
        outcome.exit_code = returncode
    return outcome


def _pump(proc: subprocess.Popen[bytes], streams: _Streams, consumers: Sequence[OutputConsumer],
          on_tick: Callable[[], object] | None, tick_seconds: float) -> None:
    selector = selectors.DefaultSelector()
    for fd in streams.readers:
        os.set_blocking(fd, False)
        selector.register(fd, selectors.EVENT_READ)
    broken: set[int] = set()  # real fds we can no longer write to (e.g. `| head` closed)
    next_tick = time.monotonic() + tick_seconds
    exited_at: float | None = None
    while selector.get_map():
        timeout = max(0.0, min(next_tick - time.monotonic(), 0.05 if exited_at else tick_seconds))
        for key, _ in selector.select(timeout):
            _read_one(key.fd, selector, streams, consumers, broken)
        now = time.monotonic()
        if on_tick is not None and now >= next_tick:
            on_tick()
            next_tick = now + tick_seconds
        if exited_at is None and proc.poll() is not None:
            exited_at = now
        # A background grandchild may hold the output open forever: stop shortly after the child exits.
        if exited_at is not None and now - exited_at > 0.5:
            break
    for key in list(selector.get_map().values()):
        selector.unregister(key.fileobj)
    for fd in streams.readers:
        with contextlib.suppress(OSError):
            os.close(fd)
    selector.close()


def _read_one(fd: int, selector: selectors.BaseSelector, streams: _Streams,
              consumers: Sequence[OutputConsumer], broken: set[int]) -> None:
    name, real_fd = streams.readers[fd]
    try:
        data = os.read(fd, 65536)
    except BlockingIOError:
        return
    except OSError:  # EIO: the pty's other side is closed
        data = b""
    if not data:
        selector.unregister(fd)
        return
    if real_fd not in broken and not _write_all(real_fd, data):
        broken.add(real_fd)
    _emit(consumers, name, data)


class _CaptureGuard:
    """Consumers that stop, instead of raising, when they fail (a full disk: ENOSPC).

    The child's output keeps passing through to the terminal; the failure is said once on stderr,
    and the run is stored with what was captured before it.
    """

    def __init__(self) -> None:
        self.reported = False

    def wrap_all(self, consumers: Sequence[OutputConsumer]) -> list[OutputConsumer]:
        return [self._wrap(consumer) for consumer in consumers]

    def _wrap(self, consumer: OutputConsumer) -> OutputConsumer:
        stopped = False

        def guarded(name: str, data: bytes) -> None:
            nonlocal stopped
            if stopped:
                return
            try:
                consumer(name, data)
            except Exception as err:
                stopped = True
                self._report(err)

        return guarded

    def _report(self, err: Exception) -> None:
        if self.reported:
            return
        self.reported = True
        reason = err.strerror if isinstance(err, OSError) and err.strerror else f"{type(err).__name__}: {err}"
        _write_all(2, f"\ngitrun: warning: capturing the run's output stopped ({reason}); your command keeps "
                      "running and its output still shows here\n".encode())


def _emit(consumers: Sequence[OutputConsumer], name: str, data: bytes) -> None:
    for consumer in consumers:
        consumer(name, data)


def _write_all(fd: int, data: bytes) -> bool:
    view = memoryview(data)
    while view:
        try:
            written = os.write(fd, view)
        except BlockingIOError:
            time.sleep(0.001)
            continue
        except OSError:
            return False
        view = view[written:]
    return True


def flush_std_streams() -> None:
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
