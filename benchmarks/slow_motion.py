"""Slow motion: inference at a capped rate against every frame, on the same clip.

A 240 fps slow-motion clip playing in real time (by default
``tests/video/data/squat_240fps.mp4``: the bundled squat's first 4.5 s with
motion-compensated in-between frames, see its PROVENANCE.md), and the same 4.5 s at
30 fps and the same size. Each cap runs the pose model on the frames
``read_video(max_fps=cap)`` yields and interpolates the rest
(:mod:`kneevision.pose.resample`); the figures are the decode + inference time,
the frames inferred, the repetitions and the change in each repetition's peak
knee flexion against every-frame inference on the same clip.

    .venv/bin/python benchmarks/slow_motion.py [--caps 120,60,30] [--fast]
        [--clip FILE | --synthetic blend|duplicate]

``--synthetic`` makes the slow motion from the 30 fps frames instead (blends of
neighbours, or each frame repeated): quick to make, but not what a phone films.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from common import print_figures  # noqa: E402

from kneevision.settings import Settings  # noqa: E402
from tests.video.phone_files import (  # noqa: E402
    ffmpeg,
    pose_at_capped_rate,
    protocol_result,
    rep_peaks,
)

BUNDLED = REPO / "samples" / "front_goblet_squat_home_A.mp4"
SLOW_240 = REPO / "tests" / "video" / "data" / "squat_240fps.mp4"
SECONDS = 4.5
SYNTHETIC = {"blend": "framerate=fps=240", "duplicate": "fps=240"}


def make(dst: Path, vf: str) -> Path:
    """The bundled clip's first seconds at 640×360 through ``vf``."""
    ffmpeg("-i", str(BUNDLED), "-t", str(SECONDS), "-an", "-vf", f"scale=640:360,{vf}",
           "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", str(dst))  # fmt: skip
    return dst


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clip", type=Path, default=SLOW_240, help="a slow-motion clip")
    parser.add_argument("--synthetic", choices=sorted(SYNTHETIC), help="make one instead")
    parser.add_argument("--caps", default="120,60,30", help="inference caps to measure (fps)")
    parser.add_argument("--fast", action="store_true", help="single pass (no flip averaging)")
    args = parser.parse_args()
    settings = Settings(model="lite", fast=args.fast)
    caps = [float(c) for c in args.caps.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        slow = args.clip
        if args.synthetic:
            slow = make(Path(tmp) / "slow.mp4", SYNTHETIC[args.synthetic])
        normal = make(Path(tmp) / "normal.mp4", "fps=30")
        _, t_normal, n_normal = pose_at_capped_rate(normal, settings, None)
        seq, t_every, n_every = pose_at_capped_rate(slow, settings, None)
        ref = protocol_result(seq, settings)
        peaks_ref = rep_peaks(ref)
        result: dict = {
            "clip": f"{args.synthetic} 240 fps" if args.synthetic else args.clip.name,
            "estimator": "lite, " + ("single pass" if args.fast else "flip-averaged (default)"),
            "30fps_same_clip_s": round(t_normal, 2),
            "30fps_frames": n_normal,
            "every_frame_s": round(t_every, 2),
            "every_frame_frames": n_every,
            "every_frame_vs_30fps": round(t_every / t_normal, 2),
            "every_frame_peaks_deg": {f"{k[0]}{k[1]}": round(v, 2) for k, v in peaks_ref.items()},
        }
        for cap in caps:
            seq, t_cap, n_cap = pose_at_capped_rate(slow, settings, cap)
            got = protocol_result(seq, settings)
            peaks = rep_peaks(got)
            same = sorted(peaks) == sorted(peaks_ref) and got.protocol == ref.protocol
            diffs = [abs(peaks[k] - v) for k, v in peaks_ref.items() if k in peaks]
            tag = f"cap{cap:g}"
            result |= {
                f"{tag}_s": round(t_cap, 2),
                f"{tag}_frames": n_cap,
                f"{tag}_speedup": round(t_every / t_cap, 2),
                f"{tag}_vs_30fps": round(t_cap / t_normal, 2),
                f"{tag}_same_protocol_and_reps": same,
                f"{tag}_max_peak_change_deg": round(max(diffs), 3) if diffs else None,
                f"{tag}_mean_peak_change_deg": round(sum(diffs) / len(diffs), 3) if diffs else None,
            }
    print_figures(result)


if __name__ == "__main__":
    main()
