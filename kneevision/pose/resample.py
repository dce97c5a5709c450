"""Slow motion: landmarks inferred at a capped rate, put back on every frame's time.

A 240 fps clip holds 8× the frames of a 30 fps one, but a knee does not move
faster for it: inferring every k-th frame (:func:`kneevision.video.source.read_video`
with ``max_fps``) and interpolating the landmarks of the frames between keeps the
clip's own timeline, so everything downstream (smoothing, repetitions, peaks,
the CSVs) sees one row per decoded frame as before, for a fraction of the
inference time.

Interpolation is linear in time, per coordinate and score, between the two
inferred frames around a skipped one. It never invents a pose: a skipped frame
next to an inferred frame without a person stays empty (the analysis bridges its
own gaps, ``max_gap_s``), and skipped frames before the first or after the last
inferred frame take that frame's values only within one inference interval.
"""

from __future__ import annotations

import numpy as np

from kneevision.pose.sequence import PoseSequence

__all__ = ["interpolate_rows", "to_timeline"]


def interpolate_rows(
    t_known: np.ndarray, values: np.ndarray, t_all: np.ndarray, hold_s: float
) -> np.ndarray:
    """``values`` (one row per ``t_known``) linearly interpolated at ``t_all``.

    Parameters
    ----------
    t_known : ndarray (K,)
        Strictly increasing times of the rows of ``values``.
    values : ndarray (K, ...)
        Any trailing shape; NaN where unknown.
    t_all : ndarray (N,)
        Times wanted (increasing; may include ``t_known``).
    hold_s : float
        Before the first / after the last known time, the edge row is held this
        long; further out the result is NaN.

    Returns
    -------
    ndarray (N, ...)
        Exact rows at known times; a NaN on either side of a gap gives NaN.
    """
    t_known = np.asarray(t_known, dtype=float)
    t_all = np.asarray(t_all, dtype=float)
    values = np.asarray(values, dtype=float)
    k = t_known.size
    out_shape = (t_all.size, *values.shape[1:])
    if k == 0:
        return np.full(out_shape, np.nan)
    flat = values.reshape(k, -1)
    left = np.clip(np.searchsorted(t_known, t_all, side="right") - 1, 0, k - 1)
    right = np.clip(left + 1, 0, k - 1)
    span = t_known[right] - t_known[left]
    with np.errstate(invalid="ignore", divide="ignore"):
        w = np.where(span > 0, (t_all - t_known[left]) / span, 0.0)
    w = np.clip(w, 0.0, 1.0)[:, None]
    # At a known time (w == 0) the row is exact, whatever its neighbour holds.
    exact = w[:, 0] == 0.0
    mixed = flat[left] * (1.0 - w) + flat[right] * w
    result = np.where(exact[:, None], flat[left], mixed)
    outside = (t_all < t_known[0] - hold_s) | (t_all > t_known[-1] + hold_s)
    result[outside] = np.nan
    return result.reshape(out_shape)


def to_timeline(seq: PoseSequence, timeline: list[float] | np.ndarray) -> PoseSequence:
    """``seq`` (inferred frames only) with a row for every time in ``timeline``.

    Parameters
    ----------
    seq : PoseSequence
        Landmarks of the inferred frames, their true times in ``seq.time_s``.
    timeline : sequence of float
        Times of every decoded frame (``read_video(..., timeline=...)``); the
        inferred frames' times are among them.

    Returns
    -------
    PoseSequence
        ``seq`` itself when nothing was skipped; otherwise a new sequence whose
        ``meta`` says how many frames were inferred (``inferred_frames``) and at
        what rate (``inference_fps``).
    """
    t_all = np.asarray(timeline, dtype=float)
    t_known = np.asarray(seq.time_s, dtype=float)
    if t_all.size <= t_known.size or t_known.size == 0:
        return seq
    steps = np.diff(t_known)
    hold = float(steps.max()) if steps.size else 0.0
    # A person count is not interpolated: the earlier inferred frame's count.
    left = np.clip(np.searchsorted(t_known, t_all, side="right") - 1, 0, None)
    covered = (t_all >= t_known[0] - hold) & (t_all <= t_known[-1] + hold)
    people = np.where(covered, seq.people[left], 0)
    span = float(t_known[-1] - t_known[0]) if t_known.size > 1 else 0.0
    return PoseSequence(
        time_s=t_all.copy(),
        image=interpolate_rows(t_known, seq.image, t_all, hold),
        visibility=interpolate_rows(t_known, seq.visibility, t_all, hold),
        presence=interpolate_rows(t_known, seq.presence, t_all, hold),
        world=interpolate_rows(t_known, seq.world, t_all, hold),
        people=people.astype(seq.people.dtype),
        width=seq.width,
        height=seq.height,
        fps=seq.fps,
        model_name=seq.model_name,
        model_sha256=seq.model_sha256,
        meta={
            **seq.meta,
            "inferred_frames": int(t_known.size),
            "inference_fps": (t_known.size - 1) / span if span > 0 else None,
        },
    )
