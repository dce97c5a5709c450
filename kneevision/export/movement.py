"""A ``movement`` poses dataset of an analysis, in memory or as ``landmarks.nc``.

The layout is that of the neuroinformatics-unit ``movement`` package's poses
datasets: an :class:`xarray.Dataset` with dimensions ``time`` (seconds),
``space`` (``x``, ``y``, ``z``), ``keypoints`` (the 33 MediaPipe landmark names)
and ``individuals`` (one, ``id_0``); variables ``position`` (time, space,
keypoints, individuals) and ``confidence`` (time, keypoints, individuals, the
model's visibility score in [0, 1]); attributes ``ds_type="poses"``, ``fps``,
``time_unit="seconds"``, ``source_software``, ``source_file``, and, beyond
movement's own, ``space_unit="m"`` and ``coordinate_frame``.

``position`` is in metres in the exports' frame (X toward the image's right, Y up,
Z toward the camera, origin between the hips; see :mod:`kneevision.export._source`).
Frames without a pose are NaN. Needs ``xarray`` (``pip install 'kneevision[netcdf]'``);
the file is netCDF-3 (64-bit offset), written with xarray's SciPy engine, so no
netCDF C library is needed and every netCDF reader opens it.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from kneevision.export._source import (
    FRAME_DESCRIPTION,
    ExportError,
    export_points,
    frame_rate,
    frame_times,
    landmark_names,
    load_pose,
    provenance,
)

if TYPE_CHECKING:
    import xarray as xr

#: The single individual's name (KneeVision follows one person).
INDIVIDUAL = "id_0"


def require_xarray() -> None:
    """Raise a one-line :class:`ExportError` when ``xarray`` cannot be imported."""
    try:
        import xarray  # noqa: F401
    except ImportError:
        raise ExportError(
            "the netCDF/movement export needs xarray: pip install 'kneevision[netcdf]'"
        ) from None


def to_movement(folder: str | Path) -> xr.Dataset:
    """The landmarks of a finished analysis as a ``movement`` poses dataset.

    Parameters
    ----------
    folder : str or Path
        A finished analysis folder (it must hold ``pose.npz``).

    Returns
    -------
    xarray.Dataset
        ``position`` (time, space, keypoints, individuals) in metres and
        ``confidence`` (time, keypoints, individuals), as the module describes.

    Raises
    ------
    ExportError
        When xarray is not installed, or ``pose.npz`` is missing.
    """
    require_xarray()
    import xarray as xr

    folder = Path(folder)
    seq = load_pose(folder)
    position = export_points(seq).transpose(0, 2, 1)[..., None].astype(np.float32)
    confidence = np.asarray(seq.visibility, dtype=np.float32)[..., None]
    attrs = {
        "ds_type": "poses",
        "fps": frame_rate(seq),
        "time_unit": "seconds",
        "source_software": "KneeVision",
        "source_file": str(folder / "pose.npz"),
        "space_unit": "m",
        "coordinate_frame": FRAME_DESCRIPTION,
        "pose_model": seq.model_name,
    }
    attrs |= provenance(folder)
    return xr.Dataset(
        {
            "position": (("time", "space", "keypoints", "individuals"), position),
            "confidence": (("time", "keypoints", "individuals"), confidence),
        },
        coords={
            "time": frame_times(seq),
            "space": ["x", "y", "z"],
            "keypoints": list(landmark_names()),
            "individuals": [INDIVIDUAL],
        },
        attrs=attrs,
    )


def write_netcdf(path: Path, folder: Path) -> None:
    """Write :func:`to_movement` of ``folder`` as a netCDF-3 file at ``path``."""
    ds = to_movement(folder)
    ds.to_netcdf(path, engine="scipy", format="NETCDF3_64BIT")
