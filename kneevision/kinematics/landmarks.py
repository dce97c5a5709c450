"""Landmark indices and helpers to pick one leg's joints."""

from __future__ import annotations

from typing import Literal

import numpy as np
from numpy.typing import NDArray

Side = Literal["left", "right"]
SIDES: tuple[Side, Side] = ("left", "right")

#: MediaPipe Pose indices of the joints used here, per side ("left" = the person's left).
JOINTS: dict[str, dict[Side, int]] = {
    "shoulder": {"left": 11, "right": 12},
    "hip": {"left": 23, "right": 24},
    "knee": {"left": 25, "right": 26},
    "ankle": {"left": 27, "right": 28},
    "heel": {"left": 29, "right": 30},
    "toe": {"left": 31, "right": 32},
}


def other(side: Side) -> Side:
    """The opposite side."""
    return "right" if side == "left" else "left"


def leg(points: NDArray[np.float64], side: Side) -> dict[str, NDArray[np.float64]]:
    """One leg's joints from a landmark array.

    Parameters
    ----------
    points : ndarray, shape (..., 33, D)
        Image (D=2) or world (D=3) landmarks.
    side : {"left", "right"}

    Returns
    -------
    dict
        ``hip, knee, ankle, heel, toe, shoulder`` of that side and ``other_hip``,
        each of shape ``(..., D)``.
    """
    out = {name: points[..., idx[side], :] for name, idx in JOINTS.items()}
    out["other_hip"] = points[..., JOINTS["hip"][other(side)], :]
    return out
