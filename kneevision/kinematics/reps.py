"""Repetition segmentation from a movement signal (knee flexion, hip depth).

A repetition is a full excursion: down from a base, a bottom (peak), and back
up. Partial movements at the clip's start or end, pauses and jitter do not
count as repetitions.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from numpy.typing import ArrayLike
from scipy import signal as sps

from kneevision.kinematics.signals import fill_gaps, lowpass


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
        Peak minus the lower of the two bases.
    """

    start: int
    bottom: int
    end: int
    start_s: float
    bottom_s: float
    end_s: float
    peak: float
    excursion: float

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
    peaks, _ = sps.find_peaks(xz, prominence=threshold, distance=max(1, round(min_interval_s / dt)))
    reps: list[Rep] = []
    bounds = np.concatenate(([0], peaks, [len(xz) - 1]))
    # Bases are looked for only where the signal was measured.
    known = np.where(missing, np.inf, xz)
    for k, p in enumerate(peaks):
        left = slice(bounds[k], p + 1)
        right = slice(p, bounds[k + 2] + 1)
        if missing[p] or not np.isfinite(known[left]).any() or not np.isfinite(known[right]).any():
            continue
        lb = bounds[k] + int(np.argmin(known[left]))
        rb = p + int(np.argmin(known[right]))
        down, up = xz[p] - xz[lb], xz[p] - xz[rb]
        if down < threshold or up < threshold:
            continue  # a partial movement at an edge, or a wobble
        # Start: last point before the bottom near the left base; end likewise.
        near_l = np.flatnonzero(xz[lb : p + 1] <= xz[lb] + edge_fraction * down)
        near_r = np.flatnonzero(xz[p : rb + 1] <= xz[rb] + edge_fraction * up)
        g_start, g_end = lb + int(near_l[-1]), p + int(near_r[0])
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
                excursion=float(min(down, up)),
            )
        )
    return reps
