"""Throughput of `analyze` against pose inference alone, on the same frames.

Usage::

    python benchmarks/throughput.py CLIP [--model full] [--frames N] [--loops 4]

Prints, measured in this one run:

* inference-only frames/s: the tracking landmarker alone (one pose, VIDEO mode)
  on frames decoded beforehand into memory (the single pass: the baseline of every
  ratio);
* the same with KneeVision's people probe, and the flip-averaged pair (the frame and
  its mirror image, the mirrored landmarker in its own thread) on the same frames;
* end-to-end `analyze` frames/s (decode, inference, kinematics, CSV/JSON, report skipped,
  H.264 overlay) with the defaults: the flip average, its two landmarkers side by side
  on their own cores; the same run serially (as batch workers with ``--workers`` > 1
  run it); and the single pass (``--fast``) with and without the overlay, without
  keeping a core for inference (``reserve_core`` off), and with ``--max-people 1``
  (no people probe: the same inference as "inference alone"), each as a ratio to
  inference alone; also the frames/s of the decode–inference–overlay loop alone
  (without the fixed costs of opening the clip, probing which way is up and writing
  the outputs); each `analyze` probes the clip's orientation afresh, as a user's run
  does (the probe is cached per file within a process);
* each measured ``--repeat`` times, interleaved, medians printed;
* the time to draw one overlay frame (encoding excluded), and the cores each
  `analyze` run kept busy (CPU time of the process and its ffmpeg / wall time);
* peak RSS of `analyze` (defaults) on the clip and on the clip looped ``--loops`` times
  (each in a fresh process), to show memory does not grow with clip length;
* the 1-minute load average at the end (other work on a shared machine shows there).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import print_figures


def _decode(clip: Path, limit: int | None) -> list:
    from kneevision.video import read_video

    frames = []
    for f in read_video(clip):
        frames.append(f)
        if limit and len(frames) >= limit:
            break
    return frames


def inference_only(
    frames: list, model_name: str, max_people: int, flip: bool = False
) -> tuple[float, list]:
    """Frames/s of the landmarker alone on pre-decoded frames, and its poses.

    With ``flip`` the flip-averaged pair instead, in parallel, each stream pinned to
    its own core as `analyze` runs it.
    """
    from kneevision.cores import reserve_inference_cores
    from kneevision.pose import PoseEstimator, resolve_model
    from kneevision.pose.landmarker import FlipAveragedEstimator

    model = resolve_model(model_name)
    if not flip:
        with PoseEstimator(model, max_people=max_people) as est:
            for f in frames[:5]:  # warm-up, not timed
                est.detect(f.image, f.time_s)
        with PoseEstimator(model, max_people=max_people) as est:
            t0 = time.perf_counter()
            poses = [est.detect(f.image, f.time_s) for f in frames]
            return len(frames) / (time.perf_counter() - t0), poses
    with reserve_inference_cores(streams=2) as cores:
        mirror = cores.mirror if cores else None
        with FlipAveragedEstimator(model, max_people=max_people, mirror_cpus=mirror) as est:
            t0 = time.perf_counter()
            poses = [pf for _, pf in est.track(frames)]
            return len(frames) / (time.perf_counter() - t0), poses


def overlay_drawing_ms(frames: list, poses: list, info) -> float:
    """Milliseconds to draw one overlay frame (shrink, smooth, draw), encoding excluded."""
    from kneevision.pipeline import overlay_renderer
    from kneevision.settings import Settings

    render, _ = overlay_renderer(info, Settings())
    t0 = time.perf_counter()
    for f, p in zip(frames, poses, strict=True):
        render((f.image, f.time_s, p))
    return 1000 * (time.perf_counter() - t0) / len(frames)


def end_to_end(
    clip: Path,
    model_name: str,
    overlay: bool,
    reserve_core: bool = True,
    max_people: int = 2,
    fast: bool = True,
    parallel_mirror: bool = True,
) -> dict[str, float]:
    """One whole `analyze` call: frames/s (wall clock, including writing outputs), frames/s
    of its decode–inference–overlay loop alone, the frame count, and the cores it kept busy
    (CPU time of the process and ffmpeg / wall time)."""
    from kneevision.api import analyze_clip
    from kneevision.pose import resolve_model
    from kneevision.settings import Settings
    from kneevision.video.orientation import forget_orientations

    model = resolve_model(model_name)
    forget_orientations()  # a user's run probes the clip once: so does this one
    settings = Settings(
        model=model_name,
        overlay=overlay,
        report=False,
        reserve_core=reserve_core,
        max_people=max_people,
        fast=fast,
        parallel_mirror=parallel_mirror,
    )
    with tempfile.TemporaryDirectory() as out:
        c0, t0 = os.times(), time.perf_counter()
        result = analyze_clip(clip, model, settings, out_root=out)
        elapsed, c1 = time.perf_counter() - t0, os.times()
    cpu = sum(c1[:4]) - sum(c0[:4])  # user, system, children's user, children's system
    n = len(result.pose)
    return {
        "fps": n / elapsed,
        "loop_fps": result.summary.timing.fps,
        "frames": n,
        "cores": cpu / elapsed,
    }


def _loop_clip(clip: Path, loops: int, dest: Path) -> Path:
    import imageio_ffmpeg

    out = dest / f"{clip.stem}_x{loops}.mp4"
    subprocess.run(
        [
            imageio_ffmpeg.get_ffmpeg_exe(),
            "-loglevel",
            "error",
            "-y",
            "-stream_loop",
            str(loops - 1),
            "-i",
            str(clip),
            "-c",
            "copy",
            str(out),
        ],
        check=True,
    )
    return out


def peak_rss_mb(clip: Path, model_name: str) -> float:
    """Peak resident memory of `kneevision analyze` on a clip, in a fresh process."""
    code = (
        "import resource, sys, tempfile\n"
        "from kneevision.cli import main\n"
        "with tempfile.TemporaryDirectory() as d:\n"
        f"    main(['analyze', {str(clip)!r}, '--model', {model_name!r}, '--out', d, '-q'])\n"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("clip", type=Path)
    ap.add_argument("--model", default="full")
    ap.add_argument("--loops", type=int, default=4)
    ap.add_argument("--repeat", type=int, default=3, help="interleaved runs of each (medians)")
    ap.add_argument("--no-memory", action="store_true", help="skip the peak-RSS runs")
    args = ap.parse_args()

    from kneevision.video import probe_video

    load_at_start = os.getloadavg()[0]  # before this run adds its own
    info = probe_video(args.clip)
    frames = _decode(args.clip, None)
    draw_ms = None
    keys = ("inf1", "inf2", "inf_flip", "default", "serial", "overlay", "plain", "unpinned", "one")
    runs: dict[str, list] = {k: [] for k in keys}
    # Interleaved repeats: the shared machine's speed drifts between runs, so each ratio
    # compares medians of runs made side by side.
    for _ in range(args.repeat):
        inf1, poses = inference_only(frames, args.model, max_people=1)
        runs["inf1"].append(inf1)
        runs["inf2"].append(inference_only(frames, args.model, max_people=2)[0])
        runs["inf_flip"].append(inference_only(frames, args.model, max_people=2, flip=True)[0])
        if draw_ms is None:
            draw_ms = overlay_drawing_ms(frames, poses, info)
        runs["default"].append(end_to_end(args.clip, args.model, overlay=True, fast=False))
        runs["serial"].append(
            end_to_end(args.clip, args.model, overlay=True, fast=False, parallel_mirror=False)
        )
        runs["overlay"].append(end_to_end(args.clip, args.model, overlay=True))
        runs["plain"].append(end_to_end(args.clip, args.model, overlay=False))
        runs["unpinned"].append(end_to_end(args.clip, args.model, overlay=True, reserve_core=False))
        runs["one"].append(end_to_end(args.clip, args.model, overlay=True, max_people=1))
    del frames, poses

    def med(key: str, field: str | None = None) -> float:
        return statistics.median(r if field is None else r[field] for r in runs[key])

    inf = med("inf1")
    result = {
        "clip": str(args.clip),
        "size": f"{info.width}x{info.height}",
        "frames": runs["overlay"][0]["frames"],
        "model": args.model,
        "repeats (medians below)": args.repeat,
        "inference_only_fps": round(inf, 1),
        "inference_only_fps_runs": [round(x, 1) for x in runs["inf1"]],
        "inference_with_people_probe_fps": round(med("inf2"), 1),
        "inference_flip_parallel_fps": round(med("inf_flip"), 1),
        # the defaults: flip-averaged, the two landmarkers side by side
        "analyze_default_fps": round(med("default", "fps"), 1),
        "analyze_default_fps_runs": [round(r["fps"], 1) for r in runs["default"]],
        "analyze_default_loop_fps": round(med("default", "loop_fps"), 1),
        "ratio_analyze_default_to_inference": round(med("default", "fps") / inf, 3),
        "ratio_analyze_default_loop_to_inference": round(med("default", "loop_fps") / inf, 3),
        "ratio_inference_flip_parallel_to_inference": round(med("inf_flip") / inf, 3),
        "analyze_flip_serial_fps": round(med("serial", "fps"), 1),
        "ratio_analyze_flip_serial_to_inference": round(med("serial", "fps") / inf, 3),
        # the single pass (--fast)
        "analyze_fast_fps": round(med("overlay", "fps"), 1),
        "analyze_fast_fps_runs": [round(r["fps"], 1) for r in runs["overlay"]],
        "analyze_fast_loop_fps": round(med("overlay", "loop_fps"), 1),
        "analyze_fast_no_overlay_fps": round(med("plain", "fps"), 1),
        "analyze_fast_unpinned_fps": round(med("unpinned", "fps"), 1),
        "analyze_fast_max_people_1_fps": round(med("one", "fps"), 1),
        "ratio_analyze_fast_to_inference": round(med("overlay", "fps") / inf, 3),
        "ratio_analyze_fast_loop_to_inference": round(med("overlay", "loop_fps") / inf, 3),
        # the same inference on both sides: analyze runs the people probe by default
        "ratio_analyze_fast_to_inference_with_probe": round(med("overlay", "fps") / med("inf2"), 3),
        "ratio_analyze_fast_max_people_1_to_inference": round(med("one", "fps") / inf, 3),
        "ratio_analyze_fast_no_overlay_to_inference": round(med("plain", "fps") / inf, 3),
        "ratio_analyze_fast_unpinned_to_inference": round(med("unpinned", "fps") / inf, 3),
        "overlay_drawing_ms_per_frame": round(draw_ms, 2),
        "cores_busy_analyze_default": round(med("default", "cores"), 2),
        "cores_busy_analyze_flip_serial": round(med("serial", "cores"), 2),
        "cores_busy_analyze_fast": round(med("overlay", "cores"), 2),
        "cores_busy_analyze_fast_no_overlay": round(med("plain", "cores"), 2),
        "cores_busy_analyze_fast_unpinned": round(med("unpinned", "cores"), 2),
        # other work on the machine: 1-minute load average before this run and at its
        # end (which includes this run's own ~2)
        "load_average_1min_at_start": round(load_at_start, 2),
        "load_average_1min_at_end": round(os.getloadavg()[0], 2),
    }
    if not args.no_memory:
        with tempfile.TemporaryDirectory() as d:
            looped = _loop_clip(args.clip, args.loops, Path(d))
            result["peak_rss_mb_clip"] = round(peak_rss_mb(args.clip, args.model), 1)
            result[f"peak_rss_mb_clip_x{args.loops}"] = round(peak_rss_mb(looped, args.model), 1)
    print_figures(result)


if __name__ == "__main__":
    main()
