"""How capture results land in a run's metadata."""

from __future__ import annotations

from gitrun.model.captured import Captured


def test_a_failed_field_and_a_failed_section_are_named_in_missing() -> None:
    doc: dict = {}
    Captured(data={"cpu": {"arch": "x86_64"}}, missing={"gpus": "NVML: driver mismatch"}).merge_into(doc, "hardware")
    Captured(missing={"": "capture failed: OSError: boom"}).merge_into(doc, "env")
    assert doc["hardware"] == {"cpu": {"arch": "x86_64"}}
    assert doc["missing"] == {"hardware.gpus": "NVML: driver mismatch", "env": "capture failed: OSError: boom"}


def test_run_steps_records_a_failing_step_and_keeps_the_others() -> None:
    result = Captured()

    def broken() -> None:
        raise ValueError("no such file\nsecond line")

    result.run_steps([("a", lambda: result.data.update(a=1)), ("b", broken), ("c", lambda: result.data.update(c=3))])
    assert result.data == {"a": 1, "c": 3}
    assert result.missing == {"b": "ValueError: no such file"}
