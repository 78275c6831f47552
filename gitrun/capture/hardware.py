"""The ``hardware`` section of a run: CPU, memory and NVIDIA GPUs.

A machine without an NVIDIA driver is normal: it records ``gpus = []`` and nothing missing. Only a
driver that is present but fails is worth a reason in ``missing``.
"""

from __future__ import annotations

import json
import os
import platform
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from gitrun.model.captured import Captured, failure_reason


def capture_hardware(cache_dir: Path | None = None) -> Captured:
    """Capture CPU, memory and GPUs. Never raises; a failed field is recorded in ``missing``.

    With ``cache_dir``, a complete capture is reused until the machine reboots or its NVIDIA driver
    changes: hardware does not change under a running kernel, and NVML's start-up (tens of
    milliseconds on GPU machines) then costs nothing on every later run.
    """
    key = _machine_key()
    cache = cache_dir / "hardware.json" if cache_dir is not None and key else None
    cached = _read_cache(cache, key)
    if cached is not None:
        return cached
    result = Captured()
    steps: list[tuple[str, Callable[[], None]]] = [
        ("cpu", lambda: _cpu(result)),
        ("memory_bytes", lambda: result.data.update(memory_bytes=_memory_bytes())),
        ("gpus", lambda: _gpus(result)),
    ]
    result.run_steps(steps)
    if cache is not None and not result.missing:
        _write_cache(cache, key, result)
    return result


def _machine_key() -> str:
    """This boot of this machine, and its NVIDIA driver version (empty where unknown: no caching)."""
    try:
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return ""
    try:
        driver = Path("/proc/driver/nvidia/version").read_text().strip()
    except OSError:
        driver = ""
    return f"{boot}|{driver}"


def _read_cache(cache: Path | None, key: str) -> Captured | None:
    if cache is None:
        return None
    try:
        stored = json.loads(cache.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(stored, dict) or stored.get("key") != key or not isinstance(stored.get("data"), dict):
        return None
    return Captured(data=stored["data"])


def _write_cache(cache: Path, key: str, result: Captured) -> None:
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_name(f"{cache.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps({"key": key, "data": result.data}), encoding="utf-8")
        os.replace(tmp, cache)
    except OSError:
        pass  # a cache that cannot be written only costs time



def _cpu(result: Captured) -> None:
    import psutil

    cpu: dict[str, Any] = {"arch": platform.machine()}
    model = _cpu_model()
    if model:
        cpu["model"] = model
    else:
        result.missing["cpu.model"] = "no model name in /proc/cpuinfo"
    physical = psutil.cpu_count(logical=False)
    if physical:
        cpu["cores_physical"] = physical
    else:
        result.missing["cpu.cores_physical"] = "not reported by the OS"
    logical = os.cpu_count()
    if logical:
        cpu["cores_logical"] = logical
    else:
        result.missing["cpu.cores_logical"] = "not reported by the OS"
    # Containers and batch schedulers often pin a process to fewer cores than the machine has.
    if hasattr(os, "sched_getaffinity"):
        cpu["cores_available"] = len(os.sched_getaffinity(0))
    result.data["cpu"] = cpu


def _cpu_model() -> str:
    """``model name`` from /proc/cpuinfo (x86; "Model" on some ARM boards), else platform's guess."""
    try:
        text = Path("/proc/cpuinfo").read_text(errors="replace")
    except OSError:
        text = ""
    for line in text.splitlines():
        field, _, value = line.partition(":")
        if field.strip() in ("model name", "Model", "Hardware") and value.strip():
            return value.strip()
    return platform.processor()


def _memory_bytes() -> int:
    import psutil

    return int(psutil.virtual_memory().total)


def _text(value: Any) -> str:
    """Older pynvml versions return bytes."""
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


# What an NVIDIA driver leaves on Linux (host, container or WSL2). Without any of them NVML cannot
# work, so the ~20 ms import of pynvml (and its failing dlopen) is skipped on every run.
_NVIDIA_MARKERS = ("/proc/driver/nvidia", "/dev/nvidiactl", "/dev/nvidia0", "/dev/dxg", "/usr/lib/wsl/lib")


def nvidia_driver_possible() -> bool:
    """False only where NVML surely cannot work (Linux without any NVIDIA driver files)."""
    return not sys.platform.startswith("linux") or any(os.path.exists(path) for path in _NVIDIA_MARKERS)


def _gpus(result: Captured) -> None:
    if not nvidia_driver_possible():
        result.data["gpus"] = []  # no NVIDIA driver: a normal machine, not a failure
        result.data["gpu_count"] = 0
        return
    import pynvml

    try:
        pynvml.nvmlInit()
    except pynvml.NVMLError as exc:
        if exc.value in (pynvml.NVML_ERROR_LIBRARY_NOT_FOUND, pynvml.NVML_ERROR_DRIVER_NOT_LOADED):
            result.data["gpus"] = []  # no NVIDIA driver: a normal machine, not a failure
            result.data["gpu_count"] = 0
            return
        raise
    try:
        driver, cuda = _system_versions(result)
        gpus = [_gpu(pynvml, index, driver, cuda, result) for index in range(pynvml.nvmlDeviceGetCount())]
        result.data["gpus"] = gpus
        result.data["gpu_count"] = len(gpus)
    finally:
        try:
            pynvml.nvmlShutdown()
        except pynvml.NVMLError:
            pass


def _system_versions(result: Captured) -> tuple[str, str]:
    import pynvml

    driver = cuda = ""
    try:
        driver = _text(pynvml.nvmlSystemGetDriverVersion())
    except pynvml.NVMLError as exc:
        result.missing["gpus.driver"] = failure_reason(exc)
    try:
        version = int(pynvml.nvmlSystemGetCudaDriverVersion_v2())
        cuda = f"{version // 1000}.{(version % 1000) // 10}"  # 12040 -> "12.4"
    except pynvml.NVMLError as exc:
        result.missing["gpus.cuda"] = failure_reason(exc)
    return driver, cuda


def _gpu(pynvml: Any, index: int, driver: str, cuda: str, result: Captured) -> dict[str, Any]:
    """One device; a field it cannot report is left out and its reason recorded."""
    gpu: dict[str, Any] = {"index": index}
    try:
        handle = pynvml.nvmlDeviceGetHandleByIndex(index)
    except pynvml.NVMLError as exc:  # e.g. a GPU fallen off the bus: keep the others
        result.missing[f"gpus.{index}"] = failure_reason(exc)
        return gpu
    fields: dict[str, Callable[[], Any]] = {
        "name": lambda: _text(pynvml.nvmlDeviceGetName(handle)),
        "uuid": lambda: _text(pynvml.nvmlDeviceGetUUID(handle)),
        "memory_bytes": lambda: int(pynvml.nvmlDeviceGetMemoryInfo(handle).total),
        "compute_capability": lambda: "{}.{}".format(*pynvml.nvmlDeviceGetCudaComputeCapability(handle)),
    }
    for field, read in fields.items():
        try:
            gpu[field] = read()
        except pynvml.NVMLError as exc:
            result.missing[f"gpus.{index}.{field}"] = failure_reason(exc)
    if driver:
        gpu["driver"] = driver
    if cuda:
        gpu["cuda"] = cuda
    return gpu
