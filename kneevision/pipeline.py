"""Analyse one clip (a video file or a folder of images): decode → pose → angles → outputs.

Decoding runs in a background thread ahead of inference; the overlay is drawn in
the encoder's thread and encoded by ffmpeg in its own process, so the main
thread spends its time in the landmarker, which bounds the whole pipeline.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import cv2
import numpy as np

from kneevision import __version__, protocols
from kneevision.cores import reserve_inference_cores
from kneevision.errors import NoPoseError
from kneevision.kinematics.angles import fppa, knee_flexion
from kneevision.kinematics.landmarks import SIDES, leg
from kneevision.kinematics.series import width_ratio
from kneevision.kinematics.signals import OneEuroFilter
from kneevision.markers import MarkerObserver, MarkerTrack, camera_for, draw_axes, marker_result
from kneevision.outputs import (
    SUMMARY_SCHEMA_VERSION,
    atomic_dir,
    output_dir_for,
    write_json,
    write_landmarks_csv,
    write_table_csv,
)
from kneevision.pose.landmarker import FlipAveragedEstimator, PoseEstimator, PoseFrame
from kneevision.pose.model import ModelFile
from kneevision.pose.sequence import MIRROR_PERMUTATION, PoseSequence
from kneevision.protocols import Motion, Options, Result, prepare
from kneevision.protocols.validity import measured_errors
from kneevision.protocols.validity import source as validity_source
from kneevision.report.overlay import blur_face, draw_overlay
from kneevision.video.source import (
    VideoInfo,
    check_decoding,
    prefetch,
    probe_source,
    read_source,
    source_sha256,
)
from kneevision.video.writer import Background, VideoWriter

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
    overlay_max_side : int
        Longest side of the overlay video in pixels (frames are shrunk to fit;
        0 keeps the clip's size). Encoding full-size frames competes with
        inference for the CPU.
    vis_threshold : float
        Landmark visibility below which a point counts as missing.
    max_gap_s : float
        Longest gap bridged by interpolation.
    cutoff_hz : float
        Zero-lag Butterworth cutoff for landmark smoothing.
    protocol : str
        ``auto`` or a protocol name (see :data:`kneevision.protocols.CHOICES`).
    side : str, optional
        The leg tested (``left``/``right``) when it cannot be told from the clip.
    image_fps : float
        Frame rate given to a folder of images (they carry no timestamps).
    report : bool
        Write ``report.html`` and ``report.pdf``.
    blur_faces : bool
        Blur faces in the overlay video and the report's key frame (to share clips).
    markers, marker_size_mm, fov_deg : bool, float, float
        Also measure tibial rotation from printed markers (seated twist), with the
        printed size and the camera's horizontal field of view (intrinsics guess).
    intrinsics : str, optional
        Camera calibration file (``kneevision markers calibrate``) for the markers.
    fast : bool
        One landmarker pass a frame. By default the model also runs on each frame's
        mirror image and the two answers are averaged
        (:class:`~kneevision.pose.landmarker.FlipAveragedEstimator`), so that left and
        right legs are measured alike; that costs twice the inference, paid for
        with a second core.
    parallel_mirror : bool
        Run the mirrored landmarker in a thread of its own, beside the direct one
        (off: one after the other in the same thread, what batch workers sharing
        the cores do). The results are the same either way.
    reserve_core : bool
        Keep inference on its own CPUs and decoding/overlay on the others
        (:mod:`kneevision.cores`); off for batch workers sharing the machine.
    """

    model: str = "full"
    mirrored: bool = False
    max_people: int = 2
    overlay: bool = True
    overlay_max_side: int = 960
    vis_threshold: float = 0.5
    max_gap_s: float = 0.3
    cutoff_hz: float = 6.0
    protocol: str = "auto"
    side: str | None = None
    image_fps: float = 30.0
    report: bool = True
    blur_faces: bool = False
    markers: bool = False
    marker_size_mm: float = 40.0
    fov_deg: float = 65.0
    intrinsics: str | None = None
    fast: bool = False
    parallel_mirror: bool = True
    reserve_core: bool = True

    def to_dict(self) -> dict:
        """Plain-dict form."""
        return asdict(self)


@dataclass
class Analysis:
    """What one clip's analysis produced (also written to disk)."""

    out_dir: Path
    sequence: PoseSequence
    angles: dict[str, np.ndarray]
    result: Result
    summary: dict = field(default_factory=dict)


ProgressFn = Callable[[int], None]


def facing_camera(points_img: np.ndarray) -> bool:
    """Whether one frame shows the body from the front (or back): FPPA means something."""
    return bool(width_ratio(points_img[None])[0] > 0.45)


def live_labels(points_img: np.ndarray, points_world: np.ndarray) -> tuple[dict, dict]:
    """Angle labels and valgus warnings for one (smoothed) frame, per side.

    The valgus warning is only raised on frames that face the camera; FPPA from
    the side is not valgus.
    """
    labels, warn = {}, {}
    front = facing_camera(points_img)
    for side in SIDES:
        img, wld = leg(points_img, side), leg(points_world, side)
        flex = float(knee_flexion(wld["hip"], wld["knee"], wld["ankle"]))
        f = float(fppa(img["hip"], img["knee"], img["ankle"], img["other_hip"]))
        tag = "L" if side == "left" else "R"
        labels[side] = [
            f"{tag} flex {flex:5.1f}" if np.isfinite(flex) else f"{tag} flex  --",
            f"{tag} FPPA {f:+5.1f}" if np.isfinite(f) else f"{tag} FPPA  --",
        ]
        warn[side] = bool(front and np.isfinite(f) and f > VALGUS_WARN_DEG)
    return labels, warn


def overlay_renderer(
    info: VideoInfo, settings: Settings, markers: MarkerObserver | None = None
) -> tuple[Callable[[tuple[np.ndarray, float, PoseFrame]], np.ndarray], tuple[int, int]]:
    """A function drawing one overlay frame, and the overlay's frame size.

    It runs in the encoder's thread, in frame order: it smooths the landmarks
    (One Euro, causal), shrinks the frame to ``settings.overlay_max_side`` and
    draws the legs and live angles. With ``markers`` it also detects the
    printed markers in the full-size frame and draws their axes.
    """
    smoother = OneEuroFilter(min_cutoff=1.5, beta=0.02)
    big = max(info.width, info.height)
    shrink = min(1.0, settings.overlay_max_side / big) if settings.overlay_max_side else 1.0
    size = (round(info.width * shrink), round(info.height * shrink))
    # Area averaging is 6× slower at a non-integer ratio (3.3 vs 0.5 ms for 720p → 540p)
    # and only needed against aliasing when shrinking by more than half.
    interpolation = cv2.INTER_LINEAR if shrink >= 0.5 else cv2.INTER_AREA

    def render(item: tuple[np.ndarray, float, PoseFrame]) -> np.ndarray:
        image, time_s, pf = item
        poses = markers.observe(time_s, image) if markers is not None else {}
        sm = smoother(time_s, np.concatenate([pf.image, pf.world], axis=1))
        img_pts, wld_pts = sm[:, :2], sm[:, 2:]
        if settings.mirrored:
            img_pts, wld_pts = img_pts[MIRROR_PERMUTATION], wld_pts[MIRROR_PERMUTATION]
        labels, warn = live_labels(img_pts, wld_pts)
        if shrink < 1.0:
            image = cv2.resize(image, size, interpolation=interpolation)
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
    writer = side = None
    t0 = time.perf_counter()
    # Two inference streams on their own cores, when the mirrored one runs beside.
    streams = 1 if settings.fast or not settings.parallel_mirror else 2
    with reserve_inference_cores(settings.reserve_core, streams) as cores:
        helpers = cores.helpers if cores else None
        mirror_cpus = cores.mirror if cores else None
        if overlay_path:
            render, out_size = overlay_renderer(info, settings, markers)
            writer = VideoWriter(overlay_path, info.fps, out_size, render=render, cpus=helpers)
        elif markers is not None:
            side = Background(
                lambda item: markers.observe(*item), name="kneevision-markers", cpus=helpers
            )
        try:
            with pose_estimator(model, settings, info, helpers, mirror_cpus) as est:
                source = read_source(video, settings.image_fps)
                for frame, pf in est.track(prefetch(source, cpus=helpers)):
                    frames.append(pf)
                    times.append(frame.time_s)
                    if writer is not None:
                        writer.write((frame.image, frame.time_s, pf))
                    elif side is not None:
                        side.put((frame.time_s, frame.image))
                    if progress:
                        progress(1)
                jumps, multi = est.jumps, est.multi_person
        finally:
            for worker in (writer, side):
                if worker is not None:
                    worker.close()
    elapsed = time.perf_counter() - t0
    seq = sequence_from_frames(frames, times, info, model, mirrored=settings.mirrored)
    seq.meta["source"] = str(video)
    facts = {
        "seconds": elapsed,
        "fps": len(frames) / elapsed if elapsed > 0 else None,
        "person_jumps": jumps,
        "multi_person_tracking": multi,
    }
    return seq, facts


def evaluate(
    seq: PoseSequence, settings: Settings, facts: dict | None = None
) -> tuple[Motion, Result]:
    """Landmarks → cleaned motion → protocol result (no I/O, no inference).

    Also what ``kneevision report`` and batch re-runs use on a stored ``pose.npz``.
    """
    motion = prepare(
        seq,
        vis_threshold=settings.vis_threshold,
        max_gap_s=settings.max_gap_s,
        cutoff_hz=settings.cutoff_hz,
        facts=facts,
    )
    return motion, protocols.run(settings.protocol, motion, Options(side=settings.side))


def write_result_files(folder: Path, result: Result) -> None:
    """``reps.csv``: one row per repetition and side (columns: union of the rows' keys)."""
    columns: list[str] = []
    for row in result.reps:
        columns += [k for k in row if k not in columns]
    write_table_csv(
        folder / "reps.csv", {c: [row.get(c) for row in result.reps] for c in columns or ["side"]}
    )


def write_outputs(
    folder: Path,
    seq: PoseSequence,
    facts: dict,
    settings: Settings,
    model: ModelFile,
    input_facts: dict,
    marker_track: MarkerTrack | None = None,
) -> tuple[dict, Result, dict[str, np.ndarray]]:
    """Evaluate a pose sequence and write every output of an analysis into ``folder``.

    Shared by ``analyze`` (a clip) and ``live`` (a camera session): pose.npz,
    landmarks.csv, angles.csv, reps.csv, summary.json and, with
    ``settings.report``, report.html and report.pdf.

    Returns
    -------
    (dict, Result, dict)
        The summary, the protocol result and the per-frame angle series.
    """
    motion, result = evaluate(seq, settings, facts)
    angles = {**motion.angles, **result.series}
    markers = None
    if marker_track is not None:
        markers = marker_result(marker_track)
        write_table_csv(
            folder / "markers.csv",
            {"time_s": marker_track.time_s, **markers.series}
            | {f"marker_{i}_seen": v.astype(int) for i, v in marker_track.seen.items()},
        )
    seq.save(folder / "pose.npz")
    write_landmarks_csv(folder / "landmarks.csv", seq)
    write_table_csv(
        folder / "angles.csv", {"frame": np.arange(len(seq)), "time_s": seq.time_s, **angles}
    )
    write_result_files(folder, result)
    summary = {
        "schema_version": SUMMARY_SCHEMA_VERSION,
        "kneevision_version": __version__,
        "input": input_facts,
        "model": {"name": model.name, "sha256": model.sha256},
        "settings": settings.to_dict(),
        "frames_with_pose": seq.frames_with_pose,
        **result.to_dict(),
        "angles": {
            name: {"min": np.nanmin(v), "max": np.nanmax(v), "median": np.nanmedian(v)}
            if np.isfinite(v).any()
            else None
            for name, v in angles.items()
        },
        "timing": {k: facts.get(k) for k in ("seconds", "fps")},
    }
    measured = measured_errors(result.protocol, result.view)
    if measured:
        summary["measured_error"] = {
            "source": validity_source(),
            "metrics": {k: v.to_dict() for k, v in measured.items()},
        }
    if markers is not None:
        summary["markers"] = {**markers.to_dict(), "settings": marker_track.meta}
        summary["markers"]["markerless_minus_marker_deg"] = {
            side: result.sides[side][m]["value"] - markers.sides[side][m]["value"]
            for side in SIDES
            for m in ("internal_rotation_deg",)
            if result.sides.get(side, {}).get("tested") and markers.sides[side].get("tested")
        }

    def listing() -> list[str]:
        return sorted(
            {p.name for p in folder.iterdir() if not p.name.startswith(".")} | {"summary.json"}
        )

    summary["outputs"] = listing()
    write_json(folder / "summary.json", summary)
    if settings.report:
        from kneevision.report.document import write_report

        write_report(folder)
        summary["outputs"] = listing()
        write_json(folder / "summary.json", summary)
    return summary, result, angles


def marker_observer(info: VideoInfo, settings: Settings) -> MarkerObserver:
    """The marker detector for a clip: calibrated intrinsics, or the field-of-view guess."""
    camera, dist, meta = camera_for(info.width, info.height, settings.fov_deg, settings.intrinsics)
    meta = {"marker_size_mm": settings.marker_size_mm, **meta}
    return MarkerObserver(settings.marker_size_mm / 1000, camera, dist, meta)


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
    info = probe_source(video, settings.image_fps)
    final = output_dir_for(video, out_root).absolute()
    observer = marker_observer(info, settings) if settings.markers else None
    progress = progress_factory(info.frames, video.name) if progress_factory else None
    with atomic_dir(final) as tmp:
        seq, facts = run_pose(
            video,
            model,
            settings,
            overlay_path=tmp / "overlay.mp4" if settings.overlay else None,
            info=info,
            progress=progress,
            markers=observer,
        )
        if seq.frames_with_pose == 0 and not settings.markers:  # markers work on close-ups
            raise NoPoseError("no person found in any frame", video)
        decoding = check_decoding(video, info, seq.time_s)
        facts |= {"decoding": decoding, "upright_turn": info.upright_turn}
        input_facts = {
            "path": str(video.resolve()),
            "sha256": source_sha256(video),
            **{k: v for k, v in info.to_dict().items() if k != "path"},
            "frames_decoded": len(seq),
            "decoding": decoding,
        }
        track = observer.track() if observer is not None else None
        summary, result, angles = write_outputs(
            tmp, seq, facts, settings, model, input_facts, marker_track=track
        )
    return Analysis(out_dir=final, sequence=seq, angles=angles, result=result, summary=summary)


@dataclass
class Combined:
    """Several clips' results merged into one (e.g. one seated-twist clip per leg)."""

    out_dir: Path
    result: Result
    summary: dict


def combine_seated_twist(analyses: list[Analysis], out_root: str | Path | None = None) -> Combined:
    """Merge per-leg seated twist clips into ``seated-twist_combined_kneevision/``.

    Each clip contributes the legs it shows twisting; the left–right comparison
    is made across clips.
    """
    from kneevision.protocols.seated_twist import merge

    results = [a.result for a in analyses]
    merged = merge(results)
    root = Path(out_root) if out_root else analyses[0].out_dir.parent
    final = (root / "seated-twist_combined_kneevision").absolute()
    summary = {
        "schema_version": SUMMARY_SCHEMA_VERSION,
        "kneevision_version": __version__,
        "inputs": [a.summary["input"] for a in analyses],
        "clips": [str(a.out_dir) for a in analyses],
        **merged.to_dict(),
    }
    with atomic_dir(final) as tmp:
        write_result_files(tmp, merged)
        write_json(tmp / "summary.json", summary)
        if analyses[0].summary["settings"].get("report", True):
            from kneevision.report.document import write_report

            write_report(tmp)
    return Combined(out_dir=final, result=merged, summary=summary)
