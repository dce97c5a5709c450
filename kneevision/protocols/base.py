"""What every protocol shares: the prepared motion, the `Result` contract, aggregation.

A protocol is a function ``(Motion, Options) → Result``. :func:`prepare` turns a
:class:`~kneevision.pose.PoseSequence` into cleaned arrays once, so the CLI, the
live view, batch runs and tests feed every protocol the same thing.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
from numpy.typing import NDArray

from kneevision.kinematics.angles import medial_knee_displacement
from kneevision.kinematics.asymmetry import compare_sides
from kneevision.kinematics.landmarks import HIPS, SIDES, Side, leg
from kneevision.kinematics.reps import Rep
from kneevision.kinematics.series import (
    View,
    clean_landmarks,
    clip_facing,
    estimate_view,
    facing_flips,
    frame_angles,
    leg_label_swaps,
    relabel_pairs,
    squeezed_pelvis,
)
from kneevision.kinematics.signals import tracking_glitches, valid_runs
from kneevision.metrics import metric as registered
from kneevision.pose.forefoot import ForefootTrack
from kneevision.pose.sequence import PoseSequence

FloatArray = NDArray[np.float64]

#: FPPA above this (degrees of valgus) marks a repetition, and the live overlay, as knee
#: cave-in: the one default of :attr:`kneevision.settings.Settings.valgus_warn_deg`.
VALGUS_WARN_DEG = 10.0


@dataclass
class Motion:
    """One clip's landmarks, cleaned, with the per-frame angles.

    Attributes
    ----------
    time_s : ndarray (T,)
    image : ndarray (T, 33, 2)
        Cleaned image landmarks, square pixels, person's left/right.
    world : ndarray (T, 33, 3)
        Cleaned world landmarks, metres.
    raw_image : ndarray (T, 33, 2)
        Image landmarks as the model gave them (for out-of-frame checks).
    visibility : ndarray (T, 33)
    people : ndarray (T,)
    width, height : int
    fps : float
    view : {"front", "side", "oblique", "unknown"}
    angles : dict
        Per-frame knee flexion and FPPA (see :func:`~kneevision.kinematics.frame_angles`).
    facts : dict
        Run facts from pose estimation (person switches, multi-person mode).
    forefoot : dict, optional
        Side → :class:`~kneevision.pose.forefoot.ForefootTrack`: the toe points the
        clip's pixels carried (seated twist from the front), when they were tracked.
    side_on : ndarray of bool (T,), optional
        Frames the angles leave out as drawn side-on
        (:func:`~kneevision.kinematics.series.squeezed_pelvis`; front view only).
    """

    time_s: FloatArray
    image: FloatArray
    world: FloatArray
    raw_image: FloatArray
    visibility: FloatArray
    people: NDArray[np.int16]
    width: int
    height: int
    fps: float
    view: View
    angles: dict[str, FloatArray]
    facts: dict = field(default_factory=dict)
    forefoot: dict[str, ForefootTrack] | None = None
    side_on: NDArray[np.bool_] | None = None

    def __len__(self) -> int:
        return len(self.time_s)

    @property
    def has_pose(self) -> NDArray[np.bool_]:
        """Frames with a (cleaned) pose for both hips."""
        return np.isfinite(self.image[:, HIPS, 0]).all(axis=1)

    @cached_property
    def flipped(self) -> NDArray[np.bool_]:
        """Frames whose left/right labels the pose model exchanged (front view only).

        :func:`~kneevision.kinematics.series.facing_flips` on the raw landmarks; no
        frame in the other views.
        """
        if self.view != "front":
            return np.zeros(len(self), dtype=bool)
        return facing_flips(self.time_s, self.raw_image)

    @cached_property
    def thigh_readable(self) -> dict[str, NDArray[np.bool_]]:
        """Per side, frames whose thigh a front-view FPPA can use (:func:`fppa_readable`)."""
        return {s: fppa_readable(self.image, s) for s in SIDES}

    @cached_property
    def fppa_slanted(self) -> dict[str, NDArray[np.bool_]]:
        """Per side, frames whose FPPA reads past :data:`FPPA_PLAUSIBLE_DEG`.

        The thigh is readable there (:attr:`thigh_readable`): the angle is the knee's
        bend seen at a slant, not valgus.
        """
        out = {}
        for s in SIDES:
            with np.errstate(invalid="ignore"):
                wild = np.abs(self.angles[f"{s}_fppa_deg"]) > FPPA_PLAUSIBLE_DEG
            out[s] = self.thigh_readable[s] & wild
        return out

    def rep_fppa(self, side: Side, start: int, stop: int, at: int) -> tuple[float, float]:
        """One leg-repetition's FPPA: at frame ``at``, and its peak over ``start:stop``.

        Both NaN when frame ``at`` reads at a slant (:attr:`fppa_slanted`): the
        repetition's bend was seen at a slant, and a peak taken just under the limit
        would be the view's doing as well. Elsewhere the frames past the limit are only
        left out of the peak: near full depth the shortening thigh's angle runs wild
        before it counts as pointing at the camera (a real goblet squat read up to
        125° there, its peaks −15 to −22° on the other frames).
        """
        if self.fppa_slanted[side][at]:
            return math.nan, math.nan
        fp = self.readable_fppa[side]
        return float(fp[at]), peak(fp[start:stop])[0]

    def knee_displacement(self, side: Side, at: int) -> float:
        """Medial knee displacement of one leg at frame ``at`` (% of shank length).

        NaN where FPPA reads at a slant there (:attr:`fppa_slanted`): the bend seen
        across the picture moves the knee sideways too (real reverse and lateral lunges).
        A thigh pointing at the camera still leaves the hip–ankle line, so it reads
        there (lunges on renders: 1.1% of the leg, median).
        """
        if self.fppa_slanted[side][at]:
            return math.nan
        j = leg(self.image[at], side)
        return float(medial_knee_displacement(j["hip"], j["knee"], j["ankle"], j["other_hip"]))

    @cached_property
    def readable_fppa(self) -> dict[str, FloatArray]:
        """FPPA per side, NaN on frames where it cannot be read.

        That is, where the thigh points at the camera (:attr:`thigh_readable`) or the
        angle is past what a knee does in the frontal plane (:attr:`fppa_slanted`).
        """
        return {
            s: np.where(
                self.thigh_readable[s] & ~self.fppa_slanted[s],
                self.angles[f"{s}_fppa_deg"],
                np.nan,
            )
            for s in SIDES
        }


def _cleaned(
    time_s: FloatArray,
    image: FloatArray,
    world: FloatArray,
    visibility: FloatArray,
    vis_threshold: float,
    max_gap_s: float,
    cutoff_hz: float | None,
) -> tuple[FloatArray, FloatArray, NDArray[np.bool_]]:
    """Image and world landmarks cleaned (:func:`clean_landmarks`), tracking glitches masked."""
    glitch = tracking_glitches(time_s, image)
    visibility = np.where(glitch[:, None], 0.0, visibility)
    image, world = (
        clean_landmarks(
            time_s,
            points,
            visibility,
            vis_threshold=vis_threshold,
            max_gap_s=max_gap_s,
            cutoff_hz=cutoff_hz,
        )
        for points in (image, world)
    )
    return image, world, glitch


def prepare(
    seq: PoseSequence,
    *,
    vis_threshold: float = 0.5,
    max_gap_s: float = 0.3,
    cutoff_hz: float | None = 6.0,
    view: View | None = None,
    facts: dict | None = None,
    forefoot: dict[str, ForefootTrack] | None = None,
) -> Motion:
    """Clean a pose sequence and compute the per-frame angles.

    From the front, the leg joints whose left and right labels the pose model exchanged
    (:func:`~kneevision.kinematics.series.leg_label_swaps`) are put back on the raw
    landmarks, before the low-pass filter would blend the two labellings.

    Parameters
    ----------
    seq : PoseSequence
    vis_threshold, max_gap_s, cutoff_hz : float
        See :func:`~kneevision.kinematics.series.clean_landmarks`.
    view : str, optional
        Force the view instead of estimating it.
    facts : dict, optional
        Pose-run facts to carry along (person switches...).
    forefoot : dict, optional
        Tracked toe points (see :attr:`Motion.forefoot`).
    """
    image, world, glitch = _cleaned(
        seq.time_s, seq.image, seq.world, seq.visibility, vis_threshold, max_gap_s, cutoff_hz
    )
    view = view or estimate_view(image, world)
    if view == "front":
        swaps = leg_label_swaps(seq.image, clip_facing(seq.image))
        if swaps.any():
            raw = (relabel_pairs(x, swaps) for x in (seq.image, seq.world, seq.visibility))
            image, world, glitch = _cleaned(seq.time_s, *raw, vis_threshold, max_gap_s, cutoff_hz)
    side_on = squeezed_pelvis(image) if view == "front" else np.zeros(len(image), dtype=bool)
    return Motion(
        time_s=seq.time_s,
        image=image,
        world=world,
        raw_image=seq.image,
        visibility=seq.visibility,
        people=seq.people,
        width=seq.width,
        height=seq.height,
        fps=seq.fps,
        view=view,
        angles=frame_angles(image, world, view, side_on),
        facts={**(facts or {}), "glitch_frames": int(glitch.sum())},
        forefoot=forefoot,
        side_on=side_on,
    )


@dataclass
class Options:
    """Protocol options (from the command line or a settings file).

    Attributes
    ----------
    side : {"left", "right"}, optional
        The leg tested, when the clip shows one leg and it cannot be told apart.
    valgus_warn_deg : float
        FPPA above which a rep is marked as valgus collapse.
    """

    side: Side | None = None
    valgus_warn_deg: float = VALGUS_WARN_DEG


@dataclass
class Result:
    """What a protocol found: the contract shared by CLI, report, live view and batch.

    Attributes
    ----------
    protocol : str
    view : str
    reps : list of dict
        One row per repetition and side: ``side``, ``rep``, ``start_s``,
        ``bottom_s``, ``end_s`` and metrics with units in their names.
    sides : dict
        ``left``/``right`` → metric → ``{value, mean, sd, min, max, n}``; ``value``
        is the headline figure (the mean over reps unless the protocol says otherwise).
    bilateral : dict
        Metrics of both legs together (e.g. knee-to-ankle separation), same form.
    asymmetry : dict
        Metric → left, right, difference, lsi, mdc, exceeds_mdc, verdict.
    events : list of dict
        ``{time_s, side, kind}``, e.g. rep bottoms, touchdowns.
    quality : list of dict
        ``{code, message, advice}``.
    notes : list of str
        What a reader must know to interpret the numbers.
    detection : dict
        How the protocol and view were chosen.
    series : dict
        Extra per-frame series (e.g. tibial rotation) for angles.csv and plots.
    """

    protocol: str
    view: str
    reps: list[dict] = field(default_factory=list)
    sides: dict[str, dict[str, dict]] = field(default_factory=dict)
    bilateral: dict[str, dict] = field(default_factory=dict)
    asymmetry: dict[str, dict] = field(default_factory=dict)
    events: list[dict] = field(default_factory=list)
    quality: list[dict] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    detection: dict = field(default_factory=dict)
    series: dict[str, FloatArray] = field(default_factory=dict)

    @property
    def advice(self) -> list[str]:
        """How to film better, one line per raised flag (no repeats)."""
        seen: list[str] = []
        for f in self.quality:
            if f.get("advice") and f["advice"] not in seen:
                seen.append(f["advice"])
        return seen

    def flag_codes(self) -> list[str]:
        """Codes of the raised quality flags."""
        return [f["code"] for f in self.quality]

    def to_dict(self) -> dict:
        """The summary.json fields (per-frame series excluded)."""
        return {
            "protocol": self.protocol,
            "view": self.view,
            "detection": self.detection,
            "reps": self.reps,
            "sides": self.sides,
            "bilateral": self.bilateral,
            "asymmetry": self.asymmetry,
            "events": self.events,
            "quality": self.quality,
            "advice": self.advice,
            "notes": self.notes,
        }


# --- aggregation -------------------------------------------------------------------------


def aggregate(values: Iterable[float], headline: str = "mean") -> dict:
    """``{value, mean, sd, min, max, n}`` over the finite values (NaN when none)."""
    v = np.asarray([x for x in values if x is not None], dtype=float)
    v = v[np.isfinite(v)]
    if v.size == 0:
        nan = math.nan
        return {"value": nan, "mean": nan, "sd": nan, "min": nan, "max": nan, "n": 0}
    stats = {
        "mean": float(v.mean()),
        "sd": float(v.std(ddof=1)) if v.size > 1 else math.nan,
        "min": float(v.min()),
        "max": float(v.max()),
        "n": int(v.size),
    }
    return {"value": stats[headline], **stats}


def summarize_sides(
    reps: Sequence[dict], metrics: Sequence[str], headline: dict[str, str] | None = None
) -> dict[str, dict[str, dict]]:
    """Per-side aggregates of per-rep metrics."""
    headline = headline or {}
    out: dict[str, dict[str, dict]] = {}
    for side in SIDES:
        rows = [r for r in reps if r.get("side") == side]
        out[side] = {
            m: aggregate((r.get(m) for r in rows), headline.get(m, "mean")) for m in metrics
        }
    return out


def mdc_for(metric: str) -> tuple[float, str] | None:
    """The minimal detectable change that applies to a metric, with its source (registry)."""
    m = registered(metric)
    return (m.mdc, m.mdc_source or "") if m.mdc is not None else None


def unit_of(metric: str) -> str:
    """Display unit of a metric (:data:`kneevision.metrics.REGISTRY`)."""
    return registered(metric).unit


def label_of(metric: str) -> str:
    """Human name of a metric key: ``peak_fppa_deg`` → ``peak FPPA``."""
    return registered(metric).label


def asymmetry_table(sides: dict[str, dict[str, dict]], metrics: Sequence[str]) -> dict[str, dict]:
    """Left versus right on each metric's headline value, judged against its MDC."""
    out = {}
    for m in metrics:
        left = sides.get("left", {}).get(m, {}).get("value", math.nan)
        right = sides.get("right", {}).get(m, {}).get("value", math.nan)
        if not (math.isfinite(left) and math.isfinite(right)):
            continue
        mdc = mdc_for(m)
        a = compare_sides(left, right, mdc[0] if mdc else None).to_dict()
        a["mdc_source"] = mdc[1] if mdc else None
        a["verdict"] = verdict(m, a)
        out[m] = a
    return out


def verdict(metric: str, a: dict) -> str:
    """One sentence on a left–right difference, honest about measurement error."""
    u = unit_of(metric)
    d = a["difference"]
    more = "left" if d > 0 else "right"
    text = f"{more} is {abs(d):.1f}{u} higher" if abs(d) >= 0.05 else "no difference"
    if a.get("mdc") is None:
        return f"{text}; no published measurement error to judge it against"
    if a["exceeds_mdc"]:
        return f"{text}: beyond measurement error (MDC {a['mdc']:.1f}{u}), a real difference"
    return f"{text}: within measurement error (MDC {a['mdc']:.1f}{u})"


def rep_row(side: str, number: int, rep: Rep, **metrics: float) -> dict:
    """One row of the per-rep table.

    ``partial`` is ``"start"`` or ``"end"`` when the clip cuts the repetition (its
    timing metrics then cover only what was filmed), else None.
    """
    return {
        "side": side,
        "rep": number,
        "start_s": rep.start_s,
        "bottom_s": rep.bottom_s,
        "end_s": rep.end_s,
        "partial": rep.partial,
        **metrics,
    }


def peak(values: FloatArray) -> tuple[float, int | None]:
    """Largest finite value and its index; ``(nan, None)`` when there is none."""
    if not np.isfinite(values).any():
        return math.nan, None
    i = int(np.nanargmax(values))
    return float(values[i]), i


def peak_frame(values: FloatArray, start: int, end: int, default: int) -> int:
    """Frame of the largest finite value in ``values[start:end + 1]`` (``default`` if none)."""
    i = peak(values[start : end + 1])[1]
    return default if i is None else start + i


# --- geometry helpers shared by the standing protocols -----------------------------------


def segment_px(image: FloatArray, a: str, b: str, side: Side) -> FloatArray:
    """Image length (px) of the segment joint ``a`` → joint ``b`` of one leg, per frame."""
    j = leg(image, side)
    return np.linalg.norm(j[b] - j[a], axis=-1)


def standing_length_px(image: FloatArray, a: str, b: str) -> float:
    """Typical unforeshortened image length of a segment (both legs, 90th percentile)."""
    lengths = np.concatenate([segment_px(image, a, b, s) for s in SIDES])
    lengths = lengths[np.isfinite(lengths)]
    return float(np.percentile(lengths, 90)) if lengths.size else math.nan


def leg_length_px(image: FloatArray) -> float:
    """Typical image length of a leg, hip to knee to ankle (see :func:`standing_length_px`)."""
    return standing_length_px(image, "hip", "knee") + standing_length_px(image, "knee", "ankle")


def fill_short_false(mask: NDArray[np.bool_], max_len: int) -> NDArray[np.bool_]:
    """Close False gaps of at most ``max_len`` samples inside True stretches."""
    out = np.asarray(mask, bool).copy()
    for a, b in valid_runs(~out):
        if a > 0 and b < len(out) and b - a <= max_len:
            out[a:b] = True
    return out


def seen_enough(values: FloatArray, share: float = 0.5) -> bool:
    """Whether at least ``share`` of the values (one rep of one leg) were measured."""
    return bool(values.size and np.isfinite(values).mean() >= share)


#: An FPPA past this, either way, is not a knee caving in or bowing out: single-leg
#: squats read 16.8 ± 5.4° even in patellofemoral pain (Herrington 2014), and this is
#: beyond its mean + 3 SD. What the picture shows there is the knee's bend seen at a
#: slant: a camera not square to the body (a real reverse lunge filmed ~25° round read
#: ±70° at the bottoms) or a bend across the picture (a lateral lunge, −77°).
FPPA_PLAUSIBLE_DEG = 35.0


def fppa_readable(image: FloatArray, side: Side, min_ratio: float = 0.5) -> NDArray[np.bool_]:
    """Frames where a front-view FPPA means something for one leg.

    The thigh must point down the image and be at least ``min_ratio`` of its
    standing image length. With a deeply bent hip the thigh points at the camera
    and its short image flips direction with a pixel of noise (on a real goblet
    squat FPPA read −120° at full depth).
    """
    j = leg(image, side)
    thigh = j["knee"] - j["hip"]
    length = np.linalg.norm(thigh, axis=-1)
    standing = standing_length_px(image, "hip", "knee")
    with np.errstate(invalid="ignore"):
        return (length >= min_ratio * standing) & (thigh[..., 1] > 0)
