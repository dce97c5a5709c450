"""Seated twist test: tibial internal/external rotation range per leg, left against right.

The truth is DESIGN §2's θ (the foot's axis against the thigh, seen along the
shank; + internal). How it is *estimated* depends on the view, chosen by what
measured best on rendered clips of known twist (``kneevision validate``):

- **front** (and oblique up to 25°): the foot's turn on the floor from the image.
  With the clip's pixels (``analyze``), the toe point the forefoot's pixels carry
  (:mod:`kneevision.pose.forefoot`) about the still start's ankle–heel midpoint,
  :func:`~kneevision.kinematics.angles.foot_turn_tracked`, averaged with MediaPipe's
  heel→toe offset across the picture (:func:`~kneevision.kinematics.angles.foot_turn_front`)
  while the toes point inward, alone while they point outward; without the pixels, or
  where the track is lost, the heel→toe offset alone — both against the shank's image
  length and the person's foot/shank proportion. MediaPipe's 3-D foot
  direction barely turns when the toes turn in (slope 0.4–0.5 against the truth);
  its 2-D heel and toe follow the twist inward but stop at about 20° outward.
- other views: the 3-D formula on world landmarks, flagged as not a recommended
  set-up.

Per tested leg: neutral θ0 from the still start, IR = max(θ − θ0),
ER = max(θ0 − θ), total range, twist cycles. The left–right IR difference is
judged against the minimal detectable change. The knee angle held is read only
from a side view: from the front it cannot be seen (the shank's tilt toward the
camera does not change the picture).

Measured (issue #16, ``benchmarks/twist_estimators.py``), per leg, median / p95 |error|
of IR, ER and total range: 9 design clips 0.9/1.9, 1.1/3.5, 1.2/3.9°; 4 checking clips
0.4/4.1, 2.7/3.7, 2.9/7.5°; 3 clips rendered later 0.6/1.9, 1.3/5.6, 0.8/6.0°; all 16
0.7/3.3, 1.3/4.0, 1.7/6.7°; 2 fresh ones 1.7/4.4, 3.3/3.5, 5.0/6.8° (the target,
≤ 3° / ≤ 5°, is not met by the p95s). A
candidate with each leg's own proportion, the shank's median image length and the
pivot on the shank's line (:func:`~kneevision.kinematics.angles.foot_turn_pivot`),
pixels alone, read 0.6/2.3, 1.3/3.4, 1.8/5.0° over all 16 but was chosen after the
design and checking clips were seen, and on the 3 later clips read 1.1/2.4, 2.5/5.2,
4.0/6.9° (worse than this estimate) and on the 2 fresh ones 1.0/2.1, 1.7/3.3, 3.1/4.1°
(better): mixed where neither had been tuned, so the default is unchanged. Fitted to
the truth, the tracked toe moves as ``K sin(φ0 + Δθ) + c`` within
0.4 px: the error left is the scale ``K`` and the pivot ``c``, not the tracking.
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from kneevision.kinematics.angles import (
    angle_between,
    foot_turn_front,
    foot_turn_tracked,
    seated_view_elevation,
    tibial_rotation,
)
from kneevision.kinematics.landmarks import SIDES, Side, leg
from kneevision.kinematics.reps import segment_reps
from kneevision.kinematics.signals import fill_gaps, lowpass
from kneevision.pose.forefoot import ForefootTrack
from kneevision.protocols.base import Motion, Options, Result, aggregate, asymmetry_table
from kneevision.protocols.quality import TWIST_SETUP, common_flags, flag

METRICS = (
    "internal_rotation_deg",
    "external_rotation_deg",
    "total_rotation_deg",
)
#: Low-pass cutoff for the rotation signal (Hz).
THETA_CUTOFF_HZ = 2.5
#: A leg counts as tested when its rotation range reaches this (degrees).
MIN_RANGE_DEG = 8.0
#: Knee flexion expected during the test (Mossberg & Smith 1983 measured at 70–110°).
FLEXION_RANGE_DEG = (70.0, 110.0)
#: Thigh or shank swinging more than this (degrees) means the hip moved.
MAX_SEGMENT_SWING_DEG = 10.0
#: The twist test holds the knee bent; a knee whose flexion spans more than this
#: (5th–95th percentile, degrees) was straightened and bent: a knee extension.
MAX_FLEXION_SPAN_DEG = 30.0


#: Views whose image shows the foot turning across the picture (the front-view estimator).
FRONT_VIEWS = ("front",)
#: The still start's first seconds: where the forefoot tracker seeds and the pivot is taken.
STILL_SEED_S = 0.5
#: Below this share of agreeing seed discs a tracked toe is not used.
MIN_TRACK_CONFIDENCE = 0.3
#: Highest camera elevation over the legs that the advice allows: the advised renders read
#: 4–14° (``elevation``), a camera 45° above 47°; only the former's errors are measured.
MAX_ELEVATION_DEG = 25.0


def still_frames(time_s: np.ndarray) -> slice:
    """The frames of the clip's first :data:`STILL_SEED_S` seconds (the still start)."""
    if len(time_s) == 0:
        return slice(0, 0)
    return slice(0, int(np.count_nonzero(time_s <= time_s[0] + STILL_SEED_S)))


def toe_ratio(world: np.ndarray, side: Side | None = None) -> float:
    """Ankle→toe length across the shank over the shank length (median over frames, 3-D).

    Parameters
    ----------
    world : ndarray (T, 33, 3)
        World landmarks.
    side : {"left", "right"}, optional
        That leg's own figure; None (the estimate's) pools both legs.

    Notes
    -----
    The tracked estimate takes the pooled figure: per leg the 3-D landmarks scatter
    ±10% for the same body. Per leg it followed the scale the tracked toe really moved
    with (correlation 0.84 over 32 rendered legs), but by matching two biases, not the
    foot: the tracked toe moves short on the leg farther from a camera 10–15° round
    (0.91 ± 0.05 of the true toe's motion), and MediaPipe's 3-D foot of that leg is
    short by as much; on 3 clips rendered afterwards it did worse
    (``benchmarks/twist_estimators.py --candidates``).
    """
    ratios = []
    for s in SIDES if side is None else (side,):
        j = leg(world, s)
        shank = j["ankle"] - j["knee"]
        foot = j["toe"] - j["ankle"]
        with np.errstate(invalid="ignore", divide="ignore"):
            axis = shank / np.linalg.norm(shank, axis=-1, keepdims=True)
            across = foot - (foot * axis).sum(-1, keepdims=True) * axis
            ratios.append(np.linalg.norm(across, axis=-1) / np.linalg.norm(shank, axis=-1))
    r = np.concatenate(ratios)
    return float(np.nanmedian(r)) if np.isfinite(r).any() else math.nan


def foot_ratio(world: np.ndarray, side: Side) -> float:
    """Heel→toe over knee→ankle length of one leg (median over frames, 3-D landmarks)."""
    j = leg(world, side)
    with np.errstate(invalid="ignore", divide="ignore"):
        r = np.linalg.norm(j["toe"] - j["heel"], axis=-1) / np.linalg.norm(
            j["ankle"] - j["knee"], axis=-1
        )
    return float(np.nanmedian(r)) if np.isfinite(r).any() else math.nan


def elevation(image: np.ndarray, world: np.ndarray, side: Side) -> float:
    """The front camera's elevation over one seated leg (median over frames, degrees)."""
    ji, jw = leg(image, side), leg(world, side)
    lengths = [
        np.linalg.norm(jw[b] - jw[a], axis=-1) for a, b in (("hip", "knee"), ("knee", "ankle"))
    ]
    beta = seated_view_elevation(ji["hip"], ji["knee"], ji["ankle"], *lengths)
    return float(np.nanmedian(beta)) if np.isfinite(beta).any() else 0.0


def tracked_rotation(
    image: np.ndarray,
    world: np.ndarray,
    side: Side,
    track: ForefootTrack,
    still: slice,
    elevation_deg: float | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """θ (deg, + internal) from the tracked toe point alone, and where it is usable.

    The pivot is the still start's ankle–heel midpoint; a frame is usable where θ is
    finite and the track's confidence reaches :data:`MIN_TRACK_CONFIDENCE`.
    """
    j = leg(image, side)
    beta = elevation(image, world, side) if elevation_deg is None else elevation_deg
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a still start without a foot
        pivot = np.nanmedian(0.5 * (j["ankle"][still] + j["heel"][still]), axis=0)
    tracked = foot_turn_tracked(track.toe, pivot, j["knee"], j["ankle"], j["hip"],
                                j["other_hip"], toe_ratio(world), beta)  # fmt: skip
    return tracked, np.isfinite(tracked) & (track.confidence >= MIN_TRACK_CONFIDENCE)


def rotation_series(
    image: np.ndarray,
    world: np.ndarray,
    side: Side,
    view: str,
    ratio: float | None = None,
    track: ForefootTrack | None = None,
    still: slice | None = None,
) -> np.ndarray:
    """Tibial rotation θ (deg, + internal) of one leg per frame.

    Parameters
    ----------
    image, world : ndarray (T, 33, 2) and (T, 33, 3)
        Image and world landmarks.
    side : {"left", "right"}
    view : str
        The clip's view: front views use the image estimators, others the 3-D formula.
    ratio : float, optional
        The leg's heel→toe / knee→ankle proportion (default: :func:`foot_ratio`).
    track : ForefootTrack, optional
        The toe point the forefoot's pixels carried (front views): used where its
        confidence reaches :data:`MIN_TRACK_CONFIDENCE`, the landmark estimate
        (aligned over the still start) elsewhere.
    still : slice, optional
        The still start's frames, where the pivot is taken (:func:`still_frames`;
        default the first 15 frames).

    Returns
    -------
    ndarray (T,)
        Degrees; only differences from the test's neutral are meaningful.
    """
    if view in FRONT_VIEWS:
        j = leg(image, side)
        r = foot_ratio(world, side) if ratio is None else ratio
        beta = elevation(image, world, side)
        landmarks = foot_turn_front(j["knee"], j["ankle"], j["heel"], j["toe"], j["hip"],
                                    j["other_hip"], r, beta)  # fmt: skip
        if track is None:
            return landmarks
        still = still if still is not None else slice(0, 15)
        tracked, usable = tracked_rotation(image, world, side, track, still, beta)
        # The landmark estimate, shifted onto the tracked one over the still start.
        both = usable[still] & np.isfinite(landmarks[still])
        t0 = float(np.median(tracked[still][both])) if both.any() else 0.0
        shift = (
            float(np.median(tracked[still][both] - landmarks[still][both])) if both.any() else 0.0
        )
        aligned = landmarks + shift
        # Toes turned in, the landmarks follow too: two estimates, averaged. Turned out,
        # the landmarks stop at about 20°: the pixels' alone. Where the track is lost,
        # the landmarks' alone.
        inward = tracked > t0
        blend = np.where(inward & np.isfinite(aligned), 0.5 * (tracked + aligned), tracked)
        return np.where(usable, blend, aligned)
    j = leg(world, side)
    return tibial_rotation(j["hip"], j["knee"], j["ankle"], j["heel"], j["toe"], j["other_hip"])


def neutral(time_s: np.ndarray, theta: np.ndarray, still_deg: float = 5.0) -> tuple[float, bool]:
    """Neutral rotation θ0: the median over the still start.

    The still start runs from the first measured frame until θ first leaves the
    median of its first 0.5 s by more than ``still_deg``. Returns ``(θ0, found)``;
    when the start is shorter than 0.3 s, θ0 is the median over the whole test
    and ``found`` is False.
    """
    ok = np.flatnonzero(np.isfinite(theta))
    if ok.size == 0:
        return math.nan, False
    t0 = time_s[ok[0]]
    first = ok[time_s[ok] <= t0 + 0.5]
    ref = float(np.median(theta[first]))
    moved = ok[np.abs(theta[ok] - ref) > still_deg]
    end = moved[0] if moved.size else ok[-1] + 1
    still = ok[ok < end]
    if still.size and time_s[still[-1]] - t0 >= 0.3:
        return float(np.median(theta[still])), True
    return float(np.nanmedian(theta)), False


def twist_cycles(time_s: np.ndarray, rel: np.ndarray, ir: float, er: float) -> list[dict]:
    """Twist cycles: an inward excursion followed by an outward one.

    Inward means ``rel`` above half the peak internal rotation, outward below
    half the peak external rotation (hysteresis, so noise around neutral does
    not count).

    Returns
    -------
    list of dict
        ``start_s`` (entering the inward excursion), ``bottom_s`` (peak internal
        rotation), ``end_s`` (leaving the outward excursion) and the cycle's
        internal, external and total rotation in degrees.
    """
    inward = np.flatnonzero(np.nan_to_num(rel, nan=0.0) > 0.5 * ir)
    outward = np.nan_to_num(rel, nan=0.0) < -0.5 * er
    cycles = []
    i = 0
    while i < inward.size:
        a = inward[i]
        b = a
        while i + 1 < inward.size and inward[i + 1] == b + 1:
            i, b = i + 1, b + 1
        i += 1
        after = np.flatnonzero(outward[b:])
        if after.size == 0:
            break
        c = b + after[0]
        d = c
        while d + 1 < len(rel) and outward[d + 1]:
            d += 1
        if i < inward.size and inward[i] < c:
            continue  # another inward excursion before going outward: same cycle
        peak = a + int(np.nanargmax(rel[a : b + 1]))
        lo = float(np.nanmin(rel[c : d + 1]))
        cycles.append(
            {
                "start_s": float(time_s[a]),
                "bottom_s": float(time_s[peak]),
                "end_s": float(time_s[d]),
                "internal_rotation_deg": float(rel[peak]),
                "external_rotation_deg": -lo,
                "total_rotation_deg": float(rel[peak]) - lo,
            }
        )
    return cycles


def rotation_range(
    time_s: np.ndarray, theta: np.ndarray
) -> tuple[dict[str, dict], list[dict], bool, np.ndarray]:
    """Neutral, internal and external range, total range and cycles of one leg's rotation.

    Returns
    -------
    (dict, list of dict, bool, ndarray)
        Per-metric aggregates (``neutral_deg``, ``internal_rotation_deg``,
        ``external_rotation_deg``, ``total_rotation_deg``, ``cycles``), the twist
        cycles, whether a still neutral start was found, and θ − θ0.
    """
    theta0, found = neutral(time_s, theta)
    rel = theta - theta0
    ir, er = float(np.nanmax(rel)), float(np.nanmax(-rel))
    cycles = twist_cycles(time_s, rel, ir, er)
    ranges = {
        "neutral_deg": aggregate([theta0]),
        "internal_rotation_deg": aggregate([ir], "max"),
        "external_rotation_deg": aggregate([er], "max"),
        "total_rotation_deg": aggregate([ir + er], "max"),
        "cycles": aggregate([len(cycles)]),
    }
    return ranges, cycles, found, rel


def analyze(motion: Motion, options: Options | None = None) -> Result:
    """Analyse a seated twist test clip (one leg, both one after the other, or together)."""
    options = options or Options()
    result = Result(protocol="seated-twist", view=motion.view)
    result.quality = common_flags(motion)
    spans = flexion_spans(motion)
    if any(hi - lo > MAX_FLEXION_SPAN_DEG for lo, hi in spans.values()):
        return _knee_extension(motion, result, spans)
    t = motion.time_s
    tested: list[Side] = []
    for side in SIDES:
        # Twisting is slow (a cycle takes seconds): a 2.5 Hz low-pass on θ removes the
        # jitter of the short foot vector, which would otherwise bias the peaks upward.
        track = motion.forefoot.get(side) if motion.forefoot else None
        raw = rotation_series(motion.image, motion.world, side, motion.view, track=track,
                              still=still_frames(t))  # fmt: skip
        theta = lowpass(t, fill_gaps(t, raw, 0.3), THETA_CUTOFF_HZ)
        result.series[f"{side}_tibial_rotation_deg"] = theta
        # From the side the knee's bend is in the picture (2-D, the side view's gain), and is
        # reported even where the twist itself cannot be seen from there.
        side_flex = motion.angles[f"{side}_knee_flexion_deg"] if motion.view == "side" else None
        untested: dict = {"tested": False}
        if side_flex is not None and np.isfinite(side_flex).any():
            untested["knee_flexion_deg"] = aggregate([float(np.nanmedian(side_flex))])
        if not np.isfinite(theta).any():
            result.sides[side] = untested
            continue
        ranges, cycles, found, rel = rotation_range(t, theta)
        ir, er = ranges["internal_rotation_deg"]["value"], ranges["external_rotation_deg"]["value"]
        if options.side not in (None, side) or ir + er < MIN_RANGE_DEG:
            result.sides[side] = untested
            continue
        tested.append(side)
        for k, c in enumerate(cycles, start=1):
            result.reps.append({"side": side, "rep": k, **c})
            result.events.append({"time_s": c["bottom_s"], "side": side, "kind": "peak_internal"})
        active = np.abs(rel) > 0.25 * max(ir, er)
        j = leg(motion.world, side)
        flex_med = math.nan
        if side_flex is not None and np.isfinite(side_flex[active]).any():
            flex_med = float(np.nanmedian(side_flex[active]))
        swing = segment_swing(j, active)
        result.sides[side] = {
            "tested": True,
            **ranges,
            "knee_flexion_deg": aggregate([flex_med]),
            "thigh_swing_deg": aggregate([swing["thigh"]]),
            "shank_swing_deg": aggregate([swing["shank"]]),
        }
        if not found:
            result.quality.append(
                flag("no_still_start", f"{side} leg: no still neutral start; neutral is the median")
            )
        lo, hi = FLEXION_RANGE_DEG
        if math.isfinite(flex_med) and not lo <= flex_med <= hi:
            result.quality.append(
                flag(
                    "knee_angle_off",
                    f"{side} knee was bent {flex_med:.0f}° during the test (70–110° expected); "
                    "the rotation range depends on the knee angle",
                )
            )
        moved = {k: v for k, v in swing.items() if v > MAX_SEGMENT_SWING_DEG}
        if moved:
            what = " and ".join(f"{k} by {v:.0f}°" for k, v in moved.items())
            result.quality.append(
                flag(
                    "leg_moved",
                    f"{side} leg: the {what} moved during the twist; hip rotation may be "
                    "counted as tibial rotation",
                )
            )
    result.asymmetry = asymmetry_table(result.sides, METRICS)
    if len(tested) == 1:
        result.quality.append(
            flag("side_missing", f"only the {tested[0]} leg was twisted; no left–right comparison")
        )
    elif not tested:
        result.quality.append(flag("no_reps", "no twisting of either lower leg was found"))
    if motion.view in FRONT_VIEWS and tested:
        beta = max(elevation(motion.image, motion.world, side) for side in tested)
        if beta > MAX_ELEVATION_DEG:
            result.quality.append(
                flag(
                    "camera_high",
                    f"the camera looked down on the legs from about {beta:.0f}° above; the "
                    "twist's measured errors are for a camera at knee height (4–14° by this "
                    "estimate on renders)",
                )
            )
    if motion.view not in FRONT_VIEWS:  # also when no twist was seen: that is the view's doing
        result.quality.append(
            flag(
                "twist_view",
                f"the twist test was filmed from the {motion.view}: tibial rotation is "
                "measured reliably only from the front",
            )
        )
    result.notes = [
        (
            "Tibial rotation is read from the foot turning on the floor, seen from the front "
            "(+ internal): "
            + (
                "the toe point the forefoot's pixels carry, against the shank (averaged "
                "with the heel-to-toe line while the toes point inward). "
                if motion.forefoot
                else "the heel-to-toe line across the picture against the shank. "
            )
            + "It includes ankle and foot motion; printed markers on shin and thigh (marker "
            "mode) measure the tibia itself."
            if motion.view in FRONT_VIEWS
            else "Tibial rotation is read from the 3-D landmarks (the foot's direction against "
            "the thigh, seen along the shank), which turn too little when the toes turn in: "
            "film the twist test from the front."
        ),
        "The knee angle held during the test is read only from a side view; from the front "
        "check by eye that the knee stays bent at about 90°.",
        f"Recommended set-up for this test: {TWIST_SETUP}.",
        "Reference (Mossberg & Smith 1983, healthy women, seated active rotation): total "
        "≈ 35/40/44° at 70/90/110° knee flexion, external about twice internal.",
    ]
    return result


def flexion_spans(motion: Motion) -> dict[Side, tuple[float, float]]:
    """5th and 95th percentile of each measured knee's flexion (degrees)."""
    out: dict[Side, tuple[float, float]] = {}
    for side in SIDES:
        flex = motion.angles[f"{side}_knee_flexion_deg"]
        if np.isfinite(flex).any():
            lo, hi = np.nanpercentile(flex, [5, 95])
            out[side] = (float(lo), float(hi))
    return out


def _knee_extension(
    motion: Motion, result: Result, spans: dict[Side, tuple[float, float]]
) -> Result:
    """A seated clip whose knees straighten and bend: say so, and give no twist numbers.

    Tibial rotation read while the knee extends mixes the knee's own motion into the
    foot's direction, so no rotation is reported at all; the extensions seen (the
    knee's straightest moments) are listed as events.
    """
    seen = []
    for side, (lo, hi) in spans.items():
        result.sides[side] = {"tested": False}
        if hi - lo <= MAX_FLEXION_SPAN_DEG:
            continue
        flex = motion.angles[f"{side}_knee_flexion_deg"]
        # Straightest moments = peaks of the negated flexion.
        extensions = segment_reps(motion.time_s, -flex, min_excursion=MAX_FLEXION_SPAN_DEG)
        for rep in extensions:
            result.events.append({"time_s": rep.bottom_s, "side": side, "kind": "knee_extension"})
        seen.append(
            f"the {side} knee went from {hi:.0f}° to {lo:.0f}° of flexion"
            + (f" ({len(extensions)} extension(s))" if extensions else "")
        )
    for side in SIDES:
        result.sides.setdefault(side, {"tested": False})
    result.events.sort(key=lambda e: e["time_s"])
    result.quality.append(
        flag(
            "not_twist_test",
            "seated knee extension, not a twist test: " + "; ".join(seen) + ". The twist test "
            "holds the knee bent near 90° and turns only the lower leg, so no tibial rotation "
            "is reported",
        )
    )
    result.notes = [
        "Seated knee extension, not a twist test: the knee straightened and bent instead of "
        "staying bent while the lower leg turns. No tibial rotation numbers are given; run "
        "the seated twist test as described in the report's advice to measure them.",
    ]
    return result


def segment_swing(j: dict[str, np.ndarray], active: np.ndarray) -> dict[str, float]:
    """95th percentile of how far the thigh and shank directions move from their still pose."""
    out = {}
    for name, (a, b) in {"thigh": ("hip", "knee"), "shank": ("knee", "ankle")}.items():
        v = j[b] - j[a]
        ok = np.isfinite(v).all(axis=1)
        still, moving = ok & ~active, ok & active
        if not still.any() or not moving.any():
            out[name] = math.nan
            continue
        ref = np.median(v[still], axis=0)
        out[name] = float(np.percentile(angle_between(v[moving], ref), 95))
    return out


def merge(results: list[Result]) -> Result:
    """Combine clips filmed one leg per clip into one left–right result.

    Each clip contributes the legs it tested; a leg tested in two clips keeps
    the first and raises a flag.
    """
    merged = Result(protocol=results[0].protocol, view=results[0].view)
    for r in results:
        for side in SIDES:
            if r.sides.get(side, {}).get("tested") and not merged.sides.get(side, {}).get("tested"):
                merged.sides[side] = r.sides[side]
                merged.reps += [row for row in r.reps if row["side"] == side]
            elif r.sides.get(side, {}).get("tested"):
                merged.quality.append(
                    flag("same_leg_twice", f"the {side} leg was twisted in more than one clip")
                )
        merged.quality += [f for f in r.quality if f["code"] != "side_missing"]
        merged.notes = r.notes
    for side in SIDES:
        merged.sides.setdefault(side, {"tested": False})
    merged.asymmetry = asymmetry_table(merged.sides, METRICS)
    missing = [s for s in SIDES if not merged.sides[s].get("tested")]
    if missing:
        merged.quality.append(
            flag("side_missing", f"the {missing[0]} leg was not twisted in any clip")
        )
    return merged
