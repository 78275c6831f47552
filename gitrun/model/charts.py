"""Line charts as inline SVG and text sparklines (pure; reports use them, no JavaScript, no network)."""

from __future__ import annotations

import html
import math
from collections.abc import Sequence

PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
           "#bcbd22", "#17becf")
SPARKS = "▁▂▃▄▅▆▇█"

Line = tuple[str, str, Sequence[tuple[float, float]]]  # (run id, label, [(step, value)])


def color(index: int) -> str:
    return PALETTE[index % len(PALETTE)]


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    if not math.isfinite(low) or not math.isfinite(high):
        return []
    if high == low:
        return [low]
    raw = (high - low) / max(count - 1, 1)
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    start = math.ceil(low / step) * step
    ticks: list[float] = []
    value = start
    while value <= high + step * 1e-9 and len(ticks) < 20:
        ticks.append(round(value, 12))
        value += step
    return ticks


def _label(value: float) -> str:
    if value == 0:
        return "0"
    if abs(value) >= 1e5 or abs(value) < 1e-3:
        return f"{value:.2e}"
    return f"{value:.4g}"


def line_chart(title: str, lines: Sequence[Line], colors: dict[str, str], width: int = 640,
               height: int = 280) -> str:
    """An SVG line chart: one polyline per run, step on x, value on y, with axes and ticks."""
    points = [(x, y) for _, _, series in lines for x, y in series if math.isfinite(y)]
    left, right, top, bottom = 64, 16, 24, 36
    plot_w, plot_h = width - left - right, height - top - bottom
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {width} {height}" '
           f'width="{width}" height="{height}" role="img" aria-label="{html.escape(title)}">',
           f"<title>{html.escape(title)}</title>",
           f'<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" fill="#fff" stroke="#ccc"/>']
    if not points:
        out.append(f'<text x="{width / 2}" y="{height / 2}" text-anchor="middle" fill="#888">no data</text></svg>')
        return "".join(out)
    x_low, x_high = min(p[0] for p in points), max(p[0] for p in points)
    y_low, y_high = min(p[1] for p in points), max(p[1] for p in points)
    if x_high == x_low:
        x_low, x_high = x_low - 1, x_high + 1
    if y_high == y_low:
        pad = abs(y_low) * 0.05 or 1.0
        y_low, y_high = y_low - pad, y_high + pad
    else:
        pad = (y_high - y_low) * 0.05
        y_low, y_high = y_low - pad, y_high + pad

    def sx(x: float) -> float:
        return left + (x - x_low) / (x_high - x_low) * plot_w

    def sy(y: float) -> float:
        return top + plot_h - (y - y_low) / (y_high - y_low) * plot_h

    for tick in nice_ticks(y_low, y_high):
        y = sy(tick)
        out.append(f'<line x1="{left}" y1="{y:.1f}" x2="{left + plot_w}" y2="{y:.1f}" stroke="#eee"/>'
                   f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11" fill="#555">'
                   f"{_label(tick)}</text>")
    for tick in nice_ticks(x_low, x_high):
        x = sx(tick)
        out.append(f'<line x1="{x:.1f}" y1="{top + plot_h}" x2="{x:.1f}" y2="{top + plot_h + 4}" stroke="#888"/>'
                   f'<text x="{x:.1f}" y="{top + plot_h + 16}" text-anchor="middle" font-size="11" fill="#555">'
                   f"{_label(tick)}</text>")
    out.append(f'<text x="{left + plot_w / 2}" y="{height - 4}" text-anchor="middle" font-size="11" '
               f'fill="#555">step</text>')
    for run_id, label, series in lines:
        finite = [(x, y) for x, y in series if math.isfinite(y)]
        if not finite:
            continue
        stroke = colors.get(run_id, "#333")
        coords = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in finite)
        out.append(f'<polyline class="series" data-run="{html.escape(run_id)}" fill="none" stroke="{stroke}" '
                   f'stroke-width="2" points="{coords}"><title>{html.escape(label)}</title></polyline>')
        last_x, last_y = finite[-1]
        out.append(f'<circle cx="{sx(last_x):.1f}" cy="{sy(last_y):.1f}" r="3" fill="{stroke}">'
                   f"<title>{html.escape(label)}: {_label(last_y)} at step {_label(last_x)}</title></circle>")
    out.append("</svg>")
    return "".join(out)


def sparkline(values: Sequence[float], width: int = 24) -> str:
    finite = [v for v in values if math.isfinite(v)]
    if not finite:
        return ""
    if len(finite) > width:  # keep the shape: sample evenly, always the last point
        finite = [finite[int(i * (len(finite) - 1) / (width - 1))] for i in range(width)]
    low, high = min(finite), max(finite)
    if high == low:
        return SPARKS[3] * len(finite)
    return "".join(SPARKS[int((v - low) / (high - low) * (len(SPARKS) - 1))] for v in finite)
