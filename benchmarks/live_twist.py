"""The live guided seated twist test against the truth, on rendered clips played as a camera.

Usage::

    python benchmarks/live_twist.py RENDERS_DIR [--model lite] [--calibrate-s 0.9]

Each front-view twist render (``twist-*.mp4`` with its ``.truth.json``) is replayed
frame by frame (none dropped) through the live loop with the guide on; ``c`` is
pressed after ``--calibrate-s`` seconds of the still start. The guide's IR and ER per
leg are compared with the truth, for the estimator the guide uses (the forefoot's
pixels with the landmarks, as ``analyze``) and for the landmarks alone (what it read
before). Prints median / p95 |error| per leg, IR, ER and total range. The model
defaults to the live mode's (lite, single pass).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from common import print_figures

from kneevision.kinematics.landmarks import SIDES
from kneevision.live import KEY_CALIBRATE, LiveSession, LiveTwist
from kneevision.pose import resolve_model
from kneevision.settings import LIVE_DEFAULTS, Settings
from kneevision.video.source import probe_video, read_video


def guided(clip: Path, model_name: str, calibrate_s: float, pixels: bool) -> dict:
    """The guide's IR and ER per leg after replaying ``clip``."""
    info = probe_video(clip)
    model = resolve_model(model_name)
    shown = 0

    def show(image: np.ndarray) -> int:
        nonlocal shown
        shown += 1
        return KEY_CALIBRATE if shown == max(1, round(calibrate_s * info.fps)) else -1

    settings = Settings.from_dict({**LIVE_DEFAULTS, "model": model_name})
    session = LiveSession(read_video(clip), info, model, show=show, guide=True,
                          settings=settings, every_frame=True)  # fmt: skip
    session.twist = LiveTwist(model, info.pixel_aspect, follow_pixels=pixels)
    session.run()
    return {"ir": session.guide.ir, "er": session.guide.er}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("renders", type=Path)
    ap.add_argument("--model", default=LIVE_DEFAULTS["model"])
    ap.add_argument("--calibrate-s", type=float, default=0.9)
    args = ap.parse_args()
    errors: dict[str, list[tuple[float, float, float]]] = {}
    clips = 0
    for path in sorted(args.renders.glob("twist-*.truth.json")):
        truth = json.loads(path.read_text())
        if truth["view"] != "front":
            continue
        clips += 1
        clip = path.with_name(path.name.removesuffix(".truth.json") + ".mp4")
        t = np.arange(truth["frames"]) / truth["fps"]
        for how, pixels in (("pixels and landmarks (guide)", True), ("landmarks only", False)):
            got = guided(clip, args.model, args.calibrate_s, pixels)
            for side in SIDES:
                true = np.asarray(truth["series"][f"{side}_tibial_rotation_deg"], float)
                neutral = np.median(true[t < 1.0])
                ir, er = true.max() - neutral, neutral - true.min()
                gi, ge = got["ir"][side], got["er"][side]
                errors.setdefault(how, []).append((gi - ir, ge - er, gi + ge - ir - er))
    figures: dict[str, object] = {"clips": clips, "model": args.model}
    for how, rows in errors.items():
        e = np.abs(np.array(rows))
        for k, what in enumerate(("IR", "ER", "total")):
            figures[f"{how}: {what} median / p95 |err| over {len(e)} legs (°)"] = (
                f"{np.median(e[:, k]):.2f} / {np.percentile(e[:, k], 95):.2f}"
            )
    print_figures(figures)


if __name__ == "__main__":
    main()
