"""Frame sources: video files (as phones write them), webcams and image folders.

Every source yields :class:`Frame` objects with an index, a real timestamp in
seconds and an upright BGR image. File decoding honours rotation metadata
(OpenCV's FFmpeg backend applies it), then turns frames whose body still lies
sideways or upside down (a missing or wrong tag, :mod:`kneevision.video.orientation`),
and reads each frame's own presentation time, so variable-frame-rate phone clips
keep their true timing.

The stream is trusted, not the header: containers often declare more frames than
they hold (edit lists, rounding), so a file is only called damaged where decoding
fails (:func:`check_decoding`), and what was decoded is still analysed.
"""

from __future__ import annotations

import hashlib
import math
import os
import queue
import stat
import subprocess
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TypeVar

import cv2
import numpy as np

from kneevision._native import quiet_native_stderr
from kneevision.cores import pin_to
from kneevision.errors import VideoError
from kneevision.video.orientation import detect_orientation, turn_image

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")

T = TypeVar("T")


@dataclass(frozen=True)
class Frame:
    """One decoded frame.

    Attributes
    ----------
    index : int
        0-based position in the source.
    time_s : float
        Presentation time in seconds from the start of the source.
    image : numpy.ndarray
        Upright BGR image, ``(height, width, 3)`` uint8.
    """

    index: int
    time_s: float
    image: np.ndarray


@dataclass(frozen=True)
class VideoInfo:
    """What a video file declares about itself, after rotation.

    Attributes
    ----------
    path : str
        The file.
    width, height : int
        Size of the upright frames in pixels.
    rotation : int
        Rotation metadata in degrees (0, 90, 180, 270) that was applied.
    fps : float
        Nominal frame rate from the container.
    frames : int
        Frame count declared by the container (may be wrong: decoding decides).
    duration_s : float
        ``frames / fps``.
    pixel_aspect : float
        Sample aspect ratio (pixel width / pixel height); 1 for square pixels.
    upright_turn : int
        Degrees clockwise the frames were turned after the rotation tag, because
        the body lay sideways or upside down in them (0: the tag was right).
    upright_check : str
        What the orientation probe saw (empty where none ran, e.g. image folders).
    codec : str
        The video codec's FourCC as the decoder reports it (``h264``/``avc1``,
        ``hevc``, ``VP90``, ``AV01``, ``MJPG`` ...); empty for image folders.
    """

    path: str
    width: int
    height: int
    rotation: int
    fps: float
    frames: int
    duration_s: float
    pixel_aspect: float = 1.0
    upright_turn: int = 0
    upright_check: str = ""
    codec: str = ""

    def to_dict(self) -> dict:
        """Plain-dict form for JSON."""
        return asdict(self)


#: Frames larger than this (in pixels) are refused before decoding: a header
#: claiming more is corrupt or not a camera's video (8K UHD is 33 Mpx).
MAX_PIXELS = 40_000_000
#: ... and so are frames smaller than this on either side (no body fits).
MIN_SIDE = 16


def _check_file(path: Path) -> None:
    """Refuse what is not a readable, non-empty regular file, with the reason."""
    try:
        st = path.stat()
    except FileNotFoundError:
        raise VideoError("file not found", path) from None
    except OSError as exc:
        raise VideoError(f"cannot read ({exc.strerror or exc})", path) from None
    if stat.S_ISDIR(st.st_mode):
        raise VideoError("is a directory, not a video file", path)
    if not stat.S_ISREG(st.st_mode):
        kind = "a pipe (FIFO)" if stat.S_ISFIFO(st.st_mode) else "not a regular file"
        raise VideoError(f"is {kind}, not a video file", path)
    # Checked explicitly: root reads any file, but the user running as someone
    # else must hear why, not "not a readable video".
    if not os.access(path, os.R_OK) or not st.st_mode & 0o444:
        raise VideoError("permission denied (the file is not readable)", path)
    if st.st_size == 0:
        raise VideoError("file is empty (0 bytes)", path)


def _codec(cap: cv2.VideoCapture) -> str:
    """The video codec's FourCC as OpenCV reports it (e.g. ``avc1``, ``hevc``), or ``""``."""
    code = int(cap.get(cv2.CAP_PROP_FOURCC) or 0)
    text = code.to_bytes(4, "little").decode("ascii", "replace").strip("\0 ")
    return text if text.isprintable() else ""


def _no_frame(cap: cv2.VideoCapture, path: Path) -> VideoError:
    codec = _codec(cap)
    named = f"codec {codec}: " if codec else ""
    problem = f"no frame could be decoded ({named}truncated, corrupt or unsupported video)"
    return VideoError(problem, path)


def _open_capture(path: Path) -> cv2.VideoCapture:
    _check_file(path)
    with quiet_native_stderr():
        cap = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG)
    if not cap.isOpened():
        raise VideoError("not a readable video (unknown format or corrupt file)", path)
    w, h = cap.get(cv2.CAP_PROP_FRAME_WIDTH), cap.get(cv2.CAP_PROP_FRAME_HEIGHT)
    if w * h > MAX_PIXELS or (w and h and min(w, h) < MIN_SIDE):
        cap.release()
        raise VideoError(f"absurd frame size {w:.0f}×{h:.0f} (corrupt header?)", path)
    cap.set(cv2.CAP_PROP_ORIENTATION_AUTO, 1)
    return cap


def probe_video(path: str | Path) -> VideoInfo:
    """Read a video's metadata and check that its first frame decodes.

    Parameters
    ----------
    path : str or Path
        Video file.

    Returns
    -------
    VideoInfo

    Raises
    ------
    VideoError
        Missing, empty, a directory, not a video, or no decodable frame.
    """
    path = Path(path)
    cap = _open_capture(path)
    try:
        with quiet_native_stderr():
            ok, image = cap.read()
        if not ok or image is None:
            raise _no_frame(cap, path)
        fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
        frames = int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
        rotation = int(cap.get(cv2.CAP_PROP_ORIENTATION_META) or 0) % 360
        sar_num = cap.get(cv2.CAP_PROP_SAR_NUM) or 1.0
        sar_den = cap.get(cv2.CAP_PROP_SAR_DEN) or 1.0
        codec = _codec(cap)
    finally:
        cap.release()
    upright = detect_orientation(path)
    height, width = turn_image(image, upright.turn).shape[:2]
    aspect = float(sar_num / sar_den) if sar_den > 0 and sar_num > 0 else 1.0
    return VideoInfo(
        path=str(path),
        width=int(width),
        height=int(height),
        rotation=rotation,
        fps=fps,
        frames=frames,
        duration_s=frames / fps if fps > 0 else 0.0,
        # A quarter turn swaps which way the pixels are stretched.
        pixel_aspect=1.0 / aspect if upright.turn in (90, 270) else aspect,
        upright_turn=upright.turn,
        upright_check=upright.reason,
        codec=codec,
    )


def inference_stride(fps: float, max_fps: float | None) -> int:
    """How many frames of a ``fps`` clip one inferred frame stands for under ``max_fps``.

    1 (every frame) without a cap or at or below it; otherwise the smallest
    whole stride that brings the rate to ``max_fps`` or below, e.g. 240 fps under
    60 → 4, 120 → 2, 100 → 2 (50 fps). Used for the overlay's frame rate; the
    frames themselves are picked by time (:func:`read_video`), which also holds
    for variable frame rates.
    """
    if not max_fps or max_fps <= 0 or not fps or fps <= max_fps * (1 + STRIDE_SLACK):
        return 1
    return max(1, math.ceil(fps / max_fps - STRIDE_SLACK))


#: Timestamps are not exact: a frame within this fraction of the cap's interval
#: still counts as due (a 60.0x fps clip under a 60 fps cap keeps every frame).
STRIDE_SLACK = 0.1


def read_video(
    path: str | Path,
    *,
    start_s: float = 0.0,
    stop_s: float | None = None,
    auto_rotate: bool = True,
    max_fps: float | None = None,
    timeline: list[float] | None = None,
) -> Iterator[Frame]:
    """Decode a video file frame by frame.

    Parameters
    ----------
    path : str or Path
        Video file.
    start_s, stop_s : float
        Only frames with ``start_s <= time < stop_s`` are yielded.
    auto_rotate : bool
        Apply rotation metadata and turn a body lying sideways or upside down
        upright (True, see :func:`~kneevision.video.orientation.detect_orientation`),
        or give the stored, possibly sideways, frames.
    max_fps : float, optional
        Cap on the rate of frames yielded (slow motion: inference at a capped
        rate). A frame is yielded when at least ``(1 - STRIDE_SLACK) / max_fps``
        seconds after the last one yielded; the others are decoded (the codec
        needs them) but not converted to images. ``None`` or 0: every frame.
    timeline : list, optional
        Receives the timestamp of every decoded frame in the range, yielded or
        not, in order: the times to interpolate the skipped frames' landmarks at
        (:func:`kneevision.pose.resample.to_timeline`).

    Yields
    ------
    Frame
        ``index`` is the frame's position in the file, also when frames are skipped.

    Raises
    ------
    VideoError
        When the file cannot be opened or no frame decodes. A file that decodes
        fewer frames than its header declares is not an error here: see
        :func:`check_decoding`.
    """
    path = Path(path)
    cap = _open_capture(path)
    cap.set(cv2.CAP_PROP_ORIENTATION_AUTO, 1 if auto_rotate else 0)
    turn = detect_orientation(path).turn if auto_rotate else 0
    fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0) or 30.0
    min_step = (1.0 - STRIDE_SLACK) / max_fps if max_fps and max_fps > 0 else 0.0
    index = 0
    last_t = last_yield = -np.inf
    try:
        while True:
            if not cap.grab():
                break
            t = cap.get(cv2.CAP_PROP_POS_MSEC) / 1000.0
            # Some streams report no or repeated timestamps: fall back to the
            # nominal rate rather than give up on strict ordering.
            if not np.isfinite(t) or t <= last_t:
                t = last_t + 1.0 / fps if np.isfinite(last_t) else 0.0
            last_t = t
            if stop_s is not None and t >= stop_s:
                break
            if t >= start_s:
                if timeline is not None:
                    timeline.append(t)
                if t - last_yield >= min_step:
                    ok, image = cap.retrieve()
                    if ok and image is not None:
                        last_yield = t
                        yield Frame(index=index, time_s=t, image=turn_image(image, turn))
            index += 1
        if index == 0:
            raise _no_frame(cap, path)
    finally:
        cap.release()


#: A timestamp gap counts as missing frames when longer than this many frame
#: intervals and this many seconds (shorter ones are variable frame rate).
GAP_FRAMES = 4
GAP_MIN_S = 0.25


def demux_errors(path: str | Path, timeout_s: float = 120.0) -> list[str]:
    """What FFmpeg reports when reading every video packet of a file (no decoding).

    A cut file's index lists packets past its end ("partial file"); a header that
    merely declares too many frames reads without a message. Uses the ffmpeg that
    ships with ``imageio-ffmpeg``; a stream copy is fast (no pixels are decoded).
    """
    import imageio_ffmpeg

    cmd = [imageio_ffmpeg.get_ffmpeg_exe(), "-nostdin", "-v", "error", "-i", str(path)]
    cmd += ["-map", "0:v:0", "-c", "copy", "-f", "null", "-"]
    try:
        run = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return [f"could not check the file ({type(exc).__name__})"]
    return [line.strip() for line in run.stderr.splitlines() if line.strip()]


def check_decoding(path: str | Path, info: VideoInfo, time_s: np.ndarray) -> dict:
    """How the decoded frames compare with what the file declares, and where it failed.

    Parameters
    ----------
    path : str or Path
        The video file (a folder of images gives ``{}``).
    info : VideoInfo
        From :func:`probe_video`.
    time_s : ndarray
        Timestamps of the frames that decoded.

    Returns
    -------
    dict
        ``frames_declared``, ``frames_decoded``; ``damaged`` (FFmpeg reported
        errors reading the file), ``errors`` (its first messages), ``failed_at_s``
        (where decoding stopped before the declared end of a damaged file, else
        None) and ``gaps`` (``[start_s, end_s]`` stretches without frames inside
        the clip). The file is only read again when fewer frames decoded than
        declared or the timestamps jump.
    """
    path = Path(path)
    if path.is_dir():
        return {}
    t = np.asarray(time_s, dtype=float)
    out: dict = {
        "frames_declared": info.frames,
        "frames_decoded": int(t.size),
        "damaged": False,
        "errors": [],
        "failed_at_s": None,
        "gaps": [],
    }
    dt = float(np.median(np.diff(t))) if t.size > 1 else 1.0 / (info.fps or 30.0)
    jumps = np.flatnonzero(np.diff(t) > max(GAP_FRAMES * dt, GAP_MIN_S)) if t.size > 1 else []
    short = info.frames > 0 and t.size < info.frames - max(2, 0.02 * info.frames)
    if not short and not len(jumps):
        return out
    errors = demux_errors(path)
    out["gaps"] = [[float(t[i]), float(t[i + 1])] for i in jumps]
    out["damaged"] = bool(errors)
    out["errors"] = errors[:3]
    declared_end = info.frames / info.fps if info.fps > 0 else 0.0
    if errors and t.size and t[-1] + dt < declared_end - GAP_MIN_S:
        out["failed_at_s"] = float(t[-1] + dt)
    return out


def _image_files(folder: Path) -> list[Path]:
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise VideoError(
            "is a directory with no images (" + ", ".join(IMAGE_SUFFIXES) + ")", folder
        )
    return files


def probe_image_folder(folder: str | Path, fps: float = 30.0) -> VideoInfo:
    """Describe an image folder as a video: size of its first image, one frame per image."""
    folder = Path(folder)
    files = _image_files(folder)
    image = cv2.imread(str(files[0]), cv2.IMREAD_COLOR)
    if image is None:
        raise VideoError("not a readable image", files[0])
    h, w = image.shape[:2]
    return VideoInfo(str(folder), w, h, 0, fps, len(files), len(files) / fps)


def read_image_folder(folder: str | Path, fps: float = 30.0) -> Iterator[Frame]:
    """Yield the images of a folder, sorted by name, as frames at ``fps``.

    Raises
    ------
    VideoError
        When the folder holds no readable image.
    """
    for i, f in enumerate(_image_files(Path(folder))):
        image = cv2.imread(str(f), cv2.IMREAD_COLOR)
        if image is None:
            raise VideoError("not a readable image", f)
        yield Frame(index=i, time_s=i / fps, image=image)


def probe_source(path: str | Path, image_fps: float = 30.0) -> VideoInfo:
    """:func:`probe_video` for a file, :func:`probe_image_folder` for a folder."""
    path = Path(path)
    return probe_image_folder(path, image_fps) if path.is_dir() else probe_video(path)


def read_source(
    path: str | Path,
    image_fps: float = 30.0,
    *,
    max_fps: float | None = None,
    timeline: list[float] | None = None,
) -> Iterator[Frame]:
    """:func:`read_video` for a file, :func:`read_image_folder` for a folder.

    ``max_fps`` and ``timeline`` as for :func:`read_video`; a folder's images are
    all yielded (their rate is the user's ``image_fps``) and all go to ``timeline``.
    """
    path = Path(path)
    if path.is_dir():
        frames = read_image_folder(path, image_fps)
        return frames if timeline is None else _recorded(frames, timeline)
    return read_video(path, max_fps=max_fps, timeline=timeline)


def _recorded(frames: Iterator[Frame], timeline: list[float]) -> Iterator[Frame]:
    for frame in frames:
        timeline.append(frame.time_s)
        yield frame


def source_sha256(path: str | Path) -> str:
    """SHA-256 of a video file, or of a folder's images (names and bytes, in order)."""
    path = Path(path)
    files = _image_files(path) if path.is_dir() else [path]
    digest = hashlib.sha256()
    for f in files:
        if path.is_dir():
            digest.update(f.name.encode())
        with open(f, "rb") as fh:
            for chunk in iter(lambda fh=fh: fh.read(1 << 20), b""):
                digest.update(chunk)
    return digest.hexdigest()


def read_camera(
    index: int = 0, width: int | None = None, height: int | None = None
) -> Iterator[Frame]:
    """Yield frames from a webcam with wall-clock timestamps.

    Raises
    ------
    VideoError
        When the camera is missing or busy.
    """
    with quiet_native_stderr():  # OpenCV lists every backend it tried on stderr
        cap = cv2.VideoCapture(index)
    if not cap.isOpened():
        raise VideoError(
            "camera not found or busy (is another program using it? try --camera 1)",
            f"camera {index}",
        )
    if width:
        cap.set(cv2.CAP_PROP_FRAME_WIDTH, width)
    if height:
        cap.set(cv2.CAP_PROP_FRAME_HEIGHT, height)
    t0 = time.monotonic()
    i = 0
    try:
        while True:
            ok, image = cap.read()
            if not ok:
                if i == 0:
                    raise VideoError("camera opened but gives no frames", f"camera {index}")
                return
            yield Frame(index=i, time_s=time.monotonic() - t0, image=image)
            i += 1
    finally:
        cap.release()


_END = object()


def prefetch(items: Iterable[T], depth: int = 8, cpus: frozenset[int] | None = None) -> Iterator[T]:
    """Run an iterator in a background thread, ``depth`` items ahead.

    Decoding releases the GIL inside OpenCV, so this overlaps it with inference.
    Exceptions raised by the producer are re-raised in the consumer; closing the
    consumer early stops the producer. With ``cpus`` the producer thread pins
    itself to those CPUs (see :mod:`kneevision.cores`).
    """
    q: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def produce() -> None:
        pin_to(cpus)
        try:
            for item in items:
                while not stop.is_set():
                    try:
                        q.put(item, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            q.put(_END)
        except BaseException as exc:  # handed to the consumer
            q.put(exc)

    thread = threading.Thread(target=produce, name="kneevision-decode", daemon=True)
    thread.start()
    try:
        while True:
            item = q.get()
            if item is _END:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        thread.join(timeout=2.0)
