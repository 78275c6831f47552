"""The ``hardware`` capture on the machine running the tests, whatever it has."""

from __future__ import annotations

import os
from pathlib import Path

import tomli_w

from gitrun.capture.hardware import capture_hardware


def test_cpu_and_memory_are_recorded() -> None:
    result = capture_hardware()
    cpu = result.data["cpu"]
    assert cpu["cores_logical"] == os.cpu_count()
    assert cpu["cores_physical"] > 0
    assert 0 < cpu["cores_available"] <= cpu["cores_logical"]
    assert cpu["arch"]
    assert isinstance(cpu.get("model", ""), str)
    assert result.data["memory_bytes"] > 0


def test_gpus_are_a_list_and_a_machine_without_them_is_not_a_failure() -> None:
    result = capture_hardware()
    gpus = result.data["gpus"]
    assert isinstance(gpus, list)
    assert result.data["gpu_count"] == len(gpus)
    if not gpus:
        assert not any(key.startswith("gpus") for key in result.missing)
    for index, gpu in enumerate(gpus):
        assert gpu["index"] == index
        assert isinstance(gpu.get("name", ""), str)
        assert gpu.get("memory_bytes", 1) > 0


def test_the_result_is_toml_serialisable() -> None:
    result = capture_hardware()
    tomli_w.dumps(result.data)
    tomli_w.dumps(result.missing)


def test_a_complete_capture_is_reused_on_the_same_boot(tmp_path: Path) -> None:
    first = capture_hardware(tmp_path)
    assert (tmp_path / "hardware.json").exists()
    # A cached answer must be the same answer: prove it came from the cache by changing the file.
    import json

    stored = json.loads((tmp_path / "hardware.json").read_text())
    stored["data"]["memory_bytes"] = 12345
    (tmp_path / "hardware.json").write_text(json.dumps(stored))
    assert capture_hardware(tmp_path).data["memory_bytes"] == 12345
    assert capture_hardware(tmp_path).data["cpu"] == first.data["cpu"]
    stored["key"] = "another boot"
    (tmp_path / "hardware.json").write_text(json.dumps(stored))
    assert capture_hardware(tmp_path).data["memory_bytes"] == first.data["memory_bytes"]
