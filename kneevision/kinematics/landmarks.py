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


#: The 11 face landmarks (nose to mouth) come first in MediaPipe's order.
FACE = slice(0, 11)


def pair(joint: str) -> list[int]:
    """Indices of a joint's left and right landmark, e.g. ``pair("hip")`` → ``[23, 24]``."""
    return [JOINTS[joint][s] for s in SIDES]


#: The leg's joints, hip to toe.
LEG_JOINTS = ("hip", "knee", "ankle", "heel", "toe")
#: Landmark indices of both hips, and of both legs hip to toe.
HIPS = pair("hip")
LEGS = sorted(JOINTS[j][s] for j in LEG_JOINTS for s in SIDES)


def midpoint(points: NDArray[np.float64], joint: str) -> NDArray[np.float64]:
    """Midpoint of a joint's left and right landmark (e.g. the pelvis centre), (..., D)."""
    left, right = pair(joint)
    return (points[..., left, :] + points[..., right, :]) / 2


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
