"""Marker mode of the seated twist test: tibial rotation from shin and thigh markers."""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from kneevision.kinematics.landmarks import SIDES
from kneevision.kinematics.signals import smooth_weighted
from kneevision.markers.core import (
    MARKER_IDS,
    MarkerPose,
    axis_prior,
    choose_pose,
    detect,
    detector,
    lever_prior,
    pose_candidates,
    resolve_ambiguity,
    smooth_rotations,
    tibial_rotation_from_markers,
    twist_sd,
)
from kneevision.protocols.base import Result, aggregate, asymmetry_table
from kneevision.protocols.quality import flag
from kneevision.protocols.seated_twist import METRICS, rotation_range

#: Low-pass cutoff for the thigh marker's orientation (it should stay still; slow drift
#: and hip rotation during a twist, at well under 1 Hz, still pass).
THIGH_CUTOFF_HZ = 1.0

#: Below this image size (px, the shin marker's side) the benchmark has no evidence: it
#: measured 30 mm markers down to 22 px (2 m in 1080p: p95 0.94°); at 20 px they were
#: decoded in only 37% of the frames.
MIN_SIDE_PX = 25

#: Longest run of frames without both markers that the smoothing bridges (s).
MAX_GAP_S = 0.3

SHIN = {side: i for i, (side, seg) in MARKER_IDS.items() if seg == "shin"}
THIGH = {side: i for i, (side, seg) in MARKER_IDS.items() if seg == "thigh"}


@dataclass
class MarkerTrack:
    """Per frame: time, and per side the marker tibial rotation (deg) and what was seen."""

    time_s: np.ndarray
    rotation: dict[str, np.ndarray]
    seen: dict[int, np.ndarray]
    meta: dict = field(default_factory=dict)
    #: marker id → median side length in the image (px), where seen
    side_px: dict[int, float] = field(default_factory=dict)


class MarkerObserver:
    """Detects and poses the markers frame by frame; the rotation series comes at the end.

    Every frame's pose candidates are kept so that :meth:`track` can resolve the
    planar ambiguity over the whole clip; :meth:`observe` also returns a
    frame-by-frame choice, good enough to draw the marker axes on the overlay.

    Parameters
    ----------
    size_m : float
        Printed marker side (black square), metres.
    camera : ndarray (3, 3)
    dist : ndarray, optional
        Lens distortion coefficients (OpenCV order).
    """

    def __init__(
        self,
        size_m: float,
        camera: np.ndarray,
        dist: np.ndarray | None = None,
        meta: dict | None = None,
    ) -> None:
        self.size_m, self.camera, self.dist = size_m, camera, dist
        self.meta = meta or {}
        self._det = detector()
        self._times: list[float] = []
        self._candidates: dict[int, list[list[MarkerPose]]] = {i: [] for i in MARKER_IDS}
        self._shown: dict[int, MarkerPose] = {}
        self._side_px: dict[int, list[float]] = {i: [] for i in MARKER_IDS}

    def observe(self, time_s: float, image: np.ndarray) -> dict[int, MarkerPose]:
        """Record one frame; the markers seen in it (id → pose chosen frame by frame)."""
        self._times.append(time_s)
        found = detect(image, self._det)
        shown = {}
        for mid in MARKER_IDS:
            cands = (
                pose_candidates(found[mid], self.size_m, self.camera, self.dist)
                if mid in found
                else []
            )
            self._candidates[mid].append(cands)
            if mid in found:
                edges = found[mid] - np.roll(found[mid], 1, axis=0)
                self._side_px[mid].append(float(np.linalg.norm(edges, axis=1).max()))
            pose = choose_pose(cands, self._shown.get(mid))
            if pose is not None:
                self._shown[mid] = shown[mid] = pose
        return shown

    def track(self) -> MarkerTrack:
        """Tibial rotation per side over the frames observed so far."""
        t = np.asarray(self._times, dtype=float)
        rots, rotation = {}, {}
        for side in SIDES:
            shin_c, thigh_c = self._candidates[SHIN[side]], self._candidates[THIGH[side]]
            thigh = resolve_ambiguity(thigh_c, t, prior=axis_prior(thigh_c))
            axis = axis_prior(shin_c)
            shin = resolve_ambiguity(shin_c, t, prior=axis)
            lever = lever_prior(shin_c, thigh, shin)
            if lever is not None:
                both = [
                    [x + y for x, y in zip(a, b, strict=True)]
                    for a, b in zip(axis, lever, strict=True)
                ]
                shin = resolve_ambiguity(shin_c, t, prior=both)
            rots[SHIN[side]] = [None if p is None else p.rotation for p in shin]
            # The thigh should not move in this test: its marker's frame-to-frame noise
            # would pass straight into the relative rotation, so it is smoothed harder.
            rots[THIGH[side]] = smooth_rotations(
                t, [None if p is None else p.rotation for p in thigh], THIGH_CUTOFF_HZ
            )
            r = tibial_rotation_from_markers(rots[SHIN[side]], rots[THIGH[side]], side)
            # Each frame weighted by how well its shin pose pins the turn down: nearly
            # square-on, a small marker's turn is uncertain and leans on its neighbours.
            sd = np.array(
                [
                    np.nan if p is None else twist_sd(p, self.size_m, self.camera, self.dist)
                    for p in shin
                ]
            )
            rotation[side] = smooth_weighted(t, r, sd, MAX_GAP_S)
        seen = {mid: np.array([r is not None for r in rots[mid]], bool) for mid in MARKER_IDS}
        side_px = {mid: float(np.median(v)) for mid, v in self._side_px.items() if v}
        return MarkerTrack(t, rotation, seen, dict(self.meta), side_px)


def track(frames, size_m: float, camera: np.ndarray, dist: np.ndarray | None = None) -> MarkerTrack:
    """Detect and pose every marker in each frame of ``frames``; tibial rotation per side."""
    obs = MarkerObserver(size_m, camera, dist)
    for frame in frames:
        obs.observe(frame.time_s, frame.image)
    return obs.track()


def marker_result(tr: MarkerTrack) -> Result:
    """The seated twist test's Result contract from marker rotation series."""
    result = Result(protocol="seated-twist", view="front")
    for side in SIDES:
        theta = tr.rotation[side]
        seen = tr.seen[SHIN[side]] & tr.seen[THIGH[side]]
        if not np.isfinite(theta).any():
            result.sides[side] = {"tested": False}
            continue
        if seen.mean() < 0.9:
            result.quality.append(
                flag(
                    "markers_hidden",
                    f"{side} leg: both markers were seen in only {100 * seen.mean():.0f}% of "
                    "the frames; the gaps are left empty",
                )
            )
        px = tr.side_px.get(SHIN[side])
        if px is not None and px < MIN_SIDE_PX:
            result.quality.append(
                flag(
                    "markers_small",
                    f"{side} shin marker is only {px:.0f} px wide in the video; below about "
                    f"{MIN_SIDE_PX} px markers start to go unread and the accuracy is not "
                    "known (benchmarks/marker_accuracy.py)",
                )
            )
        ranges, cycles, found, _ = rotation_range(tr.time_s, theta)
        for k, c in enumerate(cycles, start=1):
            result.reps.append({"side": side, "rep": k, **c})
        result.sides[side] = {
            "tested": True,
            **ranges,
            "markers_seen_share": aggregate([float(seen.mean())]),
        }
        if not found:
            result.quality.append(flag("no_still_start", f"{side} leg: no still neutral start"))
    if not any(result.sides[s]["tested"] for s in SIDES):
        result.quality.append(
            flag(
                "markers_not_found",
                "no leg showed both its markers (ids 0 and 1 left, 2 and 3 right) in enough "
                "frames: no marker measurement",
            )
        )
    result.asymmetry = asymmetry_table(result.sides, METRICS)
    result.series = {f"{s}_marker_rotation_deg": tr.rotation[s] for s in SIDES}
    result.notes = [
        "Marker mode: rotation of the shin marker about the shank's long axis relative to the "
        "thigh marker (printed ArUco markers, planar pose with SOLVEPNP_IPPE_SQUARE).",
    ]
    return result


def draw_axes(
    image: np.ndarray,
    poses: dict[int, MarkerPose],
    camera: np.ndarray,
    dist: np.ndarray | None,
    size_m: float,
    scale: float = 1.0,
) -> np.ndarray:
    """Draw each marker's axes (x red, y green, z blue: OpenCV's colours) on ``image``.

    ``scale`` is the overlay's size relative to the frames the poses came from.
    """
    k = camera.copy()
    k[:2] *= scale
    d = np.zeros(5) if dist is None else dist
    # Never under 2 px: a 1 px stroke loses its colour to H.264's half-size chroma (on
    # the half-size overlay of a 720p clip an axis kept 6 pixels of saturated colour).
    thick = max(2, round(2 * scale))
    for pose in poses.values():
        rvec = cv2.Rodrigues(pose.rotation)[0]
        cv2.drawFrameAxes(image, k, d, rvec, pose.position, 0.75 * size_m, thick)
    return image
