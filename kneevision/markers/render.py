"""Synthetic marker footage with known poses (the ground truth for the marker mode).

Real marker images (with their white quiet zone) are warped onto planes at known
3-D poses through a known pinhole camera, then degraded like phone video: blur,
lighting change, sensor noise, JPEG compression. :func:`twist_sequence` moves a
shin marker like a seated twist test under a still thigh marker.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray

from kneevision.markers.core import marker_image

FloatArray = NDArray[np.float64]

#: Body frame (x left, y up, z anterior) → camera frame (x right, y down, z forward) for a
#: person facing the camera.
FACING = np.array([[1.0, 0, 0], [0, -1.0, 0], [0, 0, -1.0]])


def rot_x(deg: float) -> FloatArray:
    """Rotation about x by ``deg``."""
    c, s = np.cos(np.radians(deg)), np.sin(np.radians(deg))
    return np.array([[1, 0, 0], [0, c, -s], [0, s, c]])


def rot_y(deg: float) -> FloatArray:
    """Rotation about y by ``deg``."""
    c, s = np.cos(np.radians(deg)), np.sin(np.radians(deg))
    return np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]])


def camera_matrix(focal_px: float, width: int, height: int) -> FloatArray:
    """Pinhole intrinsics with the principal point at the centre."""
    return np.array([[focal_px, 0, width / 2], [0, focal_px, height / 2], [0, 0, 1.0]])


@dataclass(frozen=True)
class Placed:
    """A marker at a pose: id, side length (m), rotation marker → camera, position (m)."""

    marker_id: int
    size_m: float
    rotation: FloatArray
    position: FloatArray


def render(
    placed: list[Placed],
    camera: FloatArray,
    size: tuple[int, int],
    *,
    rng: np.random.Generator | None = None,
    blur_px: float = 0.0,
    noise: float = 0.0,
    jpeg_quality: int | None = None,
    gain: float = 1.0,
) -> np.ndarray:
    """A BGR frame showing the markers on a textured background."""
    rng = rng or np.random.default_rng(0)
    w, h = size
    base = rng.normal(0, 1, (h // 16 + 1, w // 16 + 1)).astype(np.float32)
    bg = cv2.resize(base, (w, h), interpolation=cv2.INTER_CUBIC)
    frame = np.clip(150 + 25 * bg, 0, 255)
    frame = np.repeat(frame[..., None], 3, axis=2).astype(np.float32)
    for m in placed:
        px = 240
        quiet = px // 6  # one module of white around the marker, as printed
        canvas = np.full((px + 2 * quiet, px + 2 * quiet), 255, np.uint8)
        canvas[quiet : quiet + px, quiet : quiet + px] = marker_image(m.marker_id, px)
        half = m.size_m / 2 * (px + 2 * quiet) / px
        corners3d = np.array(
            [[-half, half, 0], [half, half, 0], [half, -half, 0], [-half, -half, 0]]
        )
        cam = corners3d @ m.rotation.T + m.position
        img = (cam @ camera.T)[:, :2] / (cam @ camera.T)[:, 2:]
        src = np.array([[0, 0], [canvas.shape[1], 0], [canvas.shape[1], canvas.shape[0]],
                        [0, canvas.shape[0]]], dtype=np.float32)  # fmt: skip
        # Warp into the marker's bounding box only (whole-frame warps are slow).
        x0, y0 = np.floor(img.min(axis=0)).astype(int) - 2
        x1, y1 = np.ceil(img.max(axis=0)).astype(int) + 2
        x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)
        if x1 <= x0 or y1 <= y0:
            continue
        hom = cv2.getPerspectiveTransform(src, (img - [x0, y0]).astype(np.float32))
        box = (x1 - x0, y1 - y0)
        warped = cv2.warpPerspective(canvas, hom, box, flags=cv2.INTER_AREA)
        mask = cv2.warpPerspective(np.full_like(canvas, 255), hom, box) > 127
        roi = frame[y0:y1, x0:x1]
        roi[mask] = warped[mask, None].astype(np.float32) * 0.92 + 10  # paper is not pure white
    frame = frame * gain
    if blur_px > 0:
        frame = cv2.GaussianBlur(frame, (0, 0), blur_px)
    if noise > 0:
        frame = frame + rng.normal(0, noise, frame.shape)
    out = np.clip(frame, 0, 255).astype(np.uint8)
    if jpeg_quality:
        _, buf = cv2.imencode(".jpg", out, [cv2.IMWRITE_JPEG_QUALITY, jpeg_quality])
        out = cv2.imdecode(buf, cv2.IMREAD_COLOR)
    return out


def twist_sequence(
    angles_deg: FloatArray,
    *,
    side: str = "right",
    size_m: float = 0.04,
    distance_m: float = 1.0,
    thigh_tilt_deg: float = -55.0,
) -> list[list[Placed]]:
    """Per frame: the shin marker turned by the true tibial rotation, the thigh marker still.

    Internal rotation (positive) turns the front of the shin toward the midline:
    about the body's up axis by +θ for the right leg and −θ for the left.
    """
    shin_id, thigh_id = (2, 3) if side == "right" else (0, 1)
    x = -0.12 if side == "right" else 0.12  # the person's right is the camera's left
    sign = 1.0 if side == "right" else -1.0
    thigh = Placed(
        thigh_id,
        size_m,
        FACING @ rot_x(thigh_tilt_deg),  # on top of the thigh: faces up and forward
        np.array([x, -0.09, distance_m + 0.05]),
    )
    frames = []
    for a in angles_deg:
        shin = Placed(shin_id, size_m, FACING @ rot_y(sign * a), np.array([x, 0.06, distance_m]))
        frames.append([shin, thigh])
    return frames


def twist_angles(fps: float = 30.0) -> FloatArray:
    """A seated twist: 0.5 s still, then 0 → +40 → −40 → 0 degrees over 3 s."""
    n = int(fps)
    return np.concatenate(
        [
            np.zeros(n // 2),
            np.linspace(0, 40, n),
            np.linspace(40, -40, 2 * n),
            np.linspace(-40, 0, n),
        ]
    )


def measure_twist_error(
    size_m: float,
    distance_m: float,
    *,
    side: str = "right",
    width: int = 1920,
    height: int = 1080,
    focal_px: float = 1500.0,
    analysis_focal_px: float | None = None,
    seed: int = 0,
) -> tuple[FloatArray, FloatArray, float]:
    """Render a marker twist with random blur, noise, JPEG and lighting; measure it back.

    Returns
    -------
    (truth, error, seen)
        True rotation per frame (deg), measured − true (NaN where not measured,
        neutral from the still start), and the share of frames with both markers.
    """
    from kneevision.markers.analysis import SHIN, THIGH, track
    from kneevision.video.source import Frame

    rng = np.random.default_rng(seed)
    truth = twist_angles()
    camera = camera_matrix(focal_px, width, height)
    frames = [
        Frame(
            i,
            i / 30.0,
            render(
                placed,
                camera,
                (width, height),
                rng=rng,
                blur_px=rng.uniform(0.3, 1.0),
                noise=rng.uniform(1, 4),
                jpeg_quality=int(rng.integers(60, 95)),
                gain=rng.uniform(0.7, 1.2),
            ),
        )
        for i, placed in enumerate(
            twist_sequence(truth, side=side, size_m=size_m, distance_m=distance_m)
        )
    ]
    used = camera_matrix(analysis_focal_px or focal_px, width, height)
    tr = track(frames, size_m, used)
    measured = tr.rotation[side]
    still = measured[:15]
    neutral = np.nanmedian(still) if np.isfinite(still).any() else np.nan
    seen = float((tr.seen[SHIN[side]] & tr.seen[THIGH[side]]).mean())
    return truth, measured - neutral - truth, seen
