"""Knee, hip, ankle and pelvis angles from landmark coordinates.

Every function takes points as arrays of shape ``(..., 2)`` (image, pixels; x
right, y down) or ``(..., 3)`` (world, metres), broadcasts over the leading
dimensions, returns degrees and maps NaN inputs to NaN outputs without raising.
None of them depends on the handedness of the coordinate system: where a sign
must be anatomical (valgus, internal rotation, adduction) it is taken from the
direction of the *other* hip, i.e. toward the body's midline.

Definitions follow the KneeVision design brief (§2); the references are
Willson & Davis 2008 and Munro et al. 2012 for the frontal plane projection
angle, Grood & Suntay 1983 for the knee's joint coordinate system.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

FloatArray = NDArray[np.float64]


def _arr(x: ArrayLike) -> FloatArray:
    return np.asarray(x, dtype=float)


def _dot(a: FloatArray, b: FloatArray) -> FloatArray:
    return np.einsum("...i,...i->...", a, b)


def _norm(a: FloatArray) -> FloatArray:
    return np.sqrt(_dot(a, a))


def _unit(a: FloatArray) -> FloatArray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return a / _norm(a)[..., None]


def _reject(v: FloatArray, axis_unit: FloatArray) -> FloatArray:
    """Component of ``v`` perpendicular to the unit vector ``axis_unit``."""
    return v - _dot(v, axis_unit)[..., None] * axis_unit


def _cross_norm(a: FloatArray, b: FloatArray) -> FloatArray:
    if a.shape[-1] == 2:
        return np.abs(a[..., 0] * b[..., 1] - a[..., 1] * b[..., 0])
    return _norm(np.cross(a, b))


def angle_between(a: ArrayLike, b: ArrayLike) -> FloatArray:
    """Unsigned angle between vectors, in degrees, in [0, 180].

    Uses ``atan2(|a×b|, a·b)``, which stays accurate near 0° and 180° where
    ``arccos`` loses precision.
    """
    a, b = _arr(a), _arr(b)
    return np.degrees(np.arctan2(_cross_norm(a, b), _dot(a, b)))


def _check_dims(*points: FloatArray, need3d: bool = False) -> int:
    dims = {p.shape[-1] for p in points}
    if len(dims) != 1 or dims.pop() not in (2, 3):
        raise ValueError("points must all have a last dimension of 2 (image) or 3 (world)")
    d = points[0].shape[-1]
    if need3d and d != 3:
        raise ValueError("this angle needs 3-D (world) landmarks")
    return d


def knee_flexion(hip: ArrayLike, knee: ArrayLike, ankle: ArrayLike) -> FloatArray:
    """Knee flexion: 180° minus the interior hip–knee–ankle angle.

    Parameters
    ----------
    hip, knee, ankle : array_like, shape (..., 2) or (..., 3)
        Joint centres of one leg.

    Returns
    -------
    ndarray, shape (...)
        Degrees. 0 = straight leg, positive = flexed. With image points this is
        the angle in the image plane (meaningful from a side view); with world
        points it is the 3-D angle between thigh and shank, which also contains
        any knee abduction: ``arccos(cos(flexion)·cos(abduction))``.

    Examples
    --------
    A shank at right angles to the thigh, and a straight leg in world metres:

    >>> round(float(knee_flexion((0, 0), (0, 1), (1, 1))), 6)
    90.0
    >>> round(float(knee_flexion((0, 0, 0), (0, -0.45, 0), (0, -0.9, 0))), 6)
    0.0
    """
    hip, knee, ankle = _arr(hip), _arr(knee), _arr(ankle)
    _check_dims(hip, knee, ankle)
    return angle_between(knee - hip, ankle - knee)


def knee_flexion_foreshortened(
    hip: ArrayLike,
    knee: ArrayLike,
    ankle: ArrayLike,
    thigh_ref: ArrayLike,
    shank_ref: ArrayLike,
) -> FloatArray:
    """Knee flexion seen from the front, from how much thigh and shank shorten in the image.

    Seen from in front, a thigh tilted toward the camera by α shows ``cos α`` of its
    standing image length, and so does the shank: flexion ``= acos(t / t₀) + acos(s /
    s₀)`` with ``t, s`` the thigh's and shank's image lengths and ``t₀, s₀`` their
    lengths standing. It assumes the thigh and the shank lean to opposite sides of the
    vertical (knee in front of both hip and ankle), as in squats.

    Parameters
    ----------
    hip, knee, ankle : array_like, shape (..., 2)
        Image points of one leg.
    thigh_ref, shank_ref : array_like
        The segments' image lengths standing straight, pixels.

    Returns
    -------
    ndarray
        Degrees, ≥ 0; a segment longer than its reference counts as upright.

    Examples
    --------
    >>> import numpy as np
    >>> c = np.cos(np.radians([30.0, 40.0]))  # thigh tilted 30°, shank 40°: 70° of flexion
    >>> flex = knee_flexion_foreshortened((0, 0), (0, 100 * c[0]), (0, 100 * c[0] + 90 * c[1]),
    ...                                   100.0, 90.0)
    >>> round(float(flex), 6)
    70.0
    """
    hip, knee, ankle = map(_arr, (hip, knee, ankle))
    _check_dims(hip, knee, ankle)
    with np.errstate(invalid="ignore", divide="ignore"):
        t = np.clip(_norm(knee - hip) / _arr(thigh_ref), -1.0, 1.0)
        s = np.clip(_norm(ankle - knee) / _arr(shank_ref), -1.0, 1.0)
    return np.degrees(np.arccos(t) + np.arccos(s))


def fppa(
    hip: ArrayLike,
    knee: ArrayLike,
    ankle: ArrayLike,
    other_hip: ArrayLike,
    view_axis: ArrayLike | None = None,
) -> FloatArray:
    """Frontal plane projection angle (FPPA) of the knee.

    The angle between the thigh line (hip→knee) and the shank line (knee→ankle)
    as drawn on a frontal image. It is positive for **valgus** — the knee lies on
    the medial side of the hip–ankle line, medial meaning toward ``other_hip`` —
    and negative for varus.

    Parameters
    ----------
    hip, knee, ankle : array_like, shape (..., 2) or (..., 3)
        Joint centres of the leg measured.
    other_hip : array_like, same shape
        The opposite hip; it fixes which side is medial.
    view_axis : array_like, shape (3,) or (..., 3), optional
        For world points only: the viewing direction. Points are projected
        orthographically onto the plane perpendicular to it before measuring.
        Defaults to ``(0, 0, 1)``, the camera's optical axis in MediaPipe's world
        frame. Pass the body's anterior axis for the anatomical frontal plane.

    Returns
    -------
    ndarray, shape (...)
        Degrees; + valgus, − varus. Willson & Davis (2008); Munro et al. (2012).

    Examples
    --------
    A left leg in image pixels, the other hip at smaller x (the midline): the knee
    10 px toward it is valgus, 10 px away is varus, by the same angle.

    >>> round(float(fppa((100, 100), (90, 200), (100, 300), other_hip=(60, 100))), 2)
    11.42
    >>> round(float(fppa((100, 100), (110, 200), (100, 300), other_hip=(60, 100))), 2)
    -11.42
    """
    hip, knee, ankle, other_hip = map(_arr, (hip, knee, ankle, other_hip))
    if _check_dims(hip, knee, ankle, other_hip) == 3:
        axis = _unit(_arr((0.0, 0.0, 1.0) if view_axis is None else view_axis))
        hip, knee, ankle, other_hip = (_reject(p, axis) for p in (hip, knee, ankle, other_hip))
    magnitude = angle_between(knee - hip, ankle - knee)
    line = _unit(ankle - hip)
    offset = _reject(knee - hip, line)
    medial = _reject(other_hip - hip, line)
    return np.sign(_dot(offset, medial)) * magnitude


def medial_knee_displacement(
    hip: ArrayLike, knee: ArrayLike, ankle: ArrayLike, other_hip: ArrayLike
) -> FloatArray:
    """Knee offset from the hip–ankle line, in % of shank length.

    Positive when the knee is medial to the line (toward ``other_hip``), as in
    valgus collapse. Same view convention as :func:`fppa` (image points, or world
    points as given).
    """
    hip, knee, ankle, other_hip = map(_arr, (hip, knee, ankle, other_hip))
    _check_dims(hip, knee, ankle, other_hip)
    line = _unit(ankle - hip)
    offset = _reject(knee - hip, line)
    medial = _unit(_reject(other_hip - hip, line))
    with np.errstate(invalid="ignore", divide="ignore"):
        return 100.0 * _dot(offset, medial) / _norm(ankle - knee)


def knee_ankle_separation_ratio(
    left_knee: ArrayLike, right_knee: ArrayLike, left_ankle: ArrayLike, right_ankle: ArrayLike
) -> FloatArray:
    """Knee-to-ankle separation ratio (KASR): knee distance / ankle distance.

    Below 1 the knees are closer together than the ankles (valgus pattern);
    read at the bottom of a bilateral squat from a frontal view.
    """
    lk, rk, la, ra = map(_arr, (left_knee, right_knee, left_ankle, right_ankle))
    with np.errstate(invalid="ignore", divide="ignore"):
        return _norm(lk - rk) / _norm(la - ra)


def knee_abduction(
    hip: ArrayLike, knee: ArrayLike, ankle: ArrayLike, other_hip: ArrayLike
) -> FloatArray:
    """3-D knee abduction (valgus) estimate in the joint coordinate system.

    With femoral long axis ``z = hip − knee``, femoral medial axis ``m`` (toward
    ``other_hip``, made perpendicular to ``z``) and tibial long axis
    ``t = knee − ankle``, abduction is ``asin(t̂·m̂)``: the tilt of the shank out
    of the femur's sagittal plane, the Grood & Suntay (1983) ab/adduction angle.

    Returns
    -------
    ndarray
        Degrees; + abduction (valgus, ankle lateral to the knee), − adduction.
        World landmarks from a single camera make this an *estimate*.
    """
    hip, knee, ankle, other_hip = map(_arr, (hip, knee, ankle, other_hip))
    _check_dims(hip, knee, ankle, other_hip, need3d=True)
    z = _unit(hip - knee)
    m = _unit(_reject(other_hip - hip, z))
    t = _unit(knee - ankle)
    return np.degrees(np.arcsin(np.clip(_dot(t, m), -1.0, 1.0)))


def tibial_rotation(
    hip: ArrayLike,
    knee: ArrayLike,
    ankle: ArrayLike,
    heel: ArrayLike,
    toe: ArrayLike,
    other_hip: ArrayLike,
) -> FloatArray:
    """Axial rotation of the shank against the thigh, seen along the shank.

    With shank axis ``s = ankle − knee``, femoral reference ``f = knee − hip``
    made perpendicular to ``s``, foot axis ``u = toe − heel`` made perpendicular
    to ``s``, and medial direction ``m = other_hip − hip`` made perpendicular to
    ``s`` and ``f``, the angle is ``atan2(u·m, u·f)``.

    Parameters
    ----------
    hip, knee, ankle, heel, toe, other_hip : array_like, shape (..., 3)
        World landmarks of one leg and the opposite hip.

    Returns
    -------
    ndarray
        Degrees in (−180, 180]; + internal rotation (toes toward the midline),
        − external, for either leg and any coordinate handedness; 0 when the foot
        axis, seen along the shank, is parallel to the thigh's direction.

    Notes
    -----
    The foot axis carries ankle and foot motion as well as tibial rotation; the
    marker mode measures the shank itself. The reference ``f`` equals the Grood &
    Suntay floating axis when knee abduction is zero; with abduction the two
    differ by a second-order amount.

    Examples
    --------
    Seated, thigh forward (+z), shank down (−y), the other hip at +x: a foot
    pointing along the thigh is neutral; toes 5 cm toward the midline over an
    18 cm foot are ``atan2(5, 18)`` of internal rotation.

    >>> hip, knee, ankle, other = (0, 0, 0), (0, 0, 0.45), (0, -0.45, 0.45), (0.2, 0, 0)
    >>> heel = (0, -0.5, 0.42)
    >>> round(float(tibial_rotation(hip, knee, ankle, heel, (0, -0.5, 0.6), other)), 6)
    0.0
    >>> round(float(tibial_rotation(hip, knee, ankle, heel, (0.05, -0.5, 0.6), other)), 2)
    15.52
    """
    pts = tuple(map(_arr, (hip, knee, ankle, heel, toe, other_hip)))
    _check_dims(*pts, need3d=True)
    hip, knee, ankle, heel, toe, other_hip = pts
    s = _unit(ankle - knee)
    f = _unit(_reject(knee - hip, s))
    u = _reject(toe - heel, s)
    m = _unit(_reject(_reject(other_hip - hip, s), f))
    return np.degrees(np.arctan2(_dot(u, m), _dot(u, f)))


def hip_adduction(hip: ArrayLike, knee: ArrayLike, other_hip: ArrayLike) -> FloatArray:
    """Hip adduction: thigh angle toward the midline against the pelvis.

    Measured in the plane containing the pelvis line: 0 when the thigh is
    perpendicular to the hip–hip line, + when the knee moves toward the midline.

    Parameters
    ----------
    hip, knee, other_hip : array_like, shape (..., 2) or (..., 3)

    Returns
    -------
    ndarray
        Degrees; + adduction, − abduction.
    """
    hip, knee, other_hip = map(_arr, (hip, knee, other_hip))
    _check_dims(hip, knee, other_hip)
    medial = _unit(other_hip - hip)
    thigh = _unit(knee - hip)
    return np.degrees(np.arcsin(np.clip(_dot(thigh, medial), -1.0, 1.0)))


def ankle_dorsiflexion(
    knee: ArrayLike, ankle: ArrayLike, up: ArrayLike = (0.0, -1.0)
) -> FloatArray:
    """Shank inclination from vertical (weight-bearing lunge / knee-to-wall test).

    Parameters
    ----------
    knee, ankle : array_like, shape (..., 2) or (..., 3)
        Side view image points (default ``up`` is image-up, ``(0, -1)``) or world points
        with an explicit ``up`` vector.
    up : array_like
        The vertical direction in the same coordinates.

    Returns
    -------
    ndarray
        Degrees, ≥ 0: angle between the ankle→knee line and vertical.
    """
    knee, ankle, up = _arr(knee), _arr(ankle), _arr(up)
    return angle_between(knee - ankle, np.broadcast_to(up, knee.shape))


def pelvic_drop(
    stance_hip: ArrayLike, swing_hip: ArrayLike, up: ArrayLike = (0.0, -1.0)
) -> FloatArray:
    """Pelvic obliquity in the frontal plane during single-leg stance.

    Returns
    -------
    ndarray
        Degrees; + when the swing-side hip is lower than the stance-side hip
        (contralateral pelvic drop, a Trendelenburg sign), 0 when level.
    """
    stance_hip, swing_hip, up = _arr(stance_hip), _arr(swing_hip), _arr(up)
    line = swing_hip - stance_hip
    up = _unit(np.broadcast_to(up, line.shape))
    with np.errstate(invalid="ignore", divide="ignore"):
        drop = -_dot(line, up) / _norm(line)
    return np.degrees(np.arcsin(np.clip(drop, -1.0, 1.0)))


def seated_view_elevation(
    hip: ArrayLike,
    knee: ArrayLike,
    ankle: ArrayLike,
    thigh_length: ArrayLike,
    shank_length: ArrayLike,
) -> FloatArray:
    """How far above the knees a front camera looks down on a seated person (degrees).

    Sitting, the thigh is horizontal and points at the camera, the shank hangs
    vertical: seen from an elevation β the thigh shows ``sin β`` of its length down the
    picture and the shank ``cos β``, so ``β = atan2(t / T, s / S)`` with ``t, s`` their
    vertical image extents and ``T, S`` their real lengths (or any two numbers in the
    same ratio, e.g. from the 3-D landmarks).

    Parameters
    ----------
    hip, knee, ankle : array_like, shape (..., 2)
        Image points of one leg.
    thigh_length, shank_length : array_like
        The segments' lengths (same unit).

    Returns
    -------
    ndarray
        Degrees in [0, 90].
    """
    hip, knee, ankle = map(_arr, (hip, knee, ankle))
    _check_dims(hip, knee, ankle)
    # Vertical image components only: a body turned from the camera shows its thigh
    # across the picture too, which is not elevation.
    t = np.abs(knee[..., 1] - hip[..., 1]) / _arr(thigh_length)
    s = np.abs(ankle[..., 1] - knee[..., 1]) / _arr(shank_length)
    return np.degrees(np.arctan2(t, s))


def foot_turn_front(
    knee: ArrayLike,
    ankle: ArrayLike,
    heel: ArrayLike,
    toe: ArrayLike,
    hip: ArrayLike,
    other_hip: ArrayLike,
    foot_ratio: ArrayLike,
    elevation_deg: ArrayLike = 0.0,
) -> FloatArray:
    """Turn of a foot on the floor about the vertical, from a front view's image points.

    Seen from in front, a foot turning by θ about the vertical moves its toe toward
    the midline and its heel away by ``foot · sin θ`` across the picture, whatever
    the camera's height or tilt (depth is not needed), while the shank, vertical in
    the seated twist test, gives the scale: ``θ = asin(d / (r · s))`` with ``d`` the
    heel→toe offset toward the midline (px), ``s`` the shank's image length (px) and
    ``r`` the heel→toe length over the shank length.

    Parameters
    ----------
    knee, ankle, heel, toe, hip, other_hip : array_like, shape (..., 2)
        Image points of one leg, the hip and the opposite hip (which side is medial).
    foot_ratio : array_like
        Heel→toe length over knee→ankle length (e.g. from the 3-D landmarks, which
        keep a person's proportions even where their depth is weak).
    elevation_deg : array_like
        The camera's elevation over the legs (:func:`seated_view_elevation`): seen
        from above, the shank's image shortens by ``cos β`` and the scale with it.

    Returns
    -------
    ndarray
        Degrees, + when the toes point toward the midline (internal rotation for a
        foot turning with its shank), relative to pointing at the camera; NaN where the
        offset exceeds the foot's length.

    Notes
    -----
    Differences of this angle (from the test's neutral) are what the seated twist
    protocol reports; the absolute value also holds the body's turn from the camera
    and the person's natural toe-out. A shank tilted toward or away from the camera
    by τ (knee flexion ≠ 90°) shortens ``s`` by ``cos τ`` and lengthens the reading
    of ``sin θ`` by ``1 / cos τ`` (6% at 70° or 110°).

    Examples
    --------
    A foot 24 cm long under a 40 cm shank, turned 20° toward the midline, seen from
    2 m by a 1000 px camera (the left leg: the other hip is on the image's left):

    >>> import numpy as np
    >>> px = 1000 / 2.0
    >>> d = 0.24 * np.sin(np.radians(20)) * px
    >>> turn = foot_turn_front(knee=(0, 0), ankle=(0, 0.40 * px), heel=(d / 2, 0.42 * px),
    ...                        toe=(-d / 2, 0.46 * px), hip=(0, -200), other_hip=(-100, -200),
    ...                        foot_ratio=0.24 / 0.40)
    >>> round(float(turn), 6)
    20.0
    """
    knee, ankle, heel, toe, hip, other_hip = map(_arr, (knee, ankle, heel, toe, hip, other_hip))
    _check_dims(knee, ankle, heel, toe, hip, other_hip)
    if knee.shape[-1] != 2:
        raise ValueError("foot_turn_front takes image (2-D) points")
    medial = np.sign(other_hip[..., 0] - hip[..., 0])
    d = (toe[..., 0] - heel[..., 0]) * medial
    s = _norm(ankle - knee)
    with np.errstate(invalid="ignore", divide="ignore"):
        x = d * np.cos(np.radians(_arr(elevation_deg))) / (_arr(foot_ratio) * s)
    return np.degrees(np.arcsin(np.where(np.abs(x) <= 1.0, x, np.nan)))


def foot_turn_tracked(
    toe: ArrayLike,
    pivot: ArrayLike,
    knee: ArrayLike,
    ankle: ArrayLike,
    hip: ArrayLike,
    other_hip: ArrayLike,
    toe_ratio: ArrayLike,
    elevation_deg: ArrayLike = 0.0,
    shank_px: ArrayLike | None = None,
) -> FloatArray:
    """Turn of a foot on the floor from a toe point followed by its pixels, front view.

    The toe point turns about the vertical through ``pivot`` (a point on the shank's
    axis at the floor): across the picture it sits ``a · sin θ`` from it, with ``a``
    the ankle→toe length, so ``θ = asin(d cos β / (r · s))`` with ``d`` the toe's
    offset from the pivot toward the midline (px), ``s`` the shank's image length and
    ``r`` the ankle→toe length (across the shank) over the shank length. Unlike
    :func:`foot_turn_front` it needs no heel, which hides behind the shank when the
    foot turns out.

    Parameters
    ----------
    toe : array_like, shape (..., 2)
        The tracked toe point (e.g. :class:`kneevision.pose.forefoot.ForefootTrack`).
    pivot : array_like, shape (..., 2)
        A point on the turning axis (:func:`foot_turn_pivot`).
    knee, ankle, hip, other_hip : array_like, shape (..., 2)
        Image points: the shank's length and which side is medial.
    toe_ratio : array_like
        Ankle→toe length across the shank over the shank length.
    elevation_deg : array_like
        The camera's elevation over the legs (:func:`seated_view_elevation`).
    shank_px : array_like, optional
        The shank's image length ``s``; default ``|ankle − knee|`` per frame. The
        shank does not change length as the foot turns: one figure for the clip (e.g.
        its median) keeps the landmarks' frame-to-frame jitter out of ``θ`` and its peaks
        (on 9 rendered twists the total range's p95 error went from 4.3 to 3.8°).

    Returns
    -------
    ndarray
        Degrees, + when the toes point toward the midline; NaN where the offset
        exceeds the foot's reach.

    Examples
    --------
    A 40 cm shank, the toe 15 cm ahead of the ankle, turned 25° outward, seen from
    2 m by a 1000 px camera (left leg: the other hip at smaller x):

    >>> import numpy as np
    >>> px = 1000 / 2.0
    >>> toe = (0.15 * np.sin(np.radians(25)) * px, 0.46 * px)
    >>> turn = foot_turn_tracked(toe, pivot=(0, 0.42 * px), knee=(0, 0),
    ...                          ankle=(0, 0.40 * px), hip=(0, -200), other_hip=(-100, -200),
    ...                          toe_ratio=0.15 / 0.40)
    >>> round(float(turn), 6)
    -25.0
    """
    toe, pivot, knee, ankle, hip, other_hip = map(_arr, (toe, pivot, knee, ankle, hip, other_hip))
    _check_dims(toe, knee, ankle, hip, other_hip)
    if toe.shape[-1] != 2:
        raise ValueError("foot_turn_tracked takes image (2-D) points")
    medial = np.sign(other_hip[..., 0] - hip[..., 0])
    d = (toe[..., 0] - pivot[..., 0]) * medial
    s = _norm(ankle - knee) if shank_px is None else _arr(shank_px)
    with np.errstate(invalid="ignore", divide="ignore"):
        x = d * np.cos(np.radians(_arr(elevation_deg))) / (_arr(toe_ratio) * s)
    return np.degrees(np.arcsin(np.where(np.abs(x) <= 1.0, x, np.nan)))


def foot_turn_pivot(knee: ArrayLike, ankle: ArrayLike, toe: ArrayLike) -> FloatArray:
    """Where a front view sees the axis a toe point turns about: the shank's line at the toe.

    The foot turns with the tibia, about the shank's long axis, so a point on the
    forefoot circles a centre on that axis, level with it at a 90° knee. In the picture
    the axis is the knee→ankle line; extended below the ankle to the toe's height it
    gives the pivot for :func:`foot_turn_tracked`. The ankle alone misses it when the
    shank's image leans (a knee bent to 70° or 110° filmed from 10–15° round).

    On 16 rendered twists (MediaPipe's still-start landmarks), its offset across the
    picture from the centre the tracked toe really turned about (fitted to the truth)
    was 0.11 of the toe's turning radius (sd; at most 0.28), against 0.13 for the ankle
    and 0.15 for the ankle–heel midpoint; 0.10 against 0.14 on the three rendered after
    it was chosen. An offset ``c`` reads ``asin(sin φ + c / a)`` for ``φ``: 0.3 of the
    radius added 7.7° to a 29° external rotation.

    Parameters
    ----------
    knee, ankle, toe : array_like, shape (..., 2)
        Image points of one leg, the foot pointing ahead (the still start's medians).

    Returns
    -------
    ndarray, shape (..., 2)
        The pivot, at the toe's image height; NaN where the shank's image is level.

    Examples
    --------
    A shank leaning 10 px across over its 200 px, the toe 40 px below the ankle:

    >>> foot_turn_pivot(knee=(100, 0), ankle=(110, 200), toe=(90, 240)).tolist()
    [112.0, 240.0]
    """
    knee, ankle, toe = map(_arr, (knee, ankle, toe))
    _check_dims(knee, ankle, toe)
    if knee.shape[-1] != 2:
        raise ValueError("foot_turn_pivot takes image (2-D) points")
    drop = ankle[..., 1] - knee[..., 1]
    with np.errstate(invalid="ignore", divide="ignore"):
        lean = np.where(drop != 0, (ankle[..., 0] - knee[..., 0]) / drop, np.nan)
    x = ankle[..., 0] + lean * (toe[..., 1] - ankle[..., 1])
    return np.stack([x, np.where(np.isfinite(x), toe[..., 1], np.nan)], axis=-1)
