"""Marker-mode tibial rotation on the rendered digital human, end to end (issue 15).

Usage::

    python benchmarks/marker_render_accuracy.py [--fps 15] [--order both] [--full-frame]
    python benchmarks/marker_render_accuracy.py --clip twist.mp4   # analyse a rendered clip

Renders the ``seated-twist`` scene with 40 mm printed ArUco cards taped on shins
and thighs (:mod:`kneevision.digital_human.markers`), H.264 at crf 20 with sensor
noise, and runs the real ``kneevision analyze --protocol seated-twist --markers``
on it with the render's exact intrinsics. Each frame's marker rotation
(``markers.csv``) is compared with the skeleton's true shank rotation
(``<side>_shank_rotation_deg`` in the truth), both taken from their neutral as the
protocol does. Prints median and 95th percentile |error| per side and overall,
the share of frames with both markers, their size in the image, and the render
speed.

The camera is a phone's 1080p main camera (65° across 1920 px: 1507 px focal
length), 1.0 m high and 0.8 m in front of the knees, so both markers are ~1 m away
and the thigh card on top of the seated thigh is in view (from knee height it is
seen edge-on). By default only a 720×540 window of that camera, turned toward the
knees, is rendered (same focal length in pixels, same lens position; a full frame has
about five times the pixels); ``--full-frame`` renders all of 1920×1080.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import tempfile
import time
from pathlib import Path

import numpy as np
from common import print_figures

from kneevision.cli import main as kneevision_main
from kneevision.digital_human.clip import RenderOptions, render_scene
from kneevision.digital_human.markers import render_intrinsics, rotation_errors
from kneevision.digital_human.render import PhoneCamera
from kneevision.digital_human.scenes import seated_twist

MARKER_MM = 40.0
#: A phone's 1080p main camera: 65° across 1920 px.
FOCAL_PX = 960 / math.tan(math.radians(65 / 2))
SIDES = ("left", "right")


def marker_camera(full_frame: bool = False, fps: float = 15.0) -> PhoneCamera:
    """The benchmark's camera: 1080p at 65°, or a 720×540 window of it at the knees."""
    w, h = (1920, 1080) if full_frame else (720, 540)
    fov = 2 * math.degrees(math.atan(max(w, h) / 2 / FOCAL_PX))
    return PhoneCamera(width=w, height=h, fov_deg=fov, fps=fps, distance=0.8, height_m=1.0,
                       aim_height=0.465)  # fmt: skip


def analyse(clip: Path, truth: dict, out: Path) -> Path:
    """Run ``kneevision analyze`` with the render's intrinsics; the output folder."""
    cam = PhoneCamera(**truth["render"]["camera"])
    intrinsics = render_intrinsics(cam).save(out / "intrinsics.json")
    args = [
        "analyze", str(clip), "--protocol", "seated-twist", "--markers",
        "--marker-size-mm", f"{MARKER_MM:g}", "--intrinsics", str(intrinsics),
        "--out", str(out), "--fast", "--no-overlay", "--no-report", "-q",
    ]  # fmt: skip
    code = kneevision_main(args)
    if code != 0:
        raise SystemExit(f"kneevision analyze failed ({code})")
    return out / f"{clip.stem}_kneevision"


def read_markers(folder: Path) -> dict[str, np.ndarray]:
    """``markers.csv`` as arrays (empty cells → NaN)."""
    with (folder / "markers.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    return {k: np.array([float(r[k]) if r[k] else np.nan for r in rows]) for k in rows[0]}


def errors(folder: Path, truth: dict) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Per side: error per frame (deg) and the true rotation from neutral."""
    m = read_markers(folder)
    t = m["time_s"]
    out, true = {}, {}
    for side in SIDES:
        series = truth["series"][f"{side}_shank_rotation_deg"]
        g = np.array([np.nan if v is None else v for v in series])
        out[side] = rotation_errors(t, m[f"{side}_marker_rotation_deg"], g[: len(t)])
        true[side] = g[: len(t)] - np.nanmedian(g[: int(truth["fps"])])
    return out, true


def stats(err: np.ndarray) -> tuple[float, float, int]:
    """Median and 95th percentile |error|, and the number of frames measured."""
    e = np.abs(err[np.isfinite(err)])
    if not e.size:
        return math.nan, math.nan, 0
    return float(np.median(e)), float(np.percentile(e, 95)), int(e.size)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--clip", type=Path, help="analyse this rendered clip (with its .truth.json)")
    ap.add_argument("--out", type=Path, help="keep the clip and analysis here")
    ap.add_argument("--fps", type=float, default=15.0, help="frame rate (default 15)")
    ap.add_argument("--order", default="both", choices=("both", "one-after-other"))
    ap.add_argument("--cycles", type=int, default=1)
    ap.add_argument("--full-frame", action="store_true", help="render all of 1920x1080")
    ap.add_argument("--supersample", type=int, default=3)
    args = ap.parse_args()

    out = args.out or Path(tempfile.mkdtemp(prefix="marker_render_"))
    out.mkdir(parents=True, exist_ok=True)
    if args.clip:
        clip = args.clip
    else:
        scene = seated_twist(order=args.order, cycles=args.cycles, fps=args.fps)
        opt = RenderOptions(camera=marker_camera(args.full_frame, args.fps),
                            supersample=args.supersample, markers_mm=MARKER_MM)  # fmt: skip
        t0 = time.perf_counter()
        clip, _ = render_scene(scene, out / "seated_twist_markers.mp4", opt)
        print(f"rendered {len(scene.poses)} frames in {time.perf_counter() - t0:.0f} s")
    truth = json.loads(clip.with_suffix(".truth.json").read_text())
    render = truth["render"]
    cam = render["camera"]
    t0 = time.perf_counter()
    folder = analyse(clip, truth, out)
    analysis_s = time.perf_counter() - t0
    err, true = errors(folder, truth)
    print(f"\n{cam['width']}x{cam['height']} window of a {FOCAL_PX:.0f} px focal length camera, "
          f"{render['markers_mm']:g} mm markers, supersample {render['supersample']}, "
          f"crf {render['crf']}, noise {render['look']['noise']:g}")  # fmt: skip
    print(f"{'side':>7} {'median':>7} {'p95':>6} {'max':>6} {'frames':>6} {'true range':>12}")
    result: dict[str, object] = {}
    for side in (*SIDES, "overall"):
        e = np.concatenate([err[s] for s in SIDES]) if side == "overall" else err[side]
        med, p95, n = stats(e)
        mx = float(np.nanmax(np.abs(e))) if n else math.nan
        rng = f"{np.nanmin(true[side]):+.0f}…{np.nanmax(true[side]):+.0f}°" if side in true else ""
        print(f"{side:>7} {med:6.2f}° {p95:5.2f}° {mx:5.2f}° {n:6d} {rng:>12}")
        result[f"{side}_median_deg"] = round(med, 2)
        result[f"{side}_p95_deg"] = round(p95, 2)
    result["frames"] = truth["frames"]
    result["render_s_per_frame"] = round(render["seconds"] / truth["frames"], 2)
    result["analysis_s"] = round(analysis_s, 1)
    result["target_met"] = bool(
        result["overall_median_deg"] <= 1.0 and result["overall_p95_deg"] <= 2.0  # type: ignore[operator]
    )
    print(f"\nrender: {result['render_s_per_frame']} s a frame "
          f"({render['frames_per_s']} frames/s); analysis {analysis_s:.0f} s")  # fmt: skip
    print(f"output: {folder}\n")
    print_figures({k: str(v) for k, v in result.items()})


if __name__ == "__main__":
    main()
