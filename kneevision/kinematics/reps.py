"""Repetition segmentation from a movement signal (knee flexion, hip depth).

A repetition is a full excursion: down from a base, a bottom (peak), and back
up. A bottom the clip shows being reached also counts when the clip starts on
the way down or ends on the way up: that repetition is marked partial. Bottoms
the clip does not show (it starts or ends at the very bottom, or before it),
pauses and jitter do not count.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from numpy.typing import ArrayLike
from scipy import signal as sps

from kneevision.kinematics.signals import fill_gaps, lowpass

#: A partial repetition must go at least this share as deep (excursion) as the
#: median complete repetition of the same clip.
PARTIAL_DEPTH_SHARE = 0.5


@dataclass(frozen=True)
class Rep:
    """One repetition.

    Attributes
    ----------
    start, bottom, end : int
        Frame indices of the start of the descent, the bottom (signal peak) and
        the end of the ascent.
    start_s, bottom_s, end_s : float
        The same as times in seconds.
    peak : float
        Signal value at the bottom.
    excursion : float
        Peak minus the lower of the two bases (of the one base seen, when partial).
    partial : {"start", "end"} or None
        Whether the clip (or the measured stretch) starts after the descent began,
        or ends before the ascent was over; None for a complete repetition.
    """

    start: int
    bottom: int
    end: int
    start_s: float
    bottom_s: float
    end_s: float
    peak: float
    excursion: float
    partial: str | None = None

    def to_dict(self) -> dict:
        """Plain-dict form."""
        return asdict(self)


def segment_reps(
    time_s: ArrayLike,
    signal: ArrayLike,
    *,
    min_excursion: float = 20.0,
    relative_excursion: float = 0.4,
    min_interval_s: float = 0.8,
    smooth_hz: float = 1.5,
    edge_fraction: float = 0.15,
    min_duration_s: float = 0.0,
    partial: bool = True,
) -> list[Rep]:
    """Find repetitions as full excursions of ``signal`` (higher = deeper).

    Parameters
    ----------
    time_s : array_like, shape (T,)
        Timestamps in seconds (variable frame rate allowed).
    signal : array_like, shape (T,)
        E.g. knee flexion in degrees; NaN where unknown.
    min_excursion : float
        Smallest down-and-up movement counted, in signal units.
    relative_excursion : float
        Also require this fraction of the clip's range (5th–95th percentile), so
        a pause's wobble or a half-hearted dip between real reps is ignored.
    min_interval_s : float
        Shortest time between two bottoms.
    smooth_hz : float
        Extra low-pass applied for detection only (bottoms are then located on
        the signal as given).
    edge_fraction : float
        Where a rep starts or ends: the first/last point within this fraction of
        the excursion above the base.
    min_duration_s : float
        Shorter excursions (e.g. a tracking glitch) are not repetitions.
    partial : bool
        Also count a bottom whose descent or ascent is cut short by the start or
        end of the measured signal. The bottom must have been reached: the full
        side moves by the threshold, the cut side by at least ``edge_fraction`` of
        that, so the signal visibly turned there, and it must be at least
        ``PARTIAL_DEPTH_SHARE`` as deep as the clip's complete repetitions. Any
        repetition the edge cuts before it was over is marked in :attr:`Rep.partial`.

    Returns
    -------
    list of Rep
        In time order.
    """
    t = np.asarray(time_s, dtype=float)
    x = np.asarray(signal, dtype=float)
    if t.size < 3 or np.isfinite(x).sum() < 3:
        return []
    x = fill_gaps(t, x, max_gap_s=0.5)
    ok = np.isfinite(x)
    lo, hi = np.nanpercentile(x, [5, 95])
    threshold = max(min_excursion, relative_excursion * (hi - lo))
    if hi - lo < min_excursion:
        return []

    # Detect on a uniform grid (find_peaks works in samples), smoothed.
    dt = float(np.median(np.diff(t)))
    grid = np.arange(t[0], t[-1] + dt / 2, dt)
    xs = np.interp(grid, t[ok], x[ok])
    xs = lowpass(grid, xs, cutoff_hz=smooth_hz)
    # Grid points inside long gaps carry no information: the interpolation
    # bridges them (flat at the clip's edges), and no rep may start or end there.
    missing = np.interp(grid, t, (~ok).astype(float)) > 0.5
    xz = xs
    # Bases are looked for only where the signal was measured.
    known = np.where(missing, np.inf, xz)
    measured = np.flatnonzero(~missing)
    if measured.size < 3:
        return []
    first, last = int(measured[0]), int(measured[-1])
    # Padding both ends with a low value lets a bottom next to the clip's edge, whose
    # cut side never returns to a base, stand out as a peak; its sides are judged below.
    floor = float(np.min(xz)) - threshold
    padded = np.concatenate(([floor], xz, [floor]))
    found, _ = sps.find_peaks(
        padded, prominence=threshold, distance=max(1, round(min_interval_s / dt))
    )
    peaks = found - 1
    reps: list[Rep] = []
    bounds = np.concatenate(([0], peaks, [len(xz) - 1]))
    for k, p in enumerate(peaks):
        left = slice(bounds[k], p + 1)
        right = slice(p, bounds[k + 2] + 1)
        if missing[p] or not np.isfinite(known[left]).any() or not np.isfinite(known[right]).any():
            continue
        lb = bounds[k] + int(np.argmin(known[left]))
        rb = p + int(np.argmin(known[right]))
        down, up = xz[p] - xz[lb], xz[p] - xz[rb]
        # Cut by an edge: that side's base is the last (first) measured point and
        # lies clearly above the clip's standing level ``lo`` (the movement was not
        # over). The other base is no reference: people walk in or re-rack.
        cut = None
        margin = edge_fraction * max(down, up)
        if rb == last and xz[rb] - lo > margin and up < down:
            cut = "end"
        elif lb == first and xz[lb] - lo > margin and down < up:
            cut = "start"
        if down < threshold or up < threshold:
            # Only a bottom cut by an edge may have one short side, and the signal
            # must have turned there: otherwise a wobble, or a bottom not seen.
            full, short = (down, up) if cut == "end" else (up, down)
            if not partial or cut is None or full < threshold or short < edge_fraction * full:
                continue
        # Start: last point before the bottom near the left base; end likewise.
        near_l = np.flatnonzero(xz[lb : p + 1] <= xz[lb] + edge_fraction * down)
        near_r = np.flatnonzero(xz[p : rb + 1] <= xz[rb] + edge_fraction * up)
        g_start, g_end = lb + int(near_l[-1]), p + int(near_r[0])
        # A cut repetition runs to the edge of what was measured.
        g_start, g_end = (lb if cut == "start" else g_start), (rb if cut == "end" else g_end)
        i_start = int(np.searchsorted(t, grid[g_start]))
        i_end = min(int(np.searchsorted(t, grid[g_end])), len(t) - 1)
        window = x[i_start : i_end + 1]
        if not np.isfinite(window).any() or t[i_end] - t[i_start] < min_duration_s:
            continue
        i_bottom = i_start + int(np.nanargmax(window))
        reps.append(
            Rep(
                start=i_start,
                bottom=i_bottom,
                end=i_end,
                start_s=float(t[i_start]),
                bottom_s=float(t[i_bottom]),
                end_s=float(t[i_end]),
                peak=float(x[i_bottom]),
                excursion=float(max(down, up) if cut else min(down, up)),
                partial=cut,
            )
        )
    full = [r.excursion for r in reps if r.partial is None]
    if full:
        # A bottom cut by an edge counts when it was as deep as a repetition: walking
        # in or out, or re-racking a bar, moves the hips too, but less.
        deep_enough = PARTIAL_DEPTH_SHARE * float(np.median(full))
        reps = [r for r in reps if r.partial is None or r.excursion >= deep_enough]
    return reps
