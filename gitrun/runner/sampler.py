"""System monitoring while the child runs: a thread sampling the process tree and the GPUs.

Each sample appends points (names under ``system/``, step = sample number) to the spool's
``metrics.jsonl`` right away, so a crash keeps what was sampled:

- ``system/cpu_percent`` (100 = one core busy), ``system/rss_bytes``, ``system/threads``,
  ``system/read_bytes``, ``system/write_bytes`` (cumulative) of the child and all its descendants;
- ``system/memory_used_bytes``, ``system/memory_percent`` of the machine;
- per NVIDIA GPU ``i`` (through pynvml, only when ``nvmlInit`` works):
  ``system/gpu<i>/utilization_percent``, ``memory_used_bytes``, ``power_watts``, ``temperature_c``
  and ``run_memory_bytes`` (memory held by the run's processes).

One sample is taken at the start, one every ``interval`` seconds, and one at the end. The thread
keeps its own CPU time (``cpu_seconds``) so its cost can be reported.
"""

from __future__ import annotations

import contextlib
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gitrun.capture.hardware import nvidia_driver_possible
from gitrun.store.jsonl import append_records

if TYPE_CHECKING:
    import psutil  # imported by the sampler thread itself, beside the child, not on gitrun's start-up

DEFAULT_INTERVAL = 5.0


class _Gpus:
    def __init__(self) -> None:
        self.handles: list[Any] = []
        self.nvml: Any = None
        if not nvidia_driver_possible():
            return  # no NVIDIA driver: skip pynvml's import and failing init (~20 ms on every run)
        try:
            import pynvml

            pynvml.nvmlInit()
            self.nvml = pynvml
            self.handles = [pynvml.nvmlDeviceGetHandleByIndex(i) for i in range(pynvml.nvmlDeviceGetCount())]
        except Exception:
            self.handles = []

    def sample(self, pids: set[int]) -> dict[str, float]:
        values: dict[str, float] = {}
        nvml = self.nvml
        for index, handle in enumerate(self.handles):
            prefix = f"system/gpu{index}/"
            with contextlib.suppress(Exception):
                values[prefix + "utilization_percent"] = float(nvml.nvmlDeviceGetUtilizationRates(handle).gpu)
            with contextlib.suppress(Exception):
                values[prefix + "memory_used_bytes"] = float(nvml.nvmlDeviceGetMemoryInfo(handle).used)
            with contextlib.suppress(Exception):
                values[prefix + "power_watts"] = nvml.nvmlDeviceGetPowerUsage(handle) / 1000.0
            with contextlib.suppress(Exception):
                values[prefix + "temperature_c"] = float(nvml.nvmlDeviceGetTemperature(handle, 0))
            with contextlib.suppress(Exception):
                held = 0
                for getter in ("nvmlDeviceGetComputeRunningProcesses", "nvmlDeviceGetGraphicsRunningProcesses"):
                    for proc in getattr(nvml, getter)(handle) or []:
                        if proc.pid in pids and isinstance(proc.usedGpuMemory, int):
                            held += proc.usedGpuMemory
                values[prefix + "run_memory_bytes"] = float(held)
        return values

    def close(self) -> None:
        if self.nvml is not None:
            with contextlib.suppress(Exception):
                self.nvml.nvmlShutdown()


FIRST_SAMPLE_DELAY = 0.05  # seconds after the child started


class Sampler:
    """Samples ``pid``'s process tree every ``interval`` seconds into ``metrics_path``."""

    def __init__(self, pid: int, metrics_path: Path, interval: float = DEFAULT_INTERVAL,
                 gpus: bool = True) -> None:
        self.pid = pid
        self.path = metrics_path
        self.interval = max(0.1, float(interval))
        self.step = 0
        self.cpu_seconds = 0.0  # CPU time this sampler used
        self._stop = threading.Event()
        self._first_sample = threading.Event()
        self._thread: threading.Thread | None = None
        self._procs: dict[int, psutil.Process] = {}
        self._cpu_last: dict[tuple[int, float], float] = {}
        self._last_wall: float | None = None
        self._want_gpus = gpus
        self._gpus: _Gpus | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="gitrun-sampler", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the thread, then take the final sample.

        A command that ended before the first sample (the thread was still starting: importing
        psutil, opening NVML) left no process tree to sample; waiting for the thread would only
        delay the run's end, so it is left to finish on its own and no sample is taken.
        """
        self._stop.set()
        if self._thread is not None:
            if not self._first_sample.is_set():
                return
            self._thread.join(timeout=10)
        self._timed(self.sample_once)
        if self._gpus is not None:
            self._gpus.close()

    def _loop(self) -> None:
        # The first sample comes a moment after the start: a command that is over by then (a quick
        # `git run -- make`) has no process tree worth sampling and pays nothing for monitoring.
        if self._stop.wait(FIRST_SAMPLE_DELAY):
            return
        if self._want_gpus:
            self._timed(self._init_gpus)
        if self._stop.is_set():
            return
        self._timed(self.sample_once)
        self._first_sample.set()
        while not self._stop.wait(self.interval):
            self._timed(self.sample_once)

    def _init_gpus(self) -> None:
        self._gpus = _Gpus()

    def _timed(self, work: Any) -> None:
        before = time.thread_time()
        try:
            work()
        except Exception:
            pass  # a sample that fails is skipped; the run goes on
        finally:
            self.cpu_seconds += time.thread_time() - before

    def _tree(self) -> list[psutil.Process]:
        import psutil

        try:
            root = self._procs.get(self.pid) or psutil.Process(self.pid)
            found = [root, *root.children(recursive=True)]
        except psutil.Error:
            return []
        # Reuse Process objects so psutil keeps their identity (create time) between samples.
        procs = {proc.pid: self._procs.get(proc.pid, proc) for proc in found}
        self._procs = procs
        return list(procs.values())

    def sample_once(self) -> None:
        import psutil

        now = time.time()
        values: dict[str, float] = {}
        procs = self._tree()
        cpu_delta = 0.0
        rss = threads = read = write = 0
        seen: dict[tuple[int, float], float] = {}
        pids: set[int] = set()
        for proc in procs:
            try:
                with proc.oneshot():
                    times = proc.cpu_times()
                    total = times.user + times.system
                    key = (proc.pid, proc.create_time())
                    memory = proc.memory_info()
                    rss += memory.rss
                    threads += proc.num_threads()
                    with contextlib.suppress(psutil.Error, AttributeError, NotImplementedError):
                        io = proc.io_counters()
                        read += io.read_bytes
                        write += io.write_bytes
            except psutil.Error:
                continue
            pids.add(proc.pid)
            seen[key] = total
            previous = self._cpu_last.get(key)
            if previous is not None:
                cpu_delta += max(0.0, total - previous)
            elif self._last_wall is not None and key[1] >= self._last_wall:
                cpu_delta += total  # born since the last sample
        if procs and pids:
            if self._last_wall is not None and now > self._last_wall:
                values["system/cpu_percent"] = round(100.0 * cpu_delta / (now - self._last_wall), 2)
            values["system/rss_bytes"] = float(rss)
            values["system/threads"] = float(threads)
            values["system/read_bytes"] = float(read)
            values["system/write_bytes"] = float(write)
        self._cpu_last = seen
        self._last_wall = now
        with contextlib.suppress(Exception):
            machine = psutil.virtual_memory()
            values["system/memory_used_bytes"] = float(machine.total - machine.available)
            values["system/memory_percent"] = float(machine.percent)
        if self._gpus is not None and self._gpus.handles:
            values.update(self._gpus.sample(pids))
        if values:
            stamp = round(now, 3)
            append_records(self.path, [{"name": name, "step": self.step, "time": stamp, "value": value}
                                       for name, value in values.items()])
            self.step += 1
