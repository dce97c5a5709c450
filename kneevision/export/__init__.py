"""Exports of a finished analysis into the formats biomechanics tools read.

======  ==================  =============================================  ==========
format  file                what                                            needs
======  ==================  =============================================  ==========
trc     ``landmarks.trc``   marker trajectories, OpenSim / Pose2Sim text   (built in)
mot     ``angles.mot``      angles, OpenSim storage (``inDegrees=yes``)    (built in)
c3d     ``landmarks.c3d``   labelled 3-D points, C3D binary                ``c3d``
nc      ``landmarks.nc``    ``movement`` poses dataset, netCDF             ``xarray``
======  ==================  =============================================  ==========

Every 3-D export uses one frame: X toward the image's right, Y up, Z toward the
camera, origin between the hips in every frame (MediaPipe's world landmarks turned
180° about x); TRC and C3D in millimetres, netCDF in metres. Angles are degrees.

Examples
--------
>>> from kneevision.export import write_exports          # doctest: +SKIP
>>> write_exports(Path("clip_kneevision"), ["trc", "mot"])  # doctest: +SKIP
[PosixPath('clip_kneevision/landmarks.trc'), PosixPath('clip_kneevision/angles.mot')]
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

from kneevision.export._source import (
    FRAME_DESCRIPTION,
    ExportError,
    MissingInputError,
    UnknownFormatError,
    export_points,
    fill_times,
    frame_rate,
    frame_times,
    landmark_names,
    load_angles,
    load_pose,
    provenance,
    require,
)
from kneevision.export.mot import mot_column, write_mot
from kneevision.export.movement import require_xarray, to_movement, write_netcdf
from kneevision.export.trc import write_trc
from kneevision.outputs import atomic_file
from kneevision.pose.sequence import LANDMARK_NAMES

#: Export format → the file it writes in the analysis folder.
EXPORT_FORMATS: dict[str, str] = {
    "trc": "landmarks.trc",
    "mot": "angles.mot",
    "c3d": "landmarks.c3d",
    "nc": "landmarks.nc",
}

__all__ = [
    "EXPORT_FORMATS",
    "FRAME_DESCRIPTION",
    "ExportError",
    "MissingInputError",
    "UnknownFormatError",
    "parse_formats",
    "to_movement",
    "write_exports",
]


def parse_formats(formats: Iterable[str]) -> list[str]:
    """Validated, de-duplicated format names, in the order given.

    Parameters
    ----------
    formats : iterable of str
        Names from :data:`EXPORT_FORMATS`, any case; a comma-separated string
        element (``"trc,mot"``) counts as several.

    Returns
    -------
    list of str

    Raises
    ------
    UnknownFormatError
        A ``ValueError`` naming the unknown format and listing the valid ones.
    """
    if isinstance(formats, str):
        formats = [formats]
    out: list[str] = []
    for item in formats:
        for name in str(item).split(","):
            name = name.strip().lower()
            if not name:
                continue
            if name not in EXPORT_FORMATS:
                raise UnknownFormatError(
                    f"unknown export format {name!r}; valid formats: {', '.join(EXPORT_FORMATS)}"
                )
            if name not in out:
                out.append(name)
    return out


def _trc(folder: Path, dest: Path) -> None:
    seq = load_pose(folder)
    meta = provenance(folder)
    write_trc(
        dest,
        frame_times(seq),
        export_points(seq),
        landmark_names(),
        frame_rate(seq),
        file_name=EXPORT_FORMATS["trc"],
        note=f"KneeVision {meta['kneevision_version']}" if "kneevision_version" in meta else "",
    )


def _mot(folder: Path, dest: Path) -> None:
    table = load_angles(folder)
    columns = {mot_column(name): values for name, values in table.columns.items()}
    write_mot(
        dest,
        fill_times(table.time_s),
        columns,
        name=EXPORT_FORMATS["mot"],
        meta=provenance(folder),
    )


def _c3d(folder: Path, dest: Path) -> None:
    from kneevision.export.c3d import write_c3d  # the c3d package loads only when asked

    seq = load_pose(folder)
    write_c3d(
        dest,
        export_points(seq),
        landmark_names(),
        frame_rate(seq),
        descriptions=[f"MediaPipe landmark {i}" for i in range(len(LANDMARK_NAMES))],
        meta=provenance(folder),
    )


_WRITERS: dict[str, tuple[str, Callable[[Path, Path], None]]] = {
    "trc": ("pose.npz", _trc),
    "mot": ("angles.csv", _mot),
    "c3d": ("pose.npz", _c3d),
    "nc": ("pose.npz", lambda folder, dest: write_netcdf(dest, folder)),
}


def write_exports(folder: Path, formats: Iterable[str]) -> list[Path]:
    """Write the requested exports of a finished analysis folder into that folder.

    Each file is written to a temporary file beside it and renamed into place, so
    a failure never leaves half a file (nor destroys an earlier export).
    Everything is checked before anything is written: unknown formats, missing
    inputs and a missing optional package fail without touching the folder.

    Parameters
    ----------
    folder : Path
        An analysis folder as ``kneevision analyze`` leaves it (``pose.npz``,
        ``angles.csv``, ``summary.json``, ...).
    formats : iterable of str
        Keys of :data:`EXPORT_FORMATS` (``trc``, ``mot``, ``c3d``, ``nc``).

    Returns
    -------
    list of Path
        The files written, one per format, in the order asked.

    Raises
    ------
    UnknownFormatError
        (a ``ValueError``) for a format that does not exist.
    MissingInputError
        (a ``FileNotFoundError``) naming the folder and the missing file.
    ExportError
        ``nc`` asked without xarray installed.
    OutputError
        The folder cannot be written.
    """
    folder = Path(folder)
    names = parse_formats(formats)
    for name in names:
        require(folder, _WRITERS[name][0])
    if "nc" in names:
        require_xarray()
    written = []
    for name in names:
        dest = folder / EXPORT_FORMATS[name]
        with atomic_file(dest) as tmp:
            _WRITERS[name][1](folder, tmp)
        written.append(dest)
    return written
