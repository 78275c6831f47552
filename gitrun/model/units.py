"""Human-readable sizes (pure)."""

from __future__ import annotations

from typing import Any


def human_bytes(size: Any) -> str:
    """``1536`` -> ``1.5 KiB``; ``?`` for what is not a number."""
    try:
        value = float(size)
    except (TypeError, ValueError):
        return "?"
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TiB"
