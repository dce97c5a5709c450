"""Knee angles from one camera's landmarks, the pose model's placement corrected.

Knee flexion from the side (corrected gain) and the front (foreshortening), and FPPA
(corrected gain). Pure functions on arrays. From the side, the image-plane hip–knee–ankle angle of
MediaPipe's landmarks reads about 0.93 of the true flexion at the bottom of a squat
(rendered bodies of known pose, ``benchmarks/side_flexion_gain.py``): its hip
landmark sits 4–12 % of the thigh's length in front of the hip joint centre, which
turns the thigh line toward the vertical, and its knee sits 2–4 % behind the knee
centre. :data:`SIDE_FLEXION_GAIN` undoes that on average.

From the front, :func:`front_knee_flexion` reads flexion from how much thigh and shank
shorten in the picture against their standing lengths, a straight leg's tilts *signed*
(longer than standing = tilted by the same amount the other way) so that the landmarks'
±1–2 % wobble on a straight leg cancels instead of adding up, and the thigh's shortening
scaled by :data:`FRONT_THIGH_GAIN` once the knee bends toward the camera (the model's hip
landmark rides up the thigh there, so the thigh looks longer than it is), the ankle of a
planted foot held at its standing height (:func:`planted_ankle`: the model's ankle rises
as the knee bends over it, which shortens the shank it sees).

FPPA from MediaPipe's image landmarks reads short of the true joints' by about a sixth
(rendered squats and single-leg squats, 48 leg-repetitions over three bodies: measured
over true 0.84 at knee height, 0.92 at hip height, 0.72–0.75 with the camera 10° round):
:func:`landmark_fppa` scales it by :data:`FPPA_GAIN`.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from kneevision.kinematics.angles import _arr, _check_dims, _norm, fppa, knee_flexion

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


def signed_tilt(length: ArrayLike, reference: ArrayLike) -> FloatArray:
    """A segment's tilt out of the image plane from its image length, signed, degrees.

    ``acos(length / reference)`` when the segment is shorter than its reference, and
    ``−acos(reference / length)`` when it is longer: the same tilt for the same ratio
    either way (symmetric in the log of the ratio), negative when longer.

    Parameters
    ----------
    length, reference : array_like
        Image lengths, pixels (any unit, the same for both).

    Returns
    -------
    ndarray
        Degrees in (−90°, 90°]; NaN where either is missing or the reference is not > 0.

    Examples
    --------
    >>> [round(float(x), 2) for x in signed_tilt([50.0, 99.0, 100.0, 101.0], 100.0)]
    [60.0, 8.11, 0.0, -8.07]
    """
    length, reference = _arr(length), _arr(reference)
    with np.errstate(invalid="ignore", divide="ignore"):
        r = np.where(reference > 0, length / reference, np.nan)
        short = np.degrees(np.arccos(np.clip(r, 0.0, 1.0)))
        long = -np.degrees(np.arccos(np.clip(1.0 / r, 0.0, 1.0)))
    return np.where(r > 1.0, long, short)


#: A segment's negative (longer-than-standing) tilt counts in full while neither segment
#: is tilted more than the first figure (a 1 % wobble reads 8°; standing frames' per-frame
#: reading, 90th percentile ≈ 7.5° on rendered front squats), and not at all once one is
#: tilted the second. Chosen among four settings on the renders it is measured on.
STRAIGHT_BAND_DEG = (8.0, 15.0)


#: How much more the thigh shortens than MediaPipe's landmarks show, seen from the front
#: with the knee bent: at depth its hip landmark rides up the thigh further than standing,
#: so the thigh looks longer than it is. Chosen on the 7
#: rendered front squats of three bodies, 28 leg-reps (peak flexion median / p95 |error| 2.7 / 6.9°
#: → 1.2 / 3.3°, among 1.0–1.3 in steps of 0.05); on the 9 lunge reps not used to
#: choose it, 6.4 / 8.6° → 1.4 / 3.5°, while 2 of the 3 single-leg squats read about 2°
#: higher (``kneevision validate --reuse --rescore``).
FRONT_THIGH_GAIN = 1.15


def front_knee_flexion(
    hip: ArrayLike,
    knee: ArrayLike,
    ankle: ArrayLike,
    thigh_ref: ArrayLike,
    shank_ref: ArrayLike,
    band_deg: tuple[float, float] = STRAIGHT_BAND_DEG,
    thigh_gain: float = FRONT_THIGH_GAIN,
) -> FloatArray:
    """Knee flexion seen from the front: thigh and shank foreshortening, straight legs signed.

    As :func:`~kneevision.kinematics.angles.knee_flexion_foreshortened` (a segment
    tilted toward the camera by α shows ``cos α`` of its standing image length; flexion
    is the thigh's tilt plus the shank's), with each tilt :func:`signed_tilt`. Why: on
    a straight leg each segment's image length wobbles ±1–2 % about its standing
    reference, and ``acos`` of a ratio just under 1 is steep (0.99 → 8°); folding the
    longer-than-standing frames to 0° and keeping the shorter ones made straight legs
    read 2–12° (median over frames, rendered squats and lunges from the front). Signed,
    the two segments' wobbles (a knee landmark that slips down lengthens the thigh and
    shortens the shank) cancel.

    A bent leg's segment can also look longer than standing for a real reason: a knee
    coming toward the camera is magnified by perspective. Counting that as a negative
    tilt read the frames of 10–30° true flexion 7° low (renders), so the negative parts
    count in full while the larger positive tilt is under ``band_deg[0]`` and fade out
    linearly to nothing at ``band_deg[1]`` (a bent leg reads as before). The sum is
    held ≥ 0.

    The pose model's thigh looks longer than it is once the knee bends toward the camera
    (:data:`FRONT_THIGH_GAIN`): its shortening is scaled by ``thigh_gain``, fully once its
    tilt passes ``band_deg[1]`` and not at all below ``band_deg[0]``.

    Parameters
    ----------
    hip, knee, ankle : array_like, shape (..., 2)
        Image points of one leg (square pixels), camera in front.
    thigh_ref, shank_ref : array_like
        The segments' image lengths standing straight, pixels.
    band_deg : (float, float)
        Tilts (degrees) up to which a longer-than-standing segment counts negative in
        full, and past which not at all.
    thigh_gain : float
        The correction of the thigh's shortening; 1.0 for exact joint centres (the
        geometry alone).

    Returns
    -------
    ndarray
        Degrees, ≥ 0 (0 = straight); NaN where a point is missing.

    Examples
    --------
    A thigh 1 % longer and a shank 1 % shorter than standing (the knee landmark 1 px
    low) read nearly straight, where the unsigned sum reads 8°:

    >>> round(float(front_knee_flexion((0, 0), (0, 101), (0, 200), 100.0, 100.0)), 1)
    0.2
    >>> from kneevision.kinematics.angles import knee_flexion_foreshortened
    >>> round(float(knee_flexion_foreshortened((0, 0), (0, 101), (0, 200), 100.0, 100.0)), 1)
    8.1
    >>> import numpy as np
    >>> c = np.cos(np.radians([30.0, 40.0]))  # thigh tilted 30°, shank 40°: 70° of flexion
    >>> flex = front_knee_flexion((0, 0), (0, 100 * c[0]), (0, 100 * c[0] + 90 * c[1]),
    ...                           100.0, 90.0, thigh_gain=1.0)
    >>> round(float(flex), 6)
    70.0

    With the pose model's correction, the same picture reads the thigh tilted further:

    >>> flex = front_knee_flexion((0, 0), (0, 100 * c[0]), (0, 100 * c[0] + 90 * c[1]),
    ...                           100.0, 90.0)
    >>> round(float(flex), 1)
    72.2
    """
    hip, knee, ankle = map(_arr, (hip, knee, ankle))
    _check_dims(hip, knee, ankle)
    thigh, thigh_ref = _norm(knee - hip), _arr(thigh_ref)
    full, none = band_deg
    # The thigh's shortening times the gain, faded in across the straight band so that a
    # straight leg's wobble is not amplified.
    ramp = np.clip((signed_tilt(thigh, thigh_ref) - full) / (none - full), 0.0, 1.0)
    gain = 1.0 + (thigh_gain - 1.0) * ramp
    thigh = np.where(thigh < thigh_ref, thigh_ref - gain * (thigh_ref - thigh), thigh)
    a = signed_tilt(thigh, thigh_ref)
    b = signed_tilt(_norm(ankle - knee), shank_ref)
    up_a, up_b = np.maximum(a, 0.0), np.maximum(b, 0.0)
    weight = np.clip((none - np.maximum(up_a, up_b)) / (none - full), 0.0, 1.0)
    total = up_a + up_b + weight * (np.minimum(a, 0.0) + np.minimum(b, 0.0))
    return np.where(np.isfinite(total), np.maximum(total, 0.0), np.nan)


#: How far (shank lengths) a foot's ankle landmark may rise above where it stood and still
#: be held down as planted, in full up to the first figure and not at all from the
#: second (a foot that rises further has stepped or lifted). Rendered step-downs: the
#: model's stance ankle rose 0.036–0.084 at the bottom, the true one not at all
#: (``benchmarks/front_flexion_reference.py``).
PLANTED_RISE = (0.12, 0.25)


def planted_ankle(
    ankle: ArrayLike,
    standing_y: float,
    shank_ref: float,
    band: tuple[float, float] = PLANTED_RISE,
) -> FloatArray:
    """The ankle landmark kept from rising above its standing place while the foot is planted.

    A planted foot's ankle joint does not move as the knee bends over it, but MediaPipe's
    can: on rendered step-downs its stance ankle (with its heel and toe) rose by
    0.036–0.084 of the shank's length at the bottom, so the shank looked shorter than it
    was and the front view read the knee 10.8° too bent (median over 6 leg-reps; 2.5° held
    down, and 9.6 → 3.6° on 4 held-out ones: ``benchmarks/front_flexion_reference.py``).
    A rise of up to ``band[0]`` shank lengths is taken back in full, one past
    ``band[1]`` is kept (the foot stepped or lifted), linearly between, so the result
    is continuous in the landmark. A fall is kept: it is not what was seen wrong.

    Parameters
    ----------
    ankle : array_like, shape (..., 2)
        Image ankle landmarks (y down).
    standing_y : float
        The ankle's image height standing (e.g. the median over standing frames).
    shank_ref : float
        The shank's standing image length, pixels: the rise's unit.
    band : (float, float)
        Rises, in shank lengths, held down fully up to, and not at all from.

    Returns
    -------
    ndarray, shape (..., 2)
        The ankle with its height corrected; x as given.

    Notes
    -----
    A heel raised off the floor lifts the ankle too, and the landmarks did not tell the
    two apart on the renders (the model's heel rose over its toe on the step-downs as
    well), so a real heel raise of up to ``band[0]`` shank lengths (about 5 cm) is held
    down too and reads as less knee flexion. No rendered clip raises a heel; not measured.
    Nothing here tells a planted foot from a free one: a foot held just off the floor
    (under ``band[0]``) is held down too, and one stepping back is partly held while its
    rise crosses the band (a real reverse lunge's stepping leg: 25 of 529 frames moved).
    On a rise inside the band the landmark's own noise is passed on about doubled
    (``band[1] / (band[1] − band[0])``).

    Examples
    --------
    Shank 100 px, standing ankle at y = 500: a 6 px rise is taken back, a 30 px one kept,
    an 18 px one partly (to 11.5 px), a fall kept:

    >>> y = planted_ankle([[0, 494], [0, 470], [0, 482], [0, 505]], 500.0, 100.0)[:, 1]
    >>> [round(float(v), 1) for v in y]
    [500.0, 470.0, 488.5, 505.0]
    """
    ankle = _arr(ankle).copy()
    if not shank_ref > 0:  # no unit to measure a rise in: nothing to hold
        return ankle
    lo, hi = band
    rise = (standing_y - ankle[..., 1]) / shank_ref
    kept = np.where(rise <= lo, 0.0, np.where(rise >= hi, rise, (rise - lo) * hi / (hi - lo)))
    ankle[..., 1] = np.where(rise > 0, standing_y - kept * shank_ref, ankle[..., 1])
    return ankle


#: True over measured FPPA at peak flexion on rendered squats and single-leg squats: the
#: gain with the least median error was 1.2 over all three bodies and 1.15–1.2 with each
#: body left out in turn; the left-out body then read 2.8 / 4.3°, 2.1 / 6.2° and
#: 1.7 / 6.1° (median / p95 |error|) against 3.1 / 9.0°, 2.6 / 7.7° and 2.5 / 9.1°
#: without it (``kneevision validate``, 2026-12-03; ``benchmarks/fppa_gain.py`` prints them).
FPPA_GAIN = 1.2


def landmark_fppa(
    hip: ArrayLike,
    knee: ArrayLike,
    ankle: ArrayLike,
    other_hip: ArrayLike,
    gain: float = FPPA_GAIN,
) -> FloatArray:
    """FPPA from a pose model's image landmarks, its knee placement corrected.

    :func:`~kneevision.kinematics.angles.fppa` times ``gain``.

    Parameters
    ----------
    hip, knee, ankle, other_hip : array_like, shape (..., 2)
        Image landmarks of the leg measured and of the opposite hip.
    gain : float
        Correction of the model's knee placement (:data:`FPPA_GAIN`); 1 for exact joints.

    Returns
    -------
    ndarray, shape (...)
        Degrees; + valgus, − varus.

    Examples
    --------
    >>> round(float(landmark_fppa((100, 100), (90, 200), (100, 300), (60, 100))), 2)
    13.71
    """
    return gain * fppa(hip, knee, ankle, other_hip)
