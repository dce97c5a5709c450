"""Draw the lower-body skeleton and live knee angles on a video frame."""

from __future__ import annotations

import cv2
import numpy as np

from kneevision.kinematics.landmarks import FACE, JOINTS, SIDES
from kneevision.style import SIDE_BGR, WARNING_BGR

_BONES = (("hip", "knee"), ("knee", "ankle"), ("ankle", "heel"), ("heel", "toe"), ("ankle", "toe"))


def _pt(p: np.ndarray) -> tuple[int, int] | None:
    return (round(float(p[0])), round(float(p[1]))) if np.isfinite(p).all() else None


def draw_overlay(
    image: np.ndarray,
    points: np.ndarray,
    labels: dict[str, list[str]] | None = None,
    warn: dict[str, bool] | None = None,
    pixel_aspect: float = 1.0,
    header: str | None = None,
) -> np.ndarray:
    """Draw hips, knees, ankles and feet per side, with angle labels, in place.

    Parameters
    ----------
    image : ndarray (H, W, 3) BGR
        Frame to draw on (modified and returned).
    points : ndarray (33, 2)
        Image landmarks in square pixels (divided by ``pixel_aspect`` to draw).
    labels : dict side → list of str
        Lines of text drawn beside each knee.
    warn : dict side → bool
        Draw that side's shank in the warning colour (e.g. valgus past threshold).
    header : str, optional
        A line of text at the top left.
    """
    h, w = image.shape[:2]
    scale = max(1.0, min(h, w) / 720.0)
    thick = max(2, round(3 * scale))
    pts = points.astype(float).copy()
    pts[:, 0] /= pixel_aspect
    hips = [_pt(pts[JOINTS["hip"][s]]) for s in SIDES]
    if all(hips):
        cv2.line(image, hips[0], hips[1], (230, 230, 230), thick, cv2.LINE_AA)
    for side in SIDES:
        color = SIDE_BGR[side]
        for a, b in _BONES:
            pa, pb = _pt(pts[JOINTS[a][side]]), _pt(pts[JOINTS[b][side]])
            if pa and pb:
                c = WARNING_BGR if (warn or {}).get(side) and a == "knee" else color
                cv2.line(image, pa, pb, c, thick, cv2.LINE_AA)
        for name in ("hip", "knee", "ankle", "heel", "toe"):
            p = _pt(pts[JOINTS[name][side]])
            if p:
                cv2.circle(image, p, thick + 2, color, -1, cv2.LINE_AA)
                cv2.circle(image, p, thick + 2, (255, 255, 255), 1, cv2.LINE_AA)
        knee = _pt(pts[JOINTS["knee"][side]])
        lines = (labels or {}).get(side, [])
        if knee and lines:
            # Person's left is usually image right (facing the camera): label outward.
            other_knee = _pt(pts[JOINTS["knee"]["right" if side == "left" else "left"]])
            outward = 1 if other_knee is None or knee[0] >= other_knee[0] else -1
            _text_block(image, lines, knee, outward, color, scale)
    if header:
        _text_block(
            image,
            [header],
            (int(10 * scale), int(10 * scale)),
            1,
            (40, 40, 40),
            scale,
            anchor_left=True,
        )
    return image


def _text_block(
    image: np.ndarray,
    lines: list[str],
    anchor: tuple[int, int],
    direction: int,
    color: tuple[int, int, int],
    scale: float,
    anchor_left: bool = False,
) -> None:
    font, fs, th = cv2.FONT_HERSHEY_SIMPLEX, 0.6 * scale, max(1, round(1.5 * scale))
    sizes = [cv2.getTextSize(t, font, fs, th)[0] for t in lines]
    bw = max(s[0] for s in sizes) + int(12 * scale)
    lh = max(s[1] for s in sizes) + int(10 * scale)
    bh = lh * len(lines) + int(6 * scale)
    x, y = anchor
    if not anchor_left:
        x = x + int(20 * scale) if direction > 0 else x - int(20 * scale) - bw
        y = y - bh // 2
    hgt, wid = image.shape[:2]
    x = int(np.clip(x, 0, max(0, wid - bw)))
    y = int(np.clip(y, 0, max(0, hgt - bh)))
    roi = image[y : y + bh, x : x + bw]
    # In place, in OpenCV: a third of the float64 arithmetic's time, per label, per frame.
    cv2.addWeighted(roi, 0.35, np.full_like(roi, color), 0.65, 0.0, dst=roi)
    for i, t in enumerate(lines):
        cv2.putText(
            image,
            t,
            (x + int(6 * scale), y + lh * (i + 1)),
            font,
            fs,
            (255, 255, 255),
            th,
            cv2.LINE_AA,
        )


def blur_face(image: np.ndarray, points: np.ndarray, pixel_aspect: float = 1.0) -> np.ndarray:
    """Blur the face (landmarks 0–10, box enlarged to cover the head) in place.

    Parameters
    ----------
    image : ndarray (H, W, 3)
    points : ndarray (33, 2)
        Image landmarks in square pixels of this image.
    """
    face = points[FACE].astype(float).copy()
    face[:, 0] /= pixel_aspect
    face = face[np.isfinite(face).all(axis=1)]
    if face.size == 0:
        return image
    (x0, y0), (x1, y1) = face.min(axis=0), face.max(axis=0)
    size = max(x1 - x0, y1 - y0, 8.0)
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    half = 1.2 * size  # the landmarks span eyes to mouth; the head is about twice that
    h, w = image.shape[:2]
    a, b = max(0, int(cx - half)), min(w, int(cx + half))
    c, d = max(0, int(cy - 1.3 * half)), min(h, int(cy + half))
    if b > a and d > c:
        region = image[c:d, a:b]
        k = max(3, (max(b - a, d - c) // 3) | 1)
        image[c:d, a:b] = cv2.GaussianBlur(region, (k, k), 0)
    return image
