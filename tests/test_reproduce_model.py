"""The verdict of a reproduction and its likely causes: pure rules, no process (gitrun.model.reproduce)."""

from __future__ import annotations

from typing import Any

import pytest

from gitrun.errors import UsageError
from gitrun.model import checks
from gitrun.model import reproduce as R
from gitrun.runner.venv import environment_key, requirements_of


def doc(metrics: dict[str, float] | None = None, outputs: dict[str, str] | None = None, **more: Any) -> dict[str, Any]:
    return {"status": "succeeded", "metrics": metrics or {},
            "outputs": [{"path": path, "hash": digest} for path, digest in (outputs or {}).items()], **more}


@pytest.mark.parametrize("text, tolerance", [
    ("acc=0.01", R.Tolerance(0.01, 0)), ("loss=1%", R.Tolerance(0, 0.01)), ("x=0.1+2%", R.Tolerance(0.1, 0.02)),
    ("*=1e-6", R.Tolerance(1e-6, 0)), ("train/loss=0", R.Tolerance(0, 0)),
])
def test_tolerances_are_absolute_relative_or_both(text: str, tolerance: R.Tolerance) -> None:
    assert R.parse_tolerance(text)[1] == tolerance


@pytest.mark.parametrize("text", ["acc", "=1", "acc=", "acc=abc", "acc=-0.1", "acc=inf", "a b=1"])
def test_a_bad_tolerance_is_refused(text: str) -> None:
    with pytest.raises(UsageError):
        R.parse_tolerance(text)


def test_the_verdicts() -> None:
    original = doc({"acc": 0.9, "loss": 0.25}, {"model.pt": "blake3:aa"})
    assert R.compare_runs(original, doc({"acc": 0.9, "loss": 0.25}, {"model.pt": "blake3:aa"}), {}).verdict == R.EXACT
    moved = doc({"acc": 0.905, "loss": 0.25}, {"model.pt": "blake3:bb"})
    within = R.compare_runs(original, moved, {"acc": R.Tolerance(0.01)})
    assert within.verdict == R.WITHIN  # an output's hash differs: not exact, yet every metric is within
    assert [(d.kind, d.name, d.ok) for d in within.differences] == [("metric", "acc", True),
                                                                     ("output", "model.pt", False)]
    assert R.compare_runs(original, moved, {"acc": R.Tolerance(0.001)}).verdict == R.DIVERGED
    assert R.compare_runs(original, moved, {"*": R.Tolerance(0, 0.01)}).verdict == R.WITHIN
    lost = R.compare_runs(original, doc({"acc": 0.9}), {"*": R.Tolerance(1)})
    assert lost.verdict == R.DIVERGED and lost.differences[0].name == "loss"  # a metric gone is no match
    failed = R.compare_runs(original, doc({"acc": 0.9, "loss": 0.25}, status="failed"), {})
    assert failed.verdict == R.DIVERGED


def test_numbers_printed_once_are_compared_too() -> None:
    original = doc(console={"facts": {"test_acc": 0.91}})
    assert R.compare_runs(original, doc(console={"facts": {"test_acc": 0.93}}), {}).verdict == R.DIVERGED


def test_nan_equals_nan_and_infinity_needs_infinity() -> None:
    nan = float("nan")
    assert R.compare_runs(doc({"loss": nan}), doc({"loss": nan}), {}).verdict == R.EXACT
    assert not R.Tolerance(1e9).allows(float("inf"), 1.0)


def test_repeats_report_the_worst_verdict_and_the_spread() -> None:
    assert R.overall_verdict([R.EXACT, R.WITHIN]) == R.WITHIN
    assert R.overall_verdict([R.EXACT, R.DIVERGED, R.WITHIN]) == R.DIVERGED
    (row,) = R.spread(doc({"acc": 0.9}), [doc({"acc": 0.91}), doc({"acc": 0.88})])
    assert (row.low, row.high) == (0.88, 0.91) and row.max_deviation == pytest.approx(0.02)


def test_causes_rank_what_differed_before_the_run() -> None:
    findings = [
        R.Finding("packages", "numpy", R.DIFFERENT, "1.26.4", "2.0.0"),
        R.Finding("data", "data/train.csv", R.CHANGED, "blake3:aa", "blake3:bb"),
        R.Finding("hardware", "GPUs", R.MISSING, "NVIDIA H200", "none"),
        R.Finding("python", "python", R.EQUAL, "3.11.7", "3.11.7"),
    ]
    original = doc(params={"seed": 1}, hardware={"gpu_count": 1})
    causes = R.likely_causes(findings, original, [doc(params={"seed": 1})], code_changes=["train.py"])
    assert [c.area for c in causes] == ["code", "data", "packages", "hardware", "seeds", "seeds"]
    assert "numpy 1.26.4 -> 2.0.0" in causes[2].text
    assert "CUBLAS_WORKSPACE_CONFIG" in causes[-1].text  # the run had a GPU


def test_no_seed_parameter_is_the_first_suspect_when_nothing_else_differed() -> None:
    causes = R.likely_causes([], doc(params={"lr": 0.1}), [doc(params={"lr": 0.1})])
    assert causes[0].area == "seeds" and "no seed" in causes[0].text
    changed = R.likely_causes([], doc(params={"seed": 1}), [doc(params={"seed": 2})])
    assert changed[0].text == "the seed differed: seed: 1 -> 2"


def test_pre_checks_compare_python_packages_data_env_vars_and_hardware() -> None:
    recorded = {"python": {"version": "3.11.7"}, "imported": ["numpy", "PyYAML"],
                "packages": [{"name": "numpy", "version": "1.26.4"}, {"name": "PyYAML", "version": "6.0"},
                             {"name": "rich", "version": "13"}]}
    here = {"python": {"version": "3.12.1"}, "packages": [{"name": "numpy", "version": "1.26.4"}]}
    assert R.check_python(recorded, here)[0].status == R.DIFFERENT
    assert [(f.subject, f.status) for f in R.check_packages(recorded, here)] == [("numpy", R.EQUAL),
                                                                                 ("PyYAML", R.MISSING)]
    entries = [{"path": "a.csv", "hash": "blake3:11"}, {"path": "b", "hash": "blake3:22"}, {"path": "c"}]
    assert [f.status for f in R.check_data(entries, {"a.csv": "blake3:11", "b": None})] == [R.EQUAL, R.MISSING]
    run = {"env": {"read": ["HOME", "HF_TOKEN", "PROBE"], "read_unset": ["PROBE"], "required_secrets": ["KEY"]}}
    assert [(f.subject, f.status) for f in R.check_env_vars(run, ["HOME"])] == [
        ("HF_TOKEN", R.MISSING), ("HOME", R.EQUAL), ("KEY", R.MISSING)]
    gpu = {"gpus": [{"name": "NVIDIA H200", "driver": "570"}], "cpu": {"model": "EPYC"}}
    assert [f.status for f in R.check_hardware(gpu, {"gpus": [], "cpu": {"model": "EPYC"}})] == [R.MISSING, R.EQUAL]


def test_editable_and_local_packages_are_reported_as_not_rebuildable() -> None:
    env = {"imported": ["numpy", "mylib", "wheelpkg"], "python": {"version": "3.11.7"},
           "packages": [{"name": "numpy", "version": "1.26.4", "installer": "pip"},
                        {"name": "mylib", "version": "0.1", "installer": "editable", "location": "/home/ada/mylib"},
                        {"name": "wheelpkg", "version": "1", "installer": "local", "location": "/tmp/w.whl"},
                        {"name": "gitrun", "version": "0.1", "installer": "pip"}]}
    requirements, not_rebuilt = requirements_of(env)
    assert requirements == ["numpy==1.26.4"]
    assert not_rebuilt == ["mylib (editable at /home/ada/mylib)", "wheelpkg (local at /tmp/w.whl)"]
    assert environment_key(["a==1", "b==2"], [], "3.11.7") == environment_key(["b==2", "a==1"], [], "3.11.2")
    assert environment_key(["a==1"], [], "3.11.7") != environment_key(["a==2"], [], "3.11.7")


def test_the_guard_check_is_off_unless_required() -> None:
    assert checks.severity_for({}, checks.REPRODUCED) == checks.OFF
    assert checks.severity_for({"require_reproduced": True}, checks.REPRODUCED) == checks.ERROR
    assert checks.severity_for({"require_reproduced": True, "reproduced": "warn"}, checks.REPRODUCED) == checks.WARN
    diverged = {"reproduced_by": [{"verdict": "diverged", "at": "2026-01-01T00:00:00Z"}]}
    assert "its last reproduction: diverged" in checks.check_reproduced("r", diverged)[0][0]
    passed = {"reproduced_by": [*diverged["reproduced_by"], {"verdict": "within tolerance", "at": "2026-01-02"}]}
    assert checks.check_reproduced("r", passed) == []
