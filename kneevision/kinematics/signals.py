"""Signal conditioning for landmark and angle time series.

Biomechanics convention: gaps up to ~0.3 s are interpolated, longer ones stay
missing; a zero-lag low-pass Butterworth (~6 Hz) is run forward and backward on
each valid stretch separately, on the real timestamps. The One Euro filter is
the causal choice for live use.
"""

from __future__ import annotations

import functools
import warnings

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import signal as sps
from scipy.interpolate import make_smoothing_spline

from kneevision.kinematics.landmarks import midpoint

FloatArray = NDArray[np.float64]


def mask_low_visibility(
    points: ArrayLike, visibility: ArrayLike, threshold: float = 0.5
) -> FloatArray:
    """Set points whose visibility is below ``threshold`` (or NaN) to NaN.

    Parameters
    ----------
    points : array_like, shape (..., D)
    visibility : array_like, shape (...)
    threshold : float

    Returns
    -------
    ndarray, shape (..., D)
        A copy of ``points``.
    """
    out = np.array(points, dtype=float, copy=True)
    vis = np.asarray(visibility, dtype=float)
    with np.errstate(invalid="ignore"):
        bad = ~(vis >= threshold)
    out[bad] = np.nan
    return out


def tracking_glitches(
    time_s: ArrayLike, image: ArrayLike, window_s: float = 1.0, max_jump: float = 1.0
) -> NDArray[np.bool_]:
    """Frames where the tracked body is briefly somewhere else (a tracker glitch).

    The hip midpoint is compared with its running median over ``window_s``;
    frames farther from it than ``max_jump`` trunk lengths (shoulders to hips,
    the clip's median) are glitches: no real body moves that far and comes back
    within the window. Frames without a pose are never glitches.

    Parameters
    ----------
    time_s : array_like, shape (T,)
    image : array_like, shape (T, 33, 2)
        Image landmarks.
    window_s : float
    max_jump : float

    Returns
    -------
    ndarray of bool, shape (T,)
    """
    t = np.asarray(time_s, dtype=float)
    p = np.asarray(image, dtype=float)
    hips = midpoint(p, "hip")
    trunk = np.linalg.norm(midpoint(p, "shoulder") - hips, axis=-1)
    ok = np.isfinite(hips).all(axis=1)
    if ok.sum() < 3 or not np.isfinite(trunk).any():
        return np.zeros(len(t), dtype=bool)
    dt = float(np.median(np.diff(t))) if len(t) > 1 else 1.0
    half = max(1, round(window_s / dt / 2))
    padded = np.pad(hips, ((half, half), (0, 0)), constant_values=np.nan)
    windows = np.lib.stride_tricks.sliding_window_view(padded, 2 * half + 1, axis=0)
    with warnings.catch_warnings():  # all-NaN windows at the clip's edges are expected
        warnings.simplefilter("ignore", RuntimeWarning)
        centre = np.nanmedian(windows, axis=-1)
    with np.errstate(invalid="ignore"):
        dev = np.linalg.norm(hips - centre, axis=-1)
        return ok & (dev > max_jump * float(np.nanmedian(trunk)))


def valid_runs(valid: ArrayLike) -> list[tuple[int, int]]:
    """Half-open ``(start, stop)`` index ranges of consecutive True values."""
    v = np.asarray(valid, dtype=bool).astype(np.int8)
    edges = np.diff(np.concatenate(([0], v, [0])))
    return list(zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1), strict=True))


def fill_gaps(time_s: ArrayLike, values: ArrayLike, max_gap_s: float = 0.3) -> FloatArray:
    """Linearly interpolate interior NaN gaps no longer than ``max_gap_s``.

    A gap's length is the time between the last valid sample before it and the
    first valid sample after it. Leading and trailing NaNs and longer gaps are
    left as NaN.

    Parameters
    ----------
    time_s : array_like, shape (T,)
        Strictly increasing timestamps in seconds.
    values : array_like, shape (T, ...)
        Series; each trailing component is filled independently.
    max_gap_s : float
        Longest gap to bridge.

    Returns
    -------
    ndarray, shape (T, ...)
    """
    t = np.asarray(time_s, dtype=float)
    x = np.array(values, dtype=float, copy=True)
    flat = x.reshape(len(t), -1)
    for j in range(flat.shape[1]):
        col = flat[:, j]
        ok = np.isfinite(col)
        if ok.all() or ok.sum() < 2:
            continue
        idx = np.flatnonzero(ok)
        # Gaps between consecutive valid samples that skip at least one frame.
        gaps = np.flatnonzero(np.diff(idx) > 1)
        for g in gaps:
            a, b = idx[g], idx[g + 1]
            if t[b] - t[a] <= max_gap_s + 1e-9:
                col[a + 1 : b] = np.interp(t[a + 1 : b], (t[a], t[b]), (col[a], col[b]))
    return flat.reshape(x.shape)


def butterworth_cutoff_for_filtfilt(cutoff_hz: float, order: int = 2) -> float:
    """Design cutoff that puts a forward–backward Butterworth's −3 dB point at ``cutoff_hz``.

    Running a filter twice squares its gain, moving the −3 dB point down; the
    design frequency is raised by ``1 / (√2 − 1)^(1 / (2·order))`` (0.802 for
    order 2, Winter's correction for a 4th-order zero-lag filter).
    """
    return cutoff_hz / (np.sqrt(2.0) - 1.0) ** (1.0 / (2 * order))


def _is_uniform(t: FloatArray, tol: float = 0.01) -> bool:
    dt = np.diff(t)
    return bool(dt.size == 0 or np.ptp(dt) <= tol * np.median(dt))


def lowpass(
    time_s: ArrayLike, values: ArrayLike, cutoff_hz: float = 6.0, order: int = 2
) -> FloatArray:
    """Zero-lag low-pass Butterworth filter on each valid stretch.

    Parameters
    ----------
    time_s : array_like, shape (T,)
        Real timestamps; a variable frame rate is handled by resampling each
        stretch onto a uniform grid at its median interval, filtering, and
        interpolating back.
    values : array_like, shape (T, ...)
        Series with NaN for missing samples (fill short gaps first).
    cutoff_hz : float
        −3 dB frequency of the *combined* forward–backward filter.
    order : int
        Order of the single-pass Butterworth design.

    Returns
    -------
    ndarray, shape (T, ...)
        Filtered series; NaN where the input was NaN. Stretches shorter than a
        few samples are returned unfiltered.
    """
    t = np.asarray(time_s, dtype=float)
    x = np.asarray(values, dtype=float)
    out = x.copy()
    flat_in = x.reshape(len(t), -1)
    flat_out = out.reshape(len(t), -1)
    design = butterworth_cutoff_for_filtfilt(cutoff_hz, order)
    finite = np.isfinite(flat_in)
    # Columns missing in the same frames (a landmark's x, y, z…) are filtered together.
    groups: dict[bytes, list[int]] = {}
    for j in range(flat_in.shape[1]):
        groups.setdefault(np.packbits(finite[:, j]).tobytes(), []).append(j)
    for cols in groups.values():
        for a, b in valid_runs(finite[:, cols[0]]):
            if b - a < 4:
                continue
            ts, seg = t[a:b], flat_in[a:b][:, cols]
            uniform = _is_uniform(ts)
            dt = float(np.median(np.diff(ts)))
            fs = 1.0 / dt
            if design >= 0.45 * fs:
                continue  # nothing to remove below Nyquist
            if not uniform:
                grid = np.arange(ts[0], ts[-1] + dt / 2, dt)
                seg = _interp_columns(grid, ts, seg)
            sos = _butter_sos(order, design, fs)
            padlen = min(3 * (2 * len(sos) + 1), len(seg) - 1)
            y = sps.sosfiltfilt(sos, seg, padlen=padlen, axis=0)
            flat_out[a:b, cols] = _interp_columns(ts, grid, y) if not uniform else y
    return out


def smooth_weighted(
    time_s: ArrayLike, values: ArrayLike, sd: ArrayLike, max_gap_s: float = 0.3
) -> FloatArray:
    """Smoothing spline weighted by each sample's uncertainty, its smoothness chosen by GCV.

    For a series whose noise changes from sample to sample and is known (e.g. a
    pose whose precision depends on the viewing angle): weak samples lean on their
    neighbours, precise ones are kept. Uses ``scipy.interpolate.make_smoothing_spline``
    (generalised cross-validation picks the smoothness, so only the *relative*
    size of ``sd`` matters).

    Parameters
    ----------
    time_s : array_like, shape (T,)
        Increasing timestamps.
    values : array_like, shape (T,)
        The series, NaN where missing.
    sd : array_like, shape (T,)
        Standard deviation of each sample (any unit; only ratios count).
    max_gap_s : float
        Gaps up to this long are bridged by the spline; longer ones stay NaN and
        split the series into stretches fitted on their own.

    Returns
    -------
    ndarray, shape (T,)
        Stretches of fewer than 5 samples are returned as they are.
    """
    t = np.asarray(time_s, dtype=float)
    x = np.asarray(values, dtype=float)
    w = 1.0 / np.square(np.asarray(sd, dtype=float))
    ok = np.isfinite(x) & np.isfinite(w) & (w > 0)
    out = np.where(ok, x, np.nan)
    idx = np.flatnonzero(ok)
    if idx.size == 0:
        return out
    breaks = np.flatnonzero(np.diff(t[idx]) > max_gap_s) + 1
    for part in np.split(idx, breaks):
        if part.size < 5:
            continue
        spline = make_smoothing_spline(t[part], x[part], w=w[part] / w[part].mean())
        span = slice(part[0], part[-1] + 1)
        out[span] = spline(t[span])
    return out


@functools.lru_cache(maxsize=64)
def _butter_sos(order: int, design_hz: float, fs: float) -> FloatArray:
    return sps.butter(order, design_hz, btype="low", fs=fs, output="sos")


def _interp_columns(x_new: FloatArray, x: FloatArray, y: FloatArray) -> FloatArray:
    """``np.interp`` on every column of ``y`` at once (``x`` increasing, ends held)."""
    i = np.clip(np.searchsorted(x, x_new, side="right"), 1, len(x) - 1)
    x0, x1 = x[i - 1], x[i]
    w = np.clip((x_new - x0) / np.where(x1 > x0, x1 - x0, 1.0), 0.0, 1.0)[:, None]
    return y[i - 1] * (1.0 - w) + y[i] * w


class OneEuroFilter:
    """One Euro filter (Casiez, Roussel & Vogel 2012) for live, causal smoothing.

    Parameters
    ----------
    min_cutoff : float
        Cutoff (Hz) when the signal is still: lower means smoother.
    beta : float
        How fast the cutoff rises with speed: higher means less lag when moving.
    d_cutoff : float
        Cutoff (Hz) for the derivative estimate.

    Notes
    -----
    Works on arrays of any fixed shape. A NaN component passes through as NaN and
    restarts that component's state, so a landmark that disappears and returns
    does not drag its old position along.
    """

    def __init__(self, min_cutoff: float = 1.0, beta: float = 0.05, d_cutoff: float = 1.0) -> None:
        self.min_cutoff = min_cutoff
        self.beta = beta
        self.d_cutoff = d_cutoff
        self._t: float | None = None
        self._x: FloatArray | None = None
        self._dx: FloatArray | None = None

    @staticmethod
    def _alpha(cutoff: FloatArray | float, dt: float) -> FloatArray:
        tau = 1.0 / (2.0 * np.pi * np.asarray(cutoff))
        return 1.0 / (1.0 + tau / dt)

    def reset(self) -> None:
        """Forget all state."""
        self._t = self._x = self._dx = None

    def __call__(self, t: float, x: ArrayLike) -> FloatArray:
        """Filter one sample taken at time ``t`` (seconds)."""
        x = np.array(x, dtype=float, copy=True)
        if self._x is None or self._t is None or t <= self._t:
            self._t, self._x, self._dx = t, x, np.zeros_like(x)
            return x.copy()
        dt = t - self._t
        prev = np.where(np.isfinite(self._x), self._x, x)  # restart missing components
        dx = (x - prev) / dt
        dx_hat = self._dx + self._alpha(self.d_cutoff, dt) * (dx - self._dx)
        dx_hat = np.where(np.isfinite(dx_hat), dx_hat, 0.0)
        cutoff = self.min_cutoff + self.beta * np.abs(dx_hat)
        x_hat = prev + self._alpha(cutoff, dt) * (x - prev)
        self._t, self._x, self._dx = t, x_hat, dx_hat
        return x_hat.copy()
