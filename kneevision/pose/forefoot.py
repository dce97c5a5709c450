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

One tracker, :class:`ForefootFollower`, serves a clip (:func:`track_forefeet`: frames
streamed once; only the still start before the seed frame is kept, and tracked
backwards from it) and the live guided twist test (seeded at calibration, stepped as
frames arrive). All discs of both feet move in one forward and one backward
optical-flow call a frame (the same points as a call per disc, at less cost).

The tracked toe follows the foot: fitted to the truth on 16 rendered twists, it moved as
``K sin(φ0 + Δθ) + c`` within 0.4 px rms (``benchmarks/twist_estimators.py --diagnose``),
though on the leg farther from a camera 10–15° round by 0.91 ± 0.05 of the true toe's
motion (nearer leg 1.00 ± 0.02). The rotation it gives, and its error, are
:mod:`kneevision.protocols.seated_twist`'s.

Why it under-moves, and what was tried (issue #16, a one-off study not kept as a
benchmark, so no figures here): the three discs share most of their features and read
alike, so the discs behind the toe are not the cause. Across the picture a feature of a
foot turning about a vertical axis moves with its distance in front of the axis, a
shear that a rotation fits short (a synthetic textured foot showed it). A shear model
(``x' = a0 + a1 x + a2 y``, ``y' = y + b0``, one disc at the toe) moved the far toe
fully on the design clips but scattered more on clips it was not tuned on, and the
twist errors there were not better (README, seated twist): it is not used. The
optical-flow window also sets the scale: floor inside a window at the foot's edge
holds a feature back.
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

    def __init__(self, features: np.ndarray, point: np.ndarray) -> None:
        self.features, self.point = features, point.astype(float)
        self.alive = len(features) >= MIN_FEATURES

    def copy(self) -> _Disc:
        other = _Disc(self.features.copy(), self.point.copy())
        other.alive = self.alive
        return other

    def move(self, p: np.ndarray, q: np.ndarray, ok: np.ndarray) -> np.ndarray | None:
        """Carry the point by the rigid motion of features ``p`` → ``q`` (None once lost)."""
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
        self.features = q[np.flatnonzero(ok)[inliers]]
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
        discs.append(_Disc(_corners(gray, region), toe))
    return discs


def _gray(frame: np.ndarray) -> np.ndarray:
    return frame if frame.ndim == 2 else cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)


class ForefootFollower:
    """Both forefeet followed frame by frame from a seed frame where the feet point ahead.

    What a clip's pass (:func:`track_forefeet`) and the live guided twist test both
    run. Every disc of both feet moves in one forward and one backward optical-flow
    call per frame.

    Parameters
    ----------
    frame : ndarray (H, W, 3) BGR or (H, W) grey
        The seed frame.
    neutral : dict
        Side → ``(toe, ankle)``: the neutral toe and ankle in the seed frame's pixels.
        A side left out, or with a non-finite point, is not followed.
    mask : ndarray (H, W) uint8, optional
        The person's mask (:func:`person_mask`): seeds only on the person.
    """

    def __init__(
        self,
        frame: np.ndarray,
        neutral: dict[str, tuple[np.ndarray, np.ndarray]],
        mask: NDArray[np.uint8] | None = None,
    ) -> None:
        self.previous = _gray(frame)
        self.discs: dict[str, list[_Disc]] = {}
        self.foot: dict[str, float] = {}
        for s in _SIDES:
            toe, ankle = (np.asarray(v, float) for v in neutral.get(s, (np.nan, np.nan)))
            ok = np.isfinite(toe).all() and np.isfinite(ankle).all()
            self.discs[s] = _discs(self.previous, toe, ankle, mask) if ok else []
            self.foot[s] = float(np.linalg.norm(toe - ankle)) if ok else np.nan
        self.seed_points = self._points()

    def copy(self) -> ForefootFollower:
        """An independent follower from the same state (to follow the frames before the seed)."""
        other = object.__new__(ForefootFollower)
        other.previous, other.foot = self.previous, dict(self.foot)
        other.discs = {s: [d.copy() for d in ds] for s, ds in self.discs.items()}
        other.seed_points = self.seed_points
        return other

    def _points(self) -> FloatArray:
        points = np.full((len(_SIDES), len(SEED_CENTRES), 2), np.nan)
        for k, s in enumerate(_SIDES):
            for m, d in enumerate(self.discs[s]):
                if d.alive:
                    points[k, m] = d.point
        return points

    def step(self, frame: np.ndarray) -> FloatArray:
        """The seed discs' carried points in ``frame``: (2 sides, discs, 2), NaN where lost."""
        gray = _gray(frame)
        alive = [d for s in _SIDES for d in self.discs[s] if d.alive]
        if alive:
            p = np.concatenate([d.features for d in alive])
            q, ok1, _ = cv2.calcOpticalFlowPyrLK(self.previous, gray, p, None, **_LK)
            back, ok2, _ = cv2.calcOpticalFlowPyrLK(gray, self.previous, q, None, **_LK)
            ok = (ok1[:, 0] == 1) & (ok2[:, 0] == 1)
            ok &= np.linalg.norm((back - p)[:, 0], axis=1) < FB_PX
            start = 0
            for d in alive:
                n = len(d.features)
                d.move(p[start : start + n], q[start : start + n], ok[start : start + n])
                start += n
        self.previous = gray
        return self._points()

    def toe(self, points: FloatArray) -> tuple[FloatArray, FloatArray]:
        """Each foot's toe from its discs' points (..., 2, discs, 2), and the agreeing share.

        The toe is the mean of the discs within :data:`AGREE` of the foot's length of
        their median; the share is what :attr:`ForefootTrack.confidence` holds.
        """
        foot = np.array([self.foot[s] for s in _SIDES])[:, None]
        with np.errstate(invalid="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN frames: lost
            median = np.nanmedian(points, axis=-2)
            agree = np.linalg.norm(points - median[..., None, :], axis=-1) < AGREE * foot
            toe = np.nanmean(np.where(agree[..., None], points, np.nan), axis=-2)
        return toe, agree.sum(axis=-1) / len(SEED_CENTRES)


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
    neutral = {s: neutral_foot(image[idx], s, pixel_aspect) for s in _SIDES}
    points = np.full((n, len(_SIDES), len(SEED_CENTRES), 2), np.nan)
    before: list[np.ndarray] = []
    follower: ForefootFollower | None = None
    for i, frame in enumerate(frames):
        if i >= n:
            break
        if i < seed:
            before.append(_gray(frame))
        elif i == seed:
            mask = person_mask(frame, mask_model) if mask_model is not None else None
            follower = ForefootFollower(frame, neutral, mask)
            points[i] = follower.seed_points
            backward = follower.copy()
            for j in range(seed - 1, -1, -1):  # the still start, back from the seed
                points[j] = backward.step(before[j])
            before = []
        elif follower is not None:
            points[i] = follower.step(frame)
    if follower is None:  # the clip ended before the seed frame: nothing followed
        return {s: ForefootTrack(np.full((n, 2), np.nan), np.zeros(n)) for s in _SIDES}
    toe, confidence = follower.toe(points)
    return {s: ForefootTrack(toe[:, k] / scale, confidence[:, k]) for k, s in enumerate(_SIDES)}


def neutral_foot(
    image: FloatArray, side: str, pixel_aspect: float = 1.0
) -> tuple[FloatArray, FloatArray]:
    """A foot's neutral toe and ankle in frame pixels: the median over still frames.

    ``image``: image landmarks (T, 33, 2) of the still frames, square pixels.
    """
    scale = np.array([1.0 / pixel_aspect, 1.0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a foot never seen: NaN
        return tuple(np.nanmedian(image[:, INDEX[f"{side}_{j}"]], axis=0) * scale
                     for j in ("foot_index", "ankle"))  # fmt: skip


__all__ = ["ForefootFollower", "ForefootTrack", "neutral_foot", "person_mask", "track_forefeet"]
