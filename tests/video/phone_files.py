"""Re-encodings of a real clip as phones and apps write them (made with the bundled ffmpeg)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import imageio_ffmpeg


def ffmpeg(*args: str) -> None:
    """Run the ffmpeg that ships with imageio-ffmpeg, quietly, failing loudly."""
    exe = imageio_ffmpeg.get_ffmpeg_exe()
    subprocess.run([exe, "-nostdin", "-v", "error", "-y", *args], check=True)


def reencode(src: Path, dst: Path, seconds: float, vf: str | None = None) -> Path:
    """The first ``seconds`` of ``src`` as H.264, optionally through a filter, no rotation tag.

    Re-encoding applies any rotation of the input and writes none, like an app that
    strips the metadata after turning (or not turning) the pixels.
    """
    filters = ["-vf", vf] if vf else []
    ffmpeg(
        "-i",
        str(src),
        "-t",
        str(seconds),
        *filters,
        "-an",
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-pix_fmt",
        "yuv420p",
        str(dst),
    )
    return dst


def declare_more_frames(src: Path, dst: Path, start_s: float, seconds: float) -> Path:
    """A stream copy from ``start_s``: the header counts frames an edit list hides."""
    ffmpeg("-ss", str(start_s), "-i", str(src), "-t", str(seconds), "-c", "copy", "-an", str(dst))
    return dst


def cut_short(src: Path, dst: Path, seconds: float, keep: float) -> Path:
    """The first ``seconds`` of ``src`` (index at the front), with only ``keep`` of its bytes.

    As a copy interrupted mid-transfer: the index lists every frame, the data of
    the last ones is missing.
    """
    full = dst.with_name(dst.stem + "_full.mp4")
    ffmpeg(
        "-i",
        str(src),
        "-t",
        str(seconds),
        "-c",
        "copy",
        "-an",
        "-movflags",
        "+faststart",
        str(full),
    )
    data = full.read_bytes()
    dst.write_bytes(data[: round(len(data) * keep)])
    return dst
