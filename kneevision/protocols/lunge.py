"""Lunges (forward, reverse, split, lateral) and the knee-to-wall ankle test.

Both are asymmetric stances: per repetition one leg leads. In a lunge the
leading leg is the one whose knee stays high (the rear knee drops toward the
floor, the straight leg of a lateral lunge keeps its knee low); in the
knee-to-wall test it is the leg whose foot is in front.
"""

from __future__ import annotations

import math

import numpy as np

from kneevision.kinematics.angles import ankle_dorsiflexion
from kneevision.kinematics.landmarks import JOINTS, SIDES, Side, leg
from kneevision.kinematics.reps import Rep, segment_reps
from kneevision.protocols.base import (
    Motion,
    Options,
    Result,
    asymmetry_table,
    peak_frame,
    rep_row,
    summarize_sides,
)
from kneevision.protocols.quality import common_flags, flag, fppa_unread_flags
from kneevision.protocols.squat import find_reps

LUNGE_METRICS = (
    "peak_knee_flexion_deg",
    "fppa_at_peak_flexion_deg",
    "peak_fppa_deg",
    "knee_over_foot_medial_pct",
    "medial_knee_displacement_pct",
    "descent_s",
    "ascent_s",
)
ANKLE_METRICS = ("shank_angle_deg", "knee_flexion_at_peak_deg")


def leading_side(motion: Motion, frame: int) -> Side | None:
    """The leg whose knee is higher in the world landmarks at ``frame`` (y points down)."""
    yl, yr = (
        motion.world[frame, JOINTS["knee"]["left"], 1],
        motion.world[frame, JOINTS["knee"]["right"], 1],
    )
    if not (math.isfinite(yl) and math.isfinite(yr)):
        return None
    return "left" if yl < yr else "right"


def knee_over_foot_pct(image_frame: np.ndarray, side: Side) -> float:
    """Knee offset from the foot (ankle–toe midpoint), across the image, % shank length.

    Positive when the knee lies medial to the foot (toward the other hip): the
    knee not tracking over the foot. Front view.
    """
    j = leg(image_frame, side)
    foot = (j["ankle"] + j["toe"]) / 2
    medial = np.sign(j["other_hip"][0] - j["hip"][0])
    shank = float(np.linalg.norm(j["knee"] - j["ankle"]))
    return float(100 * medial * (j["knee"][0] - foot[0]) / shank) if shank > 0 else math.nan


def analyze(motion: Motion, options: Options | None = None) -> Result:
    """Analyse a lunge clip: per rep the leading leg, its flexion, FPPA and knee tracking."""
    options = options or Options()
    result = Result(protocol="lunge", view=motion.view)
    front = motion.view == "front"
    counts = {s: 0 for s in SIDES}
    unread: list[tuple[str, int]] = []
    for rep in find_reps(motion):
        side = options.side or leading_side(motion, rep.bottom)
        if side is None:
            continue
        flex = motion.angles[f"{side}_knee_flexion_deg"]
        ib = peak_frame(flex, rep.start, rep.end, rep.bottom)
        nan = math.nan
        # The clip's edge cuts a partial rep: its timing on that side is unknown.
        m = {
            "peak_knee_flexion_deg": float(flex[ib]),
            "descent_s": nan if rep.partial == "start" else rep.bottom_s - rep.start_s,
            "ascent_s": nan if rep.partial == "end" else rep.end_s - rep.bottom_s,
        }
        if front:
            at_peak, m["peak_fppa_deg"] = motion.rep_fppa(side, rep.start, rep.end + 1, ib)
            m["fppa_at_peak_flexion_deg"] = at_peak
            if not math.isfinite(at_peak):
                unread.append((side, ib))
            # Where FPPA reads at a slant the knee's sideways place is the slant's too.
            slant = motion.fppa_slanted[side][ib]
            m["knee_over_foot_medial_pct"] = (
                nan if slant else knee_over_foot_pct(motion.image[ib], side)
            )
            m["medial_knee_displacement_pct"] = motion.knee_displacement(side, ib)
        else:
            m |= dict.fromkeys(LUNGE_METRICS[1:5], nan)
        valgus = m["peak_fppa_deg"]
        m["valgus_warning"] = bool(math.isfinite(valgus) and valgus > options.valgus_warn_deg)
        counts[side] += 1
        result.reps.append(rep_row(side, counts[side], rep, **m))
        result.events.append(
            {"time_s": rep.bottom_s, "side": side, "kind": "bottom", "partial": rep.partial}
        )
    result.sides = summarize_sides(result.reps, LUNGE_METRICS, headline={"peak_fppa_deg": "max"})
    result.asymmetry = asymmetry_table(result.sides, LUNGE_METRICS)
    result.quality = common_flags(motion)
    if not result.reps:
        result.quality.append(flag("no_reps", "no complete lunge repetition was found"))
    elif len([s for s in SIDES if counts[s]]) == 1:
        result.quality.append(
            flag("side_missing", "every repetition led with the same leg; no left–right comparison")
        )
    if not front:
        result.quality.append(
            flag(
                "wrong_view" if motion.view == "side" else "oblique_view",
                f"view is {motion.view}: knee tracking and FPPA need a front view",
            )
        )
    result.quality += fppa_unread_flags(motion, unread)
    result.notes = [
        "The leading leg of each repetition is the one whose knee stays higher.",
        "Knee over foot: the knee's offset from the middle of the foot across the image, "
        "+ toward the midline, in % of shank length.",
    ]
    return result


def front_foot(image_frame: np.ndarray) -> Side | None:
    """The leg whose ankle is further forward, forward being where the toes point."""
    left, right = leg(image_frame, "left"), leg(image_frame, "right")
    heel = (left["heel"][0] + right["heel"][0]) / 2
    toe = (left["toe"][0] + right["toe"][0]) / 2
    ahead = (left["ankle"][0] - right["ankle"][0]) * np.sign(toe - heel)
    if not math.isfinite(ahead):
        return None
    return "left" if ahead > 0 else "right"


def analyze_ankle(motion: Motion, options: Options | None = None) -> Result:
    """Knee-to-wall (weight-bearing lunge) test: peak shank angle from vertical per side.

    Side view; the camera must be level, since vertical is taken from the image.
    The leading leg of each movement is the one whose foot is in front.
    """
    options = options or Options()
    result = Result(protocol="ankle", view=motion.view)
    shank = {
        s: ankle_dorsiflexion(leg(motion.image, s)["knee"], leg(motion.image, s)["ankle"])
        for s in SIDES
    }
    with np.errstate(invalid="ignore"):
        both = np.fmax(shank["left"], shank["right"])
    counts = {s: 0 for s in SIDES}
    reps: list[Rep] = segment_reps(motion.time_s, both, min_excursion=10.0, min_duration_s=0.8)
    for rep in reps:
        win = slice(rep.start, rep.end + 1)
        side = options.side or front_foot(motion.image[rep.bottom])
        if side is None or not np.isfinite(shank[side][win]).any():
            continue
        ib = peak_frame(shank[side], rep.start, rep.end, rep.bottom)
        counts[side] += 1
        result.reps.append(
            rep_row(
                side,
                counts[side],
                rep,
                shank_angle_deg=float(shank[side][ib]),
                knee_flexion_at_peak_deg=float(motion.angles[f"{side}_knee_flexion_deg"][ib]),
            )
        )
        result.events.append({"time_s": float(motion.time_s[ib]), "side": side, "kind": "peak"})
    result.sides = summarize_sides(result.reps, ANKLE_METRICS, headline={"shank_angle_deg": "max"})
    result.asymmetry = asymmetry_table(result.sides, ANKLE_METRICS)
    result.quality = common_flags(motion)
    if not reps:
        result.quality.append(flag("no_reps", "no knee-to-wall movement was found"))
    if motion.view != "side":
        result.quality.append(
            flag("wrong_view", f"view is {motion.view}: the ankle test needs a side view")
        )
    result.notes = [
        "Shank angle is the knee–ankle line's tilt from the image vertical: keep the camera level.",
    ]
    return result
