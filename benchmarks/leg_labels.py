"""How well the two label-exchange rules name the frames the pose model relabelled.

On a validation run's stored landmarks (``kneevision validate --out DIR``), for each
front-view render whose model swapped any leg joint's labels against the truth: per leg
joint, the share of frames on which :func:`~kneevision.kinematics.series.leg_label_swaps`
(the image order of each pair, counted where the hips are reversed; the analysis's rule)
and :func:`~kneevision.kinematics.series.facing_flips` (the whole body at once) say
"exchanged" exactly where the model's label sits nearer the other leg's true joint.

Run: ``python benchmarks/leg_labels.py DIR [--renders DIR/renders]``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from kneevision.kinematics.landmarks import LEG_JOINTS, pair
from kneevision.kinematics.series import clip_facing, facing_flips, leg_label_swaps
from kneevision.pose.sequence import PoseSequence


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("run", type=Path, help="a validation run's folder (analyses/ inside)")
    ap.add_argument("--renders", type=Path, help="its rendered clips (default RUN/renders)")
    args = ap.parse_args(argv)
    renders = args.renders or args.run / "renders"
    print("| clip | joint | frames the model swapped | leg_label_swaps right | "
          "facing_flips right |")  # fmt: skip
    print("|---|---|---|---|---|")
    for folder in sorted((args.run / "analyses").glob("*_kneevision")):
        name = folder.name.removesuffix("_kneevision")
        truth_path = renders / f"{name}.truth.json"
        if not truth_path.is_file() or json.loads(truth_path.read_text())["view"] != "front":
            continue
        truth = json.loads(truth_path.read_text())
        seq = PoseSequence.load(folder / "pose.npz")
        image = seq.image.astype(float)
        n = min(len(image), len(truth["projections_px"]["left_hip"]))
        pairs = leg_label_swaps(image, clip_facing(image))[:n]
        whole = facing_flips(seq.time_s, image)[:n]
        rows = []
        for j, joint in enumerate(LEG_JOINTS):
            left = pair(joint)[0]
            true = {s: np.asarray(truth["projections_px"][f"{s}_{joint}"])[:n]
                    for s in ("left", "right")}  # fmt: skip
            mine = image[:n, left]
            actual = (np.linalg.norm(mine - true["right"], axis=1)
                      < np.linalg.norm(mine - true["left"], axis=1))  # fmt: skip
            rows.append((joint, actual.sum(), (pairs[:, j] == actual).mean(),
                         (whole == actual).mean()))  # fmt: skip
        if any(r[1] for r in rows):
            for joint, swapped, a, b in rows:
                print(f"| {name} | {joint} | {swapped} of {n} | {100 * a:.1f}% | {100 * b:.1f}% |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
