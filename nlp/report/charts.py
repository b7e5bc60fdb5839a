"""Inline SVG charts: the report must open offline, from one file, with no script library.

Only what the report needs: a line chart of several series over days, with axis labels.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from html import escape

PALETTE = ("#2f6fdf", "#e0692f", "#2a9d57", "#b23bb8", "#8a8a8a", "#c7a000")


def line_chart(
    days: Sequence[date],
    series: dict[str, Sequence[float]],
    title: str,
    width: int = 560,
    height: int = 200,
    percent: bool = False,
) -> str:
    left, right, top, bottom = 44, 12, 44, 34
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = max((v for values in series.values() for v in values), default=0) or 1
    n = max(len(days), 1)

    def x(i: int) -> float:
        return left + (plot_w * i / (n - 1) if n > 1 else plot_w / 2)

    def y(v: float) -> float:
        return top + plot_h - plot_h * v / peak

    parts = [
        f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}">',
        f'<text x="{left}" y="16" class="chart-title">{escape(title)}</text>',
        f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" stroke="#999"/>',
        f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + plot_h}" stroke="#999"/>',
    ]
    for frac in (0.0, 0.5, 1.0):
        value = peak * frac
        label = f"{value:.0%}" if percent else f"{value:.0f}"
        parts.append(f'<text x="{left - 6}" y="{y(value) + 4:.1f}" text-anchor="end" class="tick">{label}</text>')
    step = max(1, n // 6)
    for i in range(0, n, step):
        parts.append(f'<text x="{x(i):.1f}" y="{height - 12}" text-anchor="middle" class="tick">{days[i]:%m-%d}</text>')
    for k, (name, values) in enumerate(series.items()):
        color = PALETTE[k % len(PALETTE)]
        points = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(values))
        parts.append(f'<polyline fill="none" stroke="{color}" stroke-width="2" points="{points}"/>')
        for i, v in enumerate(values):
            parts.append(f'<circle cx="{x(i):.1f}" cy="{y(v):.1f}" r="2.5" fill="{color}"/>')
        short = name if len(name) <= 9 else name[:8] + "…"
        parts.append(
            f'<text x="{left + 8 + 105 * k}" y="{top - 10}" fill="{color}" class="legend">■ {escape(short)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)
