"""H.264 MP4 writing that browsers can play.

OpenCV's own ``mp4v`` output does not play in browsers; ``imageio-ffmpeg`` ships
an ffmpeg binary in its wheel, so we pipe frames to it and encode H.264
(yuv420p, ``+faststart``). Frames are handed to a background thread so that
encoding overlaps with pose inference.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2
import imageio_ffmpeg
import numpy as np

from kneevision.cores import pin_to
from kneevision.errors import OutputError


class Background:
    """Apply ``fn`` to items in order, in a background thread, ``depth`` items ahead.

    The caller's thread (pose inference) hands items over and goes on; an
    exception raised by ``fn`` is kept and raised by the next :meth:`put` or by
    :meth:`close`. With ``cpus`` the thread pins itself to those CPUs (see
    :mod:`kneevision.cores`).
    """

    def __init__(
        self,
        fn: Callable[[Any], None],
        name: str,
        depth: int = 16,
        cpus: frozenset[int] | None = None,
    ) -> None:
        self._fn = fn
        self._cpus = cpus
        self._queue: queue.Queue = queue.Queue(maxsize=depth)
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        pin_to(self._cpus)
        while (item := self._queue.get()) is not None:
            if self.error is not None:
                continue
            try:
                self._fn(item)
            except BaseException as exc:  # reported by put() / close()
                self.error = exc

    def put(self, item: Any) -> None:
        """Queue one item (blocks while ``depth`` items wait)."""
        if self.error is not None:
            raise self.error
        self._queue.put(item)

    def close(self) -> None:
        """Wait for the queued items; re-raise what ``fn`` raised."""
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join()
        if self.error is not None:
            raise self.error


class VideoWriter:
    """Write BGR frames to an H.264 MP4 file.

    Parameters
    ----------
    path : str or Path
        Output file.
    fps : float
        Frame rate written to the container.
    size : tuple of int
        ``(width, height)`` of the frames given to :meth:`write`. Odd sizes are
        padded by one pixel (yuv420p needs even dimensions).
    preset : str
        x264 speed preset. ``ultrafast``, in one thread: the overlay shares two cores
        with two landmarkers, and it takes about half the CPU of ``veryfast`` for a
        larger file (the bundled sample's 12 s overlay, 640×360: 1.8 MB); with it the
        defaults went from 0.65 to 0.68 × inference alone (``benchmarks/throughput.py``).
    crf : int
        x264 quality (lower is better).
    threads : int or None
        x264 threads; None lets x264 choose (one per core and more). One by default:
        more cost CPU the landmarkers need, and one keeps well ahead of inference.
    render : callable, optional
        Turns what is given to :meth:`write` into a BGR frame, in the background
        thread (e.g. drawing an overlay), so the caller's thread is not slowed.
    cpus : frozenset of int, optional
        CPUs for the encoding thread and ffmpeg (started from that thread, so
        that it inherits them).

    Notes
    -----
    Use as a context manager; :meth:`close` flushes and raises if ffmpeg failed.
    """

    def __init__(
        self,
        path: str | Path,
        fps: float,
        size: tuple[int, int],
        preset: str = "ultrafast",
        crf: int = 23,
        threads: int | None = 1,
        render: Callable[[Any], np.ndarray] | None = None,
        cpus: frozenset[int] | None = None,
    ) -> None:
        self.path = Path(path)
        self.size = size
        w, h = size
        self._pad = (w % 2, h % 2)
        out_size = (w + self._pad[0], h + self._pad[1])
        self._gen = imageio_ffmpeg.write_frames(
            str(self.path),
            out_size,
            # Converted here by OpenCV, which is cheaper than ffmpeg's own bgr24 →
            # yuv420p conversion on the cores inference needs.
            pix_fmt_in="yuv420p",
            pix_fmt_out="yuv420p",
            fps=float(fps) if fps and fps > 0 else 30.0,
            codec="libx264",
            quality=None,
            macro_block_size=1,
            ffmpeg_log_level="error",
            output_params=[
                "-preset", preset, "-crf", str(crf),
                *(["-threads", str(threads)] if threads else []),
                "-movflags", "+faststart",
            ],
        )
        self._started = False
        self._render = render
        self._worker = Background(self._encode, name="kneevision-encode", cpus=cpus)
        self.frames_written = 0

    def _encode(self, frame: Any) -> None:
        if not self._started:  # ffmpeg starts here, in the worker: it takes the worker's CPUs
            self._gen.send(None)
            self._started = True
        if self._render is not None:
            frame = self._render(frame)
        if any(self._pad):
            frame = cv2.copyMakeBorder(
                frame, 0, self._pad[1], 0, self._pad[0], cv2.BORDER_REPLICATE
            )
        self._gen.send(cv2.cvtColor(frame, cv2.COLOR_BGR2YUV_I420))

    def write(self, item: Any) -> None:
        """Queue one BGR frame of the declared size (or an item for ``render``)."""
        try:
            self._worker.put(item)
        except BaseException as exc:
            raise OutputError(f"video encoding failed: {exc}", self.path) from exc
        self.frames_written += 1

    def close(self) -> None:
        """Flush remaining frames and finish the file."""
        error = None
        try:
            self._worker.close()
        except BaseException as exc:
            error = exc
        try:
            self._gen.close()
        except BaseException as exc:
            error = error or exc
        if error is not None:
            raise OutputError(f"video encoding failed: {error}", self.path) from error

    def __enter__(self) -> VideoWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
