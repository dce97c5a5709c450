"""Which way is up: turn a clip whose frames are stored sideways or upside down.

Phones store sideways frames with a rotation tag; apps that strip the tag (or
write a wrong one) leave the body lying in the picture, and MediaPipe's world
landmarks then take the body's long axis for horizontal (a standing squat reads
as a seated test). Here the pose model (lite) looks at a few frames from the
first seconds, as decoded with the tag applied and turned by 90°, 180° and 270°,
and the turn in which the torso stands upright in most of them wins. The frames
as decoded are kept whenever the body already stands upright in them, so a
correct tag is never overruled.

Known limit: a person lying down (e.g. a supine test) in every probe frame looks
like a sideways clip and would be turned; such clips should carry a correct tag
and are not the tool's use case.
"""

from __future__ import annotations

import functools
import math
import os
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from kneevision._native import quiet_native_stderr

# MediaPipe's shoulder and hip indices (kneevision.pose.sequence.LANDMARK_NAMES; the video
# layer sits below pose and does not import it).
_SHOULDERS, _HIPS = [11, 12], [23, 24]

#: Turns tried, in degrees clockwise, and how each is applied to a frame.
TURNS: dict[int, int | None] = {
    0: None,
    90: cv2.ROTATE_90_CLOCKWISE,
    180: cv2.ROTATE_180,
    270: cv2.ROTATE_90_COUNTERCLOCKWISE,
}
#: The probe looks at this many frames spread over the clip's first seconds.
PROBE_FRAMES = 4
PROBE_SECONDS = 3.0
#: Frames are shrunk to this longest side for the probe (the model sees 256 px).
PROBE_MAX_SIDE = 512
#: The torso (mid-hip → mid-shoulder) counts as upright within this angle of image-up.
UPRIGHT_DEG = 45.0
#: The probe's model: the lite one is enough to tell up from sideways.
PROBE_MODEL = "lite"


@dataclass(frozen=True)
class Orientation:
    """The turn that stands a clip's body upright.

    Attributes
    ----------
    turn : int
        Degrees clockwise (0, 90, 180, 270) to apply after the rotation tag.
    reason : str
        What the probe saw, in words.
    """

    turn: int
    reason: str


def turn_image(image: np.ndarray, turn: int) -> np.ndarray:
    """``image`` turned ``turn`` degrees clockwise (a multiple of 90)."""
    code = TURNS[turn % 360]
    return image if code is None else cv2.rotate(image, code)


def torso_uprightness(points: np.ndarray) -> float:
    """Cosine between the torso (mid-hip → mid-shoulder) and image-up; NaN without it.

    Parameters
    ----------
    points : ndarray (33, 2)
        Image landmarks in pixels (y down).
    """
    up = points[_SHOULDERS].mean(axis=0) - points[_HIPS].mean(axis=0)
    norm = float(np.linalg.norm(up))
    return float(-up[1] / norm) if norm > 0 else math.nan


def probe_frames(path: Path, n: int = PROBE_FRAMES, seconds: float = PROBE_SECONDS) -> list:
    """Up to ``n`` frames spread over the first ``seconds``, tag applied, shrunk."""
    with quiet_native_stderr():
        cap = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG)
    try:
        cap.set(cv2.CAP_PROP_ORIENTATION_AUTO, 1)
        fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0) or 30.0
        span = max(1, round(seconds * fps))
        declared = int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
        if 0 < declared < span:
            span = declared
        wanted = {round((k + 0.5) * span / n) for k in range(n)}
        frames = []
        for i in range(max(wanted) + 1):
            if not cap.grab():
                break
            if i in wanted:
                ok, image = cap.retrieve()
                if ok and image is not None:
                    scale = PROBE_MAX_SIDE / max(image.shape[:2])
                    if scale < 1:
                        image = cv2.resize(image, None, fx=scale, fy=scale)
                    frames.append(image)
        return frames
    finally:
        cap.release()


def _landmarker():
    # `import mediapipe` imports matplotlib.pyplot: never pick a GUI backend headless.
    if not os.environ.get("DISPLAY") and not os.environ.get("MPLBACKEND"):
        os.environ["MPLBACKEND"] = "Agg"
    os.environ.setdefault("GLOG_minloglevel", "2")
    from kneevision.pose.model import resolve_model

    model = resolve_model(PROBE_MODEL, allow_download=False)
    with quiet_native_stderr():
        import mediapipe as mp
        from mediapipe.tasks.python import BaseOptions, vision

        options = vision.PoseLandmarkerOptions(
            base_options=BaseOptions(model_asset_path=str(model.path)),
            running_mode=vision.RunningMode.IMAGE,
            num_poses=1,
        )
        return mp, vision.PoseLandmarker.create_from_options(options)


def upright_counts(frames: list[np.ndarray], turns: list[int], landmarker, mp) -> dict[int, int]:
    """Per turn: in how many of ``frames`` a pose is found with the torso upright."""
    limit = math.cos(math.radians(UPRIGHT_DEG))
    counts = {}
    for turn in turns:
        count = 0
        for frame in frames:
            image = np.ascontiguousarray(turn_image(frame, turn)[:, :, ::-1])
            h, w = image.shape[:2]
            with quiet_native_stderr():
                found = landmarker.detect(
                    mp.Image(image_format=mp.ImageFormat.SRGB, data=image)
                ).pose_landmarks
            if found:
                points = np.array([(p.x * w, p.y * h) for p in found[0]])
                count += int(torso_uprightness(points) >= limit)
        counts[turn] = count
    return counts


def decide(counts: dict[int, int], n_frames: int) -> Orientation:
    """The turn from the probe's counts (see :func:`upright_counts`).

    The frames as decoded (turn 0) are kept when the body is upright in half of
    them or more; otherwise the turn upright in the most frames, if that is at
    least half of them; otherwise turn 0.
    """
    need = math.ceil(n_frames / 2)
    if counts.get(0, 0) >= need:
        return Orientation(0, f"body upright as decoded in {counts[0]} of {n_frames} probe frames")
    best = max((t for t in counts if t), key=lambda t: counts[t], default=0)
    if best and counts[best] >= need and counts[best] > counts.get(0, 0):
        return Orientation(
            best,
            f"body upright only when turned {best}° clockwise ({counts[best]} of {n_frames} "
            f"probe frames; {counts.get(0, 0)} as decoded)",
        )
    return Orientation(0, f"no upright body in the first {PROBE_SECONDS:.0f} s; kept as decoded")


@functools.lru_cache(maxsize=64)
def _detect(path: str, size: int, mtime_ns: int) -> Orientation:
    frames = probe_frames(Path(path))
    if not frames:
        return Orientation(0, "no frame to probe; kept as decoded")
    try:
        mp, landmarker = _landmarker()
    except Exception as exc:  # no model or runtime: keep the tag's orientation, say why
        return Orientation(0, f"not checked ({type(exc).__name__}); kept as decoded")
    try:
        counts = upright_counts(frames, [0], landmarker, mp)
        if counts[0] < math.ceil(len(frames) / 2):
            counts |= upright_counts(frames, [90, 180, 270], landmarker, mp)
    finally:
        with quiet_native_stderr():  # the runtime logs as it shuts down
            landmarker.close()
    return decide(counts, len(frames))


def detect_orientation(path: str | Path) -> Orientation:
    """The clockwise turn that stands the body in a video file upright (see module doc).

    Cached per file (path, size and modification time), so probing, decoding and
    the report all turn a clip the same way for the cost of one probe.
    """
    path = Path(path).resolve()
    st = path.stat()
    return _detect(str(path), st.st_size, st.st_mtime_ns)


def forget_orientations() -> None:
    """Empty :func:`detect_orientation`'s cache, so the next call probes again (benchmarks
    that time a user's first run on a clip)."""
    _detect.cache_clear()
