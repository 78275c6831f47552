"""Did the numbers come back? Pre-checks, the verdict and its likely causes, as pure functions.

``git run reproduce`` (``gitrun.commands.reproduce``) gathers what it compares (the original's
note, what this machine has now, the new runs' notes) and hands it to these functions, so every
rule here is testable without a process.

Verdicts: ``exact`` (every metric equal and every output's hash equal), ``within tolerance``
(every metric within its tolerance), ``diverged`` (a table of what differs and a ranked list of
likely causes), ``not rebuildable`` (the environment could not be rebuilt; nothing ran).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from gitrun.errors import UsageError

EXACT = "exact"
WITHIN = "within tolerance"
DIVERGED = "diverged"
NOT_REBUILDABLE = "not rebuildable"
VERDICTS = (EXACT, WITHIN, DIVERGED, NOT_REBUILDABLE)
PASSING = (EXACT, WITHIN)

# Pre-check statuses
EQUAL = "equal"
CHANGED = "changed"
MISSING = "missing"
DIFFERENT = "different"

_METRIC_NAME = re.compile(r"^[^\s=]{1,200}$")
SEED_WORDS = ("seed",)
# Environment variables that change results or their determinism when they differ or are unset.
DETERMINISM_VARS = ("PYTHONHASHSEED", "CUBLAS_WORKSPACE_CONFIG", "CUDA_LAUNCH_BLOCKING", "OMP_NUM_THREADS",
                    "MKL_NUM_THREADS", "TF_DETERMINISTIC_OPS", "TF_CUDNN_DETERMINISTIC")


# --- tolerances ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Tolerance:
    """How far a metric may move: ``|new - old| <= abs_tol`` or ``<= rel * |old|``."""

    abs_tol: float = 0.0
    rel: float = 0.0

    def allows(self, old: float, new: float) -> bool:
        if math.isnan(old) and math.isnan(new):
            return True
        if math.isinf(old) or math.isinf(new):
            return old == new
        return abs(new - old) <= max(self.abs_tol, self.rel * abs(old)) + 1e-15 * max(abs(old), abs(new))

    def describe(self) -> str:
        parts = []
        if self.abs_tol:
            parts.append(f"±{self.abs_tol:g}")
        if self.rel:
            parts.append(f"±{self.rel * 100:g}%")
        return " or ".join(parts) or "exact"


def parse_tolerance_value(text: str, what: str) -> Tolerance:
    """``0.01`` (absolute), ``1%`` (relative), ``0.01+1%`` (either)."""
    abs_tol = rel = 0.0
    for part in str(text).replace(" ", "").split("+"):
        try:
            if part.endswith("%"):
                rel = float(part[:-1]) / 100
            else:
                abs_tol = float(part)
        except ValueError:
            raise UsageError(f"{what}: '{text}' is not a tolerance",
                             hint="give an absolute value (0.01), a relative one (1%), or both (0.01+1%)")
    if not (math.isfinite(abs_tol) and math.isfinite(rel)) or abs_tol < 0 or rel < 0:
        raise UsageError(f"{what}: '{text}' should be a finite, non-negative tolerance")
    return Tolerance(abs_tol, rel)


def parse_tolerance(text: str) -> tuple[str, Tolerance]:
    """``--tolerance acc=0.01`` -> ("acc", Tolerance(0.01)); ``*=1%`` applies to every metric."""
    name, sep, value = text.partition("=")
    name = name.strip()
    if not sep or not name or not _METRIC_NAME.match(name) or not value.strip():
        raise UsageError(f"--tolerance '{text}' should be METRIC=VALUE",
                         hint="e.g. --tolerance acc=0.01, --tolerance loss=1%, --tolerance '*=1e-6'")
    return name, parse_tolerance_value(value, f"--tolerance {name}")


def tolerances_from_table(table: Any, where: str) -> dict[str, Tolerance]:
    """A ``{metric: 0.01 | "1%"}`` table (pyproject, or recorded with the run); bad entries raise."""
    if table is None:
        return {}
    if not isinstance(table, Mapping):
        raise UsageError(f"{where} should be a table of metric = tolerance")
    found = {}
    for name, value in table.items():
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise UsageError(f"{where}.{name}: '{value}' is not a tolerance", hint="e.g. 0.01 or \"1%\"")
        found[str(name)] = parse_tolerance_value(str(value), f"{where}.{name}")
    return found


def tolerance_for(name: str, tolerances: Mapping[str, Tolerance]) -> Tolerance:
    return tolerances.get(name) or tolerances.get("*") or Tolerance()


# --- pre-checks ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Finding:
    """One thing compared before running: what the run had, what there is now."""

    area: str  # python | packages | data | env_vars | hardware | code
    subject: str
    status: str  # equal | changed | missing | different
    recorded: str = ""
    now: str = ""

    @property
    def differs(self) -> bool:
        return self.status != EQUAL


def check_python(recorded_env: Mapping[str, Any], current_env: Mapping[str, Any]) -> list[Finding]:
    old = _python_version(recorded_env)
    new = _python_version(current_env)
    if not old:
        return []
    if not new:
        return [Finding("python", "python", MISSING, old, "no Python found for the command")]
    return [Finding("python", "python", EQUAL if old == new else DIFFERENT, old, new)]


def _python_version(env: Mapping[str, Any]) -> str:
    python = env.get("python")
    return str(python.get("version", "")) if isinstance(python, Mapping) else ""


def packages_by_name(env: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    found: dict[str, Mapping[str, Any]] = {}
    for entry in env.get("packages") or ():
        if isinstance(entry, Mapping) and isinstance(entry.get("name"), str):
            found[normalise_package(entry["name"])] = entry
    return found


def normalise_package(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def packages_that_matter(env: Mapping[str, Any]) -> list[str]:
    """The distributions a run imported (``env.imported``), else every recorded one (not traced)."""
    imported = env.get("imported")
    if isinstance(imported, list):
        return sorted({normalise_package(str(name)) for name in imported})
    return sorted(packages_by_name(env))


def check_packages(recorded_env: Mapping[str, Any], current_env: Mapping[str, Any]) -> list[Finding]:
    """Each package the run imported: missing here, another version, or equal."""
    old = packages_by_name(recorded_env)
    new = packages_by_name(current_env)
    findings = []
    for name in packages_that_matter(recorded_env):
        entry = old.get(name)
        if entry is None:
            continue
        version = str(entry.get("version", ""))
        label = str(entry.get("name", name))
        here = new.get(name)
        if here is None:
            findings.append(Finding("packages", label, MISSING, version, "not installed"))
        else:
            now = str(here.get("version", ""))
            findings.append(Finding("packages", label, EQUAL if now == version else DIFFERENT, version, now))
    return findings


def check_data(entries: Iterable[Mapping[str, Any]], rehashed: Mapping[str, str | None]) -> list[Finding]:
    """``rehashed``: path -> the hash found now (None: missing). Entries not rehashed are skipped."""
    findings = []
    for entry in entries:
        path = str(entry.get("path", ""))
        if path not in rehashed:
            continue
        old = str(entry.get("hash", ""))
        now = rehashed[path]
        status = MISSING if now is None else EQUAL if now == old else CHANGED
        label = str(entry.get("name") or path)
        findings.append(Finding("data", label if label == path else f"{label} ({path})", status, _short(old),
                                "not found" if now is None else _short(now)))
    return findings


def check_env_vars(doc: Mapping[str, Any], present: Iterable[str]) -> list[Finding]:
    """Variables the run read while they were set (and secrets it declared): present here or not."""
    env = _mapping(doc, "env")
    read = [str(name) for name in env.get("read") or ()]
    unset = {str(name) for name in env.get("read_unset") or ()}
    required = [str(name) for name in env.get("required_secrets") or ()]
    names = sorted({*[name for name in read if name not in unset], *required})
    here = set(present)
    return [Finding("env_vars", name, EQUAL if name in here else MISSING, "set", "set" if name in here else "unset")
            for name in names]


def check_hardware(recorded: Mapping[str, Any], current: Mapping[str, Any]) -> list[Finding]:
    findings = []
    old_gpus = _gpu_names(recorded)
    new_gpus = _gpu_names(current)
    if old_gpus or new_gpus:
        status = MISSING if old_gpus and not new_gpus else EQUAL if old_gpus == new_gpus else DIFFERENT
        findings.append(Finding("hardware", "GPUs", status, ", ".join(old_gpus) or "none",
                                ", ".join(new_gpus) or "none"))
        old_driver, new_driver = _gpu_field(recorded, "driver"), _gpu_field(current, "driver")
        if old_gpus and new_gpus and old_driver != new_driver:
            findings.append(Finding("hardware", "GPU driver", DIFFERENT, old_driver, new_driver))
    old_cpu, new_cpu = _cpu_model(recorded), _cpu_model(current)
    if old_cpu and new_cpu:
        findings.append(Finding("hardware", "CPU", EQUAL if old_cpu == new_cpu else DIFFERENT, old_cpu, new_cpu))
    return findings


def _gpu_names(hardware: Mapping[str, Any]) -> list[str]:
    return [str(gpu.get("name", "?")) for gpu in hardware.get("gpus") or () if isinstance(gpu, Mapping)]


def _gpu_field(hardware: Mapping[str, Any], key: str) -> str:
    return ", ".join(sorted({str(gpu.get(key, "")) for gpu in hardware.get("gpus") or () if isinstance(gpu, Mapping)}))


def _cpu_model(hardware: Mapping[str, Any]) -> str:
    cpu = hardware.get("cpu")
    return str(cpu.get("model", "")) if isinstance(cpu, Mapping) else ""


def check_code(doc: Mapping[str, Any]) -> list[Finding]:
    """Files the snapshot left out (other than earlier runs' outputs): the code run now lacks them."""
    snapshot = _mapping(doc, "snapshot")
    findings = []
    for item in snapshot.get("excluded") or ():
        if not isinstance(item, Mapping) or str(item.get("reason", "")).startswith("output of an earlier run"):
            continue
        findings.append(Finding("code", str(item.get("path", "?")), MISSING, str(item.get("reason", "")),
                                "not in the snapshot"))
    return findings


def _mapping(doc: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = doc.get(key)
    return value if isinstance(value, Mapping) else {}


def _short(value: str) -> str:
    algorithm, _, digest = value.partition(":")
    return f"{algorithm}:{digest[:12]}" if digest else value


# --- comparing the new run with the original -----------------------------------------------------

@dataclass(frozen=True)
class Difference:
    """One metric or output compared."""

    kind: str  # metric | output | status
    name: str
    original: str
    new: str
    delta: str = ""
    tolerance: str = ""
    ok: bool = False  # within tolerance (metrics); never for an output that differs


@dataclass
class Comparison:
    verdict: str
    differences: list[Difference] = field(default_factory=list)  # only what is not identical
    compared_metrics: int = 0
    compared_outputs: int = 0


def metrics_of(doc: Mapping[str, Any]) -> dict[str, float]:
    """Last metric values, and the numbers printed once (console facts: a final ``test acc: 0.93``)."""
    found: dict[str, float] = {}
    facts = _mapping(_mapping(doc, "console"), "facts")
    for table in (facts, _mapping(doc, "metrics")):
        found.update({str(name): float(value) for name, value in table.items()
                      if isinstance(value, int | float) and not isinstance(value, bool)})
    return found


def outputs_of(doc: Mapping[str, Any]) -> dict[str, str]:
    """Path -> hash of every output with a hash (secret outputs have none)."""
    return {str(item["path"]): str(item["hash"]) for item in doc.get("outputs") or ()
            if isinstance(item, Mapping) and isinstance(item.get("path"), str) and isinstance(item.get("hash"), str)}


def compare_runs(original: Mapping[str, Any], new: Mapping[str, Any],
                 tolerances: Mapping[str, Tolerance]) -> Comparison:
    """The verdict for one new run against the original."""
    differences: list[Difference] = []
    if new.get("status") != original.get("status"):
        differences.append(Difference("status", "status", str(original.get("status")), str(new.get("status"))))
    old_metrics, new_metrics = metrics_of(original), metrics_of(new)
    for name in sorted(set(old_metrics) | set(new_metrics)):
        old, now = old_metrics.get(name), new_metrics.get(name)
        if old is None or now is None:
            differences.append(Difference("metric", name, _num(old), _num(now), "", "", False))
            continue
        if old == now or (math.isnan(old) and math.isnan(now)):
            continue
        tolerance = tolerance_for(name, tolerances)
        differences.append(Difference("metric", name, _num(old), _num(now), _delta(old, now), tolerance.describe(),
                                      tolerance.allows(old, now)))
    old_outputs, new_outputs = outputs_of(original), outputs_of(new)
    for path in sorted(set(old_outputs) | set(new_outputs)):
        old_hash, new_hash = old_outputs.get(path), new_outputs.get(path)
        if old_hash != new_hash:
            differences.append(Difference("output", path, _short(old_hash or "") or "absent",
                                          _short(new_hash or "") or "absent"))
    verdict = _verdict(differences)
    return Comparison(verdict, differences, len(set(old_metrics) | set(new_metrics)),
                      len(set(old_outputs) | set(new_outputs)))


def _verdict(differences: Sequence[Difference]) -> str:
    if not differences:
        return EXACT
    blocking = [d for d in differences if d.kind in ("metric", "status") and not d.ok]
    return DIVERGED if blocking else WITHIN


def overall_verdict(verdicts: Sequence[str]) -> str:
    """Of several repeats, the worst."""
    for verdict in (NOT_REBUILDABLE, DIVERGED, WITHIN):
        if verdict in verdicts:
            return verdict
    return EXACT


def _num(value: float | None) -> str:
    return "absent" if value is None else f"{value:.6g}"


def _delta(old: float, new: float) -> str:
    diff = new - old
    if not math.isfinite(diff):
        return ""
    relative = f" ({diff / abs(old) * 100:+.3g}%)" if old else ""
    return f"{diff:+.3g}{relative}"


# --- run-to-run spread -----------------------------------------------------------------------------

@dataclass(frozen=True)
class Spread:
    metric: str
    original: float | None
    low: float
    high: float
    stdev: float
    max_deviation: float  # the largest |new - original|: a tolerance that would have passed every repeat


def spread(original: Mapping[str, Any], news: Sequence[Mapping[str, Any]]) -> list[Spread]:
    old = metrics_of(original)
    names = sorted({name for doc in news for name in metrics_of(doc)})
    rows = []
    for name in names:
        values = [metrics_of(doc)[name] for doc in news if name in metrics_of(doc)]
        finite = [v for v in values if math.isfinite(v)]
        if not finite:
            continue
        base = old.get(name)
        deviation = max((abs(v - base) for v in finite), default=0.0) if base is not None and math.isfinite(base) \
            else 0.0
        import statistics  # (fractions, decimal, random: start-up that only this comparison needs)

        rows.append(Spread(name, base, min(finite), max(finite),
                           statistics.stdev(finite) if len(finite) > 1 else 0.0, deviation))
    return rows


# --- likely causes ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Cause:
    area: str  # code | packages | data | seeds | hardware | python | env_vars
    text: str
    weight: int  # higher is likelier


def likely_causes(findings: Sequence[Finding], original: Mapping[str, Any],
                  news: Sequence[Mapping[str, Any]], not_rebuilt: Sequence[str] = (),
                  code_changes: Sequence[str] = ()) -> list[Cause]:
    """What differed before the run (and about it), most likely first.

    ``code_changes``: files whose content differs between the original's snapshot and a new run's.
    """
    causes: list[Cause] = []
    by_area: dict[str, list[Finding]] = {}
    for finding in findings:
        if finding.differs:
            by_area.setdefault(finding.area, []).append(finding)
    if by_area.get("code"):
        causes.append(Cause("code", f"{len(by_area['code'])} file(s) were left out of the snapshot: "
                                    f"{_names(by_area['code'])}", 90))
    if code_changes:
        causes.append(Cause("code", "the code run differed from the snapshot: " + ", ".join(code_changes[:6])
                            + (f" and {len(code_changes) - 6} more" if len(code_changes) > 6 else ""), 95))
    if by_area.get("data"):
        causes.append(Cause("data", "data inputs changed or missing: " + _described(by_area["data"]), 90))
    data_after = _data_changes(original, news)
    if data_after:
        causes.append(Cause("data", data_after, 85))
    if by_area.get("packages"):
        causes.append(Cause("packages", "imported packages differ: " + _described(by_area["packages"]), 70))
    if not_rebuilt:
        causes.append(Cause("packages", "not rebuilt (editable or local installs): " + ", ".join(not_rebuilt), 65))
    if by_area.get("python"):
        causes.append(Cause("python", "Python version differs: " + _described(by_area["python"]), 60))
    causes.extend(_seed_causes(original, news))
    if by_area.get("hardware"):
        causes.append(Cause("hardware", "hardware differs: " + _described(by_area["hardware"]), 45))
    if by_area.get("env_vars"):
        causes.append(Cause("env_vars", "environment variables the run read are unset here: "
                                        + _names(by_area["env_vars"]), 40))
    return sorted(causes, key=lambda cause: -cause.weight)


def _seed_causes(original: Mapping[str, Any], news: Sequence[Mapping[str, Any]]) -> list[Cause]:
    params = _mapping(original, "params")
    seeds = {str(key): value for key, value in params.items() if any(word in str(key).lower() for word in SEED_WORDS)}
    causes = []
    if not seeds:
        causes.append(Cause("seeds", "no seed among the run's parameters: unseeded randomness (or a seed taken "
                                     "from the clock or the OS) changes the numbers run to run; "
                                     "pass a fixed --seed", 75))
    else:
        for new in news:
            new_params = _mapping(new, "params")
            changed = [f"{key}: {seeds[key]} -> {new_params.get(key)}" for key in seeds
                       if key in new_params and new_params.get(key) != seeds[key]]
            if changed:
                causes.append(Cause("seeds", "the seed differed: " + "; ".join(changed), 80))
                break
        else:
            shown = ", ".join(f"{key}={value}" for key, value in seeds.items())
            causes.append(Cause("seeds", f"seeded ({shown}) yet different: nondeterministic operations "
                                         "(GPU kernels, threads, hash order)", 35))
    env = _mapping(original, "env")
    variables = _mapping(env, "vars")
    hardware = _mapping(original, "hardware")
    watched = DETERMINISM_VARS[:2] if hardware.get("gpu_count") else DETERMINISM_VARS[:1]  # CUBLAS_*: GPUs only
    unset = [name for name in watched if name not in variables]
    if unset:
        causes.append(Cause("seeds", f"determinism variables not set: {', '.join(unset)}", 30))
    return causes


def _data_changes(original: Mapping[str, Any], news: Sequence[Mapping[str, Any]]) -> str:
    old = {str(e.get("path")): e.get("hash") for e in original.get("data") or () if isinstance(e, Mapping)}
    for new in news:
        for entry in new.get("data") or ():
            if isinstance(entry, Mapping) and str(entry.get("path")) in old and \
                    old[str(entry.get("path"))] != entry.get("hash"):
                return f"the data read differed: {entry.get('path')}"
    return ""


def _names(findings: Sequence[Finding]) -> str:
    names = [finding.subject for finding in findings]
    return ", ".join(names[:6]) + (f" and {len(names) - 6} more" if len(names) > 6 else "")


def _described(findings: Sequence[Finding]) -> str:
    parts = [f"{f.subject} {f.recorded} -> {f.now}" if f.recorded or f.now else f.subject for f in findings]
    return "; ".join(parts[:6]) + (f"; and {len(parts) - 6} more" if len(parts) > 6 else "")


def verdict_record(verdict: str, run_ids: Sequence[str], env_mode: str, at: str, by: str, host: str,
                   differences: int, reason: str = "") -> dict[str, Any]:
    """The table stored in the original run's ``reproduced_by`` list."""
    record: dict[str, Any] = {"verdict": verdict, "runs": list(run_ids), "env": env_mode, "at": at, "by": by,
                              "host": host, "differences": differences}
    if run_ids:
        record["run"] = run_ids[0]
    if reason:
        record["reason"] = reason
    return record


def last_verdict(doc: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The newest ``reproduced_by`` record of a run (a well-formed one), if any."""
    records = [r for r in doc.get("reproduced_by") or ()
               if isinstance(r, Mapping) and r.get("verdict") in VERDICTS]
    return max(records, key=lambda r: str(r.get("at", ""))) if records else None


def is_reproduced(doc: Mapping[str, Any]) -> bool:
    """True when some reproduction of the run came back exact or within tolerance."""
    return any(isinstance(r, Mapping) and r.get("verdict") in PASSING for r in doc.get("reproduced_by") or ())


def lineage_summary(doc: Mapping[str, Any]) -> dict[str, str]:
    """Lines for ``git run show``: where the run came from, and its reproductions (newest last)."""
    values: dict[str, str] = {}
    for key in ("parent", "reproduces", "sweep", "job"):
        if isinstance(doc.get(key), str):
            values[key] = str(doc[key])
    overrides = doc.get("overrides")
    if isinstance(overrides, Mapping) and overrides:
        values["overrides"] = ", ".join(f"{key}={value}" for key, value in overrides.items())
    records = [r for r in doc.get("reproduced_by") or () if isinstance(r, Mapping)]
    for number, record in enumerate(records[-5:], start=max(1, len(records) - 4)):
        runs = [str(run)[:10] for run in record.get("runs") or ()]
        detail = f" by {', '.join(runs)}" if runs else ""
        reason = f": {record['reason']}" if record.get("reason") else ""
        values[f"reproduced {number}"] = (f"{record.get('verdict', '?')}{detail} ({record.get('env', '?')} env, "
                                          f"{record.get('by', '?')}@{record.get('host', '?')}, "
                                          f"{record.get('at', '?')}){reason}")
    return values
