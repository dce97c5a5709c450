"""Seated twist: the landmark, pixel and combined tibial rotation estimates against the truth.

Usage::

    python benchmarks/twist_estimators.py VALIDATION_DIR [--checking NAME ...]

``VALIDATION_DIR`` is the output of ``kneevision validate --protocol seated-twist``
(``renders/*.truth.json``, ``analyses/<clip>_kneevision`` with ``pose.npz`` and
``forefoot.npz``). No inference and no tracking: each front-view twist clip's stored
landmarks and tracked toe points are read back, and per leg the internal, external and
total range of three estimates are compared with the truth, with the protocol's own
low-pass and range rules:

* landmarks only (``foot_turn_front``),
* pixels only (``foot_turn_tracked``, the landmarks where the track is lost),
* the default (:func:`kneevision.protocols.seated_twist.rotation_series`: the two
  averaged while the toes point inward, the pixels alone outward).

Prints median / p95 |error| per estimate, for the design clips and for the clips named
with ``--checking`` (default: the four rendered to check the design).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from common import print_figures

from kneevision.analysis import evaluate, load_analysis, read_forefoot, stored_settings
from kneevision.kinematics.landmarks import SIDES
from kneevision.kinematics.signals import fill_gaps, lowpass
from kneevision.protocols import seated_twist as st

CHECKING = (
    "twist-female-slim-tall-80",
    "twist-female-valgus-100",
    "twist-male-average-100",
    "twist-male-heavy-80",
)


def ranges(time_s: np.ndarray, theta: np.ndarray) -> tuple[float, float]:
    """IR and ER of a raw rotation series, as the protocol reads them."""
    smooth = lowpass(time_s, fill_gaps(time_s, theta, 0.3), st.THETA_CUTOFF_HZ)
    r, *_ = st.rotation_range(time_s, smooth)
    return r["internal_rotation_deg"]["value"], r["external_rotation_deg"]["value"]


def pixels_only(motion: object, side: str, track: st.ForefootTrack, still: slice) -> np.ndarray:
    """The tracked estimate alone (the landmarks where the track is lost)."""
    landmarks = st.rotation_series(motion.image, motion.world, side, "front")
    tracked, usable = st.tracked_rotation(motion.image, motion.world, side, track, still)
    return np.where(usable, tracked, landmarks)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("validation", type=Path)
    ap.add_argument("--checking", nargs="*", default=list(CHECKING))
    args = ap.parse_args()
    errors: dict[tuple[str, str], list[tuple[float, float, float]]] = {}
    for path in sorted((args.validation / "renders").glob("twist-*.truth.json")):
        name = path.name.removesuffix(".truth.json")
        folder = args.validation / "analyses" / f"{name}_kneevision"
        truth = json.loads(path.read_text())
        tracks = read_forefoot(folder) if folder.is_dir() else None
        if truth["view"] != "front" or not tracks:
            continue
        stored = load_analysis(folder, reevaluate=False)
        motion, _ = evaluate(stored.pose, stored_settings(stored.summary))
        if motion.view not in st.FRONT_VIEWS:
            continue
        t, still = motion.time_s, st.still_frames(motion.time_s)
        group = "checking" if name in args.checking else "design"
        for side in SIDES:
            true = np.asarray(truth["series"][f"{side}_tibial_rotation_deg"], float)
            neutral = np.median(true[t < 1.0])
            ir_true, er_true = true.max() - neutral, neutral - true.min()
            estimates = {
                "landmarks only": st.rotation_series(motion.image, motion.world, side, "front"),
                "pixels only": pixels_only(motion, side, tracks[side], still),
                "pixels and landmarks (default)": st.rotation_series(
                    motion.image, motion.world, side, "front", track=tracks[side], still=still
                ),
            }
            for how, theta in estimates.items():
                ir, er = ranges(t, theta)
                errors.setdefault((how, group), []).append(
                    (ir - ir_true, er - er_true, ir + er - ir_true - er_true)
                )
    figures: dict[str, object] = {}
    for (how, group), rows in sorted(errors.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        e = np.abs(np.array(rows))
        for k, what in enumerate(("IR", "ER", "total")):
            figures[f"{group}, {how}: {what} median / p95 |err| over {len(e)} legs (°)"] = (
                f"{np.median(e[:, k]):.2f} / {np.percentile(e[:, k], 95):.2f}"
            )
    print_figures(figures)


if __name__ == "__main__":
    main()
