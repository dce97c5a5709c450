"""Front-view knee flexion: which standing reference reads standing and depth best.

Usage::

    python benchmarks/front_flexion_reference.py VALIDATION_DIR

``VALIDATION_DIR`` is the output of ``kneevision validate --out DIR`` (its
``renders/*.truth.json`` and ``analyses/<clip>_kneevision``). No inference: the
stored landmarks of each front-view squat-family clip are read back and knee flexion
recomputed from the foreshortening of thigh and shank against different standing
references, each segment's tilt signed
(:func:`kneevision.kinematics.flexion.front_knee_flexion`, the default) or folded to
≥ 0 as :func:`kneevision.kinematics.angles.knee_flexion_foreshortened` does. Prints,
per variant, the reading of standing frames (true knee within 2° of straight; median
per leg, then median and maximum over legs) and the error of the largest reading
within 0.4 s of each true rep bottom (median |error|, p95, bias); and, for the
standing frames, the 90th percentile of the per-frame readings (median over legs),
the frame-to-frame spread the median hides.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
from common import print_figures

from kneevision.analysis import load_analysis
from kneevision.kinematics.angles import angle_between
from kneevision.kinematics.flexion import front_knee_flexion
from kneevision.kinematics.landmarks import SIDES, leg
from kneevision.kinematics.series import STANDING_LEG_FRACTION, STANDING_THIGH_DEG
from kneevision.kinematics.signals import lowpass

SQUAT_FAMILY = ("squat", "single-leg-squat", "lunge", "step-down")


def standing_mask(img: dict, wld: dict) -> np.ndarray:
    """The frames the analysis takes as standing (as ``series.standing_lengths``)."""
    leg_px = np.linalg.norm(img["knee"] - img["hip"], axis=-1) + np.linalg.norm(
        img["ankle"] - img["knee"], axis=-1
    )
    down = np.broadcast_to([0.0, 1.0, 0.0], wld["hip"].shape)
    incl = angle_between(wld["knee"] - wld["hip"], down)
    with np.errstate(invalid="ignore"):
        return (leg_px >= STANDING_LEG_FRACTION * np.nanpercentile(leg_px, 95)) & (
            incl < STANDING_THIGH_DEG
        )


def _angles(t: np.ndarray, s: np.ndarray, t0: float, s0: float) -> tuple[np.ndarray, ...]:
    return np.arccos(np.clip(t / t0, -1, 1)), np.arccos(np.clip(s / s0, -1, 1))


def reference_at(q: float) -> Callable:
    """Reference = the ``q``-th percentile of the standing lengths, tilts unsigned (folded)."""

    def flex(time_s: np.ndarray, t: np.ndarray, s: np.ndarray, standing: np.ndarray) -> np.ndarray:
        a, b = _angles(t, s, np.nanpercentile(t[standing], q), np.nanpercentile(s[standing], q))
        return np.degrees(a + b)

    return flex


def smoothed(hz: float) -> Callable:
    """Median reference, lengths low-passed at ``hz`` first."""

    def flex(time_s: np.ndarray, t: np.ndarray, s: np.ndarray, standing: np.ndarray) -> np.ndarray:
        return reference_at(50)(time_s, lowpass(time_s, t, hz), lowpass(time_s, s, hz), standing)

    return flex


def quadrature(q: float) -> Callable:
    """Median reference, each segment's standing wobble (its ``q``-th percentile) removed."""

    def flex(time_s: np.ndarray, t: np.ndarray, s: np.ndarray, standing: np.ndarray) -> np.ndarray:
        a, b = _angles(t, s, np.nanmedian(t[standing]), np.nanmedian(s[standing]))
        out = []
        for x in (a, b):
            x0 = np.nanpercentile(x[standing], q)
            out.append(np.sqrt(np.maximum(x**2 - x0**2, 0.0)))
        return np.degrees(out[0] + out[1])

    return flex


def signed(time_s: np.ndarray, t: np.ndarray, s: np.ndarray, standing: np.ndarray) -> np.ndarray:
    """Median reference, straight legs' tilts signed (``flexion.front_knee_flexion``)."""
    zero = np.zeros_like(t)
    hip, knee = np.stack([zero, zero], -1), np.stack([zero, t], -1)
    ankle = np.stack([zero, t + s], -1)
    return front_knee_flexion(
        hip, knee, ankle, np.nanmedian(t[standing]), np.nanmedian(s[standing])
    )


VARIANTS: dict[str, Callable] = {
    "signed near straight, median reference (default)": signed,
    "unsigned (folded) tilts, median reference": reference_at(50),
    "35th percentile reference": reference_at(35),
    "75th percentile reference": reference_at(75),
    "lengths low-passed 3 Hz": smoothed(3.0),
    "lengths low-passed 1.5 Hz": smoothed(1.5),
    "standing wobble removed (75th pct)": quadrature(75),
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("validation", type=Path)
    args = ap.parse_args()
    standing: dict[str, list[float]] = {k: [] for k in VARIANTS}
    standing_p90: dict[str, list[float]] = {k: [] for k in VARIANTS}
    peak: dict[str, list[float]] = {k: [] for k in VARIANTS}
    clips = 0
    for path in sorted((args.validation / "renders").glob("*.truth.json")):
        truth = json.loads(path.read_text())
        folder = (
            args.validation / "analyses" / f"{path.name.removesuffix('.truth.json')}_kneevision"
        )
        if truth["protocol"] not in SQUAT_FAMILY or truth["view"] != "front" or not folder.is_dir():
            continue
        motion = load_analysis(folder).motion
        if motion is None:
            continue
        clips += 1
        ts = motion.time_s
        for side in SIDES:
            img, wld = leg(motion.image, side), leg(motion.world, side)
            stand = standing_mask(img, wld)
            if stand.sum() < 5:
                continue
            t = np.linalg.norm(img["knee"] - img["hip"], axis=-1)
            s = np.linalg.norm(img["ankle"] - img["knee"], axis=-1)
            true = np.asarray(truth["series"][f"{side}_knee_flexion_deg"], float)
            for name, variant in VARIANTS.items():
                flex = variant(ts, t, s, stand)
                straight = true < 2.0
                if straight.sum() > 20 and np.isfinite(flex[straight]).any():
                    standing[name].append(float(np.nanmedian(flex[straight])))
                    standing_p90[name].append(float(np.nanpercentile(flex[straight], 90)))
                for rep in truth["reps"]:
                    span = (ts >= rep["start_s"]) & (ts <= rep["end_s"])
                    near = np.abs(ts - rep["bottom_s"]) <= 0.4
                    if (
                        rep["side"] == side
                        and true[span].max() >= 20
                        and np.isfinite(flex[near]).any()
                    ):
                        peak[name].append(float(np.nanmax(flex[near]) - true[span].max()))
    figures = {"front-view squat-family clips": clips}
    for name in VARIANTS:
        st, pk = np.array(standing[name]), np.array(peak[name])
        if not st.size or not pk.size:
            continue
        figures[f"{name}: standing, median / max over {st.size} legs (°)"] = (
            f"{np.median(st):.1f} / {st.max():.1f}"
        )
        figures[f"{name}: standing frames' 90th percentile, median over legs (°)"] = (
            f"{np.median(standing_p90[name]):.1f}"
        )
        figures[f"{name}: peak, median |err| / p95 / bias over {pk.size} (°)"] = (
            f"{np.median(np.abs(pk)):.2f} / {np.percentile(np.abs(pk), 95):.2f} / {pk.mean():+.2f}"
        )
    print_figures(figures)


if __name__ == "__main__":
    main()
