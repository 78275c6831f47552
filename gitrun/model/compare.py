"""Comparing two runs' metadata, section by section (pure; ``git run diff`` and reports use it).

Every section is a list of entries ``{"key", "a", "b", "same"}`` (plus extra fields for metrics);
``a``/``b`` are None where that run lacks the key. Callers hide entries with ``same`` unless --all.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

LOWER_IS_BETTER = ("loss", "error", "err", "perplexity", "ppl", "mse", "mae", "rmse", "wer", "cer",
                   "latency", "time", "nll", "bpc", "bpb", "fid", "regret", "cost", "distance")
HIGHER_IS_BETTER = ("acc", "accuracy", "f1", "precision", "recall", "auc", "auroc", "bleu", "rouge", "map",
                    "score", "reward", "return", "iou", "dice", "r2", "top1", "top5", "throughput", "ndcg",
                    "mrr", "hit", "hits", "psnr", "ssim", "win", "pass", "exact", "em", "sharpe")

Entry = dict[str, Any]


def metric_direction(name: str, overrides: Mapping[str, Any] | None = None) -> str | None:
    """"lower", "higher" or None (unknown) for a metric name.

    ``overrides`` (``[tool.gitrun.metrics.direction]``) wins: exact name, then its last segment.
    Otherwise a word of the last segment decides: ``val/loss`` lower, ``train_acc`` higher.
    """
    if overrides:
        for key in (name, re.split(r"[/.]", name)[-1]):
            value = str(overrides.get(key, "")).lower()
            if value in ("lower", "min", "minimize", "down"):
                return "lower"
            if value in ("higher", "max", "maximize", "up"):
                return "higher"
    last = re.split(r"[/.]", name.lower())[-1]
    words = [word for word in re.split(r"[^a-z0-9]+", last) if word]
    for word in reversed(words):
        if word in LOWER_IS_BETTER:
            return "lower"
        if word in HIGHER_IS_BETTER:
            return "higher"
    return None


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float) and not (isinstance(value, float) and math.isnan(value)):
        return float(value)
    return None


def diff_flat(a: Mapping[str, Any] | None, b: Mapping[str, Any] | None) -> list[Entry]:
    a = a or {}
    b = b or {}
    entries = []
    for key in sorted(set(a) | set(b)):
        left, right = a.get(key), b.get(key)
        entries.append({"key": key, "a": left, "b": right, "same": _equal(left, right)})
    return entries


def _equal(left: Any, right: Any) -> bool:
    left_number, right_number = _number(left), _number(right)
    if left_number is not None and right_number is not None:
        return left_number == right_number
    return bool(left == right)


def diff_metrics(a: Mapping[str, Any] | None, b: Mapping[str, Any] | None,
                 overrides: Mapping[str, Any] | None = None) -> list[Entry]:
    """Last values with the absolute and relative change and which side is better."""
    entries = diff_flat(a, b)
    for entry in entries:
        direction = metric_direction(entry["key"], overrides)
        left, right = _number(entry["a"]), _number(entry["b"])
        entry["direction"] = direction
        entry["delta"] = None
        entry["relative"] = None
        entry["better"] = None
        if left is None or right is None:
            continue
        entry["delta"] = right - left
        entry["relative"] = (right - left) / abs(left) if left != 0 else None
        if direction and right != left:
            b_better = right < left if direction == "lower" else right > left
            entry["better"] = "b" if b_better else "a"
    return entries


def _datasets(doc: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    data = doc.get("data")
    if isinstance(data, list):
        for item in data:
            if isinstance(item, dict):
                key = str(item.get("name") or item.get("path") or "?")
                out[key] = item
    return out


def diff_data(a: Mapping[str, Any], b: Mapping[str, Any]) -> list[Entry]:
    left, right = _datasets(a), _datasets(b)
    entries = []
    for key in sorted(set(left) | set(right)):
        one, two = left.get(key), right.get(key)
        summary_a = {k: one.get(k) for k in ("path", "version", "hash", "size", "files") if k in one} if one else None
        summary_b = {k: two.get(k) for k in ("path", "version", "hash", "size", "files") if k in two} if two else None
        same = bool(one and two and one.get("hash") == two.get("hash") and one.get("version") == two.get("version"))
        entries.append({"key": key, "a": summary_a, "b": summary_b, "same": same})
    return entries


def _packages(doc: Mapping[str, Any]) -> dict[str, str]:
    env = doc.get("env")
    out: dict[str, str] = {}
    if isinstance(env, dict) and isinstance(env.get("packages"), list):
        for item in env["packages"]:
            if isinstance(item, dict) and item.get("name"):
                out[str(item["name"]).lower()] = str(item.get("version", ""))
    return out


def diff_environment(a: Mapping[str, Any], b: Mapping[str, Any]) -> dict[str, Any]:
    env_a = a.get("env") if isinstance(a.get("env"), dict) else {}
    env_b = b.get("env") if isinstance(b.get("env"), dict) else {}
    assert isinstance(env_a, dict) and isinstance(env_b, dict)

    def python(env: dict[str, Any]) -> Any:
        value = env.get("python")
        return value.get("version") if isinstance(value, dict) else value

    def osname(env: dict[str, Any]) -> Any:
        value = env.get("os")
        if isinstance(value, dict):
            return f"{value.get('distro') or value.get('system', '')} {value.get('release', '')}".strip()
        return value

    def container(env: dict[str, Any]) -> Any:
        value = env.get("container")
        return value.get("kind") if isinstance(value, dict) else value

    general = []
    for key, get in (("python", python), ("os", osname), ("container", container),
                     ("virtualenv", lambda e: e.get("virtualenv")), ("conda_env", lambda e: e.get("conda_env"))):
        left, right = get(env_a), get(env_b)
        if left is None and right is None:
            continue
        general.append({"key": key, "a": left, "b": right, "same": left == right})
    packages = diff_flat(_packages(a), _packages(b))
    vars_a = env_a.get("vars") if isinstance(env_a.get("vars"), dict) else {}
    vars_b = env_b.get("vars") if isinstance(env_b.get("vars"), dict) else {}
    assert isinstance(vars_a, dict) and isinstance(vars_b, dict)
    return {
        "general": general,
        "packages": packages,
        "vars_added": sorted(set(vars_b) - set(vars_a)),
        "vars_removed": sorted(set(vars_a) - set(vars_b)),
        "vars_same": sorted(set(vars_a) & set(vars_b)),
    }


def hardware_summary(doc: Mapping[str, Any]) -> dict[str, Any]:
    hardware = doc.get("hardware")
    if not isinstance(hardware, dict):
        return {}
    out: dict[str, Any] = {}
    cpu = hardware.get("cpu")
    if isinstance(cpu, dict):
        out["cpu"] = cpu.get("model")
        out["cpu cores"] = cpu.get("cores_logical")
    if hardware.get("memory_bytes"):
        out["memory"] = f"{int(hardware['memory_bytes']) / 1024**3:.1f} GiB"
    gpus = hardware.get("gpus")
    if isinstance(gpus, list):
        out["gpus"] = ", ".join(str(g.get("name")) for g in gpus if isinstance(g, dict)) or "none"
    return {key: value for key, value in out.items() if value is not None}


def command_summary(doc: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if doc.get("command"):
        out["command"] = " ".join(str(part) for part in doc["command"])
    out["cwd"] = doc.get("cwd", ".")
    git = doc.get("git")
    if isinstance(git, dict):
        out["branch"] = git.get("branch") or ""
    return out


def format_delta(entry: Entry) -> str:
    if entry.get("delta") is None:
        return ""
    delta = entry["delta"]
    text = f"{delta:+.4g}"
    if entry.get("relative") is not None:
        text += f" ({entry['relative'] * 100:+.1f}%)"
    return text
