"""Clips per minute of `kneevision batch`: 1 worker, 2 workers, and a Dask LocalCluster.

Usage::

    python benchmarks/batch_scaling.py [--model full] [--clips-from ../shared/samples]

Copies a set of short real clips into a clinic folder (PATIENT/DATE/clip.mp4),
runs the same batch three ways into fresh databases and prints clips/min for
each, plus the landmarker's own CPU use (process CPU time over wall time during
inference alone: ~1 means it keeps one core busy), so it is clear where
parallel workers can help on this machine.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

from common import print_figures

REPO = Path(__file__).resolve().parents[1]
CLIPS = (
    "front_goblet_squat_home_A.mp4",
    "front_goblet_squat_home_A_rotated.mp4",
    "side_squat_home_D.mp4",
    "balance_single_leg_lab_P_cam01.mp4",
    "balance_single_leg_lab_P_cam02.mp4",
    "balance_single_leg_lab_P_cam03.mp4",
)


def landmarker_cpu_use(model: str) -> float:
    """Process CPU seconds per wall second while the landmarker runs alone."""
    from kneevision.pose import PoseEstimator, resolve_model
    from kneevision.video import read_video

    frames = list(read_video(REPO / "samples" / "front_goblet_squat_home_A.mp4"))[:200]
    with PoseEstimator(resolve_model(model), max_people=1) as est:
        t0, c0 = time.perf_counter(), time.process_time()
        for f in frames:
            est.detect(f.image, f.time_s)
        return (time.process_time() - c0) / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--model", default="full")
    ap.add_argument("--clips-from", type=Path, default=REPO.parent / "shared" / "samples")
    args = ap.parse_args()

    from dask.distributed import LocalCluster

    from kneevision.batch import run_batch

    settings = {"model": args.model}
    result = {"model": args.model, "clips": len(CLIPS), "cores": os.cpu_count()}
    with tempfile.TemporaryDirectory() as d:
        root = Path(d) / "in"
        for i, clip in enumerate(CLIPS):
            folder = root / f"P{i % 3:03d}" / "2026-03-01"
            folder.mkdir(parents=True, exist_ok=True)
            shutil.copy(args.clips_from / clip, folder / clip)
        runs = {"1_worker": {"workers": 1}, "2_workers": {"workers": 2}}
        for name, kw in runs.items():
            t0 = time.perf_counter()
            r = run_batch(root, Path(d) / f"{name}.sqlite", settings, out_root=Path(d) / name, **kw)
            assert r.done == len(CLIPS), r.failures
            result[f"clips_per_min_{name}"] = round(60 * len(CLIPS) / (time.perf_counter() - t0), 1)
        with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                          dashboard_address=None) as cluster:  # fmt: skip
            t0 = time.perf_counter()
            r = run_batch(root, Path(d) / "dask.sqlite", settings, out_root=Path(d) / "dask",
                          scheduler=cluster.scheduler_address)  # fmt: skip
            assert r.done == len(CLIPS), r.failures
            result["clips_per_min_dask_local_2_workers"] = round(
                60 * len(CLIPS) / (time.perf_counter() - t0), 1
            )
    result["landmarker_cpu_per_wall_s"] = round(landmarker_cpu_use(args.model), 2)
    print_figures(result)


if __name__ == "__main__":
    main()
