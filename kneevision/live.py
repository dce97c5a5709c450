"""Live check from a webcam (or a file played as one), with the overlay on screen.

The capture runs in its own thread and keeps only the newest frame: when the
landmarker is slower than the camera, stale frames are dropped, so latency
never builds up. Every processed frame is smoothed with a One Euro filter, drawn
(legs in the side colours, live angles, valgus warning, rep counter, left–right
numbers, frames per second and latency, capture hints) and shown, or written to
a video with ``--headless``. On exit the session is analysed like a clip:
``summary.json``, ``angles.csv`` and the rest, in the same formats as ``analyze``.
"""

from __future__ import annotations

import dataclasses
import math
import os
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from kneevision.analysis import StoredAnalysis, write_outputs
from kneevision.errors import KneeVisionError, NoPoseError
from kneevision.kinematics.angles import knee_flexion
from kneevision.kinematics.landmarks import HIPS, LEGS, SIDES, leg
from kneevision.kinematics.signals import OneEuroFilter
from kneevision.pipeline import facing_camera, live_labels, sequence_from_frames
from kneevision.pose.forefoot import ForefootFollower, ForefootTrack, neutral_foot, person_mask
from kneevision.pose.landmarker import FlipAveragedEstimator, PoseEstimator, PoseFrame
from kneevision.pose.model import ModelFile
from kneevision.protocols.quality import TWIST_SETUP
from kneevision.protocols.seated_twist import STILL_SEED_S, neutral, rotation_series
from kneevision.report.overlay import draw_overlay
from kneevision.settings import LIVE_DEFAULTS, Settings
from kneevision.style import WARNING_BGR
from kneevision.summary import Summary
from kneevision.video.source import Frame, VideoInfo, probe_video, read_camera, read_video

WINDOW = "KneeVision live"
KEY_QUIT = {ord("q"), 27}  # q, Esc
KEY_RECORD, KEY_CALIBRATE, KEY_MIRROR = ord(" "), ord("c"), ord("m")


def display_available() -> bool:
    """Whether a window can be opened (on Linux, an X display must be set)."""
    return not sys.platform.startswith("linux") or bool(os.environ.get("DISPLAY"))


def paced(frames: Iterator[Frame]) -> Iterator[Frame]:
    """Release a file's frames at the pace of their timestamps, like a camera."""
    start = None
    for frame in frames:
        now = time.monotonic()
        if start is None:
            start = now - frame.time_s
        wait = start + frame.time_s - now
        if wait > 0:
            time.sleep(wait)
        yield frame


class LatestFrame:
    """A capture thread that keeps only the newest frame (older ones are dropped).

    ``get`` returns ``(frame, captured_at)`` with ``time.monotonic`` capture
    time, or None when the source has ended. ``lossless``: the capture waits for
    each frame to be taken instead (a file replayed frame by frame: the session then
    sees every frame, however fast the machine is).
    """

    def __init__(self, frames: Iterator[Frame], lossless: bool = False) -> None:
        self._frames = frames
        self._lossless = lossless
        self._cond = threading.Condition()
        self._item: tuple[Frame, float] | None = None
        self._done = False
        self._error: BaseException | None = None
        self._stop = False
        self.captured = 0
        self.dropped = 0
        self._thread = threading.Thread(target=self._run, name="kneevision-capture", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            for frame in self._frames:
                with self._cond:
                    while self._lossless and self._item is not None and not self._stop:
                        self._cond.wait()
                    if self._stop:
                        break
                    if self._item is not None:
                        self.dropped += 1  # never processed: the loop was busy
                    self._item = (frame, time.monotonic())
                    self.captured += 1
                    self._cond.notify()
        except BaseException as exc:  # raised in the consumer's thread by get()
            self._error = exc
        finally:
            with self._cond:
                self._done = True
                self._cond.notify()

    def get(self) -> tuple[Frame, float] | None:
        """The newest frame not yet taken; waits for one. None at the end of the source."""
        with self._cond:
            while self._item is None and not self._done:
                self._cond.wait()
            if self._error is not None:
                raise self._error
            item, self._item = self._item, None
            self._cond.notify_all()  # a lossless capture waits for the slot to free
            return item

    def stop(self) -> None:
        """Stop capturing (the thread ends with its next frame)."""
        with self._cond:
            self._stop = True
            self._cond.notify_all()


class RepCounter:
    """Online repetition counter with hysteresis on knee flexion (deeper of the two knees).

    A repetition is counted when the knee bends past ``down_deg`` and then
    straightens below ``up_deg``.
    """

    def __init__(self, down_deg: float = 50.0, up_deg: float = 25.0) -> None:
        self.down_deg, self.up_deg = down_deg, up_deg
        self.count = 0
        self._down = False
        self.peaks: dict[str, float] = {}
        self.last: dict[str, float] = {}

    def update(self, flexion: dict[str, float]) -> bool:
        """Feed one frame's flexion per side; True when a repetition was just completed."""
        values = [v for v in flexion.values() if math.isfinite(v)]
        if not values:
            return False
        deepest = max(values)
        if self._down:
            for s, v in flexion.items():
                if math.isfinite(v):
                    self.peaks[s] = max(self.peaks.get(s, -math.inf), v)
            if deepest < self.up_deg:
                self._down = False
                self.count += 1
                self.last, self.peaks = dict(self.peaks), {}
                return True
        elif deepest > self.down_deg:
            self._down = True
        return False


@dataclass
class TwistGuide:
    """Seated twist guided mode: calibrate, then twist in and out, left then right.

    A prompted twist is done once the leg has turned at least ``threshold_deg`` that
    way and come back half-way to neutral: the person's own end of range, however
    small (a leg lacking internal rotation may not reach the usual 10–20°).
    """

    neutral: dict[str, float] = field(default_factory=dict)
    ir: dict[str, float] = field(default_factory=lambda: dict.fromkeys(SIDES, 0.0))
    er: dict[str, float] = field(default_factory=lambda: dict.fromkeys(SIDES, 0.0))
    step: int = 0  # 0 calibrate, then (leg, direction) pairs, then done
    threshold_deg: float = 3.0

    STEPS = (("left", "in"), ("left", "out"), ("right", "in"), ("right", "out"))

    def calibrate(self, theta: dict[str, float]) -> None:
        """Take the current rotation of each leg as neutral."""
        self.neutral = {s: v for s, v in theta.items() if math.isfinite(v)}
        self.ir, self.er = dict.fromkeys(SIDES, 0.0), dict.fromkeys(SIDES, 0.0)
        self.step = 1 if len(self.neutral) == 2 else 0

    def update(self, theta: dict[str, float]) -> None:
        """Track the range since calibration and move on once the prompted twist is done."""
        if not self.neutral:
            return
        rel = {}
        for s, v in theta.items():
            if math.isfinite(v) and s in self.neutral:
                rel[s] = v - self.neutral[s]
                self.ir[s], self.er[s] = max(self.ir[s], rel[s]), max(self.er[s], -rel[s])
        if 1 <= self.step <= len(self.STEPS):
            side, direction = self.STEPS[self.step - 1]
            reached = self.ir[side] if direction == "in" else self.er[side]
            now = rel.get(side, math.nan) * (1 if direction == "in" else -1)
            if reached >= self.threshold_deg and now <= reached / 2:
                self.step += 1

    def prompt(self) -> str:
        """What to do now, or the result."""
        if self.step == 0:
            return (
                f"Set-up: {TWIST_SETUP}\n"
                "Seated twist: sit still, foot straight ahead, press c to calibrate"
            )
        if self.step <= len(self.STEPS):
            side, direction = self.STEPS[self.step - 1]
            return f"{side} leg: twist the foot {direction}ward as far as you can"
        diff = self.ir["left"] - self.ir["right"]
        return (
            f"IR left {self.ir['left']:.0f}°  right {self.ir['right']:.0f}°  "
            f"(L-R {diff:+.0f}°)  ER left {self.er['left']:.0f}°  right {self.er['right']:.0f}°"
        )


class LiveTwist:
    """The seated twist's rotation θ per leg, live, by the estimator a clip's analysis uses.

    Before calibration: MediaPipe's heel→toe offset (the landmarks alone). At
    calibration the last :data:`~kneevision.protocols.seated_twist.STILL_SEED_S`
    seconds are the still start: the forefeet are seeded in the current frame, inside
    the person's mask (one extra model call), and followed by their pixels from then on
    (:class:`~kneevision.pose.forefoot.ForefootFollower`). Each frame's θ is
    :func:`~kneevision.protocols.seated_twist.rotation_series` evaluated on the still
    start and the frame, so the blend of pixels and landmarks, the fallback where the
    track is lost and the scale are the clip analysis's (without its 2.5 Hz low-pass,
    which needs the frames after).

    Parameters
    ----------
    model : ModelFile
        The pose model, for the person mask.
    pixel_aspect : float
        The source's pixel aspect (landmark x = frame x × aspect).
    follow_pixels : bool
        False: the landmarks alone after calibration too (what the guide read before;
        ``benchmarks/live_twist.py`` compares the two).
    """

    def __init__(
        self, model: ModelFile, pixel_aspect: float = 1.0, *, follow_pixels: bool = True
    ) -> None:
        self.model, self.pixel_aspect, self.follow_pixels = model, pixel_aspect, follow_pixels
        self.history: deque[tuple[float, np.ndarray, np.ndarray]] = deque()
        self.follower: ForefootFollower | None = None
        self.still: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
        # The toe points (square pixels) and agreeing shares since the still start.
        self.toes: list[np.ndarray] = []
        self.shares: list[np.ndarray] = []

    @staticmethod
    def _theta(image: np.ndarray, world: np.ndarray, track: dict | None, still: int) -> np.ndarray:
        """(2, T) θ of both legs; ``still``: how many first rows are the still start."""
        tracks = track or {}
        return np.array([rotation_series(image, world, s, "front", track=tracks.get(s),
                                         still=slice(0, still))
                         for s in SIDES])  # fmt: skip

    def update(
        self, time_s: float, frame: np.ndarray, image: np.ndarray, world: np.ndarray
    ) -> dict[str, float]:
        """θ of each leg (degrees, + internal) in this frame; NaN where unreadable.

        ``image`` (33, 2) square pixels and ``world`` (33, 3): the frame's (smoothed)
        landmarks.
        """
        self.history.append((time_s, image, world))
        while self.history and self.history[0][0] < time_s - STILL_SEED_S:
            self.history.popleft()
        if self.still is None:  # not calibrated, or the landmarks alone
            theta = self._theta(image[None], world[None], None, 1)[:, 0]
            return dict(zip(SIDES, map(float, theta), strict=True))
        toe, confidence = self.follower.toe(self.follower.step(frame)[None])
        toe = toe[0] * [self.pixel_aspect, 1]  # frame → square pixels, as the landmarks
        self.toes.append(toe)
        self.shares.append(confidence[0])
        cal_image, cal_world, cal_toe = self.still
        track = {s: ForefootTrack(np.vstack([cal_toe[k], toe[k]]),
                                  np.r_[np.ones(len(cal_toe[k])), confidence[0, k]])
                 for k, s in enumerate(SIDES)}  # fmt: skip
        both = np.vstack([cal_image, image[None]]), np.vstack([cal_world, world[None]])
        theta = self._theta(*both, track, len(cal_image))[:, -1]
        return dict(zip(SIDES, map(float, theta), strict=True))

    def tracks(self) -> dict[str, ForefootTrack] | None:
        """The forefeet's toe points from the still start on (None before a calibration).

        One row per frame from the first of the still start: what a clip's
        :func:`~kneevision.pose.forefoot.track_forefeet` gives, for the session's analysis.
        """
        if self.follower is None:
            return None
        toes, shares = np.array(self.toes), np.array(self.shares)
        return {s: ForefootTrack(toes[:, k], shares[:, k]) for k, s in enumerate(SIDES)}

    def calibrate(self, frame: np.ndarray) -> dict[str, float]:
        """Take the last still seconds as neutral and seed the forefeet in ``frame``.

        Returns each leg's neutral θ (NaN where a foot is not seen).
        """
        times = np.array([t for t, _, _ in self.history])
        image = np.stack([i for _, i, _ in self.history])
        world = np.stack([w for _, _, w in self.history])
        if not self.follow_pixels:
            theta = self._theta(image, world, None, len(image))
            return {s: neutral(times, theta[k])[0] for k, s in enumerate(SIDES)}
        feet = {s: neutral_foot(image, s, self.pixel_aspect) for s in SIDES}
        self.follower = ForefootFollower(frame, feet, person_mask(frame, self.model))
        toe = np.array([np.repeat(feet[s][0][None] * [self.pixel_aspect, 1], len(image), 0)
                        for s in SIDES])  # fmt: skip
        self.still = (image, world, toe)
        self.toes, self.shares = list(toe.transpose(1, 0, 2)), [np.ones(2)] * len(image)
        track = {s: ForefootTrack(toe[k], np.ones(len(image))) for k, s in enumerate(SIDES)}
        theta = self._theta(image, world, track, len(image))
        return {s: neutral(times, theta[k])[0] for k, s in enumerate(SIDES)}


@dataclass
class LiveState:
    """What the keys change and what the screen shows."""

    mirror: bool = False
    recording: bool = False
    quit: bool = False
    calibrate_requested: bool = False
    messages: list[str] = field(default_factory=list)


def handle_key(state: LiveState, key: int) -> None:
    """Apply one key press (the window's and the tests' single code path)."""
    if key < 0:
        return
    key &= 0xFF
    if key in KEY_QUIT:
        state.quit = True
    elif key == KEY_RECORD:
        state.recording = not state.recording
    elif key == KEY_CALIBRATE:
        state.calibrate_requested = True
    elif key == KEY_MIRROR:
        state.mirror = not state.mirror


def capture_hints(pf: PoseFrame, width: int, height: int) -> list[str]:
    """Short filming hints for the current frame."""
    if not np.isfinite(pf.image[HIPS]).all():
        return ["Step into the picture"]
    legs = pf.image[LEGS]
    m = 0.01
    inside = (
        (legs[:, 0] > m * width)
        & (legs[:, 0] < (1 - m) * width)
        & (legs[:, 1] > m * height)
        & (legs[:, 1] < (1 - m) * height)
    )
    hints = []
    if not inside.all():
        hints.append("Step back: keep hips to toes in the picture")
    if np.nanmean(pf.visibility[LEGS]) < 0.5:
        hints.append("More light, please")
    return hints


@dataclass
class LiveStats:
    """Per processed frame: capture-to-overlay latency and the landmarker's own time."""

    wall_s: list[float] = field(default_factory=list)
    latency_s: list[float] = field(default_factory=list)
    inference_s: list[float] = field(default_factory=list)

    def summary(self) -> dict:
        """Median and 95th percentile latency and inference time (ms), and latency drift."""
        if not self.latency_s:
            return {}
        lat, inf = np.array(self.latency_s) * 1000, np.array(self.inference_s) * 1000
        slope = float(np.polyfit(self.wall_s, lat, 1)[0]) * 60 if len(lat) > 2 else math.nan
        return {
            "frames": len(lat),
            "latency_ms_p50": float(np.percentile(lat, 50)),
            "latency_ms_p95": float(np.percentile(lat, 95)),
            "inference_ms_p50": float(np.percentile(inf, 50)),
            "inference_ms_p95": float(np.percentile(inf, 95)),
            "latency_growth_ms_per_min": slope,
        }


class LiveSession:
    """The live loop. ``run`` returns the collected landmarks for the end-of-session analysis.

    Parameters
    ----------
    frames : iterator of Frame
        The source (a camera, or a file already paced in real time).
    every_frame : bool
        Process every frame of the source, none dropped (a file replayed frame by frame).
    info : VideoInfo
        Frame size and nominal fps.
    model : ModelFile
    show : callable, optional
        ``show(image) → key`` (e.g. ``cv2.imshow`` + ``cv2.waitKey``); None for headless.
    record : callable, optional
        ``record(image)`` called with each drawn frame while recording.
    mirror : bool
        Show the picture mirrored (as a webcam user expects); labels stay anatomical.
    guide : bool
        Seated twist guided mode.
    max_seconds : float, optional
        Stop after this much source time.
    settings : Settings, optional
        ``max_people`` (1 turns off the once-a-second check for a second person, which
        costs one extra inference), ``fast`` (off: also run the model on each frame's
        mirror image, in a second thread, and average the two) and ``valgus_warn_deg``.
        Default: :data:`~kneevision.settings.LIVE_DEFAULTS`.
    """

    def __init__(
        self,
        frames: Iterator[Frame],
        info: VideoInfo,
        model: ModelFile,
        *,
        show: Callable[[np.ndarray], int] | None = None,
        record: Callable[[np.ndarray], None] | None = None,
        recording: bool = False,
        mirror: bool = False,
        guide: bool = False,
        max_seconds: float | None = None,
        settings: Settings | None = None,
        every_frame: bool = False,
    ) -> None:
        self.capture = LatestFrame(frames, lossless=every_frame)
        self.settings = settings or Settings.from_dict(LIVE_DEFAULTS)
        self.info, self.model = info, model
        self.show, self.record = show, record
        self.state = LiveState(mirror=mirror, recording=recording)
        self.guide = TwistGuide() if guide else None
        self.max_seconds = max_seconds
        self.reps = RepCounter()
        self.stats = LiveStats()
        self.smoother = OneEuroFilter(min_cutoff=1.5, beta=0.02)
        self.twist = LiveTwist(model, info.pixel_aspect)
        self.test_start = 0  # first frame of the guided test (its last calibration)
        self.frames: list[PoseFrame] = []
        self.times: list[float] = []
        self.jumps = 0
        self.multi = False

    def run(self) -> None:
        """Process frames until the source ends, ``q``/Esc, or ``max_seconds``."""
        started = time.monotonic()
        try:
            estimator = PoseEstimator if self.settings.fast else FlipAveragedEstimator
            with estimator(self.model, max_people=self.settings.max_people) as est:
                while not self.state.quit:
                    item = self.capture.get()
                    if item is None:
                        break
                    frame, captured_at = item
                    if self.max_seconds is not None and frame.time_s > self.max_seconds:
                        break
                    t0 = time.monotonic()
                    pf = est.detect(frame.image, frame.time_s)
                    inference = time.monotonic() - t0
                    self.frames.append(pf)
                    self.times.append(frame.time_s)
                    canvas = self.draw(frame, pf)
                    if self.record is not None and self.state.recording:
                        self.record(canvas)
                    key = self.show(canvas) if self.show is not None else -1
                    now = time.monotonic()
                    self.stats.wall_s.append(now - started)
                    self.stats.latency_s.append(now - captured_at)
                    self.stats.inference_s.append(inference)
                    handle_key(self.state, key)
                self.jumps, self.multi = est.jumps, est.multi_person
        finally:
            self.capture.stop()

    def draw(self, frame: Frame, pf: PoseFrame) -> np.ndarray:
        """The frame with the legs, live numbers, warnings, reps, fps/latency and hints."""
        sm = self.smoother(frame.time_s, np.concatenate([pf.image, pf.world], axis=1))
        img_pts, wld_pts = sm[:, :2].copy(), sm[:, 2:]
        # The same estimator as a clip's analysis, for a camera in front (the guide's
        # set-up); with the guide, calibration seeds the forefeet's pixels.
        theta = self.twist.update(frame.time_s, frame.image, img_pts.copy(), wld_pts)
        if self.state.calibrate_requested:
            self.state.calibrate_requested = False
            if self.guide is not None:
                self.guide.calibrate(self.twist.calibrate(frame.image))
                # The session's analysis starts at the still start, as a clip's does.
                self.test_start = len(self.frames) - len(self.twist.history)
        if self.guide is not None:
            self.guide.update(theta)
        image = frame.image
        w = image.shape[1]
        if self.state.mirror:
            image = cv2.flip(image, 1)
            img_pts[:, 0] = w - 1 - img_pts[:, 0]
        else:
            image = image.copy()
        labels, warn = live_labels(img_pts, wld_pts, self.settings.valgus_warn_deg)
        flexion = {}
        for side in SIDES:
            j = leg(wld_pts, side)
            flexion[side] = float(knee_flexion(j["hip"], j["knee"], j["ankle"]))
        self.reps.update(flexion)
        for side in SIDES:
            tag = "L" if side == "left" else "R"
            v = theta[side] - (self.guide.neutral.get(side, 0.0) if self.guide else 0.0)
            labels[side].append(f"{tag} rot {v:+5.1f}" if math.isfinite(v) else f"{tag} rot  --")
        draw_overlay(image, img_pts, labels, warn, self.info.pixel_aspect)
        self._hud(image, pf, warn)
        return image

    def _hud(self, image: np.ndarray, pf: PoseFrame, warn: dict[str, bool]) -> None:
        lat = self.stats.latency_s[-1] * 1000 if self.stats.latency_s else 0.0
        n = len(self.stats.wall_s)
        fps = (n - 1) / (self.stats.wall_s[-1] - self.stats.wall_s[0]) if n > 2 else 0.0
        lines = [f"{fps:4.1f} fps  {lat:4.0f} ms  reps {self.reps.count}"]
        if self.reps.last:
            left, right = (
                self.reps.last.get("left", math.nan),
                self.reps.last.get("right", math.nan),
            )
            lines.append(f"last rep flex L {left:.0f} R {right:.0f} (L-R {left - right:+.0f})")
        if self.state.recording:
            lines.append("REC")
        if self.guide is not None:
            lines += self.guide.prompt().split("\n")
        hints = capture_hints(pf, self.info.width, self.info.height)
        if any(warn.values()):
            hints.insert(0, "Knee caving in!")
        elif self.guide is None and np.isfinite(pf.image[HIPS]).all():
            if not facing_camera(pf.image):
                hints.append("Face the camera to see the knees cave in")
        scale = max(0.8, image.shape[0] / 720)
        font, size, thick = cv2.FONT_HERSHEY_SIMPLEX, 0.65 * scale, max(1, round(1.6 * scale))
        x, y = round(10 * scale), round(10 * scale)
        rows = [(t, (255, 255, 255)) for t in lines] + [(h, WARNING_BGR) for h in hints]
        for text, color in rows:
            (tw, th), base = cv2.getTextSize(text, font, size, thick)
            pad = round(5 * scale)
            box = image[y : y + th + base + 2 * pad, x : x + tw + 2 * pad]
            box[:] = (box * 0.35).astype(np.uint8)  # darken behind the text, keep the picture
            cv2.putText(image, text, (x + pad, y + pad + th), font, size, color, thick, cv2.LINE_AA)
            y += th + base + 2 * pad + round(3 * scale)


def open_source(
    camera: int | None, source: str | None, every_frame: bool = False
) -> tuple[Iterator[Frame], VideoInfo, str]:
    """Frames, their description and a label, from a camera index or a file played live.

    A file plays at the pace of its timestamps, or, with ``every_frame``, as fast as
    the session takes its frames (none dropped).
    """
    if source is not None:
        info = probe_video(source)
        frames = read_video(source)
        return (frames if every_frame else paced(frames)), info, str(Path(source).resolve())
    index = 0 if camera is None else camera
    frames = read_camera(index)
    first = next(frames)  # raises a clear error when the camera is missing or busy
    h, w = first.image.shape[:2]
    info = VideoInfo(f"camera {index}", w, h, 0, 30.0, 0, 0.0)

    def chained() -> Iterator[Frame]:
        yield first
        yield from frames

    return chained(), info, f"camera {index}"


def window_show(image: np.ndarray) -> int:
    """Show a frame in the live window; the key pressed (or −1)."""
    cv2.imshow(WINDOW, image)
    key = cv2.waitKey(1)
    if cv2.getWindowProperty(WINDOW, cv2.WND_PROP_VISIBLE) < 1:
        return 27  # the window was closed
    return key


def no_display_error() -> KneeVisionError:
    """The one-line error for a window without a display."""
    return KneeVisionError(
        "no display to open a window on (DISPLAY is not set); use --headless to write the "
        "overlay video and summary instead"
    )


def write_session(
    session: LiveSession, folder: Path, *, label: str, elapsed_s: float, settings: Settings
) -> StoredAnalysis:
    """Analyse a finished live session like a clip, into ``folder``.

    A guided seated twist is analysed from its (last) calibration on, with the forefeet
    its guide followed, so the saved result reads what the guide read, low-passed as a
    clip's is.

    Raises
    ------
    NoPoseError
        Nobody was seen.
    """
    info, model = session.info, session.model
    start = session.test_start
    tracks = session.twist.tracks() if session.guide is not None else None
    seq = sequence_from_frames(session.frames[start:], session.times[start:], info, model)
    seq.meta["source"] = label
    if seq.frames_with_pose == 0:
        raise NoPoseError("no person was seen during the session", label)
    facts = {
        "seconds": elapsed_s,
        "fps": len(seq) / elapsed_s if elapsed_s > 0 else None,
        "person_jumps": session.jumps,
        "multi_person_tracking": session.multi,
    }
    input_facts = {
        "path": label,
        "sha256": None,
        **{k: v for k, v in info.to_dict().items() if k != "path"},
        "frames_decoded": len(seq),
        "live": {
            **session.stats.summary(),
            "captured": session.capture.captured,
            "dropped": session.capture.dropped,
        },
    }
    return write_outputs(folder, seq, facts, settings, model, input_facts,
                         forefoot=(lambda motion: tracks) if tracks else None)  # fmt: skip


def run_live(
    model: ModelFile,
    settings: Settings | None = None,
    *,
    camera: int | None = None,
    source: str | None = None,
    record: str | None = None,
    headless: bool = False,
    out_root: str | None = None,
    max_seconds: float | None = None,
    every_frame: bool = False,
) -> tuple[Path, Summary, LiveStats]:
    """Run a live session and analyse it like a clip.

    Parameters
    ----------
    model : ModelFile
    settings : Settings, optional
        As for a clip (``protocol``, ``report``, ``export`` ...); default
        :data:`~kneevision.settings.LIVE_DEFAULTS`. ``protocol="seated-twist"`` also
        starts the guided mode.
    camera, source : optional
        A webcam index, or a video file played as a camera.
    record : path, optional
        Also copy the overlay video there.
    headless : bool
        No window: the same loop, writing the overlay video.
    out_root : path, optional
        Where the session folder goes (default ``./kneevision-live``).
    max_seconds : float, optional
        Stop after this much source time.
    every_frame : bool
        With ``source``: replay every frame, none dropped, as fast as they are
        processed (the result then does not depend on the machine's speed).

    Returns
    -------
    (Path, Summary, LiveStats)
        The output folder, its summary and the latency figures.

    Raises
    ------
    KneeVisionError
        No display without ``headless``, camera missing or busy, no person seen,
        unwritable output.
    """
    import datetime as dt
    import shutil

    from kneevision.api import check_exports, finish_folder
    from kneevision.outputs import atomic_dir, atomic_file

    settings = settings or Settings.from_dict(LIVE_DEFAULTS)
    check_exports(settings)
    if not headless and not display_available():
        raise no_display_error()
    if every_frame and source is None:
        raise KneeVisionError("--every-frame replays a file: give it with --source")
    frames, info, label = open_source(camera, source, every_frame)
    stem = Path(source).stem if source else f"live_{dt.datetime.now():%Y%m%d_%H%M%S}"
    final = (Path(out_root or "kneevision-live") / f"{stem}_kneevision").absolute()
    with atomic_dir(final) as tmp:
        from kneevision.video.writer import VideoWriter

        writer: VideoWriter | None = None

        def record_frame(image: np.ndarray) -> None:
            nonlocal writer
            if writer is None:  # opened on the first recorded frame (space starts recording)
                h, w = image.shape[:2]
                writer = VideoWriter(tmp / "overlay.mp4", info.fps or 30.0, (w, h))
            writer.write(image)

        show = None
        if not headless:
            cv2.namedWindow(WINDOW, cv2.WINDOW_AUTOSIZE)
            show = window_show
        session = LiveSession(
            frames,
            info,
            model,
            show=show,
            record=record_frame,
            recording=headless or record is not None,
            mirror=source is None and not headless,
            guide=settings.protocol == "seated-twist",
            max_seconds=max_seconds,
            settings=settings,
            every_frame=every_frame,
        )
        started = time.monotonic()
        try:
            session.run()
        finally:
            if writer is not None:
                writer.close()
            if show is not None:
                cv2.destroyAllWindows()
        elapsed = time.monotonic() - started
        settings = dataclasses.replace(settings, model=model.name, overlay=writer is not None)
        done = write_session(session, tmp, label=label, elapsed_s=elapsed, settings=settings)
        summary = finish_folder(done, settings)
    if record is not None and (final / "overlay.mp4").is_file():
        with atomic_file(record) as tmp:
            shutil.copyfile(final / "overlay.mp4", tmp)
    return final, Summary.from_json(summary), session.stats
