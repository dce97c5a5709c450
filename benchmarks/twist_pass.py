"""What the seated twist's second pass (the forefoot's pixels) costs, against inference alone.

Usage::

    kneevision render seated-twist --out /tmp/twist.mp4     # a front-view twist clip
    python benchmarks/twist_pass.py /tmp/twist.mp4 [--model full] [--repeat 3]

A twist filmed from the front is decoded twice: once for the landmarks, once more to
follow both forefeet in the pixels (one person-mask call on the seed frame, then optical
flow; :func:`kneevision.pose.forefoot.track_forefeet`). Prints, measured in this one run
(medians of ``--repeat`` interleaved runs):

* inference-only frames/s (the single-pass landmarker on frames decoded beforehand:
  the baseline of every ratio, as in ``throughput.py``);
* `analyze` with the defaults on the clip (overlay on, report off): frames/s and its
  ratio to inference alone, and the same for its first pass's decode–inference–overlay
  loop alone;
* the second pass inside it: seconds, frames/s, share of the whole call, and the
  decoding alone (the same clip decoded once more, nothing else), so that what is
  tracking and what is decoding can be told apart;
* `analyze`'s frames/s and ratio with the second pass taken out (its time subtracted):
  what the twist would run at without it.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from common import print_figures
from throughput import _decode, end_to_end, inference_only


def decode_seconds(clip: Path) -> float:
    """Seconds to decode the clip once, as the second pass reads it (upright, frames kept)."""
    from kneevision.settings import Settings
    from kneevision.video.source import read_source

    t0 = time.perf_counter()
    for _ in read_source(clip, Settings().image_fps):
        pass
    return time.perf_counter() - t0


def timed_analyze(clip: Path, model_name: str) -> dict[str, float]:
    """One `analyze` (defaults) with the forefoot pass timed inside it."""
    import kneevision.api as api

    spent: list[float] = []
    original = api.track_forefeet

    def timed(*args, **kwargs):
        t0 = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            spent.append(time.perf_counter() - t0)

    api.track_forefeet = timed
    try:
        run = end_to_end(clip, model_name, overlay=True, fast=False)
    finally:
        api.track_forefeet = original
    if not spent:
        raise SystemExit(f"{clip}: no forefoot pass ran (not a front-view seated twist?)")
    elapsed = run["frames"] / run["fps"]
    return {**run, "pass_s": sum(spent), "elapsed_s": elapsed}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("clip", type=Path)
    ap.add_argument("--model", default="full")
    ap.add_argument("--repeat", type=int, default=3, help="interleaved runs of each (medians)")
    args = ap.parse_args()

    frames = _decode(args.clip, None)
    runs: dict[str, list] = {"inf": [], "analyze": [], "decode": []}
    for _ in range(args.repeat):
        runs["inf"].append(inference_only(frames, args.model, max_people=1)[0])
        runs["analyze"].append(timed_analyze(args.clip, args.model))
        runs["decode"].append(decode_seconds(args.clip))
    n = len(frames)
    del frames

    def med(key: str, field: str | None = None) -> float:
        return statistics.median(r if field is None else r[field] for r in runs[key])

    inf = med("inf")
    without = statistics.median(n / (r["elapsed_s"] - r["pass_s"]) for r in runs["analyze"])
    result = {
        "clip": str(args.clip),
        "frames": n,
        "model": args.model,
        "repeats (medians below)": args.repeat,
        "inference_only_fps": round(inf, 1),
        "inference_only_fps_runs": [round(x, 1) for x in runs["inf"]],
        "analyze_default_fps": round(med("analyze", "fps"), 1),
        "analyze_default_fps_runs": [round(r["fps"], 1) for r in runs["analyze"]],
        "ratio_analyze_default_to_inference": round(med("analyze", "fps") / inf, 3),
        # the decode-inference-overlay loop alone (the first pass), for comparison
        "analyze_default_loop_fps": round(med("analyze", "loop_fps"), 1),
        "ratio_analyze_default_loop_to_inference": round(med("analyze", "loop_fps") / inf, 3),
        "forefoot_pass_s": round(med("analyze", "pass_s"), 2),
        "forefoot_pass_fps": round(n / med("analyze", "pass_s"), 1),
        "forefoot_pass_share_of_analyze": round(
            statistics.median(r["pass_s"] / r["elapsed_s"] for r in runs["analyze"]), 3
        ),
        "decode_alone_s": round(med("decode"), 2),
        "analyze_without_pass_fps": round(without, 1),
        "ratio_analyze_without_pass_to_inference": round(without / inf, 3),
    }
    print_figures(result)


if __name__ == "__main__":
    main()
