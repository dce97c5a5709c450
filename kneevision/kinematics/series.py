"""Per-frame angle series from raw landmark arrays: clean, filter, measure.

Pure functions on arrays; :mod:`kneevision.pipeline` feeds them a clip's
landmarks and writes the results.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from numpy.typing import NDArray

from kneevision.kinematics.angles import fppa, knee_flexion
from kneevision.kinematics.landmarks import SIDES, leg
from kneevision.kinematics.signals import fill_gaps, lowpass, mask_low_visibility

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


def estimate_view(image: FloatArray) -> View:
    """Guess the camera view from how wide the body looks against its height.

    The ratio of the wider of shoulder width and hip width to trunk length (mid-
    shoulder to mid-hip), in the image, is ~0.6–0.9 facing the camera and near 0
    side-on; its median over the clip decides: > 0.45 front, < 0.2 side, oblique
    between.

    Parameters
    ----------
    image : ndarray, shape (T, 33, 2)
        Image landmarks in square pixels.
    """
    ls, rs, lh, rh = (image[:, i] for i in (11, 12, 23, 24))
    width = np.maximum(np.linalg.norm(ls - rs, axis=-1), np.linalg.norm(lh - rh, axis=-1))
    trunk = np.linalg.norm((ls + rs) / 2 - (lh + rh) / 2, axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = width / trunk
    ratio = ratio[np.isfinite(ratio)]
    if ratio.size == 0:
        return "unknown"
    r = float(np.median(ratio))
    return "front" if r > 0.45 else "side" if r < 0.2 else "oblique"


def frame_angles(
    image: FloatArray,
    world: FloatArray,
    view: View = "unknown",
) -> dict[str, FloatArray]:
    """Knee flexion and FPPA per frame for both legs.

    Parameters
    ----------
    image : ndarray, shape (T, 33, 2)
        Cleaned image landmarks (square pixels).
    world : ndarray, shape (T, 33, 3)
        Cleaned world landmarks (metres).
    view : {"front", "side", "oblique", "unknown"}
        From a side view knee flexion is measured in the image plane (2-D);
        otherwise in 3-D from the world landmarks, which does not depend on
        where the camera stands.

    Returns
    -------
    dict
        ``left_knee_flexion_deg``, ``right_knee_flexion_deg``, ``left_fppa_deg``,
        ``right_fppa_deg``, each of shape (T,). FPPA is always measured on the
        image; it is only meaningful from the front.
    """
    out: dict[str, FloatArray] = {}
    for side in SIDES:
        img, wld = leg(image, side), leg(world, side)
        src = img if view == "side" else wld
        out[f"{side}_knee_flexion_deg"] = knee_flexion(src["hip"], src["knee"], src["ankle"])
    for side in SIDES:
        img = leg(image, side)
        out[f"{side}_fppa_deg"] = fppa(img["hip"], img["knee"], img["ankle"], img["other_hip"])
    return out
