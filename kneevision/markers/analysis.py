"""Marker mode of the seated twist test: tibial rotation from shin and thigh markers."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from kneevision.kinematics.landmarks import SIDES
from kneevision.kinematics.signals import fill_gaps, lowpass
from kneevision.markers.core import (
    MARKER_IDS,
    choose_pose,
    detect,
    detector,
    pose_candidates,
    tibial_rotation_from_markers,
)
from kneevision.protocols.base import Result, aggregate, asymmetry_table
from kneevision.protocols.quality import flag
from kneevision.protocols.seated_twist import METRICS, THETA_CUTOFF_HZ, rotation_range

#: side → marker id
SHIN = {side: i for i, (side, seg) in MARKER_IDS.items() if seg == "shin"}
THIGH = {side: i for i, (side, seg) in MARKER_IDS.items() if seg == "thigh"}


def intrinsics_from_fov(width: int, height: int, fov_deg: float = 65.0) -> np.ndarray:
    """Camera matrix from a horizontal field-of-view guess (phones: about 65–75°)."""
    f = (width / 2) / math.tan(math.radians(fov_deg) / 2)
    return np.array([[f, 0, width / 2], [0, f, height / 2], [0, 0, 1.0]])


@dataclass
class MarkerTrack:
    """Per frame: time, and per side the marker tibial rotation (deg) and what was seen."""

    time_s: np.ndarray
    rotation: dict[str, np.ndarray]
    seen: dict[int, np.ndarray]
    ambiguous: int = 0
    meta: dict = field(default_factory=dict)


def track(frames, size_m: float, camera: np.ndarray, dist: np.ndarray | None = None) -> MarkerTrack:
    """Detect and pose every marker in each frame; tibial rotation per side.

    Parameters
    ----------
    frames : iterable of Frame
    size_m : float
        Printed marker side (black square), metres.
    camera : ndarray (3, 3)
    """
    det = detector()
    prev: dict[int, object] = {}
    rots: dict[int, list] = {i: [] for i in MARKER_IDS}
    times = []
    ambiguous = 0
    for frame in frames:
        times.append(frame.time_s)
        found = detect(frame.image, det)
        for mid in MARKER_IDS:
            pose = None
            if mid in found:
                pose = choose_pose(pose_candidates(found[mid], size_m, camera, dist), prev.get(mid))
            if pose is not None:
                ambiguous += pose.ambiguous
                prev[mid] = pose
            rots[mid].append(None if pose is None else pose.rotation)
    t = np.asarray(times, dtype=float)
    rotation = {}
    for side in SIDES:
        r = tibial_rotation_from_markers(rots[SHIN[side]], rots[THIGH[side]], side)
        if np.isfinite(r).sum() >= 3 and len(t) > 3:
            r = lowpass(t, fill_gaps(t, r, 0.3), THETA_CUTOFF_HZ)
        rotation[side] = r
    seen = {mid: np.array([r is not None for r in rots[mid]]) for mid in MARKER_IDS}
    return MarkerTrack(t, rotation, seen, ambiguous)


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
    result.asymmetry = asymmetry_table(result.sides, METRICS)
    result.series = {f"{s}_marker_rotation_deg": tr.rotation[s] for s in SIDES}
    result.notes = [
        "Marker mode: rotation of the shin marker about the shank's long axis relative to the "
        "thigh marker (printed ArUco markers, planar pose with SOLVEPNP_IPPE_SQUARE).",
    ]
    return result


def analyze_video(
    path: str | Path, size_mm: float, fov_deg: float = 65.0
) -> tuple[MarkerTrack, Result]:
    """Marker tibial rotation of a clip, with intrinsics from a field-of-view guess."""
    from kneevision.video.source import probe_source, read_source

    info = probe_source(path)
    camera = intrinsics_from_fov(info.width, info.height, fov_deg)
    tr = track(read_source(path), size_mm / 1000, camera)
    tr.meta = {"fov_deg": fov_deg, "marker_size_mm": size_mm, "camera_matrix": camera.tolist()}
    return tr, marker_result(tr)
