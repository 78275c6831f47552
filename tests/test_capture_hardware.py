"""The ``hardware`` capture on the machine running the tests, whatever it has."""

from __future__ import annotations

import os

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
