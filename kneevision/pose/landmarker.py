"""MediaPipe Tasks Pose Landmarker, wrapped for video and for following one person.

The landmarker runs in VIDEO mode, which needs strictly increasing integer
millisecond timestamps; phone clips can repeat a timestamp, so we nudge equal or
backward stamps forward by a millisecond. It cannot be pickled: create one per
process. After ``close()`` it silently returns nothing, so it is only usable as a
context manager here.

The flip-averaged estimate (:class:`FlipAveragedEstimator`) runs a second
landmarker on the mirror image of every frame, in a thread of its own (on a core of
its own, see :mod:`kneevision.cores`): MediaPipe releases the GIL during inference,
so two landmarkers in two threads run side by side (measured on this project's
2-core machine: the same CPU time a frame per stream, alone or together).
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Protocol, TypeVar

import cv2
import numpy as np

from kneevision._native import quiet_native_stderr
from kneevision.cores import pin_to
from kneevision.errors import ModelError
from kneevision.pose.model import ModelFile, resolve_model
from kneevision.pose.sequence import INDEX, MIRROR_PERMUTATION, N_LANDMARKS, facing_sign

# Landmarks used to tell people apart: shoulders and hips.
_TORSO = np.array([INDEX[n] for n in ("left_shoulder", "right_shoulder", "left_hip", "right_hip")])

#: Frames between handing a frame to the people count and using its answer.
PROBE_LAG = 5

#: Frames after the direct stream switches to several poses that the mirrored stream
#: follows (a fixed number, so that the mirrored stream may run this many frames
#: minus one ahead without its answers depending on timing).
MIRROR_LAG = 4

# Silencing fd 2 swaps a process-wide descriptor: two threads doing it at once could
# leave it pointing at /dev/null, so every thread of this module takes turns.
_STDERR_LOCK = threading.RLock()


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    with _STDERR_LOCK, quiet_native_stderr():
        yield


def _import_mediapipe():
    # `import mediapipe` imports matplotlib.pyplot: never pick a GUI backend headless.
    if not os.environ.get("DISPLAY") and not os.environ.get("MPLBACKEND"):
        os.environ["MPLBACKEND"] = "Agg"
    os.environ.setdefault("GLOG_minloglevel", "2")
    with _quiet():
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
        """A frame without a pose (NaN landmarks), ``people`` persons seen."""
        return cls(
            image=np.full((N_LANDMARKS, 2), np.nan),
            visibility=np.full(N_LANDMARKS, np.nan),
            presence=np.full(N_LANDMARKS, np.nan),
            world=np.full((N_LANDMARKS, 3), np.nan),
            people=people,
        )


class _Framed(Protocol):
    image: np.ndarray
    time_s: float


F = TypeVar("F", bound=_Framed)


def _poses_from(result: object, width: int, height: int, pixel_aspect: float) -> list[PoseFrame]:
    """Every pose of one landmarker result, in (aspect-corrected) pixels."""
    n = len(result.pose_landmarks)
    poses = []
    for lms, wld in zip(result.pose_landmarks, result.pose_world_landmarks, strict=True):
        a = np.array([(p.x, p.y, p.visibility, p.presence) for p in lms], dtype=float)
        poses.append(
            PoseFrame(
                image=np.column_stack((a[:, 0] * width * pixel_aspect, a[:, 1] * height)),
                visibility=a[:, 2],
                presence=a[:, 3],
                world=np.array([(p.x, p.y, p.z) for p in wld], dtype=float),
                people=n,
            )
        )
    return poses


def _create_landmarker(
    vision: object, base_options: object, model: ModelFile, num_poses: int, min_confidence: float
) -> object:
    """A Pose Landmarker in VIDEO mode; a model it cannot load is a :class:`ModelError`."""
    options = vision.PoseLandmarkerOptions(
        base_options=base_options(model_asset_path=str(model.path)),
        running_mode=vision.RunningMode.VIDEO,
        num_poses=num_poses,
        min_pose_detection_confidence=min_confidence,
        min_pose_presence_confidence=min_confidence,
        min_tracking_confidence=min_confidence,
    )
    try:
        with _quiet():
            return vision.PoseLandmarker.create_from_options(options)
    except (RuntimeError, ValueError) as exc:
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ModelError(f"cannot load pose model ({msg})", model.path) from None


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
        self._tracker = self._create(1)
        self._multi = False
        self._switched_at: int | None = None
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
            # Created and warmed up in its own thread: its native threads take that
            # thread's CPUs.
            try:
                self._probe = self._probe_thread.submit(self._start_probe, probe_model).result()
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

    def _create(self, num_poses: int, model: ModelFile | None = None) -> object:
        return _create_landmarker(
            self._vision, self._base_options, model or self.model, num_poses, self.min_confidence
        )

    @property
    def multi_person(self) -> bool:
        """Whether tracking has switched to several poses (more than one person seen)."""
        return self._multi

    @property
    def switched_at(self) -> int | None:
        """Index of the frame (0 = the first given) from which several poses are tracked."""
        return self._switched_at

    @property
    def followed(self) -> np.ndarray | None:
        """Image landmarks (33, 2) of the followed person where last seen, or None."""
        return self._previous

    def _run(self, landmarker: object, mp_image: object, ms: int) -> object:
        if self._quiet_calls > 0:
            self._quiet_calls -= 1
            with _quiet():
                return landmarker.detect_for_video(mp_image, ms)
        return landmarker.detect_for_video(mp_image, ms)

    def _start_probe(self, model: ModelFile) -> object:
        probe = self._create(self.max_people, model)
        blank = self._mp.Image(
            image_format=self._mp.ImageFormat.SRGB, data=np.zeros((64, 64, 3), np.uint8)
        )
        with _quiet():
            probe.detect_for_video(blank, 0)  # the runtime logs on its first inference
        return probe

    def _count_people(self, rgb: np.ndarray, ms: int) -> int:
        image = self._mp.Image(image_format=self._mp.ImageFormat.SRGB, data=rgb)
        found = self._probe.detect_for_video(image, ms + 1).pose_landmarks  # 0 was warm-up
        return count_people([np.array([(p.x, p.y) for p in lms]) for lms in found])

    def detect(self, image_bgr: np.ndarray, time_s: float) -> PoseFrame:
        """Find the followed person's landmarks in one upright BGR frame."""
        return self.detect_rgb(cv2.cvtColor(image_bgr, cv2.COLOR_BGR2RGB), time_s)

    def detect_rgb(self, rgb: np.ndarray, time_s: float) -> PoseFrame:
        """:meth:`detect` on the frame already converted to RGB (``rgb`` is kept, not copied)."""
        ms = max(round(time_s * 1000.0), self._last_ms + 1)
        self._last_ms = ms
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
                with _quiet():
                    self._tracker.close()
                self._tracker = self._create(self.max_people)
                self._multi = True
                self._switched_at = self._frame
                self._quiet_calls = 3  # the new landmarker logs on its first inferences too
        self._frame += 1
        result = self._run(self._tracker, mp_image, ms)
        h, w = rgb.shape[:2]
        found = _poses_from(result, w, h, self.pixel_aspect)
        n = len(found)
        if n == 0:
            return PoseFrame.missing(0)
        k = choose_person([p.image for p in found], self._previous) if n > 1 else 0
        if n == 1 and self._previous is not None and _jumped(self._previous, found[0].image):
            self.jumps += 1
        self._previous = found[k].image
        return replace(found[k], people=n if self._multi else max(n, self._seen_people))

    def track(self, frames: Iterable[F]) -> Iterator[tuple[F, PoseFrame]]:
        """Each frame (anything with ``image`` and ``time_s``) with its pose, in order."""
        for frame in frames:
            yield frame, self.detect(frame.image, frame.time_s)

    def close(self) -> None:
        """Release the native landmarkers."""
        if self._probe_thread is not None:
            self._probe_thread.shutdown(wait=True, cancel_futures=True)
            self._probe_thread = None
        self._pending.clear()
        with _quiet():
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


class MirrorStream:
    """The mirrored half of the flip-averaged estimate: a landmarker on flipped frames.

    It has no people count of its own: how many poses to look for comes with each
    frame (from the direct stream), and which of them is the followed person is for
    the caller to decide. Poses come back in the frame's own terms (:func:`unmirror`).

    Parameters
    ----------
    model : ModelFile
    min_confidence, pixel_aspect : float
        As for :class:`PoseEstimator`.
    """

    def __init__(self, model: ModelFile, min_confidence: float, pixel_aspect: float) -> None:
        self.model, self.min_confidence, self.pixel_aspect = model, min_confidence, pixel_aspect
        self._mp, self._base_options, self._vision = _import_mediapipe()
        self._poses = 1
        self._landmarker = self._create()
        self._last_ms = -1
        self._quiet_calls = 3

    def _create(self) -> object:
        return _create_landmarker(
            self._vision, self._base_options, self.model, self._poses, self.min_confidence
        )

    def detect(self, rgb: np.ndarray, time_s: float, poses: int) -> list[PoseFrame]:
        """Every pose found in the mirror image of one upright RGB frame, un-mirrored."""
        ms = max(round(time_s * 1000.0), self._last_ms + 1)
        self._last_ms = ms
        if poses != self._poses:
            with _quiet():
                self._landmarker.close()
            self._poses = poses
            self._landmarker = self._create()
            self._quiet_calls = 3  # a new landmarker logs on its first inferences
        flipped = cv2.flip(rgb, 1)
        mp_image = self._mp.Image(image_format=self._mp.ImageFormat.SRGB, data=flipped)
        if self._quiet_calls > 0:
            self._quiet_calls -= 1
            with _quiet():
                result = self._landmarker.detect_for_video(mp_image, ms)
        else:
            result = self._landmarker.detect_for_video(mp_image, ms)
        h, w = rgb.shape[:2]
        width = w * self.pixel_aspect
        return [unmirror(p, width) for p in _poses_from(result, w, h, self.pixel_aspect)]

    def close(self) -> None:
        """Release the native landmarker."""
        if self._landmarker is not None:
            with _quiet():
                self._landmarker.close()
            self._landmarker = None


class FlipAveragedEstimator:
    """Pose from each frame and from its mirror image, averaged (flip test-time augmentation).

    MediaPipe does not treat the two legs alike: mirroring a clip moves its per-leg
    knee flexion by several degrees. A second landmarker on the flipped frames, its
    answer un-mirrored and averaged with the direct one, makes the result
    mirror-symmetric by construction (a mirrored clip gives the same per-side values,
    labels swapped), at twice the inference cost: paid for with a second core, as
    the mirrored landmarker runs in a thread of its own (``parallel``).

    Parameters
    ----------
    model : ModelFile
    max_people, min_confidence, pixel_aspect, probe_cpus
        As for :class:`PoseEstimator` (the direct stream, which follows the person and
        counts people).
    mirror_cpus : frozenset of int, optional
        CPUs for the mirrored stream's thread (see :mod:`kneevision.cores`).
    parallel : bool
        Run the mirrored landmarker in its own thread, beside the direct one; False
        runs it in the caller's thread, one after the other (batch workers that
        share the cores). The results are the same either way.

    Notes
    -----
    Which mirrored pose is averaged in: the one whose un-mirrored torso is nearest
    the direct stream's followed person in the same frame (or where it was last
    seen); a pose farther than its own torso size from it is another person, and the
    frame keeps the direct pose alone. Where the two streams' labels say the body faces
    opposite ways (:func:`~kneevision.pose.sequence.facing_sign`: one took it for its
    back and exchanged every left and right label), their average would put each leg
    halfway between the two: the frame keeps the pose whose labels face the camera,
    alone, as KneeVision's set-ups film the person from the front or the side. A
    mirrored clip's two streams exchange roles, so the estimate stays mirror-symmetric.
    The mirrored stream looks for several poses
    from :data:`MIRROR_LAG` frames after the direct stream switched to several, so
    that :meth:`track` can run it ahead without its answers depending on timing.

    Examples
    --------
    >>> with FlipAveragedEstimator(resolve_model("lite")) as est:  # doctest: +SKIP
    ...     for frame, pf in est.track(frames):
    ...         ...
    """

    def __init__(
        self,
        model: ModelFile,
        *,
        max_people: int = 2,
        min_confidence: float = 0.5,
        pixel_aspect: float = 1.0,
        probe_cpus: frozenset[int] | None = None,
        mirror_cpus: frozenset[int] | None = None,
        parallel: bool = True,
    ) -> None:
        self._direct = PoseEstimator(
            model,
            max_people=max_people,
            min_confidence=min_confidence,
            pixel_aspect=pixel_aspect,
            probe_cpus=probe_cpus,
        )
        self._pool: ThreadPoolExecutor | None = None
        self._mirror: MirrorStream | None = None
        self._submitted = 0
        try:
            if parallel:
                self._pool = ThreadPoolExecutor(
                    1, "kneevision-mirror", initializer=pin_to, initargs=(mirror_cpus,)
                )
                # Created in its own thread: its native threads take that thread's CPUs.
                job = self._pool.submit(MirrorStream, model, min_confidence, pixel_aspect)
                self._mirror = job.result()
            else:
                self._mirror = MirrorStream(model, min_confidence, pixel_aspect)
        except BaseException:
            self.close()
            raise

    def _submit(self, rgb: np.ndarray, time_s: float) -> Future:
        """Start (or, serially, run) the mirrored stream on the next (RGB) frame."""
        j, self._submitted = self._submitted, self._submitted + 1
        switched = self._direct.switched_at
        poses = (
            self._direct.max_people if switched is not None and switched <= j - MIRROR_LAG else 1
        )
        if self._pool is not None:
            return self._pool.submit(self._mirror.detect, rgb, time_s, poses)
        done: Future = Future()
        done.set_result(self._mirror.detect(rgb, time_s, poses))
        return done

    def _combine(self, a: PoseFrame, found: list[PoseFrame]) -> PoseFrame:
        """The direct pose averaged with the mirrored pose of the same person."""
        seen = np.isfinite(a.image[_TORSO]).all()
        ref = a.image if seen else self._direct.followed
        if not found:
            return a
        k = choose_person([p.image for p in found], ref) if len(found) > 1 else 0
        b = found[k]
        if ref is not None and _jumped(ref, b.image):
            return a  # not the followed person: nothing to average with
        people = max(a.people, len(found))
        both = np.isfinite(a.image[:, 0]) & np.isfinite(b.image[:, 0])
        if not both.any():  # the mirrored stream alone found the person
            return replace(b, people=people)
        facing = facing_sign(a.image), facing_sign(b.image)
        if facing[0] * facing[1] < 0:  # one stream took the body for its back
            return replace(a if facing[0] > 0 else b, people=people)
        return PoseFrame(
            image=(a.image + b.image) / 2,
            visibility=(a.visibility + b.visibility) / 2,
            presence=(a.presence + b.presence) / 2,
            world=(a.world + b.world) / 2,
            people=people,
        )

    def detect(self, image_bgr: np.ndarray, time_s: float) -> PoseFrame:
        """The averaged pose of one upright BGR frame (both streams at once, then wait)."""
        rgb = cv2.cvtColor(image_bgr, cv2.COLOR_BGR2RGB)  # once, for both streams
        job = self._submit(rgb, time_s)
        a = self._direct.detect_rgb(rgb, time_s)
        return self._combine(a, job.result())

    def track(self, frames: Iterable[F]) -> Iterator[tuple[F, PoseFrame]]:
        """Each frame (anything with ``image`` and ``time_s``) with its averaged pose, in order.

        In parallel, the mirrored stream runs up to ``MIRROR_LAG - 1`` frames ahead of
        the direct one, so that neither waits for the other on every frame.
        """
        ahead = MIRROR_LAG - 1 if self._pool is not None else 0
        pending: deque[tuple[F, np.ndarray, Future]] = deque()
        source = iter(frames)
        more = True
        while True:
            while more and len(pending) <= ahead:
                frame = next(source, None)
                if frame is None:
                    more = False
                else:  # converted once for both streams (the mirror flips the RGB)
                    rgb = cv2.cvtColor(frame.image, cv2.COLOR_BGR2RGB)
                    pending.append((frame, rgb, self._submit(rgb, frame.time_s)))
            if not pending:
                return
            frame, rgb, job = pending.popleft()
            a = self._direct.detect_rgb(rgb, frame.time_s)
            yield frame, self._combine(a, job.result())

    @property
    def jumps(self) -> int:
        """Suspected silent switches between people (the direct stream, which follows)."""
        return self._direct.jumps

    @property
    def multi_person(self) -> bool:
        """Whether tracking switched to several people."""
        return self._direct.multi_person

    def close(self) -> None:
        """Release both landmarkers (after the mirrored stream's last frame)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
        if self._mirror is not None:
            self._mirror.close()
            self._mirror = None
        self._direct.close()

    def __enter__(self) -> FlipAveragedEstimator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
