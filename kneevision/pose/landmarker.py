"""MediaPipe Tasks Pose Landmarker, wrapped for video and for following one person.

The landmarker runs in VIDEO mode, which needs strictly increasing integer
millisecond timestamps; phone clips can repeat a timestamp, so we nudge equal or
backward stamps forward by a millisecond. It cannot be pickled: create one per
process. After ``close()`` it silently returns nothing, so it is only usable as a
context manager here.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import cv2
import numpy as np

from kneevision._native import quiet_native_stderr
from kneevision.cores import pin_to
from kneevision.errors import ModelError
from kneevision.pose.model import ModelFile, resolve_model
from kneevision.pose.sequence import MIRROR_PERMUTATION, N_LANDMARKS

# Landmarks used to tell people apart: shoulders and hips.
_TORSO = np.array([11, 12, 23, 24])

#: Frames between handing a frame to the people count and using its answer.
PROBE_LAG = 5


def _import_mediapipe():
    # `import mediapipe` imports matplotlib.pyplot: never pick a GUI backend headless.
    if not os.environ.get("DISPLAY") and not os.environ.get("MPLBACKEND"):
        os.environ["MPLBACKEND"] = "Agg"
    os.environ.setdefault("GLOG_minloglevel", "2")
    with quiet_native_stderr():
        import mediapipe as mp
        from mediapipe.tasks.python import BaseOptions, vision
    return mp, BaseOptions, vision


@dataclass
class PoseFrame:
    """Landmarks of the followed person in one frame (NaN when nobody is there)."""

    image: np.ndarray  # (33, 2) pixels
    visibility: np.ndarray  # (33,)
    presence: np.ndarray  # (33,)
    world: np.ndarray  # (33, 3) metres
    people: int

    @classmethod
    def missing(cls, people: int = 0) -> PoseFrame:
        return cls(
            image=np.full((N_LANDMARKS, 2), np.nan),
            visibility=np.full(N_LANDMARKS, np.nan),
            presence=np.full(N_LANDMARKS, np.nan),
            world=np.full((N_LANDMARKS, 3), np.nan),
            people=people,
        )


def choose_person(candidates: list[np.ndarray], previous: np.ndarray | None) -> int:
    """Pick which detected person to follow.

    Parameters
    ----------
    candidates : list of ndarray, each (33, 2)
        Image landmarks of each detected person, in pixels.
    previous : ndarray (33, 2) or None
        The followed person's landmarks in the last frame that had them.

    Returns
    -------
    int
        Index into ``candidates``: the one whose torso is nearest the previous
        torso, or, with no history, the largest person (nearest the camera).
    """
    if previous is not None and np.isfinite(previous[_TORSO]).all():
        ref = previous[_TORSO]
        dist = [float(np.linalg.norm(c[_TORSO] - ref, axis=1).mean()) for c in candidates]
        return int(np.argmin(dist))
    sizes = [float(np.ptp(c[:, 1]) * np.ptp(c[:, 0])) for c in candidates]
    return int(np.argmax(sizes))


class PoseEstimator:
    """Pose Landmarker in VIDEO mode that follows one person.

    Parameters
    ----------
    model : ModelFile
        A verified model bundle (see :func:`kneevision.pose.model.resolve_model`).
    max_people : int
        How many people to look for. Asking MediaPipe for more than one pose makes
        it run its person detector on every frame (half the speed on this CPU), so
        tracking starts with one pose and a second, lighter landmarker (the lite
        model, VIDEO mode, fed one frame every ``probe_every_s``) counts people. In
        IMAGE mode the detector misses people that VIDEO mode accumulates over
        frames, hence the sub-sampled stream. As soon as it sees more than one, tracking
        switches to ``max_people`` poses and follows the person nearest to where
        the followed person was. ``1`` disables the probe.
    min_confidence : float
        Detection, presence and tracking confidence thresholds.
    pixel_aspect : float
        Sample aspect ratio of the frames; x is scaled by it so that angles are
        measured in square pixels.
    probe_every_s : float
        Interval of the people count while only one person has been seen.
    probe_cpus : frozenset of int, optional
        CPUs for the people count's thread (see :mod:`kneevision.cores`).

    Notes
    -----
    The people count (a lite-model landmarker looking for ``max_people``) runs in a
    thread of its own, beside the tracker, on the frame's own RGB array; its
    answer is used :data:`PROBE_LAG` frames later, however fast the count was, so
    results do not depend on the machine's timing.

    Examples
    --------
    >>> with PoseEstimator(resolve_model("lite")) as est:  # doctest: +SKIP
    ...     pf = est.detect(frame_bgr, time_s=0.0)
    """

    def __init__(
        self,
        model: ModelFile,
        max_people: int = 2,
        min_confidence: float = 0.5,
        pixel_aspect: float = 1.0,
        probe_every_s: float = 1.0,
        probe_cpus: frozenset[int] | None = None,
    ) -> None:
        self.model = model
        self.max_people = max(1, int(max_people))
        self.pixel_aspect = pixel_aspect
        self.probe_every_s = probe_every_s
        self.min_confidence = min_confidence
        self._mp, self._base_options, self._vision = _import_mediapipe()
        self._tracker = self._create(self._vision.RunningMode.VIDEO, 1)
        self._multi = False
        self._probe = None
        self._probe_thread: ThreadPoolExecutor | None = None
        self._pending: deque[tuple[int, Future]] = deque()
        if self.max_people > 1:
            try:
                probe_model = resolve_model("lite", allow_download=False)
            except ModelError:
                probe_model = model
            self._probe_thread = ThreadPoolExecutor(
                1, "kneevision-people", initializer=pin_to, initargs=(probe_cpus,)
            )
            # Created and warmed up in its own thread (its native threads take that
            # thread's CPUs) while this one waits with the runtime's logging silenced.
            try:
                with quiet_native_stderr():
                    job = self._probe_thread.submit(self._start_probe, probe_model)
                    self._probe = job.result()
            except BaseException:
                self.close()  # the tracker and the thread, not left for the collector
                raise
        self._frame = 0
        self._next_probe_s = -np.inf
        self._seen_people = 1
        self._last_ms = -1
        self._previous: np.ndarray | None = None
        self._quiet_calls = 3  # the runtime logs on its first inferences
        self.jumps = 0  # suspected silent switches between people (single-pose mode)

    def _create(self, mode: object, num_poses: int, model: ModelFile | None = None) -> object:
        model = model or self.model
        options = self._vision.PoseLandmarkerOptions(
            base_options=self._base_options(model_asset_path=str(model.path)),
            running_mode=mode,
            num_poses=num_poses,
            min_pose_detection_confidence=self.min_confidence,
            min_pose_presence_confidence=self.min_confidence,
            min_tracking_confidence=self.min_confidence,
        )
        try:
            with quiet_native_stderr():
                return self._vision.PoseLandmarker.create_from_options(options)
        except (RuntimeError, ValueError) as exc:
            msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise ModelError(f"cannot load pose model ({msg})", model.path) from None

    @property
    def multi_person(self) -> bool:
        """Whether tracking has switched to several poses (more than one person seen)."""
        return self._multi

    def _run(self, landmarker: object, mp_image: object, ms: int) -> object:
        if self._quiet_calls > 0:
            self._quiet_calls -= 1
            with quiet_native_stderr():
                return landmarker.detect_for_video(mp_image, ms)
        return landmarker.detect_for_video(mp_image, ms)

    def _start_probe(self, model: ModelFile) -> object:
        probe = self._create(self._vision.RunningMode.VIDEO, self.max_people, model)
        blank = self._mp.Image(
            image_format=self._mp.ImageFormat.SRGB, data=np.zeros((64, 64, 3), np.uint8)
        )
        probe.detect_for_video(blank, 0)  # the runtime logs on its first inference
        return probe

    def _count_people(self, rgb: np.ndarray, ms: int) -> int:
        image = self._mp.Image(image_format=self._mp.ImageFormat.SRGB, data=rgb)
        found = self._probe.detect_for_video(image, ms + 1).pose_landmarks  # 0 was warm-up
        return count_people([np.array([(p.x, p.y) for p in lms]) for lms in found])

    def detect(self, image_bgr: np.ndarray, time_s: float) -> PoseFrame:
        """Find the followed person's landmarks in one upright BGR frame."""
        ms = max(round(time_s * 1000.0), self._last_ms + 1)
        self._last_ms = ms
        rgb = cv2.cvtColor(image_bgr, cv2.COLOR_BGR2RGB)
        mp_image = self._mp.Image(image_format=self._mp.ImageFormat.SRGB, data=rgb)
        if self._probe is not None and not self._multi and time_s >= self._next_probe_s:
            self._next_probe_s = time_s + self.probe_every_s
            # ``rgb`` is this frame's own array, kept alive by the job until it has run.
            job = self._probe_thread.submit(self._count_people, rgb, ms)
            self._pending.append((self._frame + PROBE_LAG, job))
        if self._pending and self._pending[0][0] <= self._frame:
            self._seen_people = self._pending.popleft()[1].result()
            if self._seen_people > 1 and not self._multi:
                # Someone else is in view: track several poses from here on.
                with quiet_native_stderr():
                    self._tracker.close()
                self._tracker = self._create(self._vision.RunningMode.VIDEO, self.max_people)
                self._multi = True
                self._quiet_calls = 3  # the new landmarker logs on its first inferences too
        self._frame += 1
        result = self._run(self._tracker, mp_image, ms)
        n = len(result.pose_landmarks)
        if n == 0:
            return PoseFrame.missing(0)
        h, w = image_bgr.shape[:2]
        people = [
            np.array([(p.x, p.y, p.visibility, p.presence) for p in lms], dtype=float)
            for lms in result.pose_landmarks
        ]
        pix = [np.column_stack((a[:, 0] * w * self.pixel_aspect, a[:, 1] * h)) for a in people]
        k = choose_person(pix, self._previous) if n > 1 else 0
        if n == 1 and self._previous is not None and _jumped(self._previous, pix[0]):
            self.jumps += 1
        self._previous = pix[k]
        world = np.array([(p.x, p.y, p.z) for p in result.pose_world_landmarks[k]], dtype=float)
        return PoseFrame(
            image=pix[k],
            visibility=people[k][:, 2],
            presence=people[k][:, 3],
            world=world,
            people=n if self._multi else max(n, self._seen_people),
        )

    def close(self) -> None:
        """Release the native landmarkers."""
        if self._probe_thread is not None:
            self._probe_thread.shutdown(wait=True, cancel_futures=True)
            self._probe_thread = None
        self._pending.clear()
        with quiet_native_stderr():
            for lm in (self._tracker, self._probe):
                if lm is not None:
                    lm.close()
        self._tracker = self._probe = None

    def __enter__(self) -> PoseEstimator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def count_people(poses: list[np.ndarray]) -> int:
    """Count distinct people among detected poses.

    Two poses whose torso centres lie within one torso size of each other are
    one person seen twice (a duplicate detection), not two people.

    Parameters
    ----------
    poses : list of ndarray, each (33, 2)
        Landmarks of each detection in any common unit.
    """
    centres: list[tuple[np.ndarray, float]] = []
    for pose in poses:
        torso = pose[_TORSO]
        if not np.isfinite(torso).all():
            continue
        c = torso.mean(0)
        size = max(float(np.ptp(torso[:, 1])), float(np.ptp(torso[:, 0])), 1e-6)
        if all(np.linalg.norm(c - c0) > max(size, s0) for c0, s0 in centres):
            centres.append((c, size))
    return len(centres)


def _jumped(previous: np.ndarray, current: np.ndarray) -> bool:
    """True when the torso moved more than its own size between two frames."""
    a, b = previous[_TORSO], current[_TORSO]
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        return False
    size = max(float(np.ptp(a[:, 1])), float(np.ptp(a[:, 0])), 1.0)
    return float(np.linalg.norm(a.mean(0) - b.mean(0))) > size


def unmirror(pf: PoseFrame, width: float) -> PoseFrame:
    """A pose found in a horizontally flipped frame, put back into the frame's own terms.

    Image x becomes ``width - x``, world x changes sign, and left and right swap names.
    """
    image = pf.image[MIRROR_PERMUTATION].copy()
    world = pf.world[MIRROR_PERMUTATION].copy()
    image[:, 0] = width - image[:, 0]
    world[:, 0] = -world[:, 0]
    return PoseFrame(
        image=image,
        visibility=pf.visibility[MIRROR_PERMUTATION],
        presence=pf.presence[MIRROR_PERMUTATION],
        world=world,
        people=pf.people,
    )


class FlipAveragedEstimator:
    """Pose from each frame and from its mirror image, averaged (flip test-time augmentation).

    MediaPipe does not treat the two legs alike: mirroring a clip moves its per-leg
    knee flexion by several degrees. Running a second landmarker on the flipped
    frames and averaging the two answers makes the result mirror-symmetric by
    construction (a mirrored clip gives the same per-side values, labels swapped), at
    twice the inference cost.

    Parameters
    ----------
    make : callable
        Returns a new :class:`PoseEstimator` (called twice: one per stream, since
        VIDEO-mode tracking keeps state).
    width : float
        Frame width in (aspect-corrected) pixels, to map flipped x back.
    """

    def __init__(self, make: Callable[[], PoseEstimator], width: float) -> None:
        self._direct, self._flipped = make(), make()
        self._width = width

    def detect(self, image_bgr: np.ndarray, time_s: float) -> PoseFrame:
        """The averaged pose of one upright BGR frame."""
        a = self._direct.detect(image_bgr, time_s)
        b = unmirror(self._flipped.detect(cv2.flip(image_bgr, 1), time_s), self._width)
        both = np.isfinite(a.image[:, 0]) & np.isfinite(b.image[:, 0])
        if not both.any():  # one stream alone found the person (or neither did)
            return a if np.isfinite(a.image).any() else b
        return PoseFrame(
            image=(a.image + b.image) / 2,
            visibility=(a.visibility + b.visibility) / 2,
            presence=(a.presence + b.presence) / 2,
            world=(a.world + b.world) / 2,
            people=max(a.people, b.people),
        )

    @property
    def jumps(self) -> int:
        """Suspected silent switches between people, in either stream."""
        return max(self._direct.jumps, self._flipped.jumps)

    @property
    def multi_person(self) -> bool:
        """Whether either stream switched to tracking several people."""
        return self._direct.multi_person or self._flipped.multi_person

    def close(self) -> None:
        """Release both landmarkers."""
        self._direct.close()
        self._flipped.close()

    def __enter__(self) -> FlipAveragedEstimator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
