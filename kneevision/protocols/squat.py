"""Bilateral squat: depth, valgus and tempo per repetition, both legs.

Valgus (FPPA, knee-to-ankle separation, medial knee displacement) needs a front
view; depth reads best from the side. Each is reported only from the view that
can see it, and FPPA only while the thigh is still seen from the front.
"""

from __future__ import annotations

import math

import numpy as np

from kneevision.kinematics.angles import (
    knee_abduction,
    knee_ankle_separation_ratio,
)
from kneevision.kinematics.landmarks import JOINTS, SIDES, leg
from kneevision.kinematics.reps import Rep, segment_reps
from kneevision.protocols.base import (
    Motion,
    Options,
    Result,
    aggregate,
    asymmetry_table,
    leg_length_px,
    peak,
    rep_row,
    seen_enough,
    summarize_sides,
)
from kneevision.protocols.quality import common_flags, facing_flip_flag, flag, fppa_unread_flags

SIDE_METRICS = (
    "peak_knee_flexion_deg",
    "fppa_at_peak_flexion_deg",
    "peak_fppa_deg",
    "medial_knee_displacement_pct",
    "knee_abduction_3d_deg",
)
BILATERAL_METRICS = (
    "knee_ankle_separation_ratio",
    "depth_pct_leg",
    "descent_s",
    "ascent_s",
    "duration_s",
)


def hip_depth_pct(motion: Motion) -> np.ndarray:
    """How far the hips are below their standing height, in % of leg length (image).

    Works from any view; positive = lower than standing.
    """
    hip_y = (leg(motion.image, "left")["hip"][:, 1] + leg(motion.image, "right")["hip"][:, 1]) / 2
    leg_px = leg_length_px(motion.image)
    if not np.isfinite(hip_y).any() or not math.isfinite(leg_px):
        return np.full(len(motion), np.nan)
    standing = np.nanpercentile(hip_y, 5)
    return 100.0 * (hip_y - standing) / leg_px


def far_leg(motion: Motion) -> str:
    """In a side view, the leg farther from the camera: the less visible knee and ankle."""
    vis = {
        s: np.nanmean(motion.visibility[:, [JOINTS["knee"][s], JOINTS["ankle"][s]]]) for s in SIDES
    }
    return min(vis, key=lambda s: vis[s])


#: Repetitions less deep than this fraction of the set's deepest are not counted.
SHALLOW_FRACTION = 1 / 3


def find_reps(motion: Motion) -> list[Rep]:
    """Repetitions: full down-and-up excursions of the hips.

    An excursion counts when it reaches ≥ 10 % of leg length, lasts ≥ 1 s and is at
    least a third as deep as the deepest of the clip.

    The hip height is used rather than knee flexion because it is seen from any
    view and does not depend on the far leg, often hidden from the side.
    """
    depth = hip_depth_pct(motion)
    reps = segment_reps(motion.time_s, depth, min_excursion=10.0, min_duration_s=1.0)
    # A dip far shallower than the set's deepest repetition is not one: re-racking a
    # bar, stepping or shifting weight (the barbell clip's re-rack: 18% against 74%).
    deepest = max((float(depth[r.bottom]) for r in reps), default=0.0)
    return [r for r in reps if depth[r.bottom] >= SHALLOW_FRACTION * deepest]


def side_metrics(motion: Motion, rep: Rep, side: str, front: bool) -> tuple[dict, int | None]:
    """Per-rep metrics of one leg, and the frame of its peak flexion.

    Depth, FPPA at peak flexion and at its peak, medial knee displacement, 3-D knee
    abduction; the frame is None where the leg is not seen.
    """
    a = motion.angles
    win = slice(rep.start, rep.end + 1)
    flex, i = peak(a[f"{side}_knee_flexion_deg"][win])
    i_peak = None if i is None else rep.start + i
    if not seen_enough(a[f"{side}_knee_flexion_deg"][win]):
        flex, i_peak = math.nan, None  # e.g. the far leg, hidden in a side view
    out = {"peak_knee_flexion_deg": flex}
    nan = math.nan
    out.update(
        fppa_at_peak_flexion_deg=nan,
        peak_fppa_deg=nan,
        medial_knee_displacement_pct=nan,
        knee_abduction_3d_deg=nan,
    )
    if not front or i_peak is None:
        return out, i_peak
    at_peak, out["peak_fppa_deg"] = motion.rep_fppa(side, rep.start, rep.end + 1, i_peak)
    out["fppa_at_peak_flexion_deg"] = at_peak
    wld = leg(motion.world[i_peak], side)
    if np.isfinite(at_peak):  # same geometry limit as FPPA: the hip–ankle line needs the thigh
        out["medial_knee_displacement_pct"] = motion.knee_displacement(side, i_peak)
    out["knee_abduction_3d_deg"] = float(
        knee_abduction(wld["hip"], wld["knee"], wld["ankle"], wld["other_hip"])
    )
    return out, i_peak


def analyze(motion: Motion, options: Options | None = None) -> Result:
    """Analyse a bilateral squat clip.

    Parameters
    ----------
    motion : Motion
    options : Options, optional

    Returns
    -------
    Result
        Per rep and side: peak knee flexion, FPPA at peak flexion, peak FPPA
        (readable frames only), medial knee displacement and 3-D knee abduction
        at peak flexion; per rep: knee-to-ankle separation ratio at the bottom,
        hip depth, descent/ascent time.
    """
    options = options or Options()
    front = motion.view == "front"
    reps = find_reps(motion)
    depth = hip_depth_pct(motion)
    hidden = far_leg(motion) if motion.view == "side" else None
    rows: list[dict] = []
    events: list[dict] = []
    unread: list[tuple[str, int]] = []
    for k, rep in enumerate(reps, start=1):
        b = rep.bottom
        kasr = math.nan
        if front:
            left, right = leg(motion.image[b], "left"), leg(motion.image[b], "right")
            kasr = float(
                knee_ankle_separation_ratio(
                    left["knee"], right["knee"], left["ankle"], right["ankle"]
                )
            )
        shared = {
            "knee_ankle_separation_ratio": kasr,
            "depth_pct_leg": float(depth[b]),
            "descent_s": rep.bottom_s - rep.start_s,
            "ascent_s": rep.end_s - rep.bottom_s,
            "duration_s": rep.end_s - rep.start_s,
        }
        for side in SIDES:
            m, i_peak = side_metrics(motion, rep, side, front)
            if side == hidden:
                m = dict.fromkeys(m, math.nan)
            if front and not math.isfinite(m["fppa_at_peak_flexion_deg"]):
                unread.append((side, rep.bottom if i_peak is None else i_peak))
            valgus = m["peak_fppa_deg"]
            m["valgus_warning"] = bool(math.isfinite(valgus) and valgus > options.valgus_warn_deg)
            rows.append(rep_row(side, k, rep, **m, **shared))
        events.append({"time_s": rep.bottom_s, "side": "both", "kind": "bottom", "rep": k})

    result = Result(protocol="squat", view=motion.view, reps=rows, events=events)
    result.sides = summarize_sides(
        rows, SIDE_METRICS, headline={"peak_fppa_deg": "max", "peak_knee_flexion_deg": "mean"}
    )
    result.bilateral = {
        m: aggregate(r[m] for r in rows if r["side"] == "left") for m in BILATERAL_METRICS
    }
    result.asymmetry = asymmetry_table(result.sides, SIDE_METRICS)
    result.quality = common_flags(motion) + squat_flags(motion, reps, unread)
    result.notes = [
        "Knee flexion is measured in the image from a side view and from 3-D world "
        "landmarks otherwise (an estimate; about 20° too high when standing seen from the front).",
        "FPPA is read only while the thigh is seen from the front (image length ≥ half its "
        "standing length, pointing down); deeper, it is left empty.",
        "3-D knee abduction comes from one camera and is an estimate.",
        "From the side only the leg nearer the camera is measured; the far one is hidden.",
    ]
    return result


def squat_flags(motion: Motion, reps: list[Rep], unread: list[tuple[str, int]]) -> list[dict]:
    """View and repetition flags of a squat clip.

    ``unread``: the leg-repetitions without FPPA
    (:func:`~kneevision.protocols.quality.fppa_unread_flags`).
    """
    flags = []
    if not reps:
        flags.append(flag("no_reps", "no complete squat repetition was found"))
    if motion.view == "side":
        flags.append(
            flag(
                "wrong_view",
                "filmed from the side: depth is measured, knee cave-in (valgus) needs a front view",
            )
        )
    elif motion.view != "front":
        flags.append(
            flag(
                "oblique_view",
                f"the camera is neither square to the front nor to the side ({motion.view}); "
                "valgus and depth are not reported reliably",
            )
        )
    swapped = facing_flip_flag(
        motion,
        "; each leg's labels were put back from its side of the picture, but the 3-D "
        "pose there is unreliable (3-D knee abduction)",
    )
    if swapped is not None:
        flags.append(swapped)
    flags += fppa_unread_flags(motion, unread)
    fast = [r for r in reps if (r.bottom - r.start) < 8]
    if fast:
        flags.append(
            flag(
                "low_frame_rate",
                f"{len(fast)} descent(s) took fewer than 8 frames: too fast for this frame "
                f"rate ({motion.fps:.0f} fps)",
            )
        )
    return flags
