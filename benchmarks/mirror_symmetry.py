"""How much mirroring a clip moves per-leg values, with and without ``--symmetric``.

Usage::

    python benchmarks/mirror_symmetry.py [CLIP]

The clip (default: the bundled goblet squat) is mirrored with ffmpeg (x264, crf 16)
and both are analysed with ``--mirrored`` set on the mirrored one, once plainly and
once with the flip-averaged landmarker. Prints, per metric, the mean and largest
per-rep difference between the two clips' values for the same leg, the per-leg means,
and the frames/s of each run (full model).
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

import imageio_ffmpeg
import numpy as np
from common import print_figures

from kneevision.pipeline import Settings, analyze
from kneevision.pose.model import resolve_model

METRICS = ("peak_knee_flexion_deg", "peak_fppa_deg")


def per_side(analysis, metric: str) -> dict[str, np.ndarray]:
    return {
        s: np.array([r[metric] for r in analysis.result.reps if r["side"] == s], dtype=float)
        for s in ("left", "right")
    }


def main() -> None:
    clip = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("samples/front_goblet_squat_home_A.mp4")
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
        for mode, symmetric in (("plain", False), ("symmetric", True)):
            for name, source in (("original", clip), ("mirrored", mirrored)):
                settings = Settings(
                    overlay=False, report=False, symmetric=symmetric, mirrored=name == "mirrored"
                )
                t0 = time.perf_counter()
                runs[mode, name] = a = analyze(source, model, settings, out_root=tmp / mode / name)
                result[f"{mode}_{name}_fps"] = round(
                    len(a.sequence) / (time.perf_counter() - t0), 1
                )
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
    print_figures(result)


if __name__ == "__main__":
    main()
