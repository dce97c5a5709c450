"""Printed ArUco markers (as ``kneevision markers print`` makes them) on the skin.

Each is a flat card, the marker with its one-module white border, taped upright
on the front of the segment (its top toward the hip): the shin card just below
the tibial tuberosity, the thigh card above the knee. The card moves rigidly with
its bone, a few millimetres proud of the skin, so marker mode can be checked end to
end on a rendered body. Ids and axes follow :mod:`kneevision.markers.core`.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from numpy.typing import ArrayLike, NDArray

from kneevision.digital_human.assets import SEGMENT_NAMES
from kneevision.digital_human.body import PosedBody, RestBody
from kneevision.digital_human.render import Mesh, PhoneCamera
from kneevision.markers.calibration import Intrinsics
from kneevision.markers.core import MARKER_IDS, marker_image

FloatArray = NDArray[np.float64]
#: Where each card's centre sits, metres along the segment from the knee joint centre.
BELOW_KNEE_M = 0.075
ABOVE_KNEE_M = 0.13
PROUD_M = 0.004


@lru_cache(maxsize=8)
def _texture(marker_id: int, px: int = 360) -> NDArray[np.uint8]:
    quiet = px // 6
    canvas = np.full((px + 2 * quiet, px + 2 * quiet), 255, np.uint8)
    canvas[quiet : quiet + px, quiet : quiet + px] = marker_image(marker_id, px)
    canvas.flags.writeable = False
    return canvas


_CARDS: dict[object, dict[int, tuple[str, FloatArray, FloatArray]]] = {}


def _rest_cards(rest: RestBody) -> dict[int, tuple[str, FloatArray, FloatArray]]:
    """Marker id → (segment, card centre, card axes as columns x, y, z) in the rest pose."""
    if rest.shape in _CARDS:
        return _CARDS[rest.shape]
    cards = {}
    for mid, (side, part) in MARKER_IDS.items():
        s = "L" if side == "left" else "R"
        seg = f"{'shank' if part == 'shin' else 'thigh'}.{s}"
        origin, frame = rest.frames[seg]
        axis = frame[:, 0]  # shank: proximal; thigh: distal
        knee = rest.joints[f"knee.{s}"]
        up = axis if part == "shin" else -axis
        centre_axis = knee - BELOW_KNEE_M * up if part == "shin" else knee + ABOVE_KNEE_M * up
        anterior = frame[:, 1]
        v = rest.vertices[rest.weights[:, SEGMENT_NAMES.index(seg)] > 0.5]
        # Skin in front of the bone at that level: the farthest point forward in a thin slab.
        rel = v - centre_axis
        along = rel @ up
        side_off = rel - np.outer(rel @ up, up) - np.outer(rel @ anterior, anterior)
        near = (np.abs(along) < 0.012) & (np.linalg.norm(side_off, axis=1) < 0.02)
        depth = float((rel[near] @ anterior).max()) if near.any() else 0.05
        centre = centre_axis + (depth + PROUD_M) * anterior
        x = np.array([1.0, 0.0, 0.0])  # the person's left
        x = x - (x @ up) * up - (x @ anterior) * anterior
        x /= np.linalg.norm(x)
        cards[mid] = (seg, centre, np.stack([x, up, anterior], axis=-1))
        del origin
    _CARDS[rest.shape] = cards
    return cards


def marker_meshes(rest: RestBody, posed: PosedBody, size_mm: float | None) -> tuple[Mesh, ...]:
    """The four marker cards in this pose (none when ``size_mm`` is None)."""
    if not size_mm:
        return ()
    half = size_mm / 1000 * (1 + 2 / 6) / 2  # the printed border is one module wide
    out = []
    for mid, (seg, centre, axes) in _rest_cards(rest).items():
        o_rest = rest.frames[seg][0]
        r, o = posed.rotations[seg], posed.origins[seg]
        c = o + r @ (centre - o_rest)
        ax = r @ axes
        x, y = ax[:, 0], ax[:, 1]
        # Corners: top-left, top-right, bottom-right, bottom-left as printed (top = up).
        corners = np.stack([c - half * x + half * y, c + half * x + half * y,
                            c + half * x - half * y, c - half * x - half * y])  # fmt: skip
        uv = np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]])
        # Wound counter-clockwise seen from the front (out of the skin, +z).
        faces = np.array([[0, 3, 2], [0, 2, 1]])
        if np.dot(np.cross(corners[3] - corners[0], corners[2] - corners[0]), ax[:, 2]) < 0:
            faces = faces[:, ::-1]
        out.append(Mesh(corners, faces, uv=uv, texture=_texture(mid)))
    return tuple(out)


def true_marker_axes(rest: RestBody, posed: PosedBody) -> dict[int, FloatArray]:
    """Each card's axes (columns x left, y up, z out) in the world, for checks."""
    return {mid: posed.rotations[seg] @ axes for mid, (seg, _c, axes) in _rest_cards(rest).items()}


def render_intrinsics(camera: PhoneCamera) -> Intrinsics:
    """The render's exact pinhole camera as ``kneevision markers calibrate`` would write it.

    The renderer puts the principal point at the frame's centre with pixel ``i``
    covering ``[i, i+1)``; OpenCV puts pixel centres on integers, so the centre is
    at ``(width − 1) / 2``. No distortion.

    Parameters
    ----------
    camera : PhoneCamera
        The camera the clip was rendered with.

    Returns
    -------
    Intrinsics
        Save it with :meth:`~kneevision.markers.calibration.Intrinsics.save` and pass
        it to ``kneevision analyze --intrinsics``.
    """
    f = float(camera.focal_px)
    cx, cy = (camera.width - 1) / 2, (camera.height - 1) / 2
    return Intrinsics(
        width=camera.width,
        height=camera.height,
        camera_matrix=[[f, 0.0, cx], [0.0, f, cy], [0.0, 0.0, 1.0]],
        dist_coeffs=[0.0] * 5,
        rms_px=0.0,
        views=0,
        square_mm=0.0,
        source="digital human render (exact)",
    )


def rotation_errors(time_s: ArrayLike, measured: ArrayLike, truth: ArrayLike) -> FloatArray:
    """Per-frame error of a tibial rotation series, both taken from their own neutral.

    The marker track starts from an arbitrary zero (its first frame with both
    markers) and the seated twist protocol reports rotation from the neutral of
    the still start (:func:`~kneevision.protocols.seated_twist.neutral`); the
    truth (``<side>_shank_rotation_deg``) is referred to its neutral the same way.

    Parameters
    ----------
    time_s, measured, truth : array_like, shape (T,)
        Frame times, the measured series (NaN where missing) and the true one.

    Returns
    -------
    ndarray, shape (T,)
        ``(measured − neutral) − (truth − neutral)``, degrees; NaN where either is.
    """
    from kneevision.protocols.seated_twist import neutral

    t = np.asarray(time_s, dtype=float)
    m = np.asarray(measured, dtype=float)
    g = np.asarray(truth, dtype=float)
    m0, _ = neutral(t, m)
    g0, _ = neutral(t, g)
    return (m - m0) - (g - g0)
