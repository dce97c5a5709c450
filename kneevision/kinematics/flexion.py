"""Knee flexion from a side view, corrected for where the pose model puts the hip.

Pure functions on arrays. From the side, the image-plane hip–knee–ankle angle of
MediaPipe's landmarks reads about 0.93 of the true flexion at the bottom of a squat
(rendered bodies of known pose, ``benchmarks/side_flexion_gain.py``): its hip
landmark sits 4–12 % of the thigh's length in front of the hip joint centre, which
turns the thigh line toward the vertical, and its knee sits 2–4 % behind the knee
centre. :data:`SIDE_FLEXION_GAIN` undoes that on average.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from kneevision.kinematics.angles import knee_flexion

FloatArray = NDArray[np.float64]

#: True over measured peak knee flexion from the side, rendered squats and knee-to-wall
#: lunges: 1.078–1.12 on the four clips it was chosen on (three bodies), 1.055–1.087 on
#: two later clips of two bodies not among them (``benchmarks/side_flexion_gain.py``).
SIDE_FLEXION_GAIN = 1.08


def side_knee_flexion(
    hip: ArrayLike, knee: ArrayLike, ankle: ArrayLike, gain: float = SIDE_FLEXION_GAIN
) -> FloatArray:
    """Knee flexion seen from the side: the image-plane angle times ``gain``.

    Parameters
    ----------
    hip, knee, ankle : array_like, shape (..., 2)
        Image points of one leg (square pixels), camera side-on.
    gain : float
        Correction of the pose model's landmark placement (:data:`SIDE_FLEXION_GAIN`);
        1.0 gives the plain 2-D angle of :func:`~kneevision.kinematics.angles.knee_flexion`.

    Returns
    -------
    ndarray, shape (...)
        Degrees, 0 = straight. A proportional correction: it leaves a straight leg
        at 0° and is largest at depth, where it was measured.

    Examples
    --------
    >>> round(float(side_knee_flexion((0, 0), (0, 1), (1, 1))), 6)
    97.2
    >>> round(float(side_knee_flexion((0, 0), (0, 1), (1, 1), gain=1.0)), 6)
    90.0
    """
    return gain * knee_flexion(hip, knee, ankle)
