"""The report's figures (matplotlib), one style: colour per side, units on every axis.

Every function takes plain arrays or the typed parts of ``summary.json``
(:mod:`kneevision.summary`) and returns a :class:`matplotlib.figure.Figure` with a
title; nothing is shown or saved here.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.figure import Figure

from kneevision.kinematics.landmarks import JOINTS, SIDES
from kneevision.protocols.base import label_of, unit_of
from kneevision.report.references import Reference
from kneevision.style import NEUTRAL_COLOR, SIDE_COLORS, WARNING_COLOR
from kneevision.summary import Asymmetry, RepRow, SideMetrics

#: Figure width (inches) that fits an A4 page and a phone screen.
WIDTH = 7.0


def axis_label(metric: str) -> str:
    """Axis label with the unit: ``peak FPPA (°)``; ratios say ``(ratio)``."""
    unit = unit_of(metric).strip() or ("ratio" if metric.endswith("_ratio") else "value")
    return f"{label_of(metric)} ({unit})"


def _finite(v: float | None) -> bool:
    return v is not None and math.isfinite(v)


def _figure(height: float) -> tuple[Figure, object]:
    fig = Figure(figsize=(WIDTH, height), layout="constrained")
    return fig, fig.add_subplot()


def time_series(
    time_s: np.ndarray,
    series: dict[str, np.ndarray],
    metric: str,
    reps: Sequence[RepRow] = (),
    reference: Reference | None = None,
) -> Figure:
    """An angle over time, left and right on the same axes, rep bands and peaks marked.

    Parameters
    ----------
    time_s : ndarray (T,)
    series : dict side → ndarray (T,)
    metric : str
        e.g. ``knee_flexion_deg`` (for the axis label).
    reps : list of RepRow
        ``Summary.reps``; each draws a band from start to end and a marker at the
        bottom.
    reference : Reference, optional
        Drawn as a grey band.

    Returns
    -------
    Figure
    """
    fig, ax = _figure(2.8)
    if reference is not None and reference.low is not None:
        ax.axhspan(reference.low, reference.high, color="0.9", zorder=0, label="reference")
    seen_band: set[tuple[float, float]] = set()
    for r in reps:
        band = (r.start_s, r.end_s)
        if None not in band and band not in seen_band:
            seen_band.add(band)
            ax.axvspan(*band, color="0.95", zorder=0)
    for side in SIDES:
        if side in series and np.isfinite(series[side]).any():
            ax.plot(time_s, series[side], color=SIDE_COLORS[side], lw=1.5, label=side)
            bottoms = [r.bottom_s for r in reps if r.side == side and r.bottom_s is not None]
            if bottoms:
                idx = [int(np.argmin(np.abs(time_s - b))) for b in bottoms]
                ax.plot(time_s[idx], series[side][idx], "v", color=SIDE_COLORS[side], ms=6)
    ax.set_title(f"{label_of(metric)} over time (bands: repetitions, ▼ bottoms)")
    ax.set_xlabel("time (s)")
    ax.set_ylabel(axis_label(metric))
    ax.grid(alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="upper right", fontsize=8)
    return fig


def marker_vs_markerless(
    time_s: np.ndarray, marker: dict[str, np.ndarray], markerless: dict[str, np.ndarray] | None
) -> Figure:
    """Tibial rotation per side from the markers (solid) and from the landmarks (dashed)."""
    fig, ax = _figure(2.8)
    for side in SIDES:
        m = marker.get(side)
        if m is not None and np.isfinite(m).any():
            ax.plot(time_s, m, color=SIDE_COLORS[side], lw=1.6, label=f"{side}, markers")
        free = (markerless or {}).get(side)
        if free is not None and len(free) == len(time_s) and np.isfinite(free).any():
            ax.plot(
                time_s, free, color=SIDE_COLORS[side], lw=1, ls="--", label=f"{side}, markerless"
            )
    ax.set_title("Tibial rotation: markers (solid) and markerless estimate (dashed)")
    ax.set_xlabel("time (s)")
    ax.set_ylabel("tibial rotation (°), + internal")
    ax.grid(alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=8)
    return fig


def rep_bars(reps: Sequence[RepRow], metric: str, reference: Reference | None = None) -> Figure:
    """Per-repetition values, left and right side by side.

    Parameters
    ----------
    reps : list of RepRow
        ``Summary.reps``; a rep with a valgus warning is drawn in the warning colour.
    metric : str
        The measure of each rep to draw, e.g. ``peak_fppa_deg``.
    reference : Reference, optional
        Drawn as a grey band.

    Returns
    -------
    Figure
    """
    fig, ax = _figure(2.6)
    if reference is not None and reference.low is not None:
        ax.axhspan(reference.low, reference.high, color="0.9", zorder=0, label="reference")
    width = 0.38
    measured = [r for r in reps if r.get(metric) is not None and r.rep is not None]
    for k, side in enumerate(SIDES):
        rows = [r for r in measured if r.side == side]
        xs = np.array([r.rep for r in rows], dtype=float) + (k - 0.5) * width
        vals = [r.get(metric) for r in rows]
        colors = [WARNING_COLOR if r.get("valgus_warning") else SIDE_COLORS[side] for r in rows]
        ax.bar(xs, vals, width, color=colors, edgecolor=SIDE_COLORS[side], label=side)
    numbers = sorted({r.rep for r in measured})
    ax.set_xticks(numbers)
    ax.set_title(f"{label_of(metric)} per repetition")
    ax.set_xlabel("repetition (number)")
    ax.set_ylabel(axis_label(metric))
    ax.axhline(0, color=NEUTRAL_COLOR, lw=0.8)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=8)
    return fig


def asymmetry_chart(asymmetry: Mapping[str, Asymmetry]) -> Figure:
    """Dumbbell chart: left and right per metric, joined; red when beyond the MDC.

    Each metric gets its own row and axis (metrics have different units).

    Parameters
    ----------
    asymmetry : dict of str to Asymmetry
        ``Summary.asymmetry``; metrics without a value on both legs are left out.

    Returns
    -------
    Figure
    """
    items = [(m, a) for m, a in asymmetry.items() if _finite(a.left) and _finite(a.right)]
    n = max(len(items), 1)
    fig = Figure(figsize=(WIDTH, 0.75 * n + 0.9), layout="constrained")
    axes = fig.subplots(n, 1, squeeze=False)[:, 0]
    fig.suptitle("Left versus right (red line: difference beyond measurement error)")
    for ax, (metric, a) in zip(axes, items, strict=False):
        left, right = float(a.left), float(a.right)  # type: ignore[arg-type]
        color = WARNING_COLOR if a.exceeds_mdc else NEUTRAL_COLOR
        ax.plot([left, right], [0, 0], color=color, lw=2, zorder=1)
        for side, v in (("left", left), ("right", right)):
            ax.plot([v], [0], "o", color=SIDE_COLORS[side], ms=9, zorder=2, label=side)
        ax.set_ylim(-1, 1)
        lo, hi = min(left, right), max(left, right)
        pad = max(1.0, 0.25 * (hi - lo), 0.5 * (a.mdc or 0))
        ax.set_xlim(lo - pad, hi + pad)
        ax.set_yticks([])
        ax.set_xlabel(axis_label(metric), fontsize=8)
        difference = a.difference if _finite(a.difference) else left - right
        ax.set_title(
            f"{label_of(metric)}: L−R {difference:+.1f}{unit_of(metric)}"
            + (f", LSI {a.lsi:.0f}%" if _finite(a.lsi) else ""),
            fontsize=9,
            loc="left",
        )
    if not items:
        axes[0].set_axis_off()
        axes[0].text(0.5, 0.5, "no metric measured on both sides", ha="center")
        axes[0].set_xlabel("(none)")
    else:
        fig.legend(*axes[0].get_legend_handles_labels(), loc="outside lower center", ncol=2)
    return fig


def twist_ranges(sides: Mapping[str, SideMetrics], reference: Reference | None = None) -> Figure:
    """Seated twist: each leg's external (−) to internal (+) range around neutral.

    Parameters
    ----------
    sides : dict of str to SideMetrics
        ``Summary.sides``; a leg not tested (or without a range) says so.
    reference : Reference, optional
        Its text is added to the title.

    Returns
    -------
    Figure
    """
    fig, ax = _figure(2.2)
    for y, side in enumerate(SIDES):
        s = sides.get(side) or SideMetrics()
        ir, er = s.value("internal_rotation_deg"), s.value("external_rotation_deg")
        if not s.facts.get("tested") or not (math.isfinite(ir) and math.isfinite(er)):
            why = "not measured" if s.facts.get("tested") else "not tested"
            ax.text(0, y, f"{side}: {why}", ha="center", va="center", fontsize=9)
            continue
        ax.barh(y, ir, left=0, color=SIDE_COLORS[side], height=0.5)
        ax.barh(y, -er, left=0, color=SIDE_COLORS[side], alpha=0.45, height=0.5)
        ax.text(ir, y, f" IR {ir:.0f}°", va="center", fontsize=8)
        ax.text(-er, y, f"ER {er:.0f}° ", va="center", ha="right", fontsize=8)
    ax.axvline(0, color=NEUTRAL_COLOR, lw=1)
    ax.set_yticks([0, 1], ["left", "right"])
    ax.set_xlabel("tibial rotation from neutral (°): external ← → internal")
    ax.set_title(
        "Seated twist test: range of each leg" + (f" — {reference.text}" if reference else "")
    )
    ax.margins(x=0.25)
    return fig


def key_frame(
    image_rgb: np.ndarray, points: np.ndarray, side: str, value: float, metric: str
) -> Figure:
    """A video frame with one leg's thigh and shank lines and the angle written on it.

    Parameters
    ----------
    image_rgb : ndarray (H, W, 3)
    points : ndarray (33, 2)
        Image landmarks of that frame (pixels of ``image_rgb``).
    """
    h, w = image_rgb.shape[:2]
    fig = Figure(figsize=(WIDTH / 2, WIDTH / 2 * h / w + 0.5), layout="constrained")
    ax = fig.add_subplot()
    ax.imshow(image_rgb)
    hip, knee, ankle = (points[JOINTS[j][side]] for j in ("hip", "knee", "ankle"))
    color = SIDE_COLORS[side]
    ax.plot(*zip(hip, knee, strict=True), color=color, lw=3)
    ax.plot(*zip(knee, ankle, strict=True), color=WARNING_COLOR, lw=3)
    ext = knee + (knee - hip)  # the thigh line carried on: FPPA is the angle to it
    ax.plot(*zip(knee, ext, strict=True), color="white", lw=1, ls="--")
    ax.annotate(f"{value:+.1f}°", knee, xytext=(8, 0), textcoords="offset points",
                color="white", fontsize=11, weight="bold",
                bbox={"facecolor": color, "alpha": 0.8, "pad": 2})  # fmt: skip
    ax.set_title(f"{side} leg, {label_of(metric)} {value:+.1f}°", fontsize=9)
    ax.set_xlabel("image x (px)", fontsize=7)
    ax.set_ylabel("image y (px)", fontsize=7)
    ax.tick_params(labelsize=6)
    return fig


def history(
    dates: Sequence[str],
    values: dict[str, Sequence[float]],
    metric: str,
    reference: Reference | None = None,
) -> Figure:
    """One metric over sessions, per side, with the reference band (patient history)."""
    fig, ax = _figure(2.6)
    if reference is not None and reference.low is not None:
        ax.axhspan(reference.low, reference.high, color="0.9", zorder=0, label="reference")
    x = np.arange(len(dates))
    for side in SIDES:
        if side in values:
            ax.plot(x, values[side], "o-", color=SIDE_COLORS[side], label=side)
    ax.set_xticks(x, list(dates), rotation=30, fontsize=8)
    ax.set_title(f"{label_of(metric)} over sessions")
    ax.set_xlabel("session (date)")
    ax.set_ylabel(axis_label(metric))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return fig
