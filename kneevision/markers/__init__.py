"""Precise tibial rotation with printed ArUco markers on shin and thigh."""

from kneevision.markers.analysis import analyze_video, intrinsics_from_fov, marker_result, track
from kneevision.markers.core import MARKER_IDS, detect, tibial_rotation_from_markers
from kneevision.markers.sheet import write_sheet

__all__ = [
    "MARKER_IDS",
    "analyze_video",
    "detect",
    "intrinsics_from_fov",
    "marker_result",
    "tibial_rotation_from_markers",
    "track",
    "write_sheet",
]
