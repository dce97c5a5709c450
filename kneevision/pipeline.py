"""Move a clip's frames: decode → pose (→ overlay video), and the live overlay's labels.

This module only turns frames into landmarks; :mod:`kneevision.analysis` turns
landmarks into results and files, and :mod:`kneevision.api` runs the two on a clip.
Decoding runs in a background thread ahead of inference; the overlay is drawn in
the encoder's thread and encoded by ffmpeg in its own process, so the main
thread spends its time in the landmarker, which bounds the whole pipeline.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np

from kneevision.cores import reserve_inference_cores
from kneevision.kinematics.angles import knee_flexion
from kneevision.kinematics.flexion import landmark_fppa
from kneevision.kinematics.landmarks import SIDES, leg
from kneevision.kinematics.series import width_ratio
from kneevision.kinematics.signals import OneEuroFilter
from kneevision.markers import MarkerObserver, camera_for, draw_axes
from kneevision.pose.landmarker import FlipAveragedEstimator, PoseEstimator, PoseFrame
from kneevision.pose.model import ModelFile
from kneevision.pose.resample import to_timeline
from kneevision.pose.sequence import MIRROR_PERMUTATION, PoseSequence
from kneevision.protocols.base import FPPA_PLAUSIBLE_DEG, VALGUS_WARN_DEG
from kneevision.report.overlay import blur_face, draw_overlay
from kneevision.video.source import (
    VideoInfo,
    inference_stride,
    prefetch,
    probe_source,
    read_source,
)
from kneevision.video.writer import Background, VideoWriter

if TYPE_CHECKING:
    from kneevision.settings import Settings

__all__ = [
    "facing_camera",
    "live_labels",
    "marker_observer",
    "overlay_renderer",
    "overlay_shrink",
    "pose_estimator",
    "run_pose",
    "sequence_from_frames",
]

ProgressFn = Callable[[int], None]


def facing_camera(points_img: np.ndarray) -> bool:
    """Whether one frame shows the body from the front (or back): FPPA means something."""
    return bool(width_ratio(points_img[None])[0] > 0.45)


def live_labels(
    points_img: np.ndarray, points_world: np.ndarray, warn_deg: float = VALGUS_WARN_DEG
) -> tuple[dict, dict]:
    """Angle labels and valgus warnings for one (smoothed) frame, per side.

    ``warn_deg`` is the FPPA above which a side is warned (``Settings.valgus_warn_deg``).

    The valgus warning is only raised on frames that face the camera; FPPA from
    the side is not valgus, nor is one past ``FPPA_PLAUSIBLE_DEG`` (a bend seen at a
    slant: shown as ``--``, as the analysis gives none).
    """
    labels, warn = {}, {}
    front = facing_camera(points_img)
    for side in SIDES:
        img, wld = leg(points_img, side), leg(points_world, side)
        flex = float(knee_flexion(wld["hip"], wld["knee"], wld["ankle"]))
        f = float(landmark_fppa(img["hip"], img["knee"], img["ankle"], img["other_hip"]))
        if abs(f) > FPPA_PLAUSIBLE_DEG:
            f = math.nan
        tag = "L" if side == "left" else "R"
        labels[side] = [
            f"{tag} flex {flex:5.1f}" if np.isfinite(flex) else f"{tag} flex  --",
            f"{tag} FPPA {f:+5.1f}" if np.isfinite(f) else f"{tag} FPPA  --",
        ]
        warn[side] = bool(front and np.isfinite(f) and f > warn_deg)
    return labels, warn


def overlay_shrink(long_side: int, max_side: int) -> float:
    """The overlay's scale: ``1 / k`` for the smallest whole ``k`` that brings the clip's
    long side to ``max_side`` or under (``max_side`` 0: full size).

    A whole ratio is what keeps the overlay cheap beside inference: averaging k × k
    pixels costs 0.5 ms a 720p frame, where a 3/4 shrink (720p → 540p) cost 2 ms bilinear
    and 9 ms area-averaged on this machine's cores, and it stays sharp without aliasing.
    """
    if not max_side or long_side <= max_side:
        return 1.0
    return 1.0 / math.ceil(long_side / max_side)


def overlay_renderer(
    info: VideoInfo, settings: Settings, markers: MarkerObserver | None = None
) -> tuple[Callable[[tuple[np.ndarray, float, PoseFrame]], np.ndarray], tuple[int, int]]:
    """A function drawing one overlay frame, and the overlay's frame size.

    It runs in the encoder's thread, in frame order: it smooths the landmarks
    (One Euro, causal), shrinks the frame by a whole factor to at most
    ``settings.overlay_max_side`` (:func:`overlay_shrink`) and
    draws the legs and live angles. With ``markers`` it also detects the
    printed markers in the full-size frame and draws their axes.
    """
    smoother = OneEuroFilter(min_cutoff=1.5, beta=0.02)
    shrink = overlay_shrink(max(info.width, info.height), settings.overlay_max_side)
    size = (round(info.width * shrink), round(info.height * shrink))

    def render(item: tuple[np.ndarray, float, PoseFrame]) -> np.ndarray:
        image, time_s, pf = item
        poses = markers.observe(time_s, image) if markers is not None else {}
        sm = smoother(time_s, np.concatenate([pf.image, pf.world], axis=1))
        img_pts, wld_pts = sm[:, :2], sm[:, 2:]
        if settings.mirrored:
            img_pts, wld_pts = img_pts[MIRROR_PERMUTATION], wld_pts[MIRROR_PERMUTATION]
        labels, warn = live_labels(img_pts, wld_pts, settings.valgus_warn_deg)
        if shrink < 1.0:
            image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
        if settings.blur_faces:
            blur_face(image, pf.image * shrink, info.pixel_aspect)
        out = draw_overlay(image, img_pts * shrink, labels, warn, info.pixel_aspect)
        if poses:
            draw_axes(out, poses, markers.camera, markers.dist, markers.size_m, shrink)
        return out

    return render, size


def sequence_from_frames(
    frames: list[PoseFrame],
    times: list[float],
    info: VideoInfo,
    model: ModelFile,
    *,
    mirrored: bool = False,
) -> PoseSequence:
    """Gather per-frame landmarker results into a :class:`PoseSequence`.

    With ``mirrored`` the labels are swapped back to the person's left and right.
    """
    seq = PoseSequence.empty(
        len(frames),
        round(info.width * info.pixel_aspect),
        info.height,
        info.fps,
        model_name=model.name,
        model_sha256=model.sha256,
    )
    seq.time_s = np.asarray(times, dtype=float)
    for i, pf in enumerate(frames):
        seq.image[i], seq.visibility[i], seq.presence[i] = pf.image, pf.visibility, pf.presence
        seq.world[i], seq.people[i] = pf.world, pf.people
    seq.meta = {"rotation": info.rotation, "pixel_aspect": info.pixel_aspect}
    return seq.mirrored(flip_coordinates=False) if mirrored else seq


def pose_estimator(
    model: ModelFile,
    settings: Settings,
    info: VideoInfo,
    probe_cpus: frozenset[int] | None = None,
    mirror_cpus: frozenset[int] | None = None,
) -> PoseEstimator | FlipAveragedEstimator:
    """The landmarker for a clip: the frame and its mirror image (flip-averaged), or with
    ``settings.fast`` the frame alone.

    ``probe_cpus``: where the people count runs (the helper CPUs, beside inference);
    ``mirror_cpus``: where the mirrored landmarker runs.
    """
    if settings.fast:
        return PoseEstimator(
            model,
            max_people=settings.max_people,
            pixel_aspect=info.pixel_aspect,
            probe_cpus=probe_cpus,
        )
    return FlipAveragedEstimator(
        model,
        max_people=settings.max_people,
        pixel_aspect=info.pixel_aspect,
        probe_cpus=probe_cpus,
        mirror_cpus=mirror_cpus,
        parallel=settings.parallel_mirror,
    )


def run_pose(
    video: str | Path,
    model: ModelFile,
    settings: Settings,
    *,
    overlay_path: Path | None = None,
    info: VideoInfo | None = None,
    progress: ProgressFn | None = None,
    markers: MarkerObserver | None = None,
) -> tuple[PoseSequence, dict]:
    """Run pose estimation over a clip, optionally writing the overlay video.

    With ``markers``, the same decoded frames also go to the marker detector, in
    the overlay's thread (or a thread of its own without overlay), beside inference.

    Returns
    -------
    (PoseSequence, dict)
        The landmarks (mirrored back if ``settings.mirrored``) and run facts
        (timing, person switches, multi-person mode).
    """
    info = info or probe_source(video, settings.image_fps)
    frames: list[PoseFrame] = []
    times: list[float] = []
    # Slow motion: infer every stride-th frame; the frames between are interpolated.
    timeline: list[float] = []
    stride = inference_stride(info.fps, settings.max_inference_fps)
    writer = side = None
    t0 = time.perf_counter()
    # Two inference streams on their own cores, when the mirrored one runs beside.
    streams = 1 if settings.fast or not settings.parallel_mirror else 2
    with reserve_inference_cores(settings.reserve_core, streams) as cores:
        helpers = cores.helpers if cores else None
        mirror_cpus = cores.mirror if cores else None
        if overlay_path:
            render, out_size = overlay_renderer(info, settings, markers)
            writer = VideoWriter(
                overlay_path, info.fps / stride, out_size, render=render, cpus=helpers
            )
        elif markers is not None:
            side = Background(
                lambda item: markers.observe(*item), name="kneevision-markers", cpus=helpers
            )
        try:
            with pose_estimator(model, settings, info, helpers, mirror_cpus) as est:
                source = read_source(
                    video, settings.image_fps, max_fps=settings.max_inference_fps,
                    timeline=timeline,
                )  # fmt: skip
                done = 0
                for frame, pf in est.track(prefetch(source, cpus=helpers)):
                    frames.append(pf)
                    times.append(frame.time_s)
                    if writer is not None:
                        writer.write((frame.image, frame.time_s, pf))
                    elif side is not None:
                        side.put((frame.time_s, frame.image))
                    if progress:  # counts decoded frames, skipped ones included
                        progress(frame.index + 1 - done)
                        done = frame.index + 1
                jumps, multi = est.jumps, est.multi_person
        finally:
            for worker in (writer, side):
                if worker is not None:
                    worker.close()
    elapsed = time.perf_counter() - t0
    seq = sequence_from_frames(frames, times, info, model, mirrored=settings.mirrored)
    seq = to_timeline(seq, timeline)
    seq.meta["source"] = str(video)
    facts = {
        "seconds": elapsed,
        "fps": len(frames) / elapsed if elapsed > 0 else None,
        "person_jumps": jumps,
        "multi_person_tracking": multi,
        "frames_inferred": len(frames),
    }
    return seq, facts


def marker_observer(info: VideoInfo, settings: Settings) -> MarkerObserver:
    """The marker detector for a clip: calibrated intrinsics, or the field-of-view guess."""
    camera, dist, meta = camera_for(info.width, info.height, settings.fov_deg, settings.intrinsics)
    meta = {"marker_size_mm": settings.marker_size_mm, **meta}
    return MarkerObserver(settings.marker_size_mm / 1000, camera, dist, meta)
