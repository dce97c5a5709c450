"""Re-encodings of a real clip as phones and apps write them (made with the bundled ffmpeg)."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import imageio_ffmpeg


def ffmpeg(*args: str) -> None:
    """Run the ffmpeg that ships with imageio-ffmpeg, quietly, failing loudly."""
    exe = imageio_ffmpeg.get_ffmpeg_exe()
    env = {**os.environ, "SVT_LOG": "1"}  # SVT-AV1 logs its banner at any -v level
    subprocess.run([exe, "-nostdin", "-v", "error", "-y", *args], check=True, env=env)


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


#: Encoder settings for the matrix: fast presets, short clips, quiet encoders.
_X264 = ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]
_X265 = ["-c:v", "libx265", "-preset", "ultrafast", "-x265-params", "log-level=error"]
# HDR colour tags on the frames themselves (encoder options alone are dropped by
# ffmpeg 7, which takes colour properties from the frames).
_HDR_PQ = "setparams=color_primaries=bt2020:color_trc=smpte2084:colorspace=bt2020nc"
_HDR_HLG = "setparams=color_primaries=bt2020:color_trc=arib-std-b67:colorspace=bt2020nc"


def matrix_variant(name: str, src: Path, dst_dir: Path, seconds: float) -> Path:
    """The first ``seconds`` of ``src`` as one entry of the codec/container matrix.

    ``name`` is one of :data:`MATRIX` (the file's suffix is the container).
    Everything is made with the ffmpeg that ships with imageio-ffmpeg (the
    machine has no system ffmpeg); its encoders: libx264, libx265, libvpx-vp9,
    libsvtav1 / libaom-av1, mjpeg.
    """
    out = dst_dir / MATRIX[name]
    t = ["-t", str(seconds)]
    args: list[str]
    if name == "h264":
        args = ["-i", str(src), *t, "-an", *_X264]
    elif name == "hevc8_mov":
        args = ["-i", str(src), *t, "-an", *_X265, "-pix_fmt", "yuv420p", "-tag:v", "hvc1"]
    elif name in ("hevc10_pq_mp4", "hevc10_hlg_mov"):
        tags = _HDR_PQ if "pq" in name else _HDR_HLG
        args = ["-i", str(src), *t, "-an", "-vf", tags, *_X265, "-pix_fmt", "yuv420p10le"]
        args += ["-tag:v", "hvc1"]
    elif name == "vp9_webm":
        args = ["-i", str(src), *t, "-an", "-c:v", "libvpx-vp9", "-deadline", "realtime"]
        args += ["-cpu-used", "8", "-row-mt", "1", "-b:v", "1M"]
    elif name == "av1_mkv":
        args = ["-i", str(src), *t, "-an", "-c:v", "libsvtav1", "-preset", "12"]
    elif name == "mjpeg_avi":
        args = ["-i", str(src), *t, "-an", "-c:v", "mjpeg", "-q:v", "6", "-pix_fmt", "yuvj420p"]
    elif name == "vfr":
        # Frames 2 of every 5 dropped, timestamps kept: 18 fps average, uneven steps.
        args = ["-i", str(src), *t, "-an", "-vf", "select='not(between(mod(n,5),1,2))'"]
        args += ["-fps_mode", "vfr", *_X264]
    elif name == "fps15":
        args = ["-i", str(src), *t, "-an", "-vf", "fps=15", *_X264]
    elif name == "audio":
        args = ["-i", str(src), "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000"]
        args += [*t, "-map", "0:v", "-map", "1:a", *_X264, "-c:a", "aac", "-b:a", "64k"]
    elif name == "two_streams":
        # The camera's stream first, then a second video stream (a depth or preview
        # track as some phones add) of other content and size.
        args = ["-i", str(src), "-f", "lavfi", "-i", "testsrc=size=320x240:rate=30"]
        args += [*t, "-map", "0:v", "-map", "1:v", "-an", *_X264]
    elif name == "odd_size":
        # 853×479 pixels: odd sizes need unsubsampled chroma (H.264 High 4:4:4).
        args = ["-i", str(src), *t, "-an", "-vf", "scale=853:479", *_X264[:4]]
        args += ["-pix_fmt", "yuv444p"]
    elif name == "uhd4k":
        args = ["-i", str(src), *t, "-an", "-vf", "scale=3840:2160", *_X264, "-crf", "30"]
    elif name in ("slow120", "slow240"):
        rate = name[-3:]
        # Linear blends between the 30 fps frames: a 120/240 fps clip playing in
        # real time, each in-between frame different (as a phone's slow motion).
        args = ["-i", str(src), *t, "-an", "-vf", f"scale=640:360,framerate=fps={rate}"]
        args += [*_X264]
    else:
        raise KeyError(name)
    ffmpeg(*args, str(out))
    return out


#: Matrix entries and their file names (the suffix is the container).
MATRIX: dict[str, str] = {
    "h264": "h264.mp4",
    "hevc8_mov": "hevc 8-bit.mov",
    "hevc10_pq_mp4": "hevc10_pq.mp4",
    "hevc10_hlg_mov": "hevc10_hlg.mov",
    "vp9_webm": "vp9.webm",
    "av1_mkv": "av1.mkv",
    "mjpeg_avi": "mjpeg.avi",
    "vfr": "vfr.mp4",
    "fps15": "fps15.mp4",
    "audio": "audio.mp4",
    "two_streams": "two_streams.mkv",
    "odd_size": "odd_size.mp4",
    "uhd4k": "uhd4k.mp4",
    "slow120": "slow120.mp4",
    "slow240": "slow240.mp4",
}


def pose_at_capped_rate(clip: Path, settings, max_fps: float | None):
    """Landmarks of ``clip`` as the pipeline's slow-motion hook gives them.

    Inference on the frames :func:`~kneevision.video.source.read_video` yields
    under ``max_fps`` (every frame with ``None``), the skipped frames filled in by
    :func:`~kneevision.pose.resample.to_timeline`.

    Returns
    -------
    (PoseSequence, float, int)
        The landmarks on every decoded frame, the seconds decoding and inference
        took, and the number of frames inferred.
    """
    from kneevision.pipeline import pose_estimator, sequence_from_frames
    from kneevision.pose import resolve_model
    from kneevision.pose.resample import to_timeline
    from kneevision.video.source import probe_video, read_video

    info = probe_video(clip)
    model = resolve_model(settings.model)
    timeline: list[float] = []
    poses, times = [], []
    t0 = time.perf_counter()
    with pose_estimator(model, settings, info) as est:
        for frame, pose in est.track(read_video(clip, max_fps=max_fps, timeline=timeline)):
            poses.append(pose)
            times.append(frame.time_s)
    elapsed = time.perf_counter() - t0
    seq = sequence_from_frames(poses, times, info, model)
    return to_timeline(seq, timeline), elapsed, len(poses)


def protocol_result(seq, settings):
    """The protocol's :class:`~kneevision.protocols.Result` for a clip's landmarks."""
    from kneevision.analysis import evaluate

    return evaluate(seq, settings)[1]


def rep_peaks(result) -> dict[tuple[str, int], float]:
    """Peak knee flexion of each repetition, by (side, rep)."""
    return {(r["side"], r["rep"]): r["peak_knee_flexion_deg"] for r in result.reps}


def analysed_summary(clip: Path, out_root: Path, settings) -> dict:
    """Analyse ``clip`` in this process (model ``settings.model``) and read its summary.json."""
    from kneevision.api import analyze_clip
    from kneevision.pose import resolve_model

    done = analyze_clip(clip, resolve_model(settings.model), settings, out_root=out_root)
    with open(done.folder / "summary.json") as fh:
        return json.load(fh)
