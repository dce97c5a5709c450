"""How far side-view knee flexion reads below the truth on renders, and the gain that fixes it.

For each analysed side-view render (squat, knee-to-wall) with its ``.truth.json``: the
plain image-plane flexion of the measured leg at each true repetition's peak (max over
the repetition) against the true peak, the ratio true / measured, and a leave-one-body-out
check of :data:`~kneevision.kinematics.flexion.SIDE_FLEXION_GAIN`: the gain fitted (median
ratio) on the other bodies, applied to the held-out one. Clips whose legs the model
mixed up (measured side not the true side, or |error| > 20°) are listed and left out.

Run: ``python benchmarks/side_flexion_gain.py FOLDER [FOLDER ...]`` where each folder
holds ``<clip>.truth.json`` and ``<clip>_kneevision/`` (or pass ``--renders`` for the truths).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from kneevision.kinematics.angles import knee_flexion
from kneevision.kinematics.flexion import SIDE_FLEXION_GAIN
from kneevision.kinematics.landmarks import JOINTS, SIDES, leg
from kneevision.pose.sequence import PoseSequence
from kneevision.protocols.base import prepare


def peaks(truth: dict, folder: Path) -> list[tuple[str, float, float]]:
    """(body, true peak, plain 2-D measured peak) per true repetition of the leg measured."""
    seq = PoseSequence.load(folder / "pose.npz")
    motion = prepare(seq, view="side")
    vis = {s: np.nanmean(motion.visibility[:, [JOINTS["knee"][s], JOINTS["ankle"][s]]])
           for s in SIDES}  # fmt: skip
    near = max(vis, key=lambda s: vis[s])
    t = np.arange(truth["frames"]) / truth["fps"]
    out = []
    for rep in truth["reps"]:
        side = rep["side"] if truth["protocol"] == "ankle" else near
        if rep["side"] != side:
            continue
        j = leg(motion.image, side)
        flex = knee_flexion(j["hip"], j["knee"], j["ankle"])
        true = np.array(
            [np.nan if x is None else x for x in truth["series"][f"{side}_knee_flexion_deg"]]
        )
        win = (t >= rep["start_s"]) & (t <= rep["end_s"])
        n = min(len(flex), len(t))
        out.append((truth["render"]["body"], float(np.nanmax(true[:n][win[:n]])),
                    float(np.nanmax(flex[:n][win[:n]]))))  # fmt: skip
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("analyses", type=Path, nargs="+", help="folders of <clip>_kneevision/")
    ap.add_argument("--renders", type=Path, help="where the .truth.json files are")
    args = ap.parse_args(argv)
    rows = []
    for base in args.analyses:
        for folder in sorted(base.glob("*_kneevision")):
            clip = folder.name.removesuffix("_kneevision")
            tpath = (args.renders or base) / f"{clip}.truth.json"
            if not tpath.is_file():
                tpath = base / f"{clip}.truth.json"
            if not tpath.is_file():
                continue
            truth = json.loads(tpath.read_text())
            if truth["view"] != "side" or truth["protocol"] not in ("squat", "ankle"):
                continue
            for body, true, got in peaks(truth, folder):
                rows.append((clip, body, true, got))
    print("| clip | body | true peak | 2-D peak | error | ratio | error ×gain |")
    print("|---|---|---|---|---|---|---|")
    kept = []
    for clip, body, true, got in rows:
        bad = abs(got - true) > 20
        print(f"| {clip} | {body} | {true:.1f} | {got:.1f} | {got - true:+.1f} | "
              f"{true / got:.3f} | {SIDE_FLEXION_GAIN * got - true:+.1f} |"
              + (" left out: legs mixed up" if bad else ""))  # fmt: skip
        if not bad:
            kept.append((body, true, got))
    print(f"\nleave one body out (gain = median true/measured of the other bodies), "
          f"shipped gain {SIDE_FLEXION_GAIN}:")  # fmt: skip
    for body in sorted({b for b, _, _ in kept}):
        others = [t / g for b, t, g in kept if b != body]
        if not others:
            continue
        k = float(np.median(others))
        err = [k * g - t for b, t, g in kept if b == body]
        plain = [g - t for b, t, g in kept if b == body]
        print(
            f"  {body}: gain {k:.3f} from the others; error {np.median(plain):+.1f} → "
            f"{np.median(err):+.1f} (median), max |error| {max(map(abs, err)):.1f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
