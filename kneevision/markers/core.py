"""Printed ArUco markers on shin and thigh: detection, pose, and tibial rotation.

Markers (``DICT_4X4_50``): 0 left shin, 1 left thigh, 2 right shin, 3 right
thigh, each taped upright (its top toward the hip) on the front of the segment,
so that the marker's axes are the segment's: x toward the person's left, y up
(proximal), z out of the skin (anterior).

A single planar marker has two poses that fit its image almost equally well
(the plane tilted toward or away from the camera). ``solvePnPGeneric`` with
``SOLVEPNP_IPPE_SQUARE`` returns both; the one kept is the one closer to the
previous frame's pose when the reprojection errors do not clearly decide.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]

DICTIONARY = cv2.aruco.DICT_4X4_50
#: Marker id → (side, segment).
MARKER_IDS: dict[int, tuple[str, str]] = {
    0: ("left", "shin"),
    1: ("left", "thigh"),
    2: ("right", "shin"),
    3: ("right", "thigh"),
}


def dictionary() -> cv2.aruco.Dictionary:
    """The ArUco dictionary KneeVision prints and detects."""
    return cv2.aruco.getPredefinedDictionary(DICTIONARY)


def marker_image(marker_id: int, pixels: int = 400) -> np.ndarray:
    """The marker as a black-and-white image (no quiet zone)."""
    return cv2.aruco.generateImageMarker(dictionary(), marker_id, pixels)


def detector() -> cv2.aruco.ArucoDetector:
    """An ArUco detector with sub-pixel corner refinement (pose accuracy depends on it)."""
    params = cv2.aruco.DetectorParameters()
    params.cornerRefinementMethod = cv2.aruco.CORNER_REFINE_SUBPIX
    return cv2.aruco.ArucoDetector(dictionary(), params)


def detect(image: np.ndarray, det: cv2.aruco.ArucoDetector | None = None) -> dict[int, FloatArray]:
    """Marker id → its four image corners (4, 2), clockwise from top-left."""
    gray = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    corners, ids, _ = (det or detector()).detectMarkers(gray)
    if ids is None:
        return {}
    return {
        int(i): c.reshape(4, 2).astype(float) for i, c in zip(ids.ravel(), corners, strict=True)
    }


def object_points(size_m: float) -> FloatArray:
    """Marker corners in its own frame (the order ``SOLVEPNP_IPPE_SQUARE`` requires)."""
    h = size_m / 2
    return np.array([[-h, h, 0], [h, h, 0], [h, -h, 0], [-h, -h, 0]], dtype=float)


@dataclass(frozen=True)
class MarkerPose:
    """One marker's pose: rotation (marker → camera), position (m), reprojection error (px)."""

    rotation: FloatArray
    position: FloatArray
    error_px: float
    ambiguous: bool


def pose_candidates(
    corners: FloatArray, size_m: float, camera: FloatArray, dist: FloatArray | None = None
) -> list[MarkerPose]:
    """Both planar-pose solutions of a marker, best reprojection first."""
    ok, rvecs, tvecs, errs = cv2.solvePnPGeneric(
        object_points(size_m),
        corners.astype(np.float64),
        camera,
        dist if dist is not None else np.zeros(5),
        flags=cv2.SOLVEPNP_IPPE_SQUARE,
    )
    if not ok:
        return []
    out = [
        MarkerPose(cv2.Rodrigues(r)[0], t.ravel(), float(e), False)
        for r, t, e in zip(rvecs, tvecs, np.ravel(errs), strict=True)
    ]
    return sorted(out, key=lambda p: p.error_px)


def rotation_angle(a: FloatArray, b: FloatArray) -> float:
    """Angle (deg) of the rotation taking orientation ``a`` to ``b``."""
    c = (np.trace(a.T @ b) - 1) / 2
    return math.degrees(math.acos(float(np.clip(c, -1.0, 1.0))))


def choose_pose(
    candidates: list[MarkerPose], previous: MarkerPose | None, decisive_ratio: float = 3.0
) -> MarkerPose | None:
    """Resolve the planar two-fold ambiguity.

    The lower reprojection error wins when it is ``decisive_ratio`` times lower;
    otherwise the candidate nearer in orientation to the previous frame's pose
    (temporal continuity). Without history, the candidate whose normal points
    more toward the camera (markers on skin face the camera) is kept, marked
    ambiguous.
    """
    if not candidates:
        return None
    if len(candidates) == 1:
        return candidates[0]
    best, other = candidates[0], candidates[1]
    if other.error_px > decisive_ratio * max(best.error_px, 1e-3):
        return best
    if previous is not None:
        return min(candidates, key=lambda p: rotation_angle(p.rotation, previous.rotation))
    facing = min(candidates, key=lambda p: p.rotation[2, 2])  # z toward the camera is −z_cam
    return MarkerPose(facing.rotation, facing.position, facing.error_px, True)


def twist_deg(relative: FloatArray, axis: FloatArray) -> float:
    """Rotation (deg) of ``relative`` about ``axis`` (swing–twist decomposition)."""
    q_w = math.sqrt(max(0.0, 1.0 + float(np.trace(relative)))) / 2
    if q_w < 1e-9:
        return 180.0
    v = np.array(
        [
            relative[2, 1] - relative[1, 2],
            relative[0, 2] - relative[2, 0],
            relative[1, 0] - relative[0, 1],
        ]
    ) / (4 * q_w)
    a = axis / np.linalg.norm(axis)
    return math.degrees(2 * math.atan2(float(v @ a), q_w))


def tibial_rotation_from_markers(
    shin: list[FloatArray | None], thigh: list[FloatArray | None], side: str
) -> FloatArray:
    """Shank rotation about its long axis relative to the thigh, per frame (deg, + internal).

    Parameters
    ----------
    shin, thigh : list of (3, 3) rotation or None
        Marker → camera rotations per frame (None where a marker was not seen).
    side : {"left", "right"}

    Returns
    -------
    ndarray (T,)
        Relative to the first frame with both markers (subtract a neutral later);
        NaN where a marker is missing.
    """
    out = np.full(len(shin), np.nan)
    ref = None
    for i, (s, t) in enumerate(zip(shin, thigh, strict=True)):
        if s is None or t is None:
            continue
        rel = t.T @ s  # the shin marker in the thigh marker's frame
        if ref is None:
            ref = rel
        change = rel @ ref.T
        twist = twist_deg(change, ref[:, 1])  # about the shank's long (y) axis
        # Body frame x = left, y = up, z = anterior: a positive twist about "up" turns the
        # front of the shin toward the person's left, i.e. medially for the right leg.
        out[i] = twist if side == "right" else -twist
    return out
