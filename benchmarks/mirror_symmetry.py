"""How much mirroring a clip moves per-leg values, by default and with ``--fast``.

Usage::

    python benchmarks/mirror_symmetry.py [CLIP]

The clip (default: the bundled goblet squat) is mirrored with ffmpeg (x264, crf 16)
and both are analysed with ``--mirrored`` set on the mirrored one, once with the
defaults (the flip-averaged landmarker, ``symmetric`` below) and once with the single
pass (``--fast``, ``plain`` below). Prints, per metric, the mean and largest per-rep
difference between the two clips' values for the same leg, the per-leg means, the
largest difference between the two clips' per-side angles in ``summary.json`` (every
``*_deg`` metric's value/mean/min/max per side and every left/right angle series'
min/max/median) per side, and the frames/s of each run (full model, no overlay).
"""

from __future__ import annotations

import argparse
import subprocess
import tempfile
import time
from pathlib import Path

import imageio_ffmpeg
import numpy as np
from common import print_figures

from kneevision.api import analyze_clip
from kneevision.pose.model import resolve_model
from kneevision.settings import Settings

METRICS = ("peak_knee_flexion_deg", "peak_fppa_deg")


def per_side(analysis, metric: str) -> dict[str, np.ndarray]:
    return {
        s: np.array([r[metric] for r in analysis.result.reps if r["side"] == s], dtype=float)
        for s in ("left", "right")
    }


def per_side_summary(summary: dict) -> dict[tuple, float]:
    """Every per-side angle in summary.json, keyed (side, metric or series, statistic)."""
    out = {}
    for side, metrics in summary["sides"].items():
        for metric, stats in metrics.items():
            if metric.endswith("_deg"):
                out |= {(side, metric, k): stats[k] for k in ("value", "mean", "min", "max")}
    for series, stats in summary["angles"].items():
        side = series.split("_", 1)[0]
        if side in ("left", "right") and stats is not None:
            out |= {(side, series, k): stats[k] for k in ("min", "max", "median")}
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument(
        "clip", type=Path, nargs="?", default=Path("samples/front_goblet_squat_home_A.mp4")
    )
    clip = ap.parse_args().clip
    model = resolve_model("full")
    result = {}
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        mirrored = tmp / "mirrored.mp4"
        subprocess.run(
            [imageio_ffmpeg.get_ffmpeg_exe(), "-loglevel", "error", "-i", str(clip), "-vf",
             "hflip", "-c:v", "libx264", "-crf", "16", "-preset", "veryfast", str(mirrored)],
            check=True,
        )  # fmt: skip
        runs = {}
        for mode, fast in (("plain", True), ("symmetric", False)):
            for name, source in (("original", clip), ("mirrored", mirrored)):
                settings = Settings(
                    overlay=False, report=False, fast=fast, mirrored=name == "mirrored"
                )
                t0 = time.perf_counter()
                a = analyze_clip(source, model, settings, out_root=tmp / mode / name)
                runs[mode, name] = a
                result[f"{mode}_{name}_fps"] = round(len(a.pose) / (time.perf_counter() - t0), 1)
        for mode in ("plain", "symmetric"):
            for metric in METRICS:
                a, b = (
                    per_side(runs[mode, "original"], metric),
                    per_side(runs[mode, "mirrored"], metric),
                )
                diff = np.concatenate([np.abs(a[s] - b[s]) for s in a])
                result[f"{mode}_{metric}_diff_mean"] = round(float(np.nanmean(diff)), 2)
                result[f"{mode}_{metric}_diff_max"] = round(float(np.nanmax(diff)), 2)
                for s in a:
                    result[f"{mode}_{metric}_{s}_mean"] = round(float(np.nanmean(a[s])), 1)
            sa = per_side_summary(runs[mode, "original"].summary.to_json())
            sb = per_side_summary(runs[mode, "mirrored"].summary.to_json())
            for side in ("left", "right"):
                d = [abs(sa[k] - sb[k]) for k in sa if k[0] == side and None not in (sa[k], sb[k])]
                result[f"{mode}_summary_{side}_max_diff_deg"] = round(max(d), 2)
                result[f"{mode}_summary_{side}_compared"] = len(d)
    print_figures(result)


if __name__ == "__main__":
    main()
