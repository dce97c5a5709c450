"""The forefoot followed by its pixels: the seated twist test's toe point, seen from the front.

MediaPipe's toe and heel stop following a foot turned outward by more than about
20° (the heel hides behind the shank; on rendered twists a true 28° of external
rotation read 18°). The pixels still show the turn: corner features of the forefoot,
seeded in the still start inside the person's segmentation mask and followed by
pyramidal Lucas–Kanade optical flow, carry the neutral toe point with the foot.

Three seed discs (at the toe, and 15% and 30% of the way back to the ankle) are
followed independently: each step fits a rotation and a translation (RANSAC, no
scale) to the features that pass a forward–backward check, and moves the carried
point with it. A frame's toe is the mean of the discs that agree (within 6% of the
foot's image length of their median); its confidence is the share that agree. A
disc that loses its features stays lost: the caller falls back to the landmark
estimate there.

Frames are streamed once; only the still start before the seed frame is kept (it is
tracked backwards from the seed frame). Measured on 9 rendered front-view twist clips
(18 legs) with :func:`kneevision.kinematics.angles.foot_turn_tracked`: IR, ER and total
range within 0.6 / 1.0 / 1.2° (median), 2.3 / 3.4 / 4.8° (p95), against 1.6 / 3.2 / 3.3°
and 4.7 / 9.1 / 7.6° from the landmarks (README, seated twist).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray

from kneevision.pose.model import ModelFile
from kneevision.pose.sequence import INDEX

FloatArray = NDArray[np.float64]

#: Where the seed discs sit: fractions of the way from the neutral toe back to the ankle.
SEED_CENTRES = (0.0, 0.15, 0.3)
#: Seed disc radius, as a fraction of the neutral ankle→toe image length.
SEED_RADIUS = 0.5
#: A disc needs this many corner features (the corner threshold is lowered until it has).
MIN_SEEDS = 8
#: Fewer surviving features than this and a disc is lost.
MIN_FEATURES = 4
#: Forward–backward check and RANSAC inlier threshold, pixels.
FB_PX, RANSAC_PX = 1.0, 1.0
#: Discs agree when within this fraction of the foot's image length of their median.
AGREE = 0.06
_LK = {
    "winSize": (15, 15),
    "maxLevel": 3,
    "criteria": (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 30, 0.01),
}
_SIDES = ("left", "right")


@dataclass(frozen=True)
class ForefootTrack:
    """One foot's toe point as its pixels carried it.

    Attributes
    ----------
    toe : ndarray (T, 2)
        The neutral toe point carried with the forefoot, square pixels like the
        image landmarks; NaN where every seed disc was lost.
    confidence : ndarray (T,)
        Share of the seed discs that agree on it (0 where lost).
    """

    toe: FloatArray
    confidence: FloatArray


def person_mask(image_bgr: np.ndarray, model: ModelFile) -> NDArray[np.uint8] | None:
    """The person's segmentation mask (255 inside) of one frame, from the pose model.

    One landmarker call in IMAGE mode with ``output_segmentation_masks``; None when no
    person is found.
    """
    from kneevision.pose.landmarker import _import_mediapipe, _quiet

    mp, base_options, vision = _import_mediapipe()
    options = vision.PoseLandmarkerOptions(
        base_options=base_options(model_asset_path=str(model.path)),
        running_mode=vision.RunningMode.IMAGE,
        num_poses=1,
        output_segmentation_masks=True,
    )
    rgb = np.ascontiguousarray(cv2.cvtColor(image_bgr, cv2.COLOR_BGR2RGB))
    with _quiet(), vision.PoseLandmarker.create_from_options(options) as landmarker:
        result = landmarker.detect(mp.Image(image_format=mp.ImageFormat.SRGB, data=rgb))
    if not result.segmentation_masks:
        return None
    mask = result.segmentation_masks[0].numpy_view().squeeze()
    return np.where(mask > 0.5, 255, 0).astype(np.uint8)


def _corners(gray: np.ndarray, region: np.ndarray) -> np.ndarray:
    """Corner features inside ``region``, the threshold lowered until there are enough."""
    pts = None
    for quality in (0.01, 0.002, 0.0004):
        pts = cv2.goodFeaturesToTrack(
            gray, maxCorners=150, qualityLevel=quality, minDistance=3, mask=region, blockSize=5
        )
        if pts is not None and len(pts) >= MIN_SEEDS:
            break
    return np.zeros((0, 1, 2), np.float32) if pts is None else pts.astype(np.float32)


class _Disc:
    """One seed disc's features, carrying a point from frame to frame."""

    def __init__(self, gray: np.ndarray, features: np.ndarray, point: np.ndarray) -> None:
        self.features, self.point, self.previous = features, point.astype(float), gray
        self.alive = len(features) >= MIN_FEATURES

    def copy(self) -> _Disc:
        other = _Disc(self.previous, self.features.copy(), self.point.copy())
        other.alive = self.alive
        return other

    def step(self, gray: np.ndarray) -> np.ndarray | None:
        """The carried point in ``gray`` (None once lost)."""
        if not self.alive:
            return None
        p = self.features
        q, ok1, _ = cv2.calcOpticalFlowPyrLK(self.previous, gray, p, None, **_LK)
        back, ok2, _ = cv2.calcOpticalFlowPyrLK(gray, self.previous, q, None, **_LK)
        ok = (
            (ok1[:, 0] == 1) & (ok2[:, 0] == 1) & (np.linalg.norm((back - p)[:, 0], axis=1) < FB_PX)
        )
        fit = None
        if ok.sum() >= MIN_FEATURES:
            fit, inliers = cv2.estimateAffinePartial2D(
                p[ok], q[ok], method=cv2.RANSAC, ransacReprojThreshold=RANSAC_PX
            )
        if fit is None or inliers[:, 0].sum() < MIN_FEATURES:
            self.alive = False
            return None
        inliers = inliers[:, 0] == 1
        # Rotation and translation only: the foot does not grow; a fitted scale let the
        # carried point overshoot at large turns.
        scale = np.sqrt(abs(np.linalg.det(fit[:, :2])))
        rot = fit[:, :2] / scale
        centre = p[ok][inliers, 0].mean(axis=0)
        shift = fit[:, :2] @ centre + fit[:, 2] - rot @ centre
        self.point = rot @ self.point + shift
        self.features, self.previous = q[np.flatnonzero(ok)[inliers]], gray
        return self.point.copy()


def _discs(
    gray: np.ndarray, toe: np.ndarray, ankle: np.ndarray, mask: np.ndarray | None
) -> list[_Disc]:
    foot = float(np.linalg.norm(toe - ankle))
    discs = []
    for f in SEED_CENTRES:
        c = toe + f * (ankle - toe)
        region = np.zeros(gray.shape, np.uint8)
        cv2.circle(region, (round(c[0]), round(c[1])), max(2, round(SEED_RADIUS * foot)), 255, -1)
        region[: max(0, int(ankle[1])), :] = 0  # the foot is below the ankle
        if mask is not None:
            region &= mask  # no floor texture: it would stay put while the foot turns
        discs.append(_Disc(gray, _corners(gray, region), toe))
    return discs


def track_forefeet(
    frames: Iterable[np.ndarray],
    image: FloatArray,
    still: slice,
    *,
    mask_model: ModelFile | None = None,
    pixel_aspect: float = 1.0,
) -> dict[str, ForefootTrack]:
    """Follow both forefeet through a clip.

    Parameters
    ----------
    frames : iterable of ndarray (H, W, 3) BGR
        The clip's upright frames, one per row of ``image``.
    image : ndarray (T, 33, 2)
        Image landmarks of the same frames (square pixels): they place the seeds.
    still : slice
        Frames of the still start (the foot pointing ahead); the seed frame is its
        middle.
    mask_model : ModelFile, optional
        The pose model, for the person mask of the seed frame (:func:`person_mask`);
        None seeds without it.
    pixel_aspect : float
        The clip's pixel aspect (landmark x = frame x × aspect).

    Returns
    -------
    dict
        ``"left"`` and ``"right"`` → :class:`ForefootTrack` (T rows).
    """
    n = len(image)
    idx = np.arange(n)[still]
    if idx.size == 0:
        raise ValueError("the still start has no frames")
    seed = int(idx[len(idx) // 2])
    scale = np.array([1.0 / pixel_aspect, 1.0])
    neutral = {
        s: {
            j: np.nanmedian(image[idx, INDEX[f"{s}_{j}"]], axis=0) * scale
            for j in ("foot_index", "ankle")
        }
        for s in _SIDES
    }
    points = np.full((n, len(_SIDES), len(SEED_CENTRES), 2), np.nan)
    before: list[np.ndarray] = []
    discs: dict[str, list[_Disc]] = {}
    i = -1
    for i, frame in enumerate(frames):
        if i >= n:
            break
        gray = frame if frame.ndim == 2 else cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
        if i < seed:
            before.append(gray)
            continue
        if i == seed:
            mask = person_mask(frame, mask_model) if mask_model is not None else None
            for k, s in enumerate(_SIDES):
                toe, ankle = neutral[s]["foot_index"], neutral[s]["ankle"]
                if not (np.isfinite(toe).all() and np.isfinite(ankle).all()):
                    discs[s] = []
                    continue
                discs[s] = _discs(gray, toe, ankle, mask)
                for m, d in enumerate(discs[s]):
                    if d.alive:  # the seed frame's toe is the neutral toe, where tracked
                        points[i, k, m] = toe
                backward = [d.copy() for d in discs[s]]
                for j in range(seed - 1, -1, -1):  # the still start, back from the seed
                    for m, d in enumerate(backward):
                        p = d.step(before[j])
                        if p is not None:
                            points[j, k, m] = p
            before = []
            continue
        for k, s in enumerate(_SIDES):
            for m, d in enumerate(discs.get(s, [])):
                p = d.step(gray)
                if p is not None:
                    points[i, k, m] = p
    out = {}
    for k, s in enumerate(_SIDES):
        p = points[:, k]
        with np.errstate(invalid="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN frames: lost
            median = np.nanmedian(p, axis=1)
            foot = np.linalg.norm(neutral[s]["foot_index"] - neutral[s]["ankle"])
            agree = np.linalg.norm(p - median[:, None], axis=-1) < AGREE * foot
            toe = np.nanmean(np.where(agree[..., None], p, np.nan), axis=1)
        out[s] = ForefootTrack(toe / scale, agree.sum(axis=1) / len(SEED_CENTRES))
    return out


__all__ = ["ForefootTrack", "person_mask", "track_forefeet"]
