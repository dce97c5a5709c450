"""Inline SVG charts (no inline styles or scripts: the pages' CSP is ``default-src 'self'``).

Left is blue and right orange, as in the report (Okabe–Ito colours).
"""

from __future__ import annotations

import math
from html import escape

COLOURS = {"left": "#0072B2", "right": "#D55E00", "both": "#555555"}


def _finite(v: object) -> bool:
    return isinstance(v, (int, float)) and math.isfinite(v)


def _ticks(lo: float, hi: float, n: int = 4) -> list[float]:
    if hi <= lo:
        return [lo]
    step = 10 ** math.floor(math.log10((hi - lo) / n))
    for m in (1, 2, 5, 10):
        if (hi - lo) / (step * m) <= n:
            step *= m
            break
    start = math.ceil(lo / step) * step
    out, v = [], start
    while v <= hi + 1e-9:
        out.append(round(v, 10))
        v += step
    return out


def angle_curve(time_s: list, series: dict[str, list], duration: float, *, width: int = 560,
                height: int = 240, ylabel: str = "knee flexion (°)") -> str:  # fmt: skip
    """Knee angle over time, left and right, with a cursor line the page's script moves."""
    pad_l, pad_r, pad_t, pad_b = 44, 10, 10, 28
    w, h = width - pad_l - pad_r, height - pad_t - pad_b
    values = [v for s in series.values() for v in s if _finite(v)]
    if not time_s or not values:
        return ""
    lo, hi = min(0.0, min(values)), max(values)
    hi = hi if hi > lo else lo + 1
    dur = duration or max(t for t in time_s if _finite(t)) or 1.0

    def x(t: float) -> float:
        return pad_l + w * t / dur

    def y(v: float) -> float:
        return pad_t + h * (1 - (v - lo) / (hi - lo))

    parts = [f'<svg class="curve" viewBox="0 0 {width} {height}" width="{width}" '
             f'height="{height}" role="img" aria-label="{escape(ylabel)} over time" '
             f'data-duration="{dur:.4f}" data-x0="{pad_l}" data-w="{w}">']  # fmt: skip
    for tv in _ticks(lo, hi):
        parts.append(f'<line x1="{pad_l}" x2="{pad_l + w}" y1="{y(tv):.1f}" y2="{y(tv):.1f}" '
                     f'stroke="#ddd"/><text x="{pad_l - 4}" y="{y(tv) + 4:.1f}" font-size="11" '
                     f'text-anchor="end">{tv:g}</text>')  # fmt: skip
    for tv in _ticks(0, dur, 6):
        parts.append(f'<text x="{x(tv):.1f}" y="{height - 10}" font-size="11" '
                     f'text-anchor="middle">{tv:g}</text>')  # fmt: skip
    parts.append(f'<text x="{pad_l + w}" y="{height - 10}" font-size="11" text-anchor="end">'
                 's</text>')  # fmt: skip
    for side, vals in series.items():
        segs, cur = [], []
        for t, v in zip(time_s, vals, strict=False):
            if _finite(v) and _finite(t):
                cur.append(f"{x(t):.1f},{y(v):.1f}")
            elif cur:
                segs.append(cur)
                cur = []
        if cur:
            segs.append(cur)
        for seg in segs:
            parts.append(f'<polyline fill="none" stroke="{COLOURS.get(side, "#333")}" '
                         f'stroke-width="1.6" points="{" ".join(seg)}"/>')  # fmt: skip
    parts.append(f'<line class="cursor" x1="{pad_l}" x2="{pad_l}" y1="{pad_t}" '
                 f'y2="{pad_t + h}" stroke="#000" stroke-width="1.2"/>')  # fmt: skip
    parts.append(f'<text x="{pad_l + 4}" y="{pad_t + 12}" font-size="11">{escape(ylabel)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def trend(points: list[dict], label: str, *, width: int = 420, height: int = 200) -> str:
    """A metric over session dates: ``points`` are ``{date, side, value}`` rows."""
    dates = sorted({p["date"] for p in points})
    good = [p for p in points if _finite(p.get("value"))]
    if not dates or not good:
        return ""
    pad_l, pad_r, pad_t, pad_b = 48, 12, 22, 34
    w, h = width - pad_l - pad_r, height - pad_t - pad_b
    vals = [p["value"] for p in good]
    lo, hi = min(vals), max(vals)
    if hi - lo < 1e-9:
        lo, hi = lo - 1, hi + 1
    margin = 0.08 * (hi - lo)
    lo, hi = lo - margin, hi + margin

    def x(d: str) -> float:
        i = dates.index(d)
        return pad_l + (w * i / (len(dates) - 1) if len(dates) > 1 else w / 2)

    def y(v: float) -> float:
        return pad_t + h * (1 - (v - lo) / (hi - lo))

    parts = [f'<svg class="trend" viewBox="0 0 {width} {height}" width="{width}" '
             f'height="{height}" role="img" aria-label="{escape(label)} per session">',
             f'<text x="{pad_l}" y="14" font-size="12">{escape(label)}</text>']  # fmt: skip
    for tv in _ticks(lo, hi):
        parts.append(f'<line x1="{pad_l}" x2="{pad_l + w}" y1="{y(tv):.1f}" y2="{y(tv):.1f}" '
                     f'stroke="#ddd"/><text x="{pad_l - 4}" y="{y(tv) + 4:.1f}" font-size="10" '
                     f'text-anchor="end">{tv:g}</text>')  # fmt: skip
    for d in dates:
        parts.append(f'<text x="{x(d):.1f}" y="{height - 12}" font-size="10" '
                     f'text-anchor="middle">{escape(d)}</text>')  # fmt: skip
    legend_x = pad_l + w
    for side in ("left", "right", "both"):
        pts = sorted((p for p in good if p["side"] == side), key=lambda p: p["date"])
        if not pts:
            continue
        colour = COLOURS[side]
        coords = " ".join(f"{x(p['date']):.1f},{y(p['value']):.1f}" for p in pts)
        parts.append(f'<polyline class="side-{side}" fill="none" stroke="{colour}" '
                     f'stroke-width="2" points="{coords}"/>')  # fmt: skip
        for p in pts:
            parts.append(f'<circle class="point side-{side}" cx="{x(p["date"]):.1f}" '
                         f'cy="{y(p["value"]):.1f}" r="3.5" fill="{colour}" '
                         f'data-date="{escape(p["date"])}" data-value="{p["value"]:.4f}">'
                         f'<title>{side} {escape(p["date"])}: {p["value"]:.1f}</title>'
                         "</circle>")  # fmt: skip
        parts.append(f'<text x="{legend_x}" y="14" font-size="11" text-anchor="end" '
                     f'fill="{colour}">{side}</text>')  # fmt: skip
        legend_x -= 44
    parts.append("</svg>")
    return "".join(parts)
