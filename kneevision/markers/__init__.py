"""Precise tibial rotation with printed ArUco markers on shin and thigh."""

from kneevision.markers.analysis import (
    MarkerObserver,
    MarkerTrack,
    draw_axes,
    marker_result,
    track,
)
from kneevision.markers.calibration import Intrinsics, calibrate, camera_for, fov_intrinsics
from kneevision.markers.core import MARKER_IDS, detect, tibial_rotation_from_markers
from kneevision.markers.sheet import write_board, write_sheet

__all__ = [
    "MARKER_IDS",
    "Intrinsics",
    "MarkerObserver",
    "MarkerTrack",
    "calibrate",
    "camera_for",
    "detect",
    "draw_axes",
    "fov_intrinsics",
    "marker_result",
    "tibial_rotation_from_markers",
    "track",
    "write_board",
    "write_sheet",
]
