"""Frames a front view leaves without knee angles because the model drew the body side-on.

On a validation run's stored landmarks (``kneevision validate --out DIR``), per front-view
render: the frames :func:`~kneevision.kinematics.series.squeezed_pelvis` marks, the
longest run of them, the least pelvis width the model drew and the true pelvis kept
(:func:`~kneevision.kinematics.series.pelvis_width_ratio` over the clip's median, the
true one from the truth's projected hips and shoulders); then the totals. ``--also``
adds any other analysis folders (real clips: no truth, counts only).

Run: ``python benchmarks/side_on_frames.py DIR [--renders DIR/renders] [--also FOLDER ...]``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from common import print_figures

from kneevision.analysis import load_analysis
from kneevision.kinematics.landmarks import JOINTS, SIDES
from kneevision.kinematics.series import pelvis_width_ratio, squeezed_pelvis
from kneevision.kinematics.signals import valid_runs


def _true_image(truth: dict) -> np.ndarray:
    """The truth's projected hips and shoulders in a (T, 33, 2) landmark array."""
    out = np.full((truth["frames"], 33, 2), np.nan)
    for joint in ("hip", "shoulder"):
        for side in SIDES:
            out[:, JOINTS[joint][side]] = truth["projections_px"][f"{side}_{joint}"]
    return out


def _relative(ratio: np.ndarray) -> float:
    return float(np.nanmin(ratio / np.nanmedian(ratio)))


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("run", type=Path, help="a validation run's folder (analyses/ inside)")
    ap.add_argument("--renders", type=Path, help="its rendered clips (default RUN/renders)")
    ap.add_argument("--also", type=Path, nargs="*", default=[], help="other analysis folders")
    args = ap.parse_args(argv)
    renders = args.renders or args.run / "renders"
    figures: dict[str, object] = {}
    frames = marked = flagged = clips = 0
    true_least = []
    for folder in sorted((args.run / "analyses").glob("*_kneevision")):
        truth_path = renders / f"{folder.name.removesuffix('_kneevision')}.truth.json"
        motion = load_analysis(folder).motion
        if not truth_path.is_file() or motion is None or motion.view != "front":
            continue
        truth = json.loads(truth_path.read_text())
        side_on = squeezed_pelvis(motion.image)
        true_least.append(_relative(pelvis_width_ratio(_true_image(truth))))
        clips += 1
        frames += len(side_on)
        marked += int(side_on.sum())
        if side_on.any():
            flagged += 1
            longest = max(b - a for a, b in valid_runs(side_on))
            figures[f"{folder.name}: side-on frames / longest run / least model width"] = (
                f"{int(side_on.sum())} of {len(side_on)} / {longest} / "
                f"{_relative(pelvis_width_ratio(motion.image)):.2f}"
            )
    figures["front-view renders: side-on frames"] = f"{marked} of {frames}"
    figures["front-view renders flagged"] = f"{flagged} of {clips}"
    if true_least:
        figures["true pelvis width, least over the clip's median, range over renders"] = (
            f"{min(true_least):.2f} … {max(true_least):.2f}"
        )
    for folder in args.also:
        motion = load_analysis(folder).motion
        if motion is not None and motion.view == "front":
            side_on = squeezed_pelvis(motion.image)
            figures[f"{folder.name}: side-on frames"] = f"{int(side_on.sum())} of {len(side_on)}"
    print_figures(figures)


if __name__ == "__main__":
    main()
