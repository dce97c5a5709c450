"""Per-frame angle series from raw landmark arrays: clean, filter, measure.

Pure functions on arrays; :mod:`kneevision.pipeline` feeds them a clip's
landmarks and writes the results.
"""

from __future__ import annotations

from typing import Literal, NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray

from kneevision.kinematics.angles import (
    angle_between,
    knee_flexion,
)
from kneevision.kinematics.flexion import (
    front_knee_flexion,
    landmark_fppa,
    planted_ankle,
    side_knee_flexion,
)
from kneevision.kinematics.landmarks import HIPS, LEG_JOINTS, SIDES, leg, midpoint, pair
from kneevision.kinematics.signals import fill_gaps, lowpass, mask_low_visibility
from kneevision.pose.sequence import facing_sign

FloatArray = NDArray[np.float64]
View = Literal["front", "side", "oblique", "unknown"]


def clean_landmarks(
    time_s: FloatArray,
    points: FloatArray,
    visibility: FloatArray,
    *,
    vis_threshold: float = 0.5,
    max_gap_s: float = 0.3,
    cutoff_hz: float | None = 6.0,
) -> FloatArray:
    """Mask low-visibility landmarks, bridge short gaps, low-pass filter.

    Parameters
    ----------
    time_s : ndarray, shape (T,)
    points : ndarray, shape (T, 33, D)
    visibility : ndarray, shape (T, 33)
    vis_threshold : float
        Landmarks below this visibility count as missing.
    max_gap_s : float
        Longest gap to interpolate.
    cutoff_hz : float or None
        Zero-lag Butterworth cutoff; None to skip filtering.

    Returns
    -------
    ndarray, shape (T, 33, D)
    """
    p = mask_low_visibility(points, visibility, vis_threshold)
    p = fill_gaps(time_s, p, max_gap_s)
    if cutoff_hz:
        p = lowpass(time_s, p, cutoff_hz)
    return p


def body_yaw_deg(world: FloatArray) -> FloatArray:
    """How far the body is turned from facing the camera, per frame, folded to 0–90°.

    The shoulder line's and the hip line's directions in world landmarks (MediaPipe's
    camera-aligned frame), measured about the vertical against the camera's x axis,
    each folded to 0–90° and then averaged: 0° facing toward or away from the camera,
    90° side-on. Folding each line first keeps a frame whose shoulders' or hips' labels
    the model swapped (a line reversed by 180°) at its yaw; averaging the two lines'
    vectors instead cancelled them there and read such frames as turned (a rendered
    single-leg squat read as oblique).
    """

    def folded(a: int, b: int) -> FloatArray:
        line = world[:, a] - world[:, b]
        yaw = np.abs(np.degrees(np.arctan2(line[:, 2], line[:, 0])))
        return np.minimum(yaw, 180.0 - yaw)

    (ls, rs), (lh, rh) = pair("shoulder"), pair("hip")
    return (folded(ls, rs) + folded(lh, rh)) / 2


def width_ratio(image: FloatArray) -> FloatArray:
    """Wider of shoulder and hip width over trunk length, in the image, per frame."""
    ls, rs, lh, rh = (image[:, i] for i in (11, 12, 23, 24))
    width = np.maximum(np.linalg.norm(ls - rs, axis=-1), np.linalg.norm(lh - rh, axis=-1))
    trunk = np.linalg.norm((ls + rs) / 2 - (lh + rh) / 2, axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return width / trunk


def deep_frames(world: FloatArray, min_flexion_deg: float = 60.0) -> NDArray[np.bool_]:
    """Frames where a knee is bent past ``min_flexion_deg`` (3-D): the working part of a clip.

    When fewer than 10 frames qualify, every frame counts. Lets the view be
    judged at the bottom of the repetitions, not during a walk-out or set-up.
    """
    flex = np.stack(
        [
            knee_flexion(world[:, h], world[:, k], world[:, a])
            for h, k, a in ((23, 25, 27), (24, 26, 28))
        ]
    )
    with np.errstate(invalid="ignore"):
        deep = (flex > min_flexion_deg).any(axis=0)
    return deep if deep.sum() >= 10 else np.ones(len(world), dtype=bool)


def estimate_view(image: FloatArray, world: FloatArray | None = None) -> View:
    """Guess the camera view: front (or back), side or oblique.

    Two cues: the body's yaw from the world landmarks (:func:`body_yaw_deg`) and
    how wide the body looks against its trunk in the image (:func:`width_ratio`,
    ~0.6–0.9 facing the camera, near 0 side-on). A body that keeps turning (yaw
    quartiles over the clip more than 30° apart) is seen obliquely. Otherwise
    the medians over the deep frames (:func:`deep_frames`) decide: front when yaw
    < 25° and ratio > 0.3, side when yaw > 55° and ratio < 0.45, else oblique.
    Without world landmarks the ratio decides alone: > 0.45 front, < 0.2 side.

    Parameters
    ----------
    image : ndarray, shape (T, 33, 2)
        Image landmarks in square pixels.
    world : ndarray, shape (T, 33, 3), optional
        World landmarks.
    """
    ratio_all = width_ratio(image)
    if not np.isfinite(ratio_all).any():
        return "unknown"
    if world is None:
        r = float(np.nanmedian(ratio_all))
        return "front" if r > 0.45 else "side" if r < 0.2 else "oblique"
    yaw_all = body_yaw_deg(world)
    ok = np.isfinite(yaw_all) & np.isfinite(ratio_all)
    if ok.sum() < 3:
        return "unknown"
    q1, q3 = np.percentile(yaw_all[ok], [25, 75])
    if q3 - q1 > 30:
        return "oblique"
    use = ok & deep_frames(world)
    if not use.any():
        use = ok
    yaw, r = float(np.median(yaw_all[use])), float(np.median(ratio_all[use]))
    if yaw < 25 and r > 0.3:
        return "front"
    if yaw > 55 and r < 0.45:
        return "side"
    return "oblique"


#: Standing frames: thighs within this of vertical in 3-D and the leg this near its
#: longest in the picture.
STANDING_THIGH_DEG = 25.0
STANDING_LEG_FRACTION = 0.97


class StandingLeg(NamedTuple):
    """One leg's image measures standing straight (medians over standing frames, px)."""

    thigh: float
    shank: float
    ankle_y: float


def standing_frames(
    img: dict[str, FloatArray], wld: dict[str, FloatArray]
) -> NDArray[np.bool_] | None:
    """One leg's standing frames, if it stood for at least five.

    Standing frames are those whose hip→ankle image length is within 3% of its 95th
    percentile while the 3-D thigh is near vertical; None when there are fewer than five
    (a seated clip, or one that starts and ends at the bottom).
    """
    leg_px = np.linalg.norm(img["ankle"] - img["hip"], axis=-1)
    if not np.isfinite(leg_px).any():
        return None
    incl = angle_between(wld["knee"] - wld["hip"], np.broadcast_to([0.0, 1.0, 0.0],
                                                                  wld["hip"].shape))  # fmt: skip
    with np.errstate(invalid="ignore"):
        standing = (leg_px >= STANDING_LEG_FRACTION * np.nanpercentile(leg_px, 95)) & (
            incl < STANDING_THIGH_DEG
        )
    return standing if standing.sum() >= 5 else None


def standing_leg(img: dict[str, FloatArray], wld: dict[str, FloatArray]) -> StandingLeg | None:
    """One leg's thigh and shank image lengths and ankle height standing, if it stood.

    Parameters
    ----------
    img, wld : dict
        One leg's image and world points (:func:`~kneevision.kinematics.landmarks.leg`).

    Returns
    -------
    StandingLeg or None
        Medians over :func:`standing_frames`; None when the leg did not stand.
    """
    standing = standing_frames(img, wld)
    if standing is None:
        return None
    return StandingLeg(
        thigh=float(np.nanmedian(np.linalg.norm(img["knee"] - img["hip"], axis=-1)[standing])),
        shank=float(np.nanmedian(np.linalg.norm(img["ankle"] - img["knee"], axis=-1)[standing])),
        ankle_y=float(np.nanmedian(img["ankle"][standing, 1])),
    )


#: A front view's pelvis seen narrower than this share of its usual width (against the
#: trunk's length): the model has taken the body for side-on (a rendered single-leg
#: squat's went down to 0.03 of it, while no true pelvis went under 0.98:
#: ``benchmarks/side_on_frames.py``).
SQUEEZED_PELVIS = 0.5


def pelvis_width_ratio(image: FloatArray) -> FloatArray:
    """The hips' image distance over the trunk's image length (mid-shoulder to mid-hip).

    Parameters
    ----------
    image : ndarray, shape (T, 33, 2)

    Returns
    -------
    ndarray, shape (T,)
        NaN where a hip or shoulder is missing.
    """
    width = np.linalg.norm(image[:, HIPS[0]] - image[:, HIPS[1]], axis=-1)
    trunk = np.linalg.norm(midpoint(image, "shoulder") - midpoint(image, "hip"), axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(trunk > 0, width / trunk, np.nan)


def squeezed_pelvis(image: FloatArray, share: float = SQUEEZED_PELVIS) -> NDArray[np.bool_]:
    """Frames whose hips sit closer together in the picture than ``share`` of the clip's usual.

    On rendered front views MediaPipe sometimes takes the body for side-on for up to 13
    frames at a time (its shoulders narrowing with the hips), then relabels and
    misplaces the legs: a single-leg squat's straight stance leg read 35° there.
    Seen from the front the true pelvis kept 0.98–1.00 of its usual width
    (``benchmarks/side_on_frames.py``). The width is taken over the trunk's image length
    (:func:`pelvis_width_ratio`) so that a person walking toward or away from the camera
    does not count; the usual width is the clip's median of that ratio.

    Parameters
    ----------
    image : ndarray, shape (T, 33, 2)
        Image landmarks (square pixels).
    share : float
        The fraction of the usual hip width below which a frame counts as squeezed.

    Returns
    -------
    ndarray of bool, shape (T,)
        False where a hip or shoulder is missing.
    """
    ratio = pelvis_width_ratio(image)
    if not np.isfinite(ratio).any():
        return np.zeros(len(image), dtype=bool)
    with np.errstate(invalid="ignore"):
        return ratio < share * np.nanmedian(ratio)


def frame_angles(
    image: FloatArray,
    world: FloatArray,
    view: View = "unknown",
    side_on: NDArray[np.bool_] | None = None,
) -> dict[str, FloatArray]:
    """Knee flexion and FPPA per frame for both legs.

    Parameters
    ----------
    image : ndarray, shape (T, 33, 2)
        Cleaned image landmarks (square pixels).
    world : ndarray, shape (T, 33, 3)
        Cleaned world landmarks (metres).
    view : {"front", "side", "oblique", "unknown"}
        From a side view knee flexion is measured in the image plane (2-D, times
        :data:`~kneevision.kinematics.flexion.SIDE_FLEXION_GAIN`); from
        the front, when the clip has standing frames, from the foreshortening of
        thigh and shank against their standing lengths, each tilt signed so that a
        straight leg's length wobble cancels
        (:func:`~kneevision.kinematics.flexion.front_knee_flexion`);
        otherwise in 3-D from the world landmarks.
    side_on : ndarray of bool, shape (T,), optional
        Frames that get no flexion and no FPPA: the labels and lengths there are not
        the leg's. Default, from the front, where the model's pelvis is squeezed
        (:func:`squeezed_pelvis`: it took the body for side-on, which a body filmed from
        the front does not turn to and back within a few frames); none otherwise.

    Returns
    -------
    dict
        ``left_knee_flexion_deg``, ``right_knee_flexion_deg``, ``left_fppa_deg``,
        ``right_fppa_deg``, each of shape (T,). FPPA is always measured on the
        image, the model's knee placement corrected
        (:func:`~kneevision.kinematics.flexion.landmark_fppa`); it is only meaningful
        from the front. NaN where a point is missing and on the ``side_on`` frames.
    """
    out: dict[str, FloatArray] = {}
    if side_on is None:
        side_on = squeezed_pelvis(image) if view == "front" else np.zeros(len(image), bool)
    for side in SIDES:
        img, wld = leg(image, side), leg(world, side)
        if view == "side":
            # The model's hip sits in front of the joint centre: the plain angle reads ~0.93×.
            out[f"{side}_knee_flexion_deg"] = side_knee_flexion(
                img["hip"], img["knee"], img["ankle"]
            )
        else:
            out[f"{side}_knee_flexion_deg"] = knee_flexion(wld["hip"], wld["knee"], wld["ankle"])
        ref = standing_leg(img, wld) if view == "front" else None
        if ref is not None:
            # From the front the 3-D depth is weak (rendered squats read 31° at a true 70°):
            # how much thigh and shank shorten in the picture tells more, the planted
            # ankle held where it stood (the model's rises at depth).
            ankle = planted_ankle(img["ankle"], ref.ankle_y, ref.shank)
            out[f"{side}_knee_flexion_deg"] = front_knee_flexion(
                img["hip"], img["knee"], ankle, ref.thigh, ref.shank
            )
        out[f"{side}_knee_flexion_deg"] = np.where(side_on, np.nan, out[f"{side}_knee_flexion_deg"])
    for side in SIDES:
        img = leg(image, side)
        out[f"{side}_fppa_deg"] = np.where(
            side_on, np.nan, landmark_fppa(img["hip"], img["knee"], img["ankle"], img["other_hip"])
        )
    return out


#: The body turns round no faster than this: a quicker reversal is the model's relabelling.
MIN_TURN_S = 0.5


def facing_flips(
    time_s: FloatArray, image: FloatArray, min_turn_s: float = MIN_TURN_S
) -> NDArray[np.bool_]:
    """Frames whose left/right labels the pose model flipped (front/back confusion).

    Seen from the front, MediaPipe sometimes takes the body for its back for a stretch
    of frames and exchanges every left and right label at once (rendered single-leg
    squats and step-downs: while standing; correct again at depth). A body cannot turn
    round within ``min_turn_s``, so an abrupt reversal of :func:`facing_sign` is a
    relabelling. The stretch kept as right is the one whose facing the labels hold in the
    deepest fifth of the clip (:func:`clip_facing`); the other frames are returned as
    flipped. No abrupt reversal: none flipped.

    Parameters
    ----------
    time_s : ndarray, shape (T,)
    image : ndarray, shape (T, 33, 2)
        Raw image landmarks (before filtering, which would blend the two labellings).

    Returns
    -------
    ndarray of bool, shape (T,)
    """
    o = facing_sign(image)
    sure = np.flatnonzero(o != 0)
    none = np.zeros(len(o), dtype=bool)
    if sure.size < 2:
        return none
    a, b = sure[:-1], sure[1:]
    if not ((o[a] != o[b]) & (time_s[b] - time_s[a] <= min_turn_s)).any():
        return none
    # Unclear frames take the labelling of the nearest clear frame.
    k = np.clip(np.searchsorted(sure, np.arange(len(o))), 1, sure.size - 1)
    before, after = sure[k - 1], sure[k]
    near = np.where(np.arange(len(o)) - before <= after - np.arange(len(o)), before, after)
    filled = o[near]
    return filled != clip_facing(image)


def leg_label_swaps(image: FloatArray, facing: float) -> NDArray[np.bool_]:
    """Frames where the pose model's left and right labels of a leg joint are reversed.

    Seen from the front, each left leg joint lies on the same side of the picture as the
    left hip and shoulder: the image right when ``facing`` is +1 (facing the camera).
    The pose model exchanges the labels of single joints, not only of the whole body at
    once (a rendered single-leg squat: hips on 81 of 236 frames, ankles on 39), so each
    pair whose image order is the reverse of ``facing`` is flagged, where the hips' is
    too. Against the renders' truth this named each joint's state right on 87.7–100% of
    frames (the 9 front renders the model relabelled, ``benchmarks/leg_labels.py``),
    :func:`facing_flips` on 77.5–100%. For front views only (the caller's check).

    Parameters
    ----------
    image : ndarray, shape (T, 33, 2)
        Raw image landmarks.
    facing : float
        +1 or −1, the clip's facing as the labels hold it (:func:`clip_facing`).

    Returns
    -------
    ndarray of bool, shape (T, 5)
        One column per joint of :data:`~kneevision.kinematics.landmarks.LEG_JOINTS`.
    """
    out = np.zeros((len(image), len(LEG_JOINTS)), dtype=bool)
    for j, (left, right) in enumerate(map(pair, LEG_JOINTS)):
        with np.errstate(invalid="ignore"):
            out[:, j] = facing * (image[:, left, 0] - image[:, right, 0]) < 0
    # Knees and feet do cross in the picture (a real reverse lunge's back leg, the body
    # turned 25°), hips cannot: the lower joints count only where the hips are reversed.
    return out & out[:, :1]


def clip_facing(image: FloatArray) -> float:
    """The facing the labels hold where the hips are lowest: +1 toward the camera, else −1.

    The deepest fifth of the clip (lowest hips), where bent knees leave the pose model the
    least doubt (:func:`facing_sign`).
    """
    o = facing_sign(image)
    if not (o != 0).any():
        return 1.0
    hip_y = midpoint(image, "hip")[:, 1]
    deep = (o != 0) & (hip_y >= np.nanpercentile(hip_y[o != 0], 80))
    return 1.0 if o[deep].sum() >= 0 else -1.0


def relabel_pairs(points: FloatArray, swaps: NDArray[np.bool_]) -> FloatArray:
    """Exchange each leg joint's left and right landmark on the frames ``swaps`` marks.

    Parameters
    ----------
    points : ndarray, shape (T, 33, ...)
    swaps : ndarray of bool, shape (T, 5)
        From :func:`leg_label_swaps`.
    """
    out = np.array(points, copy=True)
    for j, (left, right) in enumerate(map(pair, LEG_JOINTS)):
        rows = swaps[:, j]
        out[rows, left], out[rows, right] = points[rows, right], points[rows, left]
    return out


def relabel(points: FloatArray, flipped: NDArray[np.bool_], permutation: ArrayLike) -> FloatArray:
    """Exchange left and right landmarks on the ``flipped`` frames.

    Parameters
    ----------
    points : ndarray, shape (T, 33, ...)
        Image or world landmarks, or visibility (T, 33).
    flipped : ndarray of bool, shape (T,)
    permutation : array_like of int, shape (33,)
        Index of each landmark's left/right twin (``pose.sequence.MIRROR_PERMUTATION``).
    """
    out = np.array(points, copy=True)
    out[flipped] = out[flipped][:, np.asarray(permutation)]
    return out
