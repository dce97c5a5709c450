"""Analyse one clip: decode → pose → angles → outputs, overlapped.

Decoding runs in a background thread ahead of inference, the overlay video is
encoded by ffmpeg in its own process fed from another thread, so the main
thread spends its time in the landmarker, which bounds the whole pipeline.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from kneevision import __version__
from kneevision.errors import NoPoseError
from kneevision.kinematics.angles import fppa, knee_flexion
from kneevision.kinematics.landmarks import SIDES, leg
from kneevision.kinematics.series import clean_landmarks, estimate_view, frame_angles
from kneevision.kinematics.signals import OneEuroFilter
from kneevision.outputs import (
    SUMMARY_SCHEMA_VERSION,
    atomic_dir,
    output_dir_for,
    write_json,
    write_landmarks_csv,
    write_table_csv,
)
from kneevision.pose.landmarker import PoseEstimator, PoseFrame
from kneevision.pose.model import ModelFile, sha256_file
from kneevision.pose.sequence import MIRROR_PERMUTATION, PoseSequence
from kneevision.report.overlay import draw_overlay
from kneevision.video.source import VideoInfo, prefetch, probe_video, read_video
from kneevision.video.writer import VideoWriter

#: FPPA above this (degrees of valgus) is drawn in the warning colour.
VALGUS_WARN_DEG = 10.0


@dataclass
class Settings:
    """Analysis settings (defaults < TOML file < command line).

    Attributes
    ----------
    model : str
        ``lite``, ``full``, ``heavy`` or a path.
    mirrored : bool
        The video is a mirror image (selfie camera): left and right are swapped back.
    max_people : int
        People to look for (see :class:`~kneevision.pose.PoseEstimator`).
    overlay : bool
        Write ``overlay.mp4``.
    vis_threshold : float
        Landmark visibility below which a point counts as missing.
    max_gap_s : float
        Longest gap bridged by interpolation.
    cutoff_hz : float
        Zero-lag Butterworth cutoff for landmark smoothing.
    """

    model: str = "full"
    mirrored: bool = False
    max_people: int = 2
    overlay: bool = True
    vis_threshold: float = 0.5
    max_gap_s: float = 0.3
    cutoff_hz: float = 6.0

    def to_dict(self) -> dict:
        """Plain-dict form."""
        return asdict(self)


@dataclass
class Analysis:
    """What one clip's analysis produced (also written to disk)."""

    out_dir: Path
    sequence: PoseSequence
    angles: dict[str, np.ndarray]
    summary: dict = field(default_factory=dict)


ProgressFn = Callable[[int], None]


def live_labels(points_img: np.ndarray, points_world: np.ndarray) -> tuple[dict, dict]:
    """Angle labels and valgus warnings for one (smoothed) frame, per side."""
    labels, warn = {}, {}
    for side in SIDES:
        img, wld = leg(points_img, side), leg(points_world, side)
        flex = float(knee_flexion(wld["hip"], wld["knee"], wld["ankle"]))
        f = float(fppa(img["hip"], img["knee"], img["ankle"], img["other_hip"]))
        tag = "L" if side == "left" else "R"
        labels[side] = [
            f"{tag} flex {flex:5.1f}" if np.isfinite(flex) else f"{tag} flex  --",
            f"{tag} FPPA {f:+5.1f}" if np.isfinite(f) else f"{tag} FPPA  --",
        ]
        warn[side] = bool(np.isfinite(f) and f > VALGUS_WARN_DEG)
    return labels, warn


def run_pose(
    video: str | Path,
    model: ModelFile,
    settings: Settings,
    *,
    overlay_path: Path | None = None,
    info: VideoInfo | None = None,
    progress: ProgressFn | None = None,
) -> tuple[PoseSequence, dict]:
    """Run pose estimation over a clip, optionally writing the overlay video.

    Returns
    -------
    (PoseSequence, dict)
        The landmarks (mirrored back if ``settings.mirrored``) and run facts
        (timing, person switches, multi-person mode).
    """
    info = info or probe_video(video)
    frames: list[PoseFrame] = []
    times: list[float] = []
    smoother = OneEuroFilter(min_cutoff=1.5, beta=0.02)
    writer = (
        VideoWriter(overlay_path, info.fps, (info.width, info.height)) if overlay_path else None
    )
    t0 = time.perf_counter()
    try:
        with PoseEstimator(
            model, max_people=settings.max_people, pixel_aspect=info.pixel_aspect
        ) as est:
            for frame in prefetch(read_video(video)):
                pf = est.detect(frame.image, frame.time_s)
                frames.append(pf)
                times.append(frame.time_s)
                if writer is not None:
                    both = np.concatenate([pf.image, pf.world], axis=1)
                    sm = smoother(frame.time_s, both)
                    img_pts, wld_pts = sm[:, :2], sm[:, 2:]
                    if settings.mirrored:
                        img_pts, wld_pts = img_pts[MIRROR_PERMUTATION], wld_pts[MIRROR_PERMUTATION]
                    labels, warn = live_labels(img_pts, wld_pts)
                    draw_overlay(frame.image, img_pts, labels, warn, info.pixel_aspect)
                    writer.write(frame.image)
                if progress:
                    progress(1)
            jumps, multi = est.jumps, est.multi_person
    finally:
        if writer is not None:
            writer.close()
    elapsed = time.perf_counter() - t0
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
    seq.meta = {"source": str(video), "rotation": info.rotation, "pixel_aspect": info.pixel_aspect}
    if settings.mirrored:
        seq = seq.mirrored(flip_coordinates=False)
    facts = {
        "seconds": elapsed,
        "fps": len(frames) / elapsed if elapsed > 0 else None,
        "person_jumps": jumps,
        "multi_person_tracking": multi,
    }
    return seq, facts


def quality_flags(seq: PoseSequence, facts: dict, view: str) -> list[dict]:
    """Quality flags with messages a person can act on."""
    flags = []
    n = max(len(seq), 1)
    share = seq.frames_with_pose / n
    if share < 0.8:
        flags.append(
            {
                "code": "few_pose_frames",
                "message": f"a person was found in only {100 * share:.0f}% of the frames",
            }
        )
    many = int((seq.people > 1).sum())
    if many or facts.get("multi_person_tracking"):
        flags.append(
            {
                "code": "multiple_people",
                "message": f"more than one person in view ({many} frames); the person nearest "
                "the one first followed was analysed",
            }
        )
    if facts.get("person_jumps"):
        flags.append(
            {
                "code": "tracking_jump",
                "message": f"the tracked body jumped {facts['person_jumps']} time(s) between "
                "frames; the tracker may have switched people",
            }
        )
    legs = [23, 24, 25, 26, 27, 28]
    vis = np.nanmean(seq.visibility[:, legs]) if seq.frames_with_pose else 0.0
    if vis < 0.6:
        flags.append(
            {
                "code": "low_visibility",
                "message": f"hips, knees and ankles are poorly visible (mean visibility {vis:.2f})",
            }
        )
    if 0 < seq.fps < 24:
        flags.append(
            {
                "code": "low_frame_rate",
                "message": f"frame rate {seq.fps:.0f} fps is low (30 fps or more advised)",
            }
        )
    if view == "oblique":
        flags.append(
            {
                "code": "oblique_view",
                "message": "the camera is neither square to the front nor to the side",
            }
        )
    return flags


def analyze(
    video: str | Path,
    model: ModelFile,
    settings: Settings | None = None,
    *,
    out_root: str | Path | None = None,
    progress_factory: Callable[[int, str], ProgressFn] | None = None,
) -> Analysis:
    """Analyse one clip and write its output folder.

    Parameters
    ----------
    video : path
        The clip.
    model : ModelFile
        Verified pose model.
    settings : Settings, optional
    out_root : path, optional
        Folder receiving ``<stem>_kneevision/`` (default: next to the video).
    progress_factory : callable, optional
        ``(total_frames, label) → update(n)``, for a progress bar.

    Returns
    -------
    Analysis

    Raises
    ------
    KneeVisionError
        Bad video, no person found, unwritable output. Nothing is left behind.
    """
    settings = settings or Settings()
    video = Path(video)
    info = probe_video(video)
    final = output_dir_for(video, out_root).absolute()
    progress = progress_factory(info.frames, video.name) if progress_factory else None
    with atomic_dir(final) as tmp:
        seq, facts = run_pose(
            video,
            model,
            settings,
            overlay_path=tmp / "overlay.mp4" if settings.overlay else None,
            info=info,
            progress=progress,
        )
        if seq.frames_with_pose == 0:
            raise NoPoseError("no person found in any frame", video)
        t = seq.time_s
        image, world = (
            clean_landmarks(
                t,
                points,
                seq.visibility,
                vis_threshold=settings.vis_threshold,
                max_gap_s=settings.max_gap_s,
                cutoff_hz=settings.cutoff_hz,
            )
            for points in (seq.image, seq.world)
        )
        view = estimate_view(image)
        angles = frame_angles(image, world, view)
        seq.save(tmp / "pose.npz")
        write_landmarks_csv(tmp / "landmarks.csv", seq)
        write_table_csv(tmp / "angles.csv", {"frame": np.arange(len(seq)), "time_s": t, **angles})
        summary = {
            "schema_version": SUMMARY_SCHEMA_VERSION,
            "kneevision_version": __version__,
            "input": {
                "path": str(video.resolve()),
                "sha256": sha256_file(video),
                **{k: v for k, v in info.to_dict().items() if k != "path"},
                "frames_decoded": len(seq),
            },
            "model": {"name": model.name, "sha256": model.sha256},
            "settings": settings.to_dict(),
            "frames_with_pose": seq.frames_with_pose,
            "view": view,
            "angles": {
                name: {"min": np.nanmin(v), "max": np.nanmax(v), "median": np.nanmedian(v)}
                if np.isfinite(v).any()
                else None
                for name, v in angles.items()
            },
            "quality": quality_flags(seq, facts, view),
            "timing": {"seconds": facts["seconds"], "fps": facts["fps"]},
            "outputs": sorted(p.name for p in tmp.iterdir()) + ["summary.json"],
        }
        write_json(tmp / "summary.json", summary)
    return Analysis(out_dir=final, sequence=seq, angles=angles, summary=summary)
