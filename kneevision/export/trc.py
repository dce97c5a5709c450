"""``landmarks.trc``: marker trajectories in the TRC text format of OpenSim and Pose2Sim.

Layout (tab-separated, as OpenSim's ``TRCFileAdapter`` reads it)::

    PathFileType  4  (X/Y/Z)  landmarks.trc  <frame and provenance>
    DataRate CameraRate NumFrames NumMarkers Units OrigDataRate OrigDataStartFrame OrigNumFrames
    30 30 150 33 mm 30 1 150
    Frame#  Time  nose  ...
            X1  Y1  Z1  X2 ...
    <blank line>
    1  0.000000  x  y  z  ...

Frames are numbered from 1 and every frame of the clip has a row; a marker the
model did not see in a frame has three empty fields, which OpenSim reads as NaN.
Coordinates are millimetres in the frame described in :mod:`kneevision.export._source`
(X toward the image's right, Y up, Z toward the camera, origin between the hips).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from kneevision.export._source import FRAME_DESCRIPTION

#: Units written into the header; coordinates are scaled from metres to these.
TRC_UNITS = "mm"
_SCALE = {"mm": 1000.0, "m": 1.0}


def write_trc(
    path: Path,
    times: np.ndarray,
    points_m: np.ndarray,
    labels: Sequence[str],
    rate: float,
    *,
    file_name: str | None = None,
    note: str = "",
) -> None:
    """Write marker trajectories as a TRC file.

    Parameters
    ----------
    path : Path
        Where to write (the caller makes it atomic).
    times : ndarray, shape (T,)
        Time of each frame in seconds.
    points_m : ndarray, shape (T, M, 3)
        Marker positions in metres, already in the frame the file states; NaN where
        a marker is unknown.
    labels : sequence of str, length M
        Marker names (no tabs or spaces).
    rate : float
        Frame rate in Hz for ``DataRate``, ``CameraRate`` and ``OrigDataRate``.
    file_name : str, optional
        The name written on the first line (default: ``path``'s name).
    note : str, optional
        Free text appended to the first line (OpenSim reads only its first token).
    """
    n_frames, n_markers, _ = points_m.shape
    if len(labels) != n_markers:
        raise ValueError(f"{len(labels)} labels for {n_markers} markers")
    scaled = points_m * _SCALE[TRC_UNITS]
    first = ["PathFileType", "4", "(X/Y/Z)", file_name or path.name]
    first.append(f"{FRAME_DESCRIPTION}; units {TRC_UNITS}" + (f"; {note}" if note else ""))
    keys = [
        "DataRate", "CameraRate", "NumFrames", "NumMarkers",
        "Units", "OrigDataRate", "OrigDataStartFrame", "OrigNumFrames",
    ]  # fmt: skip
    rate_s = f"{rate:g}"
    values = [rate_s, rate_s, str(n_frames), str(n_markers), TRC_UNITS, rate_s, "1", str(n_frames)]
    names = "\t".join(f"{label}\t\t" for label in labels)
    axes = "\t".join(f"X{i}\tY{i}\tZ{i}" for i in range(1, n_markers + 1))
    with open(path, "w", newline="") as fh:
        fh.write("\t".join(first) + "\n")
        fh.write("\t".join(keys) + "\n")
        fh.write("\t".join(values) + "\n")
        fh.write(f"Frame#\tTime\t{names}\n")
        fh.write(f"\t\t{axes}\n")
        fh.write("\n")
        for i in range(n_frames):
            fields = [str(i + 1), f"{times[i]:.6f}"]
            for xyz in scaled[i]:
                fields += ["", "", ""] if not np.isfinite(xyz).all() else [f"{v:.4f}" for v in xyz]
            fh.write("\t".join(fields) + "\n")
