"""``angles.mot``: joint angles as an OpenSim storage (``.mot``/``.sto``) file.

Layout (tab-separated)::

    angles.mot
    version=1
    nRows=150
    nColumns=5
    inDegrees=yes
    <key=value provenance lines>
    endheader
    time  left_knee_flexion  right_knee_flexion  left_fppa  right_fppa
    0  20.6313  ...

``nColumns`` counts the time column. Each ``<name>_deg`` column of ``angles.csv``
becomes ``<name>`` (degrees, as ``inDegrees=yes`` says) with the same values;
a value ``angles.csv`` leaves empty is ``NaN``, as OpenSim itself writes it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path

import numpy as np


def mot_column(csv_name: str) -> str:
    """The ``.mot`` column for an ``angles.csv`` column: ``left_fppa_deg`` → ``left_fppa``."""
    return csv_name.removesuffix("_deg")


def _num(v: float) -> str:
    return f"{v:.10g}" if math.isfinite(v) else "NaN"


def write_mot(
    path: Path,
    time_s: np.ndarray,
    columns: Mapping[str, np.ndarray],
    *,
    name: str | None = None,
    meta: Mapping[str, str] | None = None,
) -> None:
    """Write angle series in degrees as an OpenSim storage file.

    Parameters
    ----------
    path : Path
        Where to write (the caller makes it atomic).
    time_s : ndarray, shape (T,)
        The ``time`` column in seconds.
    columns : mapping of str to ndarray, each shape (T,)
        Column name (no tabs, no ``=``) to angles in degrees.
    name : str, optional
        The storage's name, its first line (default: ``path``'s name).
    meta : mapping of str to str, optional
        Extra ``key=value`` header lines (provenance).
    """
    names = list(columns)
    for col in names:
        if len(columns[col]) != len(time_s):
            raise ValueError(f"column {col} has {len(columns[col])} rows, time {len(time_s)}")
    header = [
        name or path.name,
        "version=1",
        f"nRows={len(time_s)}",
        f"nColumns={len(names) + 1}",
        "inDegrees=yes",
    ]
    header += [f"{k}={' '.join(str(v).split())}" for k, v in (meta or {}).items()]
    header.append("endheader")
    with open(path, "w", newline="") as fh:
        fh.write("\n".join(header) + "\n")
        fh.write("\t".join(["time", *names]) + "\n")
        for i, t in enumerate(time_s):
            fh.write("\t".join([_num(t)] + [_num(columns[n][i]) for n in names]) + "\n")
