"""``landmarks.c3d``: labelled 3-D points for Mokka, Visual3D, OpenSim and the like.

Written with the ``c3d`` package (pure Python): Intel byte order, float point data
(``POINT:SCALE`` = -1), no analog channels. ``POINT:RATE`` is the clip's frame rate,
``POINT:UNITS`` ``mm``, ``POINT:LABELS`` the MediaPipe landmark names and
``POINT:DESCRIPTIONS`` their indices. Axes as in :mod:`kneevision.export._source`
(X toward the image's right, Y up, Z toward the camera, origin between the hips);
``POINT:X_SCREEN``/``Y_SCREEN`` = ``+X``/``+Y`` tell viewers that Y is up. A marker
the model did not see in a frame has residual -1 (invalid), which readers show
as a gap (ezc3d: NaN).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path

import c3d as c3dlib
import numpy as np

from kneevision.export._source import FRAME_DESCRIPTION

C3D_UNITS = "mm"


def write_c3d(
    path: Path,
    points_m: np.ndarray,
    labels: Sequence[str],
    rate: float,
    *,
    descriptions: Sequence[str] | None = None,
    meta: Mapping[str, str] | None = None,
) -> None:
    """Write labelled marker trajectories as a C3D file.

    Parameters
    ----------
    path : Path
        Where to write (the caller makes it atomic).
    points_m : ndarray, shape (T, M, 3)
        Marker positions in metres, in the frame the module states; NaN where unknown.
    labels : sequence of str, length M
        ``POINT:LABELS``.
    rate : float
        ``POINT:RATE``, frames per second.
    descriptions : sequence of str, optional
        ``POINT:DESCRIPTIONS``, one per marker.
    meta : mapping of str to str, optional
        ``MANUFACTURER:VERSION`` and ``KNEEVISION:SOURCE`` come from its
        ``kneevision_version`` and ``source_video``.
    """
    n_frames, n_markers, _ = points_m.shape
    if len(labels) != n_markers:
        raise ValueError(f"{len(labels)} labels for {n_markers} markers")
    if n_frames == 0:
        raise ValueError("no frames to write")
    meta = dict(meta or {})
    writer = c3dlib.Writer(point_rate=float(rate), analog_rate=0.0, point_units=C3D_UNITS)
    writer.set_point_labels(list(labels))
    if descriptions is not None:
        _add_strings(writer.point_group, "DESCRIPTIONS", "Point descriptions.", descriptions)
    writer.set_screen_axis("+X", "+Y")
    maker = writer.get_create("MANUFACTURER")
    _add_string(maker, "COMPANY", "Software maker.", "KneeVision")
    _add_string(maker, "SOFTWARE", "Software that wrote the file.", "KneeVision")
    _add_string(maker, "VERSION", "Software version.", meta.get("kneevision_version", "unknown"))
    own = writer.get_create("KNEEVISION")
    _add_string(own, "FRAME", "Coordinate frame of the points.", FRAME_DESCRIPTION)
    if meta.get("source_video"):
        _add_string(own, "SOURCE", "Source video.", meta["source_video"])

    mm = points_m * 1000.0
    no_analog = np.zeros((0, 0), dtype=np.float32)
    frames = []
    for i in range(n_frames):
        block = np.zeros((n_markers, 5), dtype=np.float32)  # x, y, z, residual, cameras
        seen = np.isfinite(mm[i]).all(axis=1)
        block[seen, :3] = mm[i, seen]
        block[~seen, 3] = -1.0
        frames.append((block, no_analog))
    writer.add_frames(frames)
    with warnings.catch_warnings(), open(path, "wb") as fh:
        warnings.filterwarnings("ignore", "No analog data", UserWarning)  # none is meant
        writer.write(fh)


def _add_string(group: object, name: str, desc: str, value: str) -> None:
    value = value or " "
    group.add_str(name, desc, value, len(value))  # type: ignore[attr-defined]


def _add_strings(group: object, name: str, desc: str, values: Sequence[str]) -> None:
    width = max(1, *(len(v) for v in values))
    packed = "".join(v.ljust(width) for v in values)
    group.add_str(name, desc, packed, width, len(values))  # type: ignore[attr-defined]
