"""Single-leg work: single-leg squat, step-down, and single-leg balance.

The stance leg is the one whose foot stays on the floor: per frame, the foot
whose lowest point (ankle, heel, toe) is higher than the other's by more than
``LIFT_M`` in the world landmarks is lifted. World landmarks are used because
they are metric and free of perspective (a far foot looks higher in the image).
"""

from __future__ import annotations

import math
from dataclasses import replace
from itertools import pairwise

import numpy as np

from kneevision.kinematics.angles import knee_abduction, pelvic_drop
from kneevision.kinematics.landmarks import JOINTS, SIDES, Side, leg, other
from kneevision.kinematics.reps import segment_reps
from kneevision.kinematics.signals import valid_runs
from kneevision.protocols.base import (
    Motion,
    Options,
    Result,
    asymmetry_table,
    fill_short_false,
    leg_length_px,
    peak_frame,
    rep_row,
    summarize_sides,
)
from kneevision.protocols.quality import common_flags, facing_flip_flag, flag, fppa_unread_flags

#: A foot this much (metres) above the other counts as lifted.
LIFT_M = 0.10
#: In the picture (front view), a foot whose lowest point is this share of the leg's
#: image length above the other's counts as lifted.
IMAGE_LIFT_LEG = 0.10
#: Shortest single-leg stance that counts as a hold or a set, seconds.
MIN_STANCE_S = 0.5
#: Pelvic drop is not read on frames the pose model relabelled (front view) nor this
#: close to one: the landmarks' 6 Hz low-pass spreads a relabelling's jump over its
#: neighbours (a rendered rep read 40.4° on two such frames, 6.6° without them, for a
#: true 4°).
FLIP_MARGIN_S = 0.1
#: Changing the stance leg takes a moment on both feet; a switch quicker than this is
#: the pose model swapping the legs' labels (legs crossing, seen from the front).
MIN_SWITCH_S = 0.25

SLS_METRICS = (
    "peak_knee_flexion_deg",
    "fppa_at_peak_flexion_deg",
    "peak_fppa_deg",
    "pelvic_drop_deg",
    "medial_knee_displacement_pct",
    "knee_abduction_3d_deg",
)
BALANCE_METRICS = (
    "hold_s",
    "knee_sway_pct_leg",
    "pelvis_sway_pct_leg",
    "fppa_drift_deg",
    "mean_fppa_deg",
)


def foot_low(points: np.ndarray, side: Side) -> np.ndarray:
    """Lowest point of a foot: the largest y of ankle, heel and toe.

    World or image landmarks: MediaPipe's y points down in both.
    """
    idx = [JOINTS[n][side] for n in ("ankle", "heel", "toe")]
    col = points[:, idx, 1]
    out = np.full(len(points), np.nan)
    ok = np.isfinite(col).any(axis=1)
    out[ok] = np.nanmax(col[ok], axis=1)
    return out


def lift_m(world: np.ndarray) -> np.ndarray:
    """How much higher the left foot is than the right, metres (negative: right higher)."""
    return foot_low(world, "right") - foot_low(world, "left")


def stance_periods(motion: Motion, on_step: bool = False) -> list[tuple[Side, int, int]]:
    """Stretches of single-leg stance: ``(stance side, start, stop)`` frame ranges.

    ``on_step``: the stance foot stands on a step and the free foot hangs *below* it
    (step-down), so the higher foot is the stance foot.
    """
    lift = lift_m(motion.world)
    if on_step:
        lift = -lift
    out = []
    for side in SIDES:
        with np.errstate(invalid="ignore"):
            clear = _signed(lift, side) > LIFT_M
        for a, b in foot_off_runs(motion.time_s, lift, side):
            if clear[a:b].any() and motion.time_s[b - 1] - motion.time_s[a] >= MIN_STANCE_S:
                out.append((side, int(a), int(b)))
    return sorted(out, key=lambda p: p[1])


def _signed(lift: np.ndarray, stance: Side) -> np.ndarray:
    # lift_m is + when the left foot is higher: standing on the right.
    return lift if stance == "right" else -lift


def foot_off_runs(time_s: np.ndarray, lift: np.ndarray, stance: Side) -> list[tuple[int, int]]:
    """Frame ranges where the free foot (not ``stance``) is off the floor.

    Off means above 0.4 × :data:`LIFT_M` (:func:`lift_m`), with touches shorter than
    0.3 s bridged: a foot lifted clear stays "lifted" while it is off the floor at all
    (it sinks toward the floor at the bottom of a single-leg squat).
    """
    dt = float(np.median(np.diff(time_s))) if len(time_s) > 1 else 1 / 30
    with np.errstate(invalid="ignore"):
        off = _signed(lift, stance) > 0.4 * LIFT_M
    return valid_runs(fill_short_false(off, max(1, round(0.3 / dt))))


def label_swaps(motion: Motion, periods: list[tuple[Side, int, int]]) -> list[float]:
    """Times (s) where the stance leg switches sides with no double support in between."""
    t = motion.time_s
    return [
        float(t[b1 - 1])
        for (s1, _, b1), (s2, a2, _) in pairwise(periods)
        if s1 != s2 and t[a2] - t[b1 - 1] < MIN_SWITCH_S
    ]


def stance_share(motion: Motion) -> float:
    """Share of pose frames with one foot clearly lifted."""
    lift = lift_m(motion.world)
    ok = np.isfinite(lift)
    return float((np.abs(lift[ok]) > LIFT_M).mean()) if ok.any() else 0.0


def image_stance_share(motion: Motion) -> float:
    """Share of pose frames with one foot clearly lifted in the picture (front views).

    Each foot's lowest image point (ankle, heel or toe) against the other's, over
    :data:`IMAGE_LIFT_LEG` of the leg's image length. For a front view only: from the
    side the far foot hides behind the near one, and any view's picture also lifts the
    farther of two feet set apart in depth (a lunge's back foot).
    """
    gap = foot_low(motion.image, "right") - foot_low(motion.image, "left")
    ok = np.isfinite(gap)
    leg_px = leg_length_px(motion.image)
    if not ok.any() or not np.isfinite(leg_px):
        return 0.0
    return float((np.abs(gap[ok]) > IMAGE_LIFT_LEG * leg_px).mean())


def _start(motion: Motion, options: Options, name: str) -> tuple[Result, list]:
    """A result with the common flags, and the stance periods (or the forced side)."""
    result = Result(protocol=name, view=motion.view)
    result.quality = common_flags(motion)
    periods = stance_periods(motion, on_step=name == "step-down")
    if options.side:
        periods = [(options.side, 0, len(motion))]
    elif name == "step-down" and not periods:
        # Standing on a step throughout, the free foot hangs only a little below the stance
        # foot between repetitions: the stance leg is the one higher over the clip.
        lift = lift_m(motion.world)
        if np.isfinite(lift).any():
            periods = [("left" if np.nanmedian(lift) > 0 else "right", 0, len(motion))]
    if not periods:
        result.quality.append(
            flag("no_single_leg", "no stretch of standing on one leg (one foot lifted) was found")
        )
    swaps = label_swaps(motion, periods)
    flipped = None if swaps else facing_flip_flag(motion, "; left and right are not compared")
    if flipped is not None:
        result.quality.append(flipped)
    if swaps:
        at = ", ".join(f"{x:.1f} s" for x in swaps)
        result.quality.append(
            flag(
                "leg_swap_suspected",
                f"the stance leg switched sides at {at} without the lifted foot touching "
                "down: the pose model has likely swapped the legs (crossing legs); left and "
                "right are not compared",
            )
        )
    return result, periods


def _compare(result: Result, metrics: tuple[str, ...]) -> None:
    """Left–right table, unless the legs' labels may have swapped (then none)."""
    swapped = "leg_swap_suspected" in result.flag_codes()
    result.asymmetry = {} if swapped else asymmetry_table(result.sides, metrics)


def analyze_squat(
    motion: Motion, options: Options | None = None, *, name: str = "single-leg-squat"
) -> Result:
    """Single-leg squat or step-down: per rep FPPA, pelvic drop, knee flexion, stance leg.

    Parameters
    ----------
    motion : Motion
    options : Options, optional
        ``options.side`` forces the stance leg (else detected from the lifted foot).
    name : str
        ``single-leg-squat`` or ``step-down`` (same measures).
    """
    options = options or Options()
    result, periods = _start(motion, options, name)
    front = motion.view == "front"
    leg_px = leg_length_px(motion.image)
    counts = {s: 0 for s in SIDES}
    unread: list[tuple[str, int]] = []
    reach = round(FLIP_MARGIN_S * motion.fps)
    unsure = np.convolve(motion.flipped, np.ones(2 * reach + 1), "same") > 0
    for side, a, b in periods:
        t = motion.time_s[a:b]
        hip_y = motion.image[a:b, JOINTS["hip"][side], 1]
        depth = 100 * (hip_y - np.nanpercentile(hip_y, 5)) / leg_px
        for rep in segment_reps(t, depth, min_excursion=8.0, min_duration_s=0.8):
            i0, ib, i1 = a + rep.start, a + rep.bottom, a + rep.end
            flex_series = motion.angles[f"{side}_knee_flexion_deg"]
            ib = peak_frame(flex_series, i0, i1, ib)
            wld = leg(motion.world[ib], side)
            m = {"peak_knee_flexion_deg": float(flex_series[ib])}
            if front:
                at_peak, m["peak_fppa_deg"] = motion.rep_fppa(side, i0, i1 + 1, ib)
                m["fppa_at_peak_flexion_deg"] = at_peak
                if not math.isfinite(at_peak):
                    unread.append((side, ib))
                m["medial_knee_displacement_pct"] = motion.knee_displacement(side, ib)
                drop = pelvic_drop(
                    motion.image[i0 : i1 + 1, JOINTS["hip"][side]],
                    motion.image[i0 : i1 + 1, JOINTS["hip"][other(side)]],
                )
                drop = np.where(unsure[i0 : i1 + 1], np.nan, drop)
                m["pelvic_drop_deg"] = (
                    float(np.nanmax(drop)) if np.isfinite(drop).any() else math.nan
                )
            else:
                m |= {
                    k: math.nan
                    for k in (
                        "fppa_at_peak_flexion_deg",
                        "peak_fppa_deg",
                        "medial_knee_displacement_pct",
                        "pelvic_drop_deg",
                    )
                }
            m["knee_abduction_3d_deg"] = float(
                knee_abduction(wld["hip"], wld["knee"], wld["ankle"], wld["other_hip"])
            )
            valgus = m["peak_fppa_deg"]
            m["valgus_warning"] = bool(math.isfinite(valgus) and valgus > options.valgus_warn_deg)
            counts[side] += 1
            shifted = replace(rep, start=i0, bottom=ib, end=i1, bottom_s=float(motion.time_s[ib]))
            result.reps.append(rep_row(side, counts[side], shifted, **m))
            result.events.append(
                {"time_s": float(motion.time_s[ib]), "side": side, "kind": "bottom"}
            )
    result.sides = summarize_sides(result.reps, SLS_METRICS, headline={"peak_fppa_deg": "max"})
    _compare(result, SLS_METRICS)
    if periods and not result.reps:
        result.quality.append(
            flag("no_reps", "single-leg stance was found but no squat repetition")
        )
    tested = [s for s in SIDES if counts[s]]
    if len(tested) == 1:
        result.quality.append(
            flag("side_missing", f"only the {tested[0]} leg was tested; no left–right comparison")
        )
    if not front:
        result.quality.append(
            flag("wrong_view", f"view is {motion.view}: FPPA and pelvic drop need a front view")
        )
    result.quality += fppa_unread_flags(motion, unread)
    result.notes = [
        "The stance leg is the one whose foot stays on the floor (the other at least "
        f"{100 * LIFT_M:.0f} cm higher in the 3-D landmarks).",
        "Pelvic drop is the tilt of the hip line in the image, + when the free side drops.",
    ]
    return result


def analyze_balance(motion: Motion, options: Options | None = None) -> Result:
    """Single-leg balance: hold time, knee and pelvis sway, valgus drift, per stance leg."""
    options = options or Options()
    result, periods = _start(motion, options, "balance")
    leg_px = leg_length_px(motion.image)
    counts = {s: 0 for s in SIDES}
    for side, a, b in periods:
        t = motion.time_s[a:b]
        knee_x = motion.image[a:b, JOINTS["knee"][side], 0]
        hips = motion.image[a:b][:, [JOINTS["hip"][s] for s in SIDES], 0]
        pelvis_x = (hips[:, 0] + hips[:, 1]) / 2
        fp = motion.angles[f"{side}_fppa_deg"][a:b]
        ok = np.isfinite(fp)
        drift = math.nan
        if ok.sum() >= 3 and t[ok][-1] > t[ok][0]:
            drift = float(np.polyfit(t[ok], fp[ok], 1)[0] * (t[-1] - t[0]))
        counts[side] += 1
        to_end = b >= len(motion) - 1
        row = {
            "side": side,
            "rep": counts[side],
            "start_s": float(t[0]),
            "bottom_s": None,
            "end_s": float(t[-1]),
            "hold_s": float(t[-1] - t[0]),
            "held_to_end_of_clip": bool(to_end),
            "knee_sway_pct_leg": float(100 * np.nanstd(knee_x) / leg_px),
            "pelvis_sway_pct_leg": float(100 * np.nanstd(pelvis_x) / leg_px),
            "fppa_drift_deg": drift if motion.view == "front" else math.nan,
            "mean_fppa_deg": float(np.nanmean(fp))
            if ok.any() and motion.view == "front"
            else math.nan,
        }
        result.reps.append(row)
        if not to_end:
            result.events.append({"time_s": float(t[-1]), "side": other(side), "kind": "touchdown"})
    result.sides = summarize_sides(result.reps, BALANCE_METRICS, headline={"hold_s": "max"})
    _compare(result, BALANCE_METRICS)
    if any(r["held_to_end_of_clip"] for r in result.reps):
        result.quality.append(
            flag(
                "hold_until_end",
                "the clip ended before the lifted foot touched down: hold time is a lower bound",
            )
        )
    result.notes = [
        "Sway is the standard deviation of the knee's and the pelvis's side-to-side "
        "position in the image, in % of leg length.",
        "FPPA drift is the change of the stance knee's FPPA over the hold (linear trend), "
        "front view only.",
    ]
    return result
