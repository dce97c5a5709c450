"""What every export reads from a finished analysis folder, and the one coordinate frame.

The exports never recompute anything: markers come from ``pose.npz`` (the landmarks
as the pose model gave them, the same numbers as ``landmarks.csv``), angles from
``angles.csv`` (the filtered series the results are built on).

Coordinate frame of every 3-D export
------------------------------------
MediaPipe's world landmarks are in metres with the origin between the hips in each
frame, x toward the image's right, y down and z away from the camera. The exports
turn them by 180° about x (a rotation, so the frame stays right-handed) into the
frame OpenSim and most gait labs use for "up":

- **X** toward the image's right (the subject's left when they face the camera),
- **Y** up,
- **Z** toward the camera,

origin between the hips in every frame: world landmarks carry no global translation,
so the pelvis stays at the origin and only the posture moves.
"""

from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kneevision.errors import KneeVisionError
from kneevision.pose.sequence import LANDMARK_NAMES, PoseSequence

#: One sentence naming the exports' frame, written into the files that have room for it.
FRAME_DESCRIPTION = (
    "MediaPipe world landmarks; X toward the image's right, Y up, Z toward the camera; "
    "origin between the hips in every frame"
)

#: MediaPipe world (x right, y down, z away) to the export frame (X right, Y up, Z toward
#: the camera): a 180° rotation about x.
WORLD_TO_EXPORT = np.diag([1.0, -1.0, -1.0])


class ExportError(KneeVisionError):
    """An export that cannot be made (a missing input or an optional package)."""


class UnknownFormatError(ExportError, ValueError):
    """An export format that does not exist."""


class MissingInputError(ExportError, FileNotFoundError):
    """A finished analysis folder that lacks a file an export needs."""


def require(folder: Path, name: str) -> Path:
    """The path of ``name`` in ``folder``, or a :class:`MissingInputError` naming both.

    Parameters
    ----------
    folder : Path
        A finished analysis folder.
    name : str
        The file an export reads, e.g. ``"pose.npz"``.

    Returns
    -------
    Path
        ``folder / name``, which exists.
    """
    if not folder.is_dir():
        raise MissingInputError("not an analysis folder (no such directory)", folder)
    path = folder / name
    if not path.is_file():
        raise MissingInputError(
            f"{name} is missing: exports read a finished analysis folder", folder
        )
    return path


def load_pose(folder: Path) -> PoseSequence:
    """The folder's ``pose.npz`` as a :class:`~kneevision.pose.sequence.PoseSequence`."""
    return PoseSequence.load(require(folder, "pose.npz"))


def export_points(seq: PoseSequence) -> np.ndarray:
    """World landmarks in the export frame, metres, shape (T, 33, 3); NaN where unknown."""
    return seq.world @ WORLD_TO_EXPORT.T


def frame_times(seq: PoseSequence) -> np.ndarray:
    """Each frame's time in seconds; a frame without one gets ``index / fps``."""
    return fill_times(seq.time_s, frame_rate(seq))


def fill_times(time_s: np.ndarray, rate: float | None = None) -> np.ndarray:
    """``time_s`` with each missing (NaN) entry replaced by ``index / rate``.

    Parameters
    ----------
    time_s : ndarray, shape (T,)
        Frame times in seconds, NaN where unknown.
    rate : float, optional
        Frame rate in Hz; estimated from the known times when not given.

    Returns
    -------
    ndarray, shape (T,)
    """
    t = np.asarray(time_s, dtype=float).copy()
    missing = ~np.isfinite(t)
    if missing.any():
        t[missing] = np.flatnonzero(missing) / (rate or rate_from_times(t))
    return t


def frame_rate(seq: PoseSequence) -> float:
    """The nominal frame rate, or one estimated from the frame times when it is unset."""
    if math.isfinite(seq.fps) and seq.fps > 0:
        return float(seq.fps)
    return rate_from_times(seq.time_s)


def rate_from_times(time_s: np.ndarray) -> float:
    """Frame rate from the median step between known frame times (30 Hz without any)."""
    steps = np.diff(time_s[np.isfinite(time_s)])
    steps = steps[steps > 0]
    return float(1.0 / np.median(steps)) if steps.size else 30.0


def landmark_names() -> tuple[str, ...]:
    """Marker labels of the 3-D exports: MediaPipe's landmark names, by index."""
    return LANDMARK_NAMES


@dataclass(frozen=True)
class AngleTable:
    """``angles.csv`` as arrays.

    Attributes
    ----------
    time_s : ndarray, shape (T,)
        The ``time_s`` column (NaN where empty).
    columns : dict of str to ndarray
        Every angle column (name ending in ``_deg``), in file order, NaN where empty.
    """

    time_s: np.ndarray
    columns: dict[str, np.ndarray]


def load_angles(folder: Path) -> AngleTable:
    """Read the folder's ``angles.csv`` (empty cells become NaN)."""
    path = require(folder, "angles.csv")
    with open(path, newline="") as fh:
        rows = list(csv.reader(fh))
    if not rows or "time_s" not in rows[0]:
        raise ExportError("angles.csv has no time_s column", path)
    header, body = rows[0], rows[1:]
    data = np.array(
        [[float(c) if c.strip() else np.nan for c in r] for r in body], dtype=float
    ).reshape(len(body), len(header))
    cols = {name: data[:, i] for i, name in enumerate(header) if name.endswith("_deg")}
    return AngleTable(time_s=data[:, header.index("time_s")], columns=cols)


def provenance(folder: Path) -> dict[str, str]:
    """KneeVision version and source video from ``summary.json`` (empty when unreadable)."""
    try:
        summary = json.loads((folder / "summary.json").read_text())
    except (OSError, ValueError):
        return {}
    if not isinstance(summary, dict):
        return {}
    out = {}
    if isinstance(summary.get("kneevision_version"), str):
        out["kneevision_version"] = summary["kneevision_version"]
    source = summary.get("input")
    if isinstance(source, dict) and isinstance(source.get("path"), str):
        out["source_video"] = source["path"]
    return out
