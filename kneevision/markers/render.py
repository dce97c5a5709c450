"""Synthetic marker footage with known poses (the ground truth for the marker mode).

Real marker images (with their white quiet zone) are warped onto planes at known
3-D poses through a known pinhole camera, then degraded like phone video: blur,
lighting change, sensor noise, JPEG compression. :func:`twist_sequence` moves a
shin marker like a seated twist test under a still thigh marker.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray

from kneevision.markers.core import marker_image

FloatArray = NDArray[np.float64]

#: Rendering is done this many times finer per axis, then block-averaged. At 4 the
#: averaging left corner biases of about 0.01 px that changed with the marker's angle:
#: enough, on a 30 px marker seen square-on, for 2° of error in a render with no noise
#: at all (8: 0.4° p95).
SUPERSAMPLE = 8

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
    """A marker at a pose: id, side length (m), rotation marker → camera, position (m).

    With ``texture`` (a grey image) and ``extent_m`` (its width, height), that
    picture is placed instead of marker ``marker_id``, e.g. a calibration board.
    """

    marker_id: int
    size_m: float
    rotation: FloatArray
    position: FloatArray
    texture: np.ndarray | None = None
    extent_m: tuple[float, float] | None = None

    def picture(self, px: int = 240) -> tuple[np.ndarray, float, float]:
        """The grey image to warp and its half width and half height in metres.

        ``px`` is the side of the marker's black square in the texture (a multiple of
        6, so that every module has the same whole number of texels).
        """
        if self.texture is not None and self.extent_m is not None:
            return self.texture, self.extent_m[0] / 2, self.extent_m[1] / 2
        canvas = _marker_canvas(self.marker_id, px)
        half = self.size_m / 2 * canvas.shape[0] / px
        return canvas, half, half


@functools.lru_cache(maxsize=32)
def _marker_canvas(marker_id: int, px: int) -> np.ndarray:
    """The marker with one module of white around it, as printed (made once per size)."""
    quiet = px // 6
    canvas = np.full((px + 2 * quiet, px + 2 * quiet), 255, np.uint8)
    canvas[quiet : quiet + px, quiet : quiet + px] = marker_image(marker_id, px)
    canvas.flags.writeable = False  # shared between frames
    return canvas


def _texture_px(m: Placed, camera: FloatArray) -> int:
    """Marker texture side (px) with at least two texels per supersampled pixel."""
    depth = max(float(m.position[2]), 1e-3)
    fine_px = SUPERSAMPLE * camera[0, 0] * m.size_m / depth * 1.5  # 1.5: foreshortening slack
    return 6 * max(40, math.ceil(2 * fine_px / 6))


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
        canvas, hw, hh = m.picture(_texture_px(m, camera))
        corners3d = np.array([[-hw, hh, 0], [hw, hh, 0], [hw, -hh, 0], [-hw, -hh, 0]])
        cam = corners3d @ m.rotation.T + m.position
        img = (cam @ camera.T)[:, :2] / (cam @ camera.T)[:, 2:]
        # Warp into the marker's bounding box only (whole-frame warps are slow).
        x0, y0 = np.floor(img.min(axis=0)).astype(int) - 2
        x1, y1 = np.ceil(img.max(axis=0)).astype(int) + 2
        x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)
        if x1 <= x0 or y1 <= y0:
            continue
        # A camera pixel integrates light over its area: render SUPERSAMPLE× finer and
        # average blocks, from a texture pre-shrunk to about twice that (no aliasing).
        hi_side = SUPERSAMPLE * float(np.max(np.linalg.norm(img - np.roll(img, 1, axis=0), axis=1)))
        shrink = min(1.0, 2 * hi_side / max(canvas.shape))
        if shrink < 1.0:
            canvas = cv2.resize(canvas, None, fx=shrink, fy=shrink, interpolation=cv2.INTER_AREA)
        ch, cw = canvas.shape
        src = np.array([[-0.5, -0.5], [cw - 0.5, -0.5], [cw - 0.5, ch - 0.5], [-0.5, ch - 0.5]],
                       dtype=np.float32)  # fmt: skip
        dst = (img - [x0, y0] + 0.5) * SUPERSAMPLE - 0.5  # pixel centres, fine grid
        hom = cv2.getPerspectiveTransform(src, dst.astype(np.float32))
        box = ((x1 - x0) * SUPERSAMPLE, (y1 - y0) * SUPERSAMPLE)
        paper = cv2.warpPerspective(canvas.astype(np.float32), hom, box, flags=cv2.INTER_LINEAR)
        cover = cv2.warpPerspective(np.ones_like(canvas, np.float32), hom, box,
                                    flags=cv2.INTER_LINEAR)  # fmt: skip
        down = (x1 - x0, y1 - y0)
        paper = cv2.resize(paper, down, interpolation=cv2.INTER_AREA)
        alpha = cv2.resize(cover, down, interpolation=cv2.INTER_AREA)[..., None]
        roi = frame[y0:y1, x0:x1]
        ink = (paper * 0.92 + 10)[..., None]  # paper is not pure white
        frame[y0:y1, x0:x1] = roi * (1 - alpha) + ink * alpha
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
    lever_m: float = 0.03,
) -> list[list[Placed]]:
    """Per frame: the shin marker turned by the true tibial rotation, the thigh marker still.

    Internal rotation (positive) turns the front of the shin toward the midline:
    about the body's up axis by +θ for the right leg and −θ for the left. The
    shin marker turns about the tibia's long axis, ``lever_m`` behind it, so it
    also moves sideways, as taped on a real shin.
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
    axis_point = np.array([x, 0.06, distance_m + lever_m])  # the camera looks at the front
    for a in angles_deg:
        turn = FACING @ rot_y(sign * a)
        shin = Placed(shin_id, size_m, turn, axis_point + turn @ [0, 0, lever_m])
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


def board_views(
    camera: FloatArray,
    size: tuple[int, int],
    n: int = 16,
    *,
    square_mm: float = 30.0,
    seed: int = 0,
) -> list[np.ndarray]:
    """Frames of the printed calibration board, tilted every way, 0.45–0.7 m from the camera."""
    from kneevision.markers.calibration import BOARD_SQUARES, board_image

    rng = np.random.default_rng(seed)
    cols, rows = BOARD_SQUARES
    texture = board_image(square_mm)
    extent = (cols * square_mm / 1000, rows * square_mm / 1000)
    frames = []
    for _ in range(n):
        rotation = FACING @ rot_x(rng.uniform(-35, 35)) @ rot_y(rng.uniform(-35, 35))
        position = np.array(
            [rng.uniform(-0.08, 0.08), rng.uniform(-0.04, 0.04), rng.uniform(0.45, 0.7)]
        )
        board = Placed(-1, 0.0, rotation, position, texture, extent)
        frames.append(
            render([board], camera, size, rng=rng, blur_px=0.5, noise=2.0, jpeg_quality=90)
        )
    return frames
