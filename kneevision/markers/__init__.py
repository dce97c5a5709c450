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


def __getattr__(name: str) -> object:
    # The printable sheets need matplotlib's PDF backend (0.6 s to import): loaded on
    # use, so that `analyze`, which imports this package, does not pay for it.
    if name in ("write_board", "write_sheet"):
        from kneevision.markers import sheet

        return getattr(sheet, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
