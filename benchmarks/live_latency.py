"""Capture-to-overlay latency of `kneevision live`, against the landmarker's own time.

Usage::

    python benchmarks/live_latency.py [CLIP] [--seconds 60] [--model lite]

Plays CLIP (default: the bundled 30 fps sample, looped to ``--seconds``) as a
camera in real time through the same loop as the live window, headless, and
prints, measured in this one run: latency p50/p95 from capture to a drawn
overlay frame, the landmarker's inference time p50/p95, their ratio, the
latency trend over the run (ms per minute; 0 = no build-up), frames processed
per second and stale frames skipped.
"""

from __future__ import annotations

import argparse
import subprocess
import tempfile
from pathlib import Path

from common import print_figures

REPO = Path(__file__).resolve().parents[1]


def looped(clip: Path, seconds: float, dest: Path) -> Path:
    import imageio_ffmpeg

    out = dest / f"{clip.stem}_{int(seconds)}s.mp4"
    subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-loglevel", "error", "-y", "-stream_loop", "-1",
         "-i", str(clip), "-t", str(seconds), "-c", "copy", str(out)],
        check=True,
    )  # fmt: skip
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument(
        "clip", nargs="?", type=Path, default=REPO / "samples" / "front_goblet_squat_home_A.mp4"
    )
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--model", default="lite")
    ap.add_argument("--max-people", type=int, default=1, help="2 adds the people probe")
    args = ap.parse_args()

    from kneevision.live import LiveSession, paced
    from kneevision.pose import resolve_model
    from kneevision.video import probe_video, read_video

    with tempfile.TemporaryDirectory() as d:
        clip = looped(args.clip, args.seconds, Path(d))
        info = probe_video(clip)
        session = LiveSession(
            paced(read_video(clip)), info, resolve_model(args.model), max_people=args.max_people
        )
        session.run()
    s = session.stats.summary()
    duration = session.stats.wall_s[-1] - session.stats.wall_s[0]
    result = {
        "clip": str(args.clip),
        "size": f"{info.width}x{info.height}",
        "source_fps": round(info.fps, 1),
        "seconds": args.seconds,
        "model": args.model,
        "max_people": args.max_people,
        "frames_captured": session.capture.captured,
        "frames_processed": s["frames"],
        "stale_frames_skipped": session.capture.dropped,
        "processed_fps": round((s["frames"] - 1) / duration, 1),
        "latency_ms_p50": round(s["latency_ms_p50"], 1),
        "latency_ms_p95": round(s["latency_ms_p95"], 1),
        "inference_ms_p50": round(s["inference_ms_p50"], 1),
        "inference_ms_p95": round(s["inference_ms_p95"], 1),
        "latency_p95_over_inference_p50": round(s["latency_ms_p95"] / s["inference_ms_p50"], 2),
        "latency_p95_over_inference_p95": round(s["latency_ms_p95"] / s["inference_ms_p95"], 2),
        "latency_growth_ms_per_min": round(s["latency_growth_ms_per_min"], 2),
    }
    print_figures(result)


if __name__ == "__main__":
    main()
