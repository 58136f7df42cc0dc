"""Small inline SVG charts for the admin pages: no JavaScript, no external assets, and the
numbers also in the markup (titles) for screen readers and for tests."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

_PALETTE = ("#417690", "#79aec8", "#5b8a3c", "#c28f2c", "#a64b4b", "#6f5499", "#3c7a89")


def bar_chart(
    bars: Sequence[tuple[str, int | Decimal]], *, title: str, unit: str = "", width: int = 640
) -> SafeString:
    """Horizontal bars, one per (label, value), longest scaled to the width."""
    if not bars:
        return mark_safe(f"<p>{escape(title)}: nothing yet.</p>")
    row, label_w, value_w = 26, 200, 110
    plot_w = width - label_w - value_w
    top = max(value for _, value in bars) or 1
    height = row * len(bars) + 30
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" style="font: 12px sans-serif">',
        f"<title>{escape(title)}</title>",
        f'<text x="0" y="14" font-weight="bold">{escape(title)}</text>',
    ]
    for i, (label, value) in enumerate(bars):
        y = 24 + i * row
        length = max(1, round(plot_w * float(value) / float(top))) if value else 0
        short = label if len(label) <= 30 else label[:29] + "…"
        parts.append(
            f"<g><title>{escape(label)}: {value:,} {escape(unit)}</title>"
            f'<text x="0" y="{y + 15}">{escape(short)}</text>'
            f'<rect x="{label_w}" y="{y + 3}" width="{length}" height="{row - 8}" '
            f'fill="{_PALETTE[i % len(_PALETTE)]}"/>'
            f'<text x="{label_w + length + 6}" y="{y + 15}">{value:,} {escape(unit)}</text></g>'
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))


def step_chart(
    points: Sequence[tuple[datetime, int]],
    *,
    title: str,
    unit: str = "",
    width: int = 640,
    height: int = 200,
) -> SafeString:
    """A cumulative count over time (x: time, y: count), as a step line."""
    if len(points) < 1:
        return mark_safe(f"<p>{escape(title)}: nothing yet.</p>")
    left, bottom, top_pad = 50, 30, 24
    plot_w, plot_h = width - left - 10, height - bottom - top_pad
    t0, t1 = points[0][0], points[-1][0]
    span = max((t1 - t0).total_seconds(), 1.0)
    y_max = max(v for _, v in points) or 1

    def xy(moment: datetime, value: int) -> tuple[float, float]:
        return (
            left + plot_w * (moment - t0).total_seconds() / span,
            top_pad + plot_h * (1 - value / y_max),
        )

    path, previous_y = [], None
    for moment, value in points:
        x, y = xy(moment, value)
        if previous_y is None:
            path.append(f"M{x:.1f},{y:.1f}")
        else:
            path.append(f"L{x:.1f},{previous_y:.1f} L{x:.1f},{y:.1f}")
        previous_y = y
    fmt = "%H:%M:%S" if span < 86400 else "%Y-%m-%d"
    svg = (
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" style="font: 12px sans-serif">'
        f"<title>{escape(title)}: {points[-1][1]:,} {escape(unit)} by {t1:{fmt}}</title>"
        f'<text x="0" y="14" font-weight="bold">{escape(title)}</text>'
        f'<line x1="{left}" y1="{top_pad + plot_h}" x2="{left + plot_w}" '
        f'y2="{top_pad + plot_h}" stroke="#999"/>'
        f'<line x1="{left}" y1="{top_pad}" x2="{left}" y2="{top_pad + plot_h}" stroke="#999"/>'
        f'<text x="{left - 6}" y="{top_pad + 10}" text-anchor="end">{y_max:,}</text>'
        f'<text x="{left - 6}" y="{top_pad + plot_h}" text-anchor="end">0</text>'
        f'<text x="{left}" y="{height - 8}">{t0:{fmt}}</text>'
        f'<text x="{left + plot_w}" y="{height - 8}" text-anchor="end">{t1:{fmt}}</text>'
        f'<path d="{" ".join(path)}" fill="none" stroke="{_PALETTE[0]}" stroke-width="2"/>'
        "</svg>"
    )
    return mark_safe(svg)
