"""Front-view knee flexion: which standing reference and which landmarks read it best.

Usage::

    python benchmarks/front_flexion_reference.py VALIDATION_DIR [--renders DIR]

``VALIDATION_DIR`` is the output of ``kneevision validate --out DIR`` (its
``analyses/<clip>_kneevision``; the rendered clips' ``*.truth.json`` in ``--renders``,
default ``VALIDATION_DIR/renders``). No inference: the stored landmarks of each
front-view squat-family clip are read back and knee flexion recomputed in several ways:
the default (:func:`kneevision.kinematics.flexion.front_knee_flexion`, each segment's
tilt signed near straight, the planted ankle held down by
:func:`kneevision.kinematics.flexion.planted_ankle`) and the same with the ankle as
seen (the default until 2026-12-04); other standing references, tilts folded to ≥ 0 as
:func:`kneevision.kinematics.angles.knee_flexion_foreshortened` does, smoothing; the
ankle held outright or allowed to rise with a heel raise; and flexion from the hip→ankle
length alone (the knee landmark left out). Prints, per variant, the reading of standing
frames (true knee within 2° of straight; median per leg, then median and maximum over
legs), the 90th percentile of the per-frame standing readings (median over legs, the
frame-to-frame spread the median hides), and the error of the largest reading within
0.4 s of each true rep bottom (median |error|, p95, bias), over all clips and per test;
first, per test, how far the model's ankle landmark and the true ankle rose at each rep
bottom above where they stood (shank lengths), which ``flexion.planted_ankle`` undoes.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
from common import print_figures

from kneevision.analysis import load_analysis
from kneevision.kinematics.flexion import front_knee_flexion, planted_ankle
from kneevision.kinematics.landmarks import SIDES, leg
from kneevision.kinematics.series import standing_frames
from kneevision.kinematics.signals import lowpass

SQUAT_FAMILY = ("squat", "single-leg-squat", "lunge", "step-down")


def _angles(t: np.ndarray, s: np.ndarray, t0: float, s0: float) -> tuple[np.ndarray, ...]:
    return np.arccos(np.clip(t / t0, -1, 1)), np.arccos(np.clip(s / s0, -1, 1))


def _lengths(img: dict) -> tuple[np.ndarray, np.ndarray]:
    return (
        np.linalg.norm(img["knee"] - img["hip"], axis=-1),
        np.linalg.norm(img["ankle"] - img["knee"], axis=-1),
    )


def reference_at(q: float) -> Callable:
    """Reference = the ``q``-th percentile of the standing lengths, tilts unsigned (folded)."""

    def flex(time_s: np.ndarray, img: dict, standing: np.ndarray) -> np.ndarray:
        t, s = _lengths(img)
        a, b = _angles(t, s, np.nanpercentile(t[standing], q), np.nanpercentile(s[standing], q))
        return np.degrees(a + b)

    return flex


def smoothed(hz: float) -> Callable:
    """Median reference, points low-passed at ``hz`` first."""

    def flex(time_s: np.ndarray, img: dict, standing: np.ndarray) -> np.ndarray:
        low = {k: lowpass(time_s, v, hz) for k, v in img.items()}
        return reference_at(50)(time_s, low, standing)

    return flex


def quadrature(q: float) -> Callable:
    """Median reference, each segment's standing wobble (its ``q``-th percentile) removed."""

    def flex(time_s: np.ndarray, img: dict, standing: np.ndarray) -> np.ndarray:
        t, s = _lengths(img)
        a, b = _angles(t, s, np.nanmedian(t[standing]), np.nanmedian(s[standing]))
        out = []
        for x in (a, b):
            x0 = np.nanpercentile(x[standing], q)
            out.append(np.sqrt(np.maximum(x**2 - x0**2, 0.0)))
        return np.degrees(out[0] + out[1])

    return flex


def signed(time_s: np.ndarray, img: dict, standing: np.ndarray) -> np.ndarray:
    """Median reference, straight legs' tilts signed (``flexion.front_knee_flexion``), the
    ankle landmark as seen (the default until 2026-12-04)."""
    t, s = _lengths(img)
    return front_knee_flexion(
        img["hip"], img["knee"], img["ankle"], np.nanmedian(t[standing]), np.nanmedian(s[standing])
    )


def hip_ankle(gain: float = 1.0, split: bool = False) -> Callable:
    """The knee landmark left out: flexion from how much hip→ankle shortens.

    Thigh and shank tilts ``a``, ``b`` toward the camera shorten the hip–ankle image
    length to ``T cos a + S cos b`` (standing lengths ``T``, ``S``). One length cannot
    give two tilts: ``split`` takes their proportion ``a / (a + b)`` from the segments'
    own tilts (the knee landmark's position, which the total no longer depends on),
    otherwise even (``a = b``; for a given length the even split is the least flexion,
    and close to it while the tilts differ by under 20°). ``gain`` scales the
    shortening (the hip landmark rides up at depth, as ``FRONT_THIGH_GAIN``).
    """

    def flex(time_s: np.ndarray, img: dict, standing: np.ndarray) -> np.ndarray:
        t, s = _lengths(img)
        t0, s0 = np.nanmedian(t[standing]), np.nanmedian(s[standing])
        d = np.linalg.norm(img["ankle"] - img["hip"], axis=-1)
        d0 = np.nanmedian(d[standing])
        d = d0 - gain * (d0 - d)
        if not split:
            return np.degrees(2 * np.arccos(np.clip(d / d0, -1, 1)))
        a, b = _angles(t, s, t0, s0)
        with np.errstate(invalid="ignore", divide="ignore"):
            f = np.where(a + b > 0, a / (a + b), 0.5)
        f = np.clip(np.nan_to_num(f, nan=0.5), 0.0, 1.0)
        # Solve t0 cos(f θ) + s0 cos((1 − f) θ) = d for θ, per frame, on a grid (monotone).
        grid = np.radians(np.arange(0.0, 160.5, 0.5))
        length = t0 * np.cos(f[:, None] * grid) + s0 * np.cos((1 - f[:, None]) * grid)
        length *= d0 / (t0 + s0)
        idx = np.argmin(np.abs(length - d[:, None]), axis=1)
        return np.where(np.isfinite(d), np.degrees(grid[idx]), np.nan)

    return flex


def shipped(time_s: np.ndarray, img: dict, standing: np.ndarray) -> np.ndarray:
    """As ``series.frame_angles`` reads it: signed, the planted ankle held down
    (``flexion.planted_ankle``); its side-on frames (``series.squeezed_pelvis``) are
    kept here, to compare the estimates on the same frames."""
    t, s = _lengths(img)
    s0 = np.nanmedian(s[standing])
    ankle = planted_ankle(img["ankle"], np.nanmedian(img["ankle"][standing, 1]), s0)
    return front_knee_flexion(img["hip"], img["knee"], ankle, np.nanmedian(t[standing]), s0)


def planted(time_s: np.ndarray, img: dict, standing: np.ndarray) -> np.ndarray:
    """The default with the ankle held where it stood (a planted foot's ankle stays put)."""
    held = dict(img, ankle=np.broadcast_to(np.nanmedian(img["ankle"][standing], axis=0),
                                           img["ankle"].shape))  # fmt: skip
    return signed(time_s, held, standing)


def heel_over_toe(time_s: np.ndarray, img: dict, standing: np.ndarray) -> np.ndarray:
    """As shipped, but the ankle's rise allowed by as much as the heel rose over the toe
    (a heel raise): tried, the model's heel rose over its toe on the step-downs too."""
    t, s = _lengths(img)
    s0 = np.nanmedian(s[standing])
    rise = {k: np.nanmedian(img[k][standing, 1]) - img[k][:, 1] for k in ("heel", "toe")}
    ankle = img["ankle"].copy()
    ankle[:, 1] += np.maximum(np.nan_to_num(rise["heel"] - rise["toe"]), 0.0)
    held = planted_ankle(ankle, np.nanmedian(img["ankle"][standing, 1]), s0)
    held[:, 1] -= np.maximum(np.nan_to_num(rise["heel"] - rise["toe"]), 0.0)
    return front_knee_flexion(img["hip"], img["knee"], held, np.nanmedian(t[standing]), s0)


VARIANTS: dict[str, Callable] = {
    "planted ankle held down (default since 2026-12-04)": shipped,
    "ankle as seen, signed near straight, median reference (before)": signed,
    "unsigned (folded) tilts, median reference": reference_at(50),
    "35th percentile reference": reference_at(35),
    "75th percentile reference": reference_at(75),
    "lengths low-passed 3 Hz": smoothed(3.0),
    "lengths low-passed 1.5 Hz": smoothed(1.5),
    "standing wobble removed (75th pct)": quadrature(75),
    "ankle held at its standing place": planted,
    "planted ankle held down unless the heel rises over the toe": heel_over_toe,
    "hip-ankle, even split": hip_ankle(),
    "hip-ankle, even split, gain 1.15": hip_ankle(1.15),
    "hip-ankle, segments' split": hip_ankle(split=True),
    "hip-ankle, segments' split, gain 1.15": hip_ankle(1.15, split=True),
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("validation", type=Path)
    ap.add_argument("--renders", type=Path, help="rendered clips (default VALIDATION_DIR/renders)")
    args = ap.parse_args()
    renders = args.renders or args.validation / "renders"
    standing: dict[str, list[float]] = {k: [] for k in VARIANTS}
    standing_p90: dict[str, list[float]] = {k: [] for k in VARIANTS}
    peak: dict[str, list[float]] = {k: [] for k in VARIANTS}
    by_test: dict[tuple[str, str], list[float]] = {}
    ankle_rise: dict[tuple[str, str], list[float]] = {}
    clips = 0
    for path in sorted(renders.glob("*.truth.json")):
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
            stand = standing_frames(img, wld)
            if stand is None:
                continue
            true = np.asarray(truth["series"][f"{side}_knee_flexion_deg"], float)
            # Where the ankle sits at each rep bottom against where it stood, in standing
            # shank lengths: the model's landmark and the true joint's projection.
            proj = {k: np.asarray(truth["projections_px"][f"{side}_{k}"], float)
                    for k in ("knee", "ankle")}  # fmt: skip
            for src, pts in (("model", img), ("true", proj)):
                shank = np.nanmedian(np.linalg.norm(pts["ankle"] - pts["knee"], axis=-1)[stand])
                y0 = np.nanmedian(pts["ankle"][stand, 1])
                for rep in truth["reps"]:
                    if rep["side"] == side:
                        i = int(np.argmin(np.abs(ts - rep["bottom_s"])))
                        rise = (y0 - pts["ankle"][i, 1]) / shank
                        ankle_rise.setdefault((truth["protocol"], src), []).append(float(rise))
            for name, variant in VARIANTS.items():
                flex = variant(ts, img, stand)
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
                        err = float(np.nanmax(flex[near]) - true[span].max())
                        peak[name].append(err)
                        by_test.setdefault((name, truth["protocol"]), []).append(err)
    figures: dict[str, object] = {"front-view squat-family clips": clips}
    for (test, src), rises in sorted(ankle_rise.items()):
        key = f"ankle rise at the bottom over standing, {test}, {src} (shank lengths, min–max)"
        figures[key] = f"{min(rises):+.3f} … {max(rises):+.3f}"
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
        for (variant, test), errs in sorted(by_test.items()):
            if variant == name:
                e = np.array(errs)
                figures[f"{name}: peak, {test}, median |err| / p95 / bias over {e.size} (°)"] = (
                    f"{np.median(np.abs(e)):.2f} / {np.percentile(np.abs(e), 95):.2f} "
                    f"/ {e.mean():+.2f}"
                )
    print_figures(figures)


if __name__ == "__main__":
    main()
